"""The terminal table of `gradproof verify`: aligned columns, a mark per
verdict, colour only on a terminal without NO_COLOR, a progress line on
stderr only on a terminal and only after a moment."""
import io
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from symbolic import load, verify
from symbolic.console import MARKS, Progress, Style, verdict_lines

WRONG = Path(__file__).parent / "data" / "wrong_claims.toml"
ANSI = re.compile(r"\033\[[0-9;]*[mK]")


class Stream(io.StringIO):
    def __init__(self, tty, encoding="utf-8"):
        super().__init__()
        self.tty, self._encoding = tty, encoding

    def isatty(self):
        return self.tty

    @property
    def encoding(self):
        return self._encoding


@pytest.fixture(scope="module")
def verdicts():
    return verify(load(WRONG), default_budget=10) + verify(load("derivations/layer.toml"))


def test_colour_only_on_a_terminal_without_no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert Style.for_stream(Stream(tty=True)).colour
    assert not Style.for_stream(Stream(tty=False)).colour
    monkeypatch.setenv("NO_COLOR", "1")
    assert not Style.for_stream(Stream(tty=True)).colour


def test_ascii_marks_where_the_stream_cannot_encode_unicode():
    assert Style.for_stream(Stream(tty=False, encoding="ascii")).unicode is False
    assert Style.for_stream(Stream(tty=False, encoding="utf-8")).unicode is True


@pytest.mark.parametrize("style", [Style(False, True), Style(False, False), Style(True, True)])
def test_columns_are_aligned_with_one_mark_per_verdict(verdicts, style):
    lines = [ANSI.sub("", ln) for ln in verdict_lines("title", verdicts, style)]
    rows = [ln for ln in lines if "dJ/d" in ln and " = " in ln and not ln.strip().startswith(("derived", "repaired"))]
    assert len(rows) == len(verdicts)
    starts = {ln.index("dJ/d") for ln in rows}
    assert len(starts) == 1  # the claim column
    for ln, v in zip(rows, verdicts):
        mark = MARKS[v.status].glyph if style.unicode else MARKS[v.status].ascii
        assert ln.startswith("  " + mark) and v.headline() in ln and ln.endswith(v.text)
    column = starts.pop()
    labels = [ln for ln in lines if re.match(r"^ +(evidence|derived|likely mistake|repaired|counterexample at)", ln)]
    assert labels
    for ln in labels:  # every label ends just before the claim column, its value starts there
        assert ln[column - 2] in ":t" and ln[column - 1] == " " and ln[column] != " "


def test_colour_codes_only_with_colour(verdicts):
    plain = "\n".join(verdict_lines("t", verdicts, Style(False, True)))
    coloured = "\n".join(verdict_lines("t", verdicts, Style(True, True)))
    assert not ANSI.search(plain)
    assert "\033[31m✗\033[0m" in coloured and "\033[32m✓\033[0m" in coloured
    assert ANSI.sub("", coloured) == plain


def test_the_table_keeps_the_evidence_derived_form_mistake_and_counterexample(verdicts):
    text = "\n".join(verdict_lines("t", verdicts))
    w = next(v for v in verdicts if v.wrt == "W" and v.status == "refuted")
    assert f"evidence: {w.detail}" in text
    assert f"derived: dJ/dW = {w.derived}" in text
    assert f"likely mistake: {w.repair.describe()}" in text
    assert f"repaired: dJ/dW = {w.repair.text}" in text
    assert "counterexample at " + ", ".join(f"{k}={n}" for k, n in w.counterexample.sizes.items()) in text
    assert "claim gives [" in text and "the true gradient is [" in text


def test_progress_is_drawn_on_a_terminal_after_the_delay_and_erased():
    s = Stream(tty=True)
    with Progress(s, delay=0.0) as p:
        p.update("gradproof: verifying 1/2 layer.toml")
        with p.paused():
            assert s.getvalue().endswith("\r\033[K")  # erased before other output
    out = s.getvalue()
    assert "\rgradproof: verifying 1/2 layer.toml (" in out and out.endswith("\r\033[K")


def test_no_progress_before_the_delay_or_off_a_terminal():
    quick = Stream(tty=True)
    with Progress(quick, delay=60) as p:
        p.update("verifying")
    assert quick.getvalue() == ""
    piped = Stream(tty=False)
    with Progress(piped, delay=0.0) as p:
        p.update("verifying")
        time.sleep(0.3)
    assert piped.getvalue() == ""


def test_the_tick_keeps_the_elapsed_time_current():
    s = Stream(tty=True)
    with Progress(s, delay=0.0) as p:
        p.update("verifying")
        time.sleep(0.5)
    assert len(re.findall(r"\rverifying \(\d+\.\d s\)", s.getvalue())) >= 2


def _run_on_a_terminal(args, env):
    """Run `gradproof` with stdout and stderr on a pseudo-terminal."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "symbolic.cli", *args], stdin=subprocess.DEVNULL,
                            stdout=slave, stderr=slave, env=env, cwd=Path(__file__).parent.parent)
    os.close(slave)
    out = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    proc.wait(timeout=60)
    os.close(master)
    return proc.returncode, out.decode()


def test_verify_on_a_terminal_is_coloured_unless_no_color():
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env["TERM"] = "xterm"
    rc, out = _run_on_a_terminal(["verify", "derivations/layer.toml"], env)
    assert rc == 0 and "\033[32m✓\033[0m" in out
    rc, out = _run_on_a_terminal(["verify", "derivations/layer.toml"], {**env, "NO_COLOR": "1"})
    assert rc == 0 and "✓" in out and "\033[3" not in out


def test_verify_piped_has_no_colour_and_no_progress():
    run = subprocess.run([sys.executable, "-m", "symbolic.cli", "verify", str(WRONG)], capture_output=True,
                         text=True, env={**os.environ, "TERM": "xterm"}, cwd=Path(__file__).parent.parent)
    assert run.returncode == 1
    assert not ANSI.search(run.stdout) and run.stderr == ""
