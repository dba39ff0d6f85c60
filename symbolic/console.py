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
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass

from .status import Status, headline


@dataclass(frozen=True)
class Mark:
    """How a status shows on a terminal: its mark, the plain-ASCII mark
    where the stream cannot encode it, and its ANSI colour."""
    glyph: str
    ascii: str
    colour: str


MARKS = {  # status: its mark
    Status.PROVED:  Mark("✓", "ok", "32"),
    Status.UP_TO:   Mark("≈", "ok~", "32"),
    Status.REFUTED: Mark("✗", "NO", "31"),
    Status.SHAPE:   Mark("✗", "NO", "31"),
    Status.UNKNOWN: Mark("?", "??", "33"),
}
AS_EXPECTED = Mark("○", "xf", "36")  # a step part whose verdict is the failure its file expects
DIM, BOLD = "2", "1"


def record(v) -> dict:
    """A verdict as the plain data the printers read: a `Verdict` of a claim
    or a step part (by its `to_dict`), or that dict itself (from a worker
    process or the cache)."""
    if isinstance(v, dict):
        return v
    out = v.to_dict()
    if hasattr(v, "note"):
        out["note"] = v.note
    return out


def proved(r: dict) -> bool:
    return Status(r["verdict"]).proved


def held(r: dict) -> bool:
    """A step part that is proved and that its file does not expect to fail."""
    return proved(r) and r.get("expected") is None


def step_ok(r: dict) -> bool:
    """A step part counts when proved, or when it is exactly the outcome its file expects."""
    return proved(r) if r.get("expected") is None else r["verdict"] == r["expected"]


@dataclass(frozen=True)
class Style:
    """How to write on one stream: colour, and Unicode marks or ASCII ones."""
    colour: bool = False
    unicode: bool = True

    @classmethod
    def for_stream(cls, stream) -> "Style":
        colour = _tty(stream) and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
        try:
            "✓✗≈○".encode(getattr(stream, "encoding", None) or "ascii")
            unicode = True
        except (UnicodeEncodeError, LookupError):
            unicode = False
        return cls(colour, unicode)

    def paint(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.colour and text else text

    def glyph(self, mark: Mark) -> str:
        return mark.glyph if self.unicode else mark.ascii

    def mark(self, status) -> str:
        """The mark of a status (or `AS_EXPECTED`), coloured, padded to the widest mark."""
        mark = status if isinstance(status, Mark) else MARKS[status]
        return self.paint(self.glyph(mark), mark.colour) + " " * (self.mark_width() - len(self.glyph(mark)))

    def mark_width(self) -> int:
        return max(len(self.glyph(m)) for m in [*MARKS.values(), AS_EXPECTED])


def _tty(stream) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)())


def _headline(r: dict) -> str:
    return headline(r["verdict"], r.get("sizes"), r.get("except_where") or ())


# ---------------------------------------------------------------- claims

def title_line(r: dict, shown_path: str, style: Style = Style()) -> str:
    """`derivations/layer.toml: Layer: R^n -> R^k (g is tanh, from --activation)`."""
    replaced = ", ".join(f"{g} is {fn}" for g, fn in (r.get("replaced") or {}).items())
    return style.paint(f"{shown_path}: {r['title']}", BOLD) + (f" ({replaced}, from --activation)" if replaced else "")


def verdict_lines(title: str, results: list, style: Style = Style()) -> list:
    """The table of one derivation's verdicts, as lines."""
    lines = [style.paint(title, BOLD)] if title else []
    return lines + (claim_lines(results, style) if results else ["  (no claims)"])


def claim_lines(results: list, style: Style = Style()) -> list:
    """One line a claim (mark, verdict, claim, in aligned columns), and
    under a claim that does not hold, its evidence."""
    results = [record(v) for v in results]
    mw = style.mark_width()
    heads = [_headline(v) for v in results]
    hw = max([len(h) for h in heads] + [len(headline(Status.PROVED))])  # the same in most files
    names = [v["claim"] + (f" [{v['name']}]" if v.get("name") else "") for v in results]
    ww = max(len(n) for n in names)
    column = 2 + mw + 1 + hw + 2  # where the claim starts
    lines = []
    for v, h, n in zip(results, heads, names):
        head = style.paint(f"{h:<{hw}}", MARKS[v["verdict"]].colour)
        lines.append(f"  {style.mark(v['verdict'])} {head}  dJ/d{n:<{ww}} = {v['expr']}")
        if not proved(v) or v.get("stopped"):  # a proof the budget cut short says so
            lines += detail_lines(v, column, style)
    return lines


def detail_lines(v: dict, column: int, style: Style) -> list:
    """Evidence, derived form, likely mistake and counterexample, each under
    a label that ends where the claim column starts."""
    out = []

    def row(label, value):
        out.append(style.paint(f"{label:>{column - 1}}", DIM) + " " + value)

    row("evidence:", v["detail"])
    if v["verdict"] != Status.UNKNOWN:
        row("derived:", f"dJ/d{v['claim']} = {v['derived']}")
    r = v.get("repair")
    if r:
        row("likely mistake:", r["description"])
        if r.get("marked"):
            row("edit:", r["marked"])
        row("repaired:", f"dJ/d{v['claim']} = {r['text']}")
        if r.get("tried") is not None:
            proof = headline(r.get("proof", Status.PROVED), r.get("sizes"))
            row("", f"{r['tried']} candidate edits screened numerically, {r['survived']} passed; this one {proof}")
    c = v.get("counterexample")
    if c:
        sizes = ", ".join(f"{k}={n}" for k, n in c["sizes"].items()) or "no dims"
        row("counterexample at", sizes + (f", with {c['function']}" if c["function"] else ""))
        width = max(len(n) for n in c["point"])
        for name, value in c["point"].items():
            row("", f"{name:<{width}} = {matrix_text(value)}")
        how = "exact" if c["exact"] else "to 20 digits"
        row("", f"claim gives {matrix_text(c['claim_value'])}; the true gradient is "
                f"{matrix_text(c['true_value'])} ({how})")
        if c.get("first_difference"):
            i, j = c["first_difference"]
            row("", f"first difference at entry ({i}, {j}): the claim {number_text(c['claim_value'][i - 1][j - 1])}, "
                    f"the gradient {number_text(c['true_value'][i - 1][j - 1])}")
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


# ---------------------------------------------------------------- step parts

def step_lines(results: list, style: Style = Style(), verbose: bool = False) -> list:
    """The step parts of one file.  Short (the default): one line for the
    parts that hold, then each part that fails or was expected to fail,
    with its evidence, likely mistake and counterexample, but not the
    step's LaTeX.  `verbose`: every part with its text, as the notes write it."""
    results = [record(v) for v in results]
    if not results:
        return []
    if verbose:
        return step_report(results, style)
    good = [v for v in results if held(v)]
    rest = [v for v in results if not held(v)]
    lines = []
    if good:
        counts = Counter(_headline(v) for v in good)  # in the order they first occur
        status = Status.PROVED if all(v["verdict"] == Status.PROVED for v in good) else Status.UP_TO
        words = (next(iter(counts)) if len(counts) == 1
                 else "hold: " + ", ".join(f"{n} {h}" for h, n in counts.items()))
        lines.append(f"  {style.mark(status)} {plural(len(good), 'step part')} {words}")
    pw, kw = _widths(rest)
    indent = " " * (2 + style.mark_width() + 1 + pw + 2 + kw + 2)
    for v in rest:
        lines.append(_part_line(v, pw, kw, 0, style) + f": {v['detail']}")
        if v.get("repair"):
            lines.append(f"{indent}{style.paint('likely mistake:', DIM)} {v['repair']}")
        c = v.get("counterexample")
        if c is not None and c["point"] and not step_ok(v):
            lines += _step_counterexample(c, indent, style)
    return lines


def step_report(results: list, style: Style = Style()) -> list:
    """The step-by-step report of one file, as lines: each part placed by
    section and equation with its text, and under a part that does not
    hold, the evidence, the right form, a likely mistake and a counterexample
    (`results` as `record` gives them, at least one)."""
    lines = ["  steps, by section and equation:"]
    pw, kw = _widths(results)
    hw = max(len(_step_head(v)) for v in results)
    indent = " " * (4 + style.mark_width() + pw)
    seen = set()
    for v in results:
        lines.append(_part_line(v, pw, kw, hw, style) + f"  {v['text']}")

        def row(label, value):
            lines.append(f"{indent}{style.paint(label, DIM)} {value}")

        if v.get("note") and _place(v) not in seen:
            row("reading:", v["note"])
        seen.add(_place(v))
        if held(v):
            continue
        if v.get("expected") is not None and not step_ok(v):
            row("NOT AS EXPECTED:", f"the file expects {v['expected']}")
        row("evidence:", v["detail"])
        if v.get("right"):
            row("right form:", v["right"])
        if v.get("repair"):
            row("likely mistake:", v["repair"])
        c = v.get("counterexample")
        if c is not None and c["point"]:
            lines += _step_counterexample(c, indent, style)
        elif c is not None:
            where = ", ".join(f"{k}={n}" for k, n in c["sizes"].items())
            row("counterexample:", f"at {where} the expression is {' x '.join(c['left_value'][0])}, "
                                   f"the label says {' x '.join(c['right_value'][0])}")
    return lines


def _step_counterexample(c: dict, indent: str, style: Style) -> list:
    where = ", ".join(f"{k}={n}" for k, n in {**c["sizes"], **c["indices"]}.items()) or "no dims"
    how = "exact" if c["exact"] else "to 20 digits"
    return [f"{indent}{style.paint('counterexample:', DIM)} at {where}"
            + (f", with {c['function']}" if c["function"] else ""),
            f"{indent}{' ' * 15} " + "; ".join(f"{name} = {matrix_text(value)}" for name, value in c["point"].items()),
            f"{indent}{' ' * 15} left side {matrix_text(c['left_value'])}, right side {matrix_text(c['right_value'])} "
            f"({how})"]


def _widths(results: list) -> tuple:
    """The widths of the place and part columns."""
    return max((len(_place(v)) for v in results), default=0), max((len(v["part"]) for v in results), default=0)


def _part_line(v: dict, pw: int, kw: int, hw: int, style: Style) -> str:
    """A part's mark (its status's, or `AS_EXPECTED` for a failure its file expects), place, part
    and verdict, in columns `pw`, `kw` and `hw` wide."""
    mark = AS_EXPECTED if v.get("expected") is not None and step_ok(v) else MARKS[v["verdict"]]
    head = style.paint(f"{_step_head(v):<{hw}}", mark.colour if step_ok(v) else "31")
    return f"  {style.mark(mark)} {_place(v):<{pw}}  {v['part']:<{kw}}  {head}"


def _place(v: dict) -> str:
    return f"{v['section']}.{v['eq']}"


def _step_head(v: dict) -> str:
    h = _headline(v)
    if v.get("expected") is None:
        return h
    return h + (" (expected)" if step_ok(v) else " (NOT expected)")


# ---------------------------------------------------------------- summary

def counts(results: list) -> dict:
    """{status: number} over verdicts or step parts, every status present."""
    results = [record(v) for v in results]
    return {str(s): sum(v["verdict"] == s for v in results) for s in Status}


def summary_line(counts: dict, claims: int, files: int, style: Style = Style()) -> str:
    parts = ", ".join(style.paint(f"{n} {s}", MARKS[s].colour) for s, n in counts.items() if n)
    return f"{plural(claims, 'claim')} in {plural(files, 'file')}: {parts or 'none'}"


def step_summary(results: list, style: Style = Style()) -> str:
    """`86 step parts: 76 proved, 5 refuted, 5 shape-error; 10 wrong as the files expect`."""
    results = [record(v) for v in results]
    parts = ", ".join(style.paint(f"{n} {s}", MARKS[s].colour) for s, n in counts(results).items() if n)
    expected = sum(1 for v in results if v.get("expected") is not None and step_ok(v))
    off = sum(1 for v in results if not step_ok(v))
    tail = f"; {expected} wrong as the files expect" if expected else ""
    tail += style.paint(f"; {off} NOT as expected or unproved", "31") if off else ""
    return f"{plural(len(results), 'step part')}: {parts or 'none'}{tail}"


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
        self.enabled = _tty(self.stream) if enabled is None else enabled
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
