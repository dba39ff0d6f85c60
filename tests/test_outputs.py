"""Files gradproof writes: `-o` replaces its file in one step and never
overwrites a file the command reads; the cache of generated modules runs a
stored module only if its sha256 matches, and otherwise makes it again."""
from __future__ import annotations

import os
import stat

import pytest

import numeric.compile
from numeric import export, gradients
from symbolic.catalogue import CATALOGUE
from symbolic.cli import main

LAYER = (CATALOGUE / "layer_sigmoid.toml").read_text(encoding="utf-8")


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GRADPROOF_CACHE", str(tmp_path / "cache"))
    f = tmp_path / "mine.toml"
    f.write_text(LAYER, encoding="utf-8")
    return tmp_path


def _listing(folder):
    return sorted(p.name for p in folder.iterdir())


# ---------------------------------------------------------------- -o never overwrites an input

def _same_file_cases(work):
    """(name, args): each writes over `mine.toml` by another path."""
    (work / "sub").mkdir()
    (work / "link.toml").symlink_to(work / "mine.toml")
    os.link(work / "mine.toml", work / "hard.toml")
    return {
        "export as given": ["export", "mine.toml", "-o", "mine.toml"],
        "export through ..": ["export", "mine.toml", "-o", "sub/../mine.toml"],
        "export absolute": ["export", "mine.toml", "-o", str(work / "mine.toml")],
        "export to a symbolic link": ["export", "mine.toml", "-o", "link.toml"],
        "export from a symbolic link": ["export", "link.toml", "-o", "mine.toml"],
        "export to a hard link": ["export", "mine.toml", "-o", "hard.toml"],
        "report as given": ["report", "mine.toml", "-o", "mine.toml"],
        "report of the folder": ["report", ".", "-o", "mine.toml"],
        "report, second input": ["report", str(CATALOGUE / "layer.toml"), "mine.toml", "-o", "hard.toml"],
        "report in tex": ["report", "mine.toml", "--format", "tex", "-o", "link.toml"],
    }


def test_an_output_that_is_an_input_is_refused(work, capsys):
    before = (work / "mine.toml").read_bytes()
    for name, args in _same_file_cases(work).items():
        listing = _listing(work)
        assert main(args) == 2, name
        err = capsys.readouterr().err
        assert "a derivation file this command reads; write the output to another file" in err, (name, err)
        assert (work / "mine.toml").read_bytes() == before, name
        assert (work / "link.toml").is_symlink()
        assert _listing(work) == listing, name


def test_a_catalogue_name_and_its_file_are_the_same_input(work, capsys):
    target = CATALOGUE / "layer_sigmoid.toml"
    before = target.read_bytes()
    try:
        assert main(["export", "layer_sigmoid", "-o", os.path.relpath(target)]) == 2
        assert main(["report", "layer_sigmoid", "-o", str(target)]) == 2
        assert main(["report", "-o", str(target)]) == 2  # no path: the whole catalogue
    finally:
        if target.read_bytes() != before:  # keep the checkout intact even when the test fails
            target.write_bytes(before)
    err = capsys.readouterr().err
    assert err.count("layer_sigmoid.toml, a derivation file this command reads") == 3


def test_numeric_export_refuses_to_write_over_its_derivation(work):
    (work / "link.toml").symlink_to("mine.toml")
    for source, out in [("mine.toml", "mine.toml"), ("link.toml", "mine.toml"), ("mine.toml", "link.toml"),
                        ("mine.toml", "./mine.toml")]:
        with pytest.raises(ValueError, match="is the derivation file .* itself; write the module to another file"):
            export(work / source, out=out)
    assert (work / "mine.toml").read_text(encoding="utf-8") == LAYER and (work / "link.toml").is_symlink()


# ---------------------------------------------------------------- -o writes in one step

def test_export_and_report_write_their_files(work, capsys):
    assert main(["export", "mine.toml", "-o", "grads.py"]) == 0
    assert (work / "grads.py").read_text(encoding="utf-8") == gradients("mine.toml").source
    assert main(["report", "mine.toml", "-o", "report.md"]) == 0
    assert (work / "report.md").read_text(encoding="utf-8").startswith("#")
    assert capsys.readouterr().err.count("wrote ") == 2
    assert _listing(work) == ["cache", "grads.py", "mine.toml", "report.md"]


def test_writing_over_an_output_keeps_its_mode_and_writes_through_a_link(work):
    (work / "grads.py").write_text("old")
    os.chmod(work / "grads.py", 0o640)
    (work / "alias.py").symlink_to("grads.py")
    assert main(["export", "mine.toml", "-o", "alias.py"]) == 0
    assert (work / "alias.py").is_symlink()
    assert (work / "grads.py").read_text(encoding="utf-8").startswith('"""Gradients of `mine`')
    assert stat.S_IMODE(os.stat(work / "grads.py").st_mode) == 0o640


def test_a_new_output_gets_the_usual_mode(work):
    assert main(["export", "mine.toml", "-o", "grads.py"]) == 0
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(os.stat(work / "grads.py").st_mode) == 0o666 & ~mask


@pytest.mark.parametrize("fails", ["replace", "fsync", "chmod"])
def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(work, monkeypatch, capsys, fails):
    (work / "grads.py").write_text("old")
    gradients(work / "mine.toml")  # generated and cached before the failure is arranged
    listing = _listing(work)

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, fails, broken)
    assert main(["export", "mine.toml", "-o", "grads.py"]) == 2
    assert main(["report", "mine.toml", "-o", "report.md"]) == 2
    err = capsys.readouterr().err
    assert "gradproof: error: cannot write `grads.py` (No space left on device)" in err
    assert "gradproof: error: cannot write `report.md` (No space left on device)" in err
    assert (work / "grads.py").read_text() == "old"
    assert _listing(work) == listing


def test_an_output_that_is_a_folder_is_an_error_and_leaves_nothing(work, capsys):
    (work / "out").mkdir()
    gradients(work / "mine.toml")
    listing = _listing(work)
    assert main(["export", "mine.toml", "-o", "out"]) == 2
    assert "gradproof: error: cannot write `out`" in capsys.readouterr().err
    assert _listing(work) == listing and _listing(work / "out") == []


def test_numeric_export_writes_atomically(work, monkeypatch):
    gradients(work / "mine.toml")
    (work / "grads.py").write_text("old")

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="No space left"):
        export(work / "mine.toml", out=work / "grads.py")
    assert (work / "grads.py").read_text() == "old"
    assert _listing(work) == ["cache", "grads.py", "mine.toml"]


# ---------------------------------------------------------------- the cache

RUN = '__import__("pathlib").Path("sentinel").touch()\n'


def _damage(data: bytes) -> dict:
    body, seal = data[:data.rstrip(b"\n").rfind(b"\n") + 1], data[data.rstrip(b"\n").rfind(b"\n") + 1:]
    return {
        "empty": b"",
        "truncated": data[:len(data) // 2],
        "cut before the seal": body,
        "one byte less": data[:-1],
        "binary": bytes(range(256)) * 8,
        "not UTF-8, sealed": b"\xff\xfe" + body[2:] + seal,
        "a line added": RUN.encode() + data,
        "a line added before the seal": body + RUN.encode() + seal,
        "code changed": body.replace(b"dW = ", b"dW = 2 * ", 1) + seal,
        "seal of other text": RUN.encode() + body + seal,
        "seal alone": seal,
        "sealed twice": data + seal,
    }


def test_a_damaged_cache_file_is_never_run_but_made_again(work):
    first = gradients(work / "mine.toml")
    stored = first.cached
    good = stored.read_bytes()
    assert good.endswith(b"\n") and b"# gradproof cache: sha256 " in good.splitlines()[-1]
    import numpy as np
    a = {"W": np.ones((2, 3)), "x": np.ones((3, 1)), "b": np.zeros((2, 1)), "dY": np.ones((2, 1))}
    want = first(**a)
    for name, data in _damage(good).items():
        stored.write_bytes(data)
        again = gradients(work / "mine.toml")
        assert not (work / "sentinel").exists(), name
        assert again.cached == stored, name
        assert stored.read_bytes() == good, name  # stored anew
        assert all(np.array_equal(again(**a)[n], want[n]) for n in want), name
    assert _listing(stored.parent) == [stored.name]


def test_an_intact_cache_file_is_used_as_it_is(work, monkeypatch):
    first = gradients(work / "mine.toml")
    stamp = first.cached.stat().st_mtime_ns

    def no_generation(*args):
        raise AssertionError("generated again")
    monkeypatch.setattr(numeric.compile, "generate", no_generation)
    again = gradients(work / "mine.toml")
    assert again.cached == first.cached and again.cached.stat().st_mtime_ns == stamp
    assert again.source == first.source


def test_a_cache_that_cannot_be_written_leaves_no_temporary_file(work, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", broken)
    grads = gradients(work / "mine.toml")  # the cache is optional: the gradients still come
    assert grads.cached is None
    assert _listing(work / "cache") == []


def test_a_cached_module_shows_its_source(work):
    import inspect
    grads = gradients(work / "mine.toml")
    grads = gradients(work / "mine.toml")  # from the stored file
    assert inspect.getsource(grads.module.gradients) in grads.source
    assert "# gradproof cache: sha256" not in grads.source


def test_a_report_on_a_file_whose_name_is_not_utf8_is_written(work, capsys):
    name = os.fsencode(str(work)) + b"/x\xff.toml"
    with open(name, "wb") as f:
        f.write(LAYER.encode("utf-8"))
    assert main(["report", os.fsdecode(name), "-o", "report.md"]) == 0
    assert b"x\xff" in (work / "report.md").read_bytes()  # the name's own bytes
