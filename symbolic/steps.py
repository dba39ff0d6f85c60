"""Steps: a derivation as the notes write it, every link and label checked.

A derivation file may hold `[[steps]]`: each a displayed equation of the
notes in their own LaTeX (`latex`, see `texparse`) or in the plain text of
the rest of the file (`text`, see `plaintext`; both give the same trees,
`steptree`),
placed by `section` and `eq`.
A chain `A = B = C \\in \\mathbb{R}^{k}` gives one verdict per link (`link1`:
A = B, `link2`: B = C) and one per dimension label (`label1`, ... in reading
order: every `\\underbrace`/`\\overbrace` and the closing `\\in`); where a
link of a longer chain fails, `ends` checks the first member against the last.

Meaning follows the notes' conventions:

* `J` is the loss, J = <dY, yhat> (or the scalar output itself), so
  `\\frac{\\partial J}{\\partial \\hat{y}} = dY`;
* a derivative of a scalar has the shape of the variable below the bar
  (`\\partial J / \\partial W` is k x n); of a matrix by a scalar, the matrix's
  shape; of a vector by a vector, the Jacobian (entry p, q: d num_p / d den_q),
  except that the Jacobian of an elementwise map is written as the vector of
  its diagonal (`\\partial \\hat{y} / \\partial z = g'(z)`, k x 1); such a diagonal
  multiplies a vector of its size elementwise (diag(u) v = u ⊙ v);
* a partial by an intermediate (`z`) holds everything else fixed.

Each part is decided as claims are (`stepcheck`, through `decide`): shapes
first (`shape-error`), then the index form of both sides for every size
(`proved`), then explicit sizes 1..N with SymPy's own `diff` (`refuted` with
a counterexample, or `proved-up-to`), else `unknown`.  A wrong label is
`refuted` with the sizes at which the shapes differ.  A part's result is a
`verdicts.Verdict` with its `verdicts.Place`.  `expected = { link2 = "refuted" }`
in a step records an outcome the file expects: it is reported, and counts
as a success only while the verdict is exactly that.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import steptree as T
from . import texparse
from .budget import DEFAULT_BUDGET
from .errors import DerivationError
from .plaintext import parse_statement
from .semantics import LOSS
from .stepcheck import StepChecker
from .verdicts import PROVED, STATUSES, UP_TO, Verdict

STEP_KEYS = {"section", "eq", "latex", "text", "expected", "note", "written"}
StepVerdict = Verdict  # a step part's verdict: a `Verdict` with a `place`


# ---------------------------------------------------------------- data model

@dataclass
class Step:
    """One displayed equation (or `\\in` claim) of the notes."""
    key: str  # where in the file: "steps[3]"
    section: str
    eq: str
    latex: str  # the step as written: LaTeX, or plain text when `syntax` is "text"
    tree: T.Node
    parts: list  # part names in report order: link1.., label1.., ends
    expected: dict = field(default_factory=dict)  # part -> status
    note: str = ""  # how a transcription artifact was read
    written: str = ""  # the notes' text, where the encoding differs
    syntax: str = "latex"  # the key it came from: `latex` (see `texparse`) or `text` (see `plaintext`)

    @property
    def place(self) -> str:
        return f"{self.section}.{self.eq}"

    def __repr__(self):
        return f"Step({self.place}: {self.latex!r})"


# ---------------------------------------------------------------- reading

def scope_of(d, notation: dict) -> T.Scope:
    names = set(d.inputs) | set(d.forward) | {LOSS} | set(notation)
    if d.upstream is not None:
        names.add(d.upstream.name)
    return T.Scope(frozenset(d.functions), frozenset(d.dims), frozenset(names))


def read_notation(path, raw, d) -> dict:
    """`[notation]`: name -> LaTeX it stands for (`W = "w"`, `dX = '\\frac{..}'`)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise DerivationError(path, "notation", f"expected a table of name = \"LaTeX\", got {raw!r}")
    taken = set(d.inputs) | set(d.forward) | set(d.dims) | set(d.functions) | {LOSS}
    if d.upstream is not None:
        taken.add(d.upstream.name)
    out = {}
    for name, text in raw.items():
        key = f"notation.{name}"
        if name in taken:
            raise DerivationError(path, key, f"`{name}` is already declared; notation names a new symbol")
        if not isinstance(text, str):
            raise DerivationError(path, key, f"expected a LaTeX string, got {text!r}")
        out[name] = text
    trees = {}
    scope = scope_of(d, out)
    for name, text in out.items():
        try:
            trees[name] = texparse.parse_expression(text, scope)
        except T.TexError as err:
            raise DerivationError(path, f"notation.{name}", str(err)) from None
        if any(isinstance(n, T.Name) and n.name == name for n in T.walk(trees[name])):
            raise DerivationError(path, f"notation.{name}", "a notation cannot refer to itself")
    return trees


def read_steps(path, raw, d, notation: dict) -> list:
    """The `[[steps]]` of a file: parsed, their parts named; bad LaTeX or a
    bad key is a `DerivationError` naming `steps[N].key`."""
    if not isinstance(raw, list) or not all(isinstance(s, dict) for s in raw):
        raise DerivationError(path, "steps", "expected a list of tables `[[steps]]`")
    scope = scope_of(d, notation)
    out = []
    for n, spec in enumerate(raw):
        key = f"steps[{n}]"
        extra = set(spec) - STEP_KEYS
        if extra:
            raise DerivationError(path, f"{key}.{sorted(extra)[0]}",
                                  f"unknown key; expected {', '.join(sorted(STEP_KEYS))}")
        for k in ("section", "eq"):
            if k not in spec:
                raise DerivationError(path, key, f"missing `{k}`")
        if "latex" in spec and "text" in spec:
            raise DerivationError(path, key, "give the step as `latex` or as `text`, not both")
        if "latex" not in spec and "text" not in spec:
            raise DerivationError(path, key, "missing `latex` (the notes' LaTeX) or `text` (plain text)")
        syntax = "latex" if "latex" in spec else "text"
        section, eq, latex = spec["section"], spec["eq"], spec[syntax]
        if not isinstance(section, str) or not section:
            raise DerivationError(path, f"{key}.section", f"expected a section name like \"IV\", got {section!r}")
        if isinstance(eq, bool) or not isinstance(eq, (int, str)):
            raise DerivationError(path, f"{key}.eq", f"expected an equation number or label, got {eq!r}")
        if not isinstance(latex, str):
            raise DerivationError(path, f"{key}.{syntax}", f"expected a {'LaTeX' if syntax == 'latex' else 'text'} "
                                                           f"string, got {latex!r}")
        latex = " ".join(latex.split())
        try:
            if syntax == "text":
                tree = parse_statement(latex, scope)
            else:
                tree = texparse.parse_statement(latex, scope)
        except T.TexError as err:
            where = f"step {section}.{eq}: " if syntax == "text" else ""
            raise DerivationError(path, f"{key}.{syntax}", where + str(err)) from None
        parts = part_names(tree)
        expected = spec.get("expected", {})
        if not isinstance(expected, dict):
            raise DerivationError(path, f"{key}.expected", f"expected a table like {{ link2 = \"refuted\" }}, "
                                                          f"got {expected!r}")
        for part, status in expected.items():
            if part not in parts:
                raise DerivationError(path, f"{key}.expected.{part}",
                                      f"no such part; this step has {', '.join(parts)}")
            if status not in STATUSES or status in (PROVED, UP_TO):
                raise DerivationError(path, f"{key}.expected.{part}",
                                      f"expected one of refuted, shape-error, unknown, got {status!r}")
        for k in ("note", "written"):
            if not isinstance(spec.get(k, ""), str):
                raise DerivationError(path, f"{key}.{k}", "expected a string")
        out.append(Step(key, section, str(eq), latex, tree, parts, dict(expected),
                        spec.get("note", ""), spec.get("written", ""), syntax))
    return out


def part_names(tree) -> list:
    if isinstance(tree, T.Membership):
        n = sum(1 for m in tree.subjects for _ in T.labels(m, {}))
        return [f"label{k + 1}" for k in range(n + len(tree.subjects))]
    links = [f"link{k + 1}" for k in range(len(tree.members) - 1)]
    n = sum(1 for m in tree.members for _ in T.labels(m, {}))
    labels = [f"label{k + 1}" for k in range(n + (tree.within is not None))]
    return links + labels + (["ends"] if len(tree.members) > 2 else [])


# ---------------------------------------------------------------- deciding

def check_steps(d, max_size: int | None = None, seconds: float = DEFAULT_BUDGET) -> list:
    """Verdicts for every part of every step of `d`, in the file's order."""
    out = []
    for step in getattr(d, "steps", []):
        out.extend(check_step(d, step, max_size or d.max_size, seconds))
    return out


def check_step(d, step: Step, max_size: int, seconds: float) -> list:
    return StepChecker(d, step, max_size, seconds).run()
