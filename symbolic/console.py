"""What `gradproof` prints on a terminal: the verdict table and a progress line.

The table has aligned columns (mark, verdict, claim) and, under a claim
that does not hold, right-aligned labels for the evidence, the derived
form, the likely mistake and the counterexample.  Colour only when the
stream is a terminal and `NO_COLOR` is unset; the progress line goes to
stderr, only on a terminal, and only once a run has taken a moment.
"""
from __future__ import annotations

import os
import re
import shutil
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

from .verify import PROVED, REFUTED, SHAPE, UNKNOWN, UP_TO

MARKS = {  # status: (mark, plain-ASCII mark, ANSI colour)
    PROVED:  ("✓", "ok", "32"),
    UP_TO:   ("≈", "ok~", "32"),
    REFUTED: ("✗", "NO", "31"),
    SHAPE:   ("✗", "NO", "31"),
    UNKNOWN: ("?", "??", "33"),
}
DIM, BOLD = "2", "1"
PROVED_HEADLINE = "proved for every size"


@dataclass(frozen=True)
class Style:
    """How to write on one stream: colour, and Unicode marks or ASCII ones."""
    colour: bool = False
    unicode: bool = True

    @classmethod
    def for_stream(cls, stream) -> "Style":
        tty = bool(getattr(stream, "isatty", lambda: False)())
        colour = tty and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
        try:
            "✓✗≈".encode(getattr(stream, "encoding", None) or "ascii")
            unicode = True
        except (UnicodeEncodeError, LookupError):
            unicode = False
        return cls(colour, unicode)

    def paint(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.colour and text else text

    def mark(self, status: str) -> str:
        glyph, ascii_mark, colour = MARKS[status]
        return self.paint(glyph if self.unicode else ascii_mark, colour)

    def mark_width(self) -> int:
        return max(len(m[0] if self.unicode else m[1]) for m in MARKS.values())


def verdict_lines(title: str, results: list, style: Style = Style()) -> list:
    """The table of one derivation's verdicts, as lines."""
    lines = [style.paint(title, BOLD)]
    if not results:
        return lines + ["  (no claims)"]
    mw = style.mark_width()
    hw = max([len(v.headline()) for v in results] + [len(PROVED_HEADLINE)])  # the same in most files
    ww = max(len(v.wrt) for v in results)
    column = 2 + mw + 1 + hw + 2  # where the claim starts
    for v in results:
        mark = style.mark(v.status) + " " * (mw - len(MARKS[v.status][0 if style.unicode else 1]))
        head = style.paint(f"{v.headline():<{hw}}", MARKS[v.status][2])
        lines.append(f"  {mark} {head}  dJ/d{v.wrt:<{ww}} = {v.text}")
        if not v.proved:
            lines += detail_lines(v, column, style)
    return lines


def detail_lines(v, column: int, style: Style) -> list:
    """Evidence, derived form, likely mistake and counterexample, each under
    a label that ends where the claim column starts."""
    out = []

    def row(label, value):
        out.append(style.paint(f"{label:>{column - 1}}", DIM) + " " + value)

    row("evidence:", v.detail)
    if v.status != UNKNOWN:
        row("derived:", f"dJ/d{v.wrt} = {v.derived}")
    if v.repair:
        row("likely mistake:", v.repair.describe())
        row("edit:", v.repair.marked())
        row("repaired:", f"dJ/d{v.wrt} = {v.repair.text}")
        row("", v.repair.search_text())
    c = v.counterexample
    if c:
        sizes = ", ".join(f"{k}={n}" for k, n in c.sizes.items()) or "no dims"
        row("counterexample at", sizes + (f", with {c.function}" if c.function else ""))
        width = max(len(n) for n in c.point)
        for name, value in c.point.items():
            row("", f"{name:<{width}} = {matrix_text(value)}")
        how = "exact" if c.exact else "to 20 digits"
        row("", f"claim gives {matrix_text(c.claim_value)}; the true gradient is "
                f"{matrix_text(c.true_value)} ({how})")
        if c.first_difference:
            i, j = c.first_difference
            row("", f"first difference at entry ({i}, {j}): the claim {number_text(c.claim_value[i - 1][j - 1])}, "
                    f"the gradient {number_text(c.true_value[i - 1][j - 1])}")
    return out


def matrix_text(rows) -> str:
    return "[" + "; ".join(", ".join(number_text(x) for x in r) for r in rows) + "]"


LONG_NUMBER = 40  # digits shown in full; a longer run is cut in the middle


def number_text(value: str) -> str:
    """An exact value as printed on a terminal: every run of more than
    `LONG_NUMBER` digits cut to its ends and its length (`12345…67890 (4,812 digits)`)."""
    def cut(m):
        digits = m.group(0)
        return f"{digits[:10]}…{digits[-10:]} ({len(digits):,} digits)"
    return re.sub(r"[0-9]{%d,}" % (LONG_NUMBER + 1), cut, value)


def summary_line(counts: dict, claims: int, files: int, style: Style = Style()) -> str:
    parts = ", ".join(style.paint(f"{n} {s}", MARKS[s][2]) for s, n in counts.items() if n)
    return f"{plural(claims, 'claim')} in {plural(files, 'file')}: {parts or 'none'}"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# ---------------------------------------------------------------- progress

class Progress:
    """A status line on `stream` (stderr), redrawn in place.

    Nothing is written unless the stream is a terminal and the run has
    lasted `delay` seconds; a background tick keeps the elapsed time
    current while one long claim is being decided.  Print other output
    inside `with progress.paused():` so the two never mix on one screen.
    """

    def __init__(self, stream=None, delay: float = 0.5, enabled: bool | None = None):
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.enabled = enabled
        self.delay = delay
        self.start = time.monotonic()
        self.text = ""
        self.shown = False
        self.hold = 0
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.thread = None
        if self.enabled:
            self.thread = threading.Thread(target=self._tick, daemon=True)
            self.thread.start()

    def update(self, text: str):
        with self.lock:
            self.text = text
            self._draw()

    @contextmanager
    def paused(self):
        with self.lock:
            self._erase()
            self.hold += 1
        try:
            yield
        finally:
            with self.lock:
                self.hold -= 1

    def close(self):
        self.done.set()
        if self.thread is not None:
            self.thread.join()
        with self.lock:
            self._erase()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _tick(self):
        while not self.done.wait(0.2):
            with self.lock:
                self._draw()

    def _draw(self):
        elapsed = time.monotonic() - self.start
        if not self.enabled or self.hold or not self.text or elapsed < self.delay:
            return
        width = shutil.get_terminal_size((80, 24)).columns
        line = f"{self.text} ({elapsed:.1f} s)"[:max(width - 1, 10)]
        self.stream.write("\r" + line + "\033[K")
        self.stream.flush()
        self.shown = True

    def _erase(self):
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.shown = False


# ---------------------------------------------------------------- notation options

def add_notation_arguments(parser):
    """`--hadamard`, `--transpose`, `--upstream` for the LaTeX notation."""
    parser.add_argument("--hadamard", choices=["odot", "circ"], default="odot",
                        help="elementwise product: \\odot (default, as in the notes) or \\circ")
    parser.add_argument("--transpose", choices=["T", "top"], default="T",
                        help="transpose: ^{T} (default) or ^{\\top}")
    parser.add_argument("--upstream", choices=["dY", "frac"], default="dY",
                        help="the upstream gradient and adjoints by name, dY (default), "
                             "or as \\frac{\\partial J}{\\partial \\hat{y}}")
