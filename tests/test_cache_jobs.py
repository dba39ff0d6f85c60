"""`gradproof verify --jobs N` and the verdict cache: the same output and
verdicts as a serial, uncached run; entries keyed by content, options and
code; corrupted entries ignored; a cached run imports no SymPy."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures import LAYER
from symbolic import batch
from symbolic.cli import main

ROOT = Path(__file__).parent.parent
WRONG = ROOT / "tests" / "data" / "wrong_claims.toml"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("GRADPROOF_CACHE", str(folder))
    return folder / "verdicts"


@pytest.fixture
def mixed(tmp_path):
    """A folder of good, wrong, stepped and bad files."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    for name in ["layer.toml", "layer_batch_sigmoid.toml", "notes/section_5.toml", "two_layers.toml"]:
        (folder / Path(name).name).write_bytes((ROOT / "derivations" / name).read_bytes())
    (folder / "wrong.toml").write_bytes(WRONG.read_bytes())
    (folder / "bad.toml").write_text(LAYER + '[claims]\nW = "dY @ "\n')
    return folder


def _run(capsys, *args):
    code = main(["verify", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _without_seconds(doc):
    for v in doc["claims"] + doc.get("steps", []):
        v.pop("seconds")
    return doc


def _cli(cache, *args):
    """`gradproof verify` in a process of its own (workers are forked only
    from a process that runs one thread)."""
    env = {**os.environ, "GRADPROOF_CACHE": str(cache.parent), "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "symbolic.cli", "verify", *args], capture_output=True, text=True,
                         cwd=ROOT, env=env, timeout=300)
    return run.returncode, run.stdout, run.stderr


def test_jobs_give_the_output_of_a_serial_run_in_the_same_order(mixed, cache):
    serial = _cli(cache, "--jobs", "1", "--no-cache", str(mixed))
    parallel = _cli(cache, "--jobs", "3", "--no-cache", str(mixed))
    assert serial[0] == parallel[0] == 2
    assert serial == parallel
    assert "dJ/db = g'(z)" in serial[1] and "○ V.2  link1" in serial[1] and "bad.toml" in serial[2]
    a = _without_seconds(json.loads(_cli(cache, "--jobs", "1", "--no-cache", "--format", "json", str(mixed))[1]))
    b = _without_seconds(json.loads(_cli(cache, "--jobs", "2", "--no-cache", "--format", "json", str(mixed))[1]))
    assert a == b and not cache.exists()  # --no-cache writes nothing


def test_a_caller_with_threads_of_its_own_gets_a_serial_run(mixed, cache, capsys):
    import threading
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert _run(capsys, "--jobs", "2", "--no-cache", str(mixed))[0] == 2
    finally:
        stop.set()
        other.join()
    assert not [c for c in __import__("multiprocessing").active_children()]


def test_a_second_run_comes_from_the_cache_with_the_same_output(mixed, cache):
    first = _cli(cache, "--jobs", "2", str(mixed))
    entries = sorted(cache.glob("*.json"))
    assert len(entries) == 5  # not the bad file
    stamps = {p: p.stat().st_mtime_ns for p in entries}
    assert _cli(cache, "--jobs", "2", str(mixed)) == first
    assert {p: p.stat().st_mtime_ns for p in entries} == stamps  # read, not written again


def test_the_key_covers_content_options_and_code(tmp_path, cache):
    f = tmp_path / "layer.toml"
    f.write_bytes((ROOT / "derivations/layer.toml").read_bytes())
    c, Options = batch.Cache(), batch.Options
    key = c.key(f, Options(None, 20.0, None))
    assert c.key(f, Options(None, 20.0, None)) == batch.Cache().key(f, Options()) == key
    assert len({key, c.key(f, Options(2, 20.0, None)), c.key(f, Options(None, 5.0, None)),
                c.key(f, Options(None, 20.0, "tanh"))}) == 4
    f.write_text(f.read_text() + "\n")
    assert c.key(f, Options()) != key
    current = c.key(f, Options())
    assert batch.Cache(sources="the hash of an edited checkout").key(f, Options()) != current


def test_the_cache_folder_follows_xdg_cache_home(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("GRADPROOF_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert batch.cache_dir() == tmp_path / "xdg" / "gradproof" / "verdicts"
    assert _run(capsys, "--jobs", "1", "layer")[0] == 0
    assert len(list((tmp_path / "xdg" / "gradproof" / "verdicts").glob("*.json"))) == 1


@pytest.mark.parametrize("damage", [b"", b"{", b'{"key": "other", "record": {}}', b"\xff\xfe", b"[1, 2]",
                                    b'{"key": "K", "record": {"title": 1}}'])
def test_a_corrupted_entry_is_ignored_and_replaced(damage, tmp_path, cache, capsys):
    first = _run(capsys, "--jobs", "1", "layer")
    (entry,) = cache.glob("*.json")
    entry.write_bytes(damage.replace(b"K", entry.stem.encode()))
    assert _run(capsys, "--jobs", "1", "layer") == first
    assert json.loads(entry.read_text())["key"] == entry.stem


def test_a_cached_record_names_the_path_it_was_asked_for(tmp_path, cache, capsys):
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_bytes(WRONG.read_bytes())
    b.write_bytes(WRONG.read_bytes())
    _run(capsys, "--jobs", "1", str(a))
    code, out, _ = _run(capsys, "--jobs", "1", "--format", "json", str(b))
    assert code == 1 and {v["file"] for v in json.loads(out)["claims"]} == {str(b)}


def test_an_unknown_verdict_is_not_stored(tmp_path, cache, capsys):
    f = tmp_path / "slow.toml"
    f.write_text(LAYER.replace('g = "elementwise"', 'g = "sigmoid"') +
                 '[claims]\nx = { expr = "W.T @ (dY * exp(-z) / (1 + exp(-z))**2)", budget = 0.01 }\n')
    record = batch.check_file(str(f), batch.Options(None, 20.0, None))
    if record["claims"][0]["verdict"] != "unknown":
        pytest.skip("decided within 0.01 s on this machine")
    assert not batch.storable(record)
    assert _run(capsys, "--jobs", "1", str(f))[0] == 1
    assert not cache.exists() or not list(cache.glob("*.json"))


def test_a_cached_run_does_not_import_sympy(cache, tmp_path):
    env = {**os.environ, "GRADPROOF_CACHE": str(cache.parent), "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-X", "importtime", "-m", "symbolic.cli", "verify", "layer", "notes/section_5"]
    cold = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
    warm = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
    assert cold.returncode == warm.returncode == 0 and cold.stdout == warm.stdout
    imported = lambda run: {ln.split("|")[-1].strip() for ln in run.stderr.splitlines() if ln.startswith("import")}
    assert "sympy" in imported(cold) and not any(re.match(r"sympy\b", m) for m in imported(warm))


# ---------------------------------------------------------------- the report runs the same way

def _report(cache, *args):
    env = {**os.environ, "GRADPROOF_CACHE": str(cache.parent), "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "symbolic.cli", "report", *args], capture_output=True, text=True,
                         cwd=ROOT, env=env, timeout=300)
    return run.returncode, run.stdout, run.stderr


def test_the_report_uses_the_verify_cache_and_workers_with_the_same_document(tmp_path, cache):
    files = [str(WRONG), "layer", "notes/section_5"]
    serial = _report(cache, "--jobs", "1", "--no-cache", *files)
    assert serial[0] == 1 and "Counterexample at" in serial[1] and not cache.exists()
    assert _report(cache, "--jobs", "2", *files) == serial  # workers, filling the cache
    entries = sorted(cache.glob("*.json"))
    assert len(entries) == 3
    stamps = {p: p.stat().st_mtime_ns for p in entries}
    assert _report(cache, "--jobs", "2", *files) == serial  # from the cache
    assert {p: p.stat().st_mtime_ns for p in entries} == stamps
    verified = subprocess.run([sys.executable, "-m", "symbolic.cli", "verify", *files], capture_output=True, cwd=ROOT,
                              env={**os.environ, "GRADPROOF_CACHE": str(cache.parent), "PYTHONPATH": str(ROOT)})
    assert verified.returncode == 1 and {p: p.stat().st_mtime_ns for p in entries} == stamps  # the same entries


def test_collect_from_files_and_from_records_gives_what_checking_in_process_gives():
    from symbolic import load
    from symbolic.report import collect, markdown
    files = [WRONG, ROOT / "derivations" / "notes" / "section_5.toml"]
    by_file = collect(files, budget=10)
    in_process = collect([load(f) for f in files], budget=10)
    assert markdown(by_file) == markdown(in_process)
    assert [v.to_dict() | {"seconds": 0} for e in by_file for v in e.verdicts] == \
           [v.to_dict() | {"seconds": 0} for e in in_process for v in e.verdicts]
    forms = lambda entries: [(v.claim_expr, v.derived_expr) for e in entries for v in e.verdicts]  # noqa: E731
    assert forms(by_file) == forms(in_process) and all(d is not None for _, d in forms(by_file))


def test_load_takes_a_catalogue_name_and_the_light_modules_import_no_sympy():
    from symbolic import load
    assert load("layer_batch") == load(ROOT / "derivations" / "layer_batch.toml")
    code = ("import sys; from symbolic import DerivationError, ExprError, ShapeError, Status, resolve; "
            "from symbolic.errors import FormTooLarge; from symbolic import batch, catalogue, console; "
            "print(resolve('notes/section_5').name, 'sympy' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert run.stdout.split() == ["section_5.toml", "False"]
