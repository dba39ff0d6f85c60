"""Files -> verdicts: the one path from derivation files to the verdicts on
their claims and step parts, that `gradproof verify`, `gradproof report`
and the Python API share, with worker processes, a cache of verdicts and
time budgets.

A record is plain data (what `Verdict.to_dict` gives, for a claim or a
step part), so it crosses a process boundary and a disk cache unchanged:

    {"file": "derivations/layer.toml", "title": "...", "replaced": {"g": "tanh"},
     "claims": [Verdict.to_dict(), ...], "steps": [Verdict.to_dict(), ...],
     "error": None}            # or the one-line message of a bad file

The cache key is the sha256 of the file's bytes, the `Options`, gradproof's
version and the text of every module of `symbolic`, so an edited checkout
never reuses a verdict.  A record with an `unknown` verdict is never
stored: it depends on the machine's speed.  Entries are written
atomically; one that cannot be read back whole (cut short, edited, another
key) is ignored and replaced.  Nothing here imports SymPy at import time:
`check` does, in a worker or on first use, so a run answered from the cache
never does.
"""
from __future__ import annotations

import itertools
import json
import os
import threading
from dataclasses import astuple, dataclass
from pathlib import Path

from . import __version__
from .budget import DEFAULT_BUDGET
from .catalogue import resolve
from .errors import DerivationError
from .files import replace_file
from .status import Status

FORMAT = "1"  # of the stored records
GENERIC = "elementwise"  # `functions.GENERIC`: a function the file leaves open
_HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Options:
    """How every file of a run is checked: `max_size` (explicit sizes; None:
    the file's own), `budget` (seconds a claim, unless the file sets its
    own), `activation` (replaces the files' generic functions)."""
    max_size: int | None = None
    budget: float = DEFAULT_BUDGET
    activation: str | None = None


# ---------------------------------------------------------------- checking one file

def check(d, options: Options = Options()) -> dict:
    """The verdicts of a loaded derivation `d`, as a record (without
    `file`, `title`, `replaced`): its claims, then its step parts."""
    # imported here, not above: a run answered from the cache never imports SymPy
    from .steps import check_steps
    from .verify import verify
    verdicts = verify(d, max_size=options.max_size, default_budget=options.budget)
    parts = check_steps(d, max_size=options.max_size, seconds=options.budget) if d.steps else []
    return {"claims": [v.to_dict() for v in verdicts], "steps": [{**v.to_dict(), "note": v.note} for v in parts]}


def check_file(path, options: Options = Options()) -> dict:
    """The record of one file: its verdicts, or the message of its bad input.

    With `options.activation`, a file must declare a generic function for
    it to replace; one that declares none is bad input, as in every command."""
    try:
        d, replaced = load_for(path, options.budget, options.activation)
        record = check(d, options)
    except DerivationError as err:
        return {"file": str(path), "error": str(err)}
    except OSError as err:
        return {"file": str(path), "error": f"{err.filename or path}: {err.strerror or err}"}
    return {"file": str(path), "title": d.title, "replaced": replaced, "error": None, **record}


def load_for(path, seconds: float, activation: str | None) -> tuple:
    """(derivation, {generic name: activation}), as every command reads a
    file: with `activation`, the file must declare a generic function."""
    from .load import load_within  # imported here: a cached run never imports SymPy
    replaced = {}
    if activation is not None:
        replaced = {g: activation for g in replaced_by(path, activation)}
    return load_within(path, seconds, activation), replaced


def replaced_by(path, activation: str) -> list:
    """The generic functions of the file that `activation` replaces; bad
    input if there are none.  Read as plain TOML, without SymPy; a file
    that is not even TOML is left to the loader to report."""
    import tomllib  # imported here, as `hashlib` below: `gradproof --help` stays quick
    try:
        with open(path, "rb") as f:
            functions = tomllib.load(f).get("functions", {})
    except (OSError, ValueError):
        return []
    if not isinstance(functions, dict):
        return []
    generic = [name for name, kind in functions.items() if kind == GENERIC]
    if not generic:
        declared = ", ".join(f"`{n}` = {kind!r}" for n, kind in functions.items()) or "none"
        raise DerivationError(path, None, f"`--activation {activation}` replaces a generic function and the "
                                          f"file declares none (its functions: {declared}); leave it out")
    return generic


# ---------------------------------------------------------------- many files

def run(files: list, options: Options = Options(), jobs: int = 1, cache: Cache | None = None):
    """Records for `files`, in their order: from `cache` where an entry
    matches (None: no cache), the rest checked by `jobs` worker processes
    (one: in this one).  A file may be a catalogue name (`"layer"`).  The
    workers start before this returns, so that they are forked before the
    caller starts threads of its own."""
    files = [_located(f) for f in files]
    keys = [cache.key(f, options) if cache is not None else None for f in files]
    found = [cache.lookup(k, f) if k else None for f, k in zip(files, keys)]
    fresh = _checked([(str(f), options) for f, r in zip(files, found) if r is None], jobs)

    def records():
        for k, record in zip(keys, found):
            if record is None:
                record = next(fresh)
                if k is not None and storable(record):
                    cache.store(k, record)
            yield record
    return records()


def _located(name):
    """The file of a path or a catalogue name; a name that is neither is
    left to the worker to report, as bad input."""
    try:
        return resolve(name)
    except DerivationError:
        return name


def _checked(tasks: list, jobs: int):
    """An iterator over the records of `tasks`, in their order."""
    # Workers are forked, sharing this process's imports, only where it runs
    # one thread (the command line): a fork copies other threads' locks as
    # they are, held or not, so a caller with threads gets a serial run.
    if jobs <= 1 or len(tasks) <= 1 or threading.active_count() > 1:
        return itertools.starmap(check_file, tasks)
    # imported here: only a run that checks files in workers needs them, once, before the fork
    import multiprocessing
    from . import steps, verify  # noqa: F401
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
    k, (path, options) = numbered
    return k, check_file(path, options)


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
    import hashlib
    h = hashlib.sha256(f"{FORMAT}\0{__version__}".encode())
    for f in sorted(_HERE.glob("*.py")):
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


class Cache:
    """The verdict cache as one run sees it: its folder, and the hash of
    the code that checks (read once, when the run starts)."""

    def __init__(self, folder: Path | None = None, sources: str | None = None):
        self.folder = folder if folder is not None else cache_dir()
        self.sources = sources if sources is not None else sources_hash()

    def key(self, path, options: Options) -> str | None:
        """The key of a file checked with `options`; None if it cannot be read."""
        try:
            content = Path(path).read_bytes()
        except (OSError, ValueError):
            return None  # the worker says why, as bad input
        import hashlib
        h = hashlib.sha256(self.sources.encode())
        h.update(json.dumps(list(astuple(options))).encode() + b"\0" + content)
        return h.hexdigest()

    def lookup(self, key: str, path) -> dict | None:
        """The stored record for `key`, shown as the record of `path`; None
        if there is none or it cannot be read back whole."""
        try:
            entry = json.loads((self.folder / f"{key}.json").read_text(encoding="utf-8"))
            record = entry["record"]
            if entry["key"] != key or not _well_formed(record):
                return None
        except (OSError, ValueError, KeyError, TypeError):
            return None
        record["file"] = str(path)  # the same bytes may lie at another path
        for v in record["claims"] + record["steps"]:
            v["file"] = str(path)
        return record

    def store(self, key: str, record: dict) -> None:
        """Store atomically; a cache that cannot be written is left alone (it is optional)."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            replace_file(self.folder / f"{key}.json", json.dumps({"key": key, "record": record}).encode())
        except OSError:
            pass


def _well_formed(record) -> bool:
    return (isinstance(record, dict) and record.get("error") is None and isinstance(record.get("title"), str)
            and isinstance(record.get("replaced"), dict)
            and all(isinstance(record.get(k), list) and all(isinstance(v, dict) and "verdict" in v for v in record[k])
                    for k in ("claims", "steps")))


def storable(record: dict) -> bool:
    return record.get("error") is None and all(v["verdict"] != Status.UNKNOWN
                                               for v in record["claims"] + record["steps"])
