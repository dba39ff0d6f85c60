"""Verifying many files: one record per file, from a cache of verdicts or
from worker processes, in the order the files were given.

A record is plain data (what `Verdict.to_dict` and `StepVerdict.to_dict`
give), so it crosses a process boundary and a disk cache unchanged:

    {"file": "derivations/layer.toml", "title": "...", "replaced": {"g": "tanh"},
     "claims": [Verdict.to_dict(), ...], "steps": [StepVerdict.to_dict(), ...],
     "error": None}            # or the one-line message of a bad file

The cache key is the sha256 of the file's bytes, the options (`max_size`,
`budget`, `activation`), gradproof's version and the text of every module
of `symbolic`, so an edited checkout never reuses a verdict.  A record with
an `unknown` verdict is never stored: it depends on the machine's speed.
Entries are written atomically; one that cannot be read back whole (cut
short, edited, another key) is ignored and replaced.  Nothing here imports
SymPy: that happens in `check_file`, in a worker or on first use.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from . import __version__
from .files import replace_file

FORMAT = "1"  # of the stored records
GENERIC = "elementwise"  # `functions.GENERIC`: a function the file leaves open
_HERE = Path(__file__).resolve().parent
_sources_hash = None


# ---------------------------------------------------------------- checking one file

def check_file(path: str, max_size: int | None, seconds: float, activation: str | None) -> dict:
    """The record of one file: its verdicts, or the message of its bad input.

    With `activation`, a file must declare a generic function for it to
    replace; one that declares none is bad input, as in every command."""
    from .load import DerivationError
    from .steps import check_steps
    from .verify import verify
    try:
        d, replaced = load_for(path, seconds, activation)
        verdicts = verify(d, max_size=max_size, default_budget=seconds)
        parts = check_steps(d, max_size=max_size, seconds=seconds) if d.steps else []
    except DerivationError as err:
        return {"file": str(path), "error": str(err)}
    except OSError as err:
        return {"file": str(path), "error": f"{err.filename or path}: {err.strerror or err}"}
    return {"file": str(path), "title": d.title, "replaced": replaced, "error": None,
            "claims": [v.to_dict() for v in verdicts], "steps": [{**v.to_dict(), "note": v.note} for v in parts]}


def load_for(path, seconds: float, activation: str | None) -> tuple:
    """(derivation, {generic name: activation}), as every command reads a
    file: with `activation`, the file must declare a generic function."""
    from .verify import load_within
    replaced = {}
    if activation is not None:
        replaced = {g: activation for g in replaced_by(path, activation)}
    return load_within(path, seconds, activation), replaced


def replaced_by(path, activation: str) -> list:
    """The generic functions of the file that `activation` replaces; bad
    input if there are none.  Read as plain TOML, without SymPy; a file
    that is not even TOML is left to the loader to report."""
    import tomllib
    try:
        with open(path, "rb") as f:
            functions = tomllib.load(f).get("functions", {})
    except (OSError, ValueError):
        return []
    if not isinstance(functions, dict):
        return []
    generic = [name for name, kind in functions.items() if kind == GENERIC]
    if not generic:
        from .load import DerivationError
        declared = ", ".join(f"`{n}` = {kind!r}" for n, kind in functions.items()) or "none"
        raise DerivationError(path, None, f"`--activation {activation}` replaces a generic function and the "
                                          f"file declares none (its functions: {declared}); leave it out")
    return generic


def _check(task):
    return check_file(*task)


# ---------------------------------------------------------------- many files

def run(files: list, max_size: int | None, seconds: float, activation: str | None, jobs: int = 1,
        cache: bool = True):
    """Records for `files`, in their order: from the cache where an entry
    matches, the rest checked by `jobs` worker processes (one: in this
    one).  The workers start before this returns, so that they are forked
    before the caller starts threads of its own."""
    options = (max_size, seconds, activation)
    keys = [entry_key(f, options) if cache else None for f in files]
    found = [lookup(k, f) if k else None for f, k in zip(files, keys)]
    fresh = _checked([(str(f), *options) for f, r in zip(files, found) if r is None], jobs)

    def records():
        for k, record in zip(keys, found):
            if record is None:
                record = next(fresh)
                if k is not None and storable(record):
                    store(k, record)
            yield record
    return records()


def _checked(tasks: list, jobs: int):
    """An iterator over the records of `tasks`, in their order."""
    import threading
    # Workers are forked, sharing this process's imports, only where it runs
    # one thread (the command line): a fork copies other threads' locks as
    # they are, held or not, so a caller with threads gets a serial run.
    if jobs <= 1 or len(tasks) <= 1 or threading.active_count() > 1:
        return map(_check, tasks)
    import multiprocessing
    from . import steps, verify  # noqa: F401  imported once, before the workers are forked
    ctx = multiprocessing.get_context("fork")
    pool = ctx.Pool(min(jobs, len(tasks)))
    # the largest files (the notes' steps) first, so that no worker is left
    # with a long one at the end; the records come back in the given order
    order = sorted(range(len(tasks)), key=lambda k: -_size(tasks[k][0]))
    done = pool.imap_unordered(_check_numbered, [(k, tasks[k]) for k in order], chunksize=1)

    def results():
        waiting = {}
        with pool:
            for k in range(len(tasks)):
                while k not in waiting:
                    j, record = next(done)
                    waiting[j] = record
                yield waiting.pop(k)
    return results()


def _check_numbered(numbered):
    k, task = numbered
    return k, _check(task)


def _size(path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


# ---------------------------------------------------------------- the cache

def cache_dir() -> Path:
    """Where verdicts are kept: `verdicts/` in the folder `numeric.compile`
    stores generated modules in ($GRADPROOF_CACHE, else
    $XDG_CACHE_HOME/gradproof, else ~/.cache/gradproof)."""
    if os.environ.get("GRADPROOF_CACHE"):
        base = Path(os.environ["GRADPROOF_CACHE"])
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gradproof"
    return base / "verdicts"


def sources_hash() -> str:
    """sha256 of gradproof's version and of every module of `symbolic`."""
    global _sources_hash
    if _sources_hash is None:
        h = hashlib.sha256(f"{FORMAT}\0{__version__}".encode())
        for f in sorted(_HERE.glob("*.py")):
            h.update(f.name.encode() + b"\0" + f.read_bytes())
        _sources_hash = h.hexdigest()
    return _sources_hash


def entry_key(path, options: tuple) -> str | None:
    """The cache key of a file checked with `options`; None if it cannot be read."""
    try:
        content = Path(path).read_bytes()
    except (OSError, ValueError):
        return None  # the worker says why, as bad input
    h = hashlib.sha256(sources_hash().encode())
    h.update(json.dumps(list(options)).encode() + b"\0" + content)
    return h.hexdigest()


def lookup(key: str, path) -> dict | None:
    """The stored record for `key`, shown as the record of `path`; None if
    there is none or it cannot be read back whole."""
    try:
        entry = json.loads((cache_dir() / f"{key}.json").read_text(encoding="utf-8"))
        record = entry["record"]
        if entry["key"] != key or not _well_formed(record):
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    record["file"] = str(path)  # the same bytes may lie at another path
    for v in record["claims"] + record["steps"]:
        v["file"] = str(path)
    return record


def _well_formed(record) -> bool:
    return (isinstance(record, dict) and record.get("error") is None and isinstance(record.get("title"), str)
            and isinstance(record.get("replaced"), dict)
            and all(isinstance(record.get(k), list) and all(isinstance(v, dict) and "verdict" in v for v in record[k])
                    for k in ("claims", "steps")))


def storable(record: dict) -> bool:
    return record.get("error") is None and all(v["verdict"] != "unknown" for v in record["claims"] + record["steps"])


def store(key: str, record: dict) -> None:
    """Store atomically; a cache that cannot be written is left alone (it is optional)."""
    try:
        folder = cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        replace_file(folder / f"{key}.json", json.dumps({"key": key, "record": record}).encode())
    except OSError:
        pass
