"""Steps: a derivation as the notes write it, every link and label checked.

A derivation file may hold `[[steps]]`: each a displayed equation of the
notes in their own LaTeX (`latex`, see `texparse`) or in the plain text of
the rest of the file (`text`, see `indexparse`; both give the same trees),
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

Each part is decided as claims are (`verify`): shapes first (`shape-error`),
then the index form of both sides for every size (`proved`), then explicit
sizes 1..N with SymPy's own `diff` (`refuted` with a counterexample, or
`proved-up-to`), else `unknown`.  A wrong label is `refuted` with the sizes
at which the shapes differ.  `expected = { link2 = "refuted" }` in a step
records an outcome the file expects: it is reported, and counts as a
success only while the verdict is exactly that.
"""
from __future__ import annotations

import itertools
import random
import time
from dataclasses import dataclass, field, fields, replace

import sympy

from . import expr as E
from . import index as I
from . import texparse as T
from .budget import OutOfTime, budget
from .derive import derive
from .errors import DerivationError
from .explicit import POLY, POLYS, differ, evaluate, finite, is_zero, matrix_strings, poly_text, random_point, size_combinations
from .indexparse import parse_statement, show, show_form
from .meaning import LOSS, Meaning, Sizes, StepShapeError, same_size, match_scalar, index_name, shape_tex, shape_text

from .verify import PROVED, REFUTED, SHAPE, STATUSES, UNKNOWN, UP_TO, headline  # noqa: F401
STEP_KEYS = {"section", "eq", "latex", "text", "expected", "note", "written"}


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
    syntax: str = "latex"  # the key it came from: `latex` (see `texparse`) or `text` (see `indexparse`)

    @property
    def place(self) -> str:
        return f"{self.section}.{self.eq}"

    def __repr__(self):
        return f"Step({self.place}: {self.latex!r})"


@dataclass
class StepCounterexample:
    """Sizes, index values and a point where the two sides differ."""
    sizes: dict  # dim -> int
    indices: dict  # free index -> value (1-based)
    point: dict  # input name -> matrix of values, as strings
    function: str | None
    left: list
    right: list
    exact: bool

    def to_dict(self):
        return {"sizes": self.sizes, "indices": self.indices, "point": self.point, "function": self.function,
                "left_value": self.left, "right_value": self.right, "exact": self.exact}

    @classmethod
    def from_dict(cls, d: dict) -> "StepCounterexample":
        return cls(d["sizes"], d["indices"], d["point"], d["function"], d["left_value"], d["right_value"],
                   d["exact"])


@dataclass
class StepVerdict:
    """What is known of one part of one step.

    `kind`: "equality" (a link or the chain's ends), "label" (a dimension
    label or `\\in` claim) or "name" (a label that names a value);
    `right`: the right form where the part fails (the true value of the
    chain's first member, or the labelled expression's true shape);
    `repair`: a one-edit fix that makes the part hold, if one was found."""
    path: str
    section: str
    eq: str
    part: str
    kind: str
    text: str
    status: str
    detail: str
    right: str | None = None
    repair: str | None = None
    counterexample: StepCounterexample | None = None
    sizes: int | None = None
    expected: str | None = None
    note: str = ""
    seconds: float = 0.0

    @property
    def proved(self) -> bool:
        return self.status in (PROVED, UP_TO)

    @property
    def ok(self) -> bool:
        """Proved, or exactly the outcome the file expects."""
        return self.proved if self.expected is None else self.status == self.expected

    @property
    def place(self) -> str:
        return f"{self.section}.{self.eq}"

    def headline(self) -> str:
        return headline(self.status, self.sizes)

    def to_dict(self):
        return {"file": self.path, "section": self.section, "eq": self.eq, "part": self.part,
                "kind": self.kind, "text": self.text, "verdict": self.status, "detail": self.detail,
                "right": self.right, "repair": self.repair, "expected": self.expected, "ok": self.ok,
                "sizes": self.sizes, "seconds": round(self.seconds, 4),
                "counterexample": self.counterexample.to_dict() if self.counterexample else None}

    @classmethod
    def from_dict(cls, d: dict) -> "StepVerdict":
        """The verdict `to_dict` gave (and its `note`, where the dict has one)."""
        ce = d.get("counterexample")
        return cls(d["file"], d["section"], d["eq"], d["part"], d["kind"], d["text"], d["verdict"], d["detail"],
                   d.get("right"), d.get("repair"), StepCounterexample.from_dict(ce) if ce else None,
                   d.get("sizes"), d.get("expected"), d.get("note", ""), d.get("seconds", 0.0))

    def __repr__(self):
        return f"StepVerdict({self.place} {self.part}: {self.text}: {self.headline()})"


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
            trees[name] = T.parse_expression(text, scope)
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
                tree = T.parse_statement(latex, scope)
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
        n = sum(1 for m in tree.subjects for _ in _labels(m, {}))
        return [f"label{k + 1}" for k in range(n + len(tree.subjects))]
    links = [f"link{k + 1}" for k in range(len(tree.members) - 1)]
    n = sum(1 for m in tree.members for _ in _labels(m, {}))
    labels = [f"label{k + 1}" for k in range(n + (tree.within is not None))]
    return links + labels + (["ends"] if len(tree.members) > 2 else [])


def _labels(node, env):
    """(Labelled node, env of the index variables bound around it), in reading order."""
    if isinstance(node, T.Labelled):
        yield node, env
    if isinstance(node, T.SumOver):
        env = {**env, node.var: node.hi}
    if isinstance(node, T.Pattern):
        env = dict(env)
        for spec in (node.rows, node.cols):
            if spec is not None:
                env[spec[0]] = spec[2]
    for child in _children(node):
        yield from _labels(child, env)


def _children(node):
    for f in fields(node):
        if not f.compare:
            continue
        v = getattr(node, f.name)
        if isinstance(v, T.Node):
            yield v
        elif isinstance(v, tuple):
            for x in v:
                if isinstance(x, T.Node):
                    yield x
                elif isinstance(x, tuple):
                    yield from (y for y in x if isinstance(y, T.Node))


# ---------------------------------------------------------------- deciding

DEFAULT_BUDGET = 20.0


def check_steps(d, max_size: int | None = None, seconds: float = DEFAULT_BUDGET) -> list:
    """Verdicts for every part of every step of `d`, in the file's order."""
    out = []
    for step in getattr(d, "steps", []):
        out.extend(check_step(d, step, max_size or d.max_size, seconds))
    return out


def check_step(d, step: Step, max_size: int, seconds: float) -> list:
    checker = _Checker(d, step, max_size, seconds)
    return checker.run()


class _Checker:
    def __init__(self, d, step, max_size, seconds):
        self.d, self.step, self.max_size, self.seconds = d, step, max_size, seconds
        self.m = Meaning(d, d.notation, step.latex)
        self.in_sign = " \\in " if step.syntax == "latex" else " in "
        self.node_text = tex if step.syntax == "latex" else plain_text  # right forms in the step's own syntax
        tree = step.tree
        if isinstance(tree, T.Chain) and tree.forall is not None:
            var, lo, hi = tree.forall
            if lo != T.Ix("num", 1) or hi.kind == "var":
                what = "`\\forall`" if step.syntax == "latex" else "`for`"
                raise DerivationError(d.path, f"{step.key}.{step.syntax}", f"{what} runs from 1 to a number or a dim")
            self.m.free[var] = self.m.size(hi)

    def verdict(self, part, kind, text, status, detail, **kw) -> StepVerdict:
        return StepVerdict(str(self.d.path), self.step.section, self.step.eq, part, kind, text, status, detail,
                           expected=self.step.expected.get(part), note=self.step.note, **kw)

    def run(self) -> list:
        tree = self.step.tree
        out = []
        if isinstance(tree, T.Membership):
            n = 0
            for s in tree.subjects:
                for node, env in _labels(s, {}):
                    n += 1
                    out.append(self.timed(self.label, f"label{n}", node.a, node.label, env, self.src(node)))
            for s in tree.subjects:
                n += 1
                out.append(self.timed(self.label, f"label{n}", s, tree.shape, {},
                                      f"{self.src(s)}{self.in_sign}{self.src(tree.shape)}"))
            return out
        members = tree.members
        for k in range(len(members) - 1):
            out.append(self.timed(self.link, f"link{k + 1}", members[k], members[k + 1]))
        n = 0
        for m in members:
            for node, env in _labels(m, {}):
                n += 1
                out.append(self.timed(self.label, f"label{n}", node.a, node.label, env, self.src(node)))
        if tree.within is not None:
            out.append(self.timed(self.label, f"label{n + 1}", members[-1], tree.within, {},
                                  f"{self.src(members[-1])}{self.in_sign}{self.src(tree.within)}"))
        if len(members) > 2 and not all(v.proved for v in out if v.part.startswith("link")):
            out.append(self.timed(self.link, "ends", members[0], members[-1]))
        return out

    def timed(self, fn, part, *args) -> StepVerdict:
        start = time.perf_counter()
        try:
            with budget(self.seconds):
                v = fn(part, *args)
        except OutOfTime:
            v = self.verdict(part, "equality", "", UNKNOWN, f"nothing decided within the budget of {self.seconds:g} s")
        v.seconds = time.perf_counter() - start
        return v

    def src(self, node) -> str:
        return self.m.src(node)

    # ---- labels
    def label(self, part, node, label, env, text) -> StepVerdict:
        """A dimension label: the shape of `node` against the one claimed.
        Index variables around it are taken at any value in range (the
        label speaks of the shape only)."""
        if isinstance(label, T.Name):
            v = self.link(part, node, label)
            v.kind, v.text = "name", text
            return v
        claimed = T.shape_of(label, self.d.dims)
        m = Meaning(self.d, self.d.notation, self.step.latex)
        m.free = dict(self.m.free)
        try:
            info = m.sh(node, {k: None for k in env})
        except StepShapeError as err:
            return self.verdict(part, "label", text, SHAPE, f"the labelled expression cannot be formed: {err}")
        actual = info.shape
        if None in actual:
            return self.verdict(part, "label", text, UNKNOWN, "the length of the labelled vector is not determined")
        if all(same_size(x, y) for x, y in zip(actual, claimed)):
            return self.verdict(part, "label", text, PROVED, f"`{self.src(node)}` is {shape_text(actual)} for every size")
        sizes = self.shape_counterexample(actual, claimed)
        cx = StepCounterexample(sizes, {}, {}, None, [[str(x) for x in self.concrete(actual, sizes)]],
                                [[str(x) for x in self.concrete(claimed, sizes)]], True)
        right = f"{self.src(node)} \\in \\mathbb{{R}}^{{{shape_tex(actual)}}}" if self.step.syntax == "latex" \
            else f'{self.src(node)} in "{shape_text(actual)}"'
        return self.verdict(part, "label", text, REFUTED,
                            f"`{self.src(node)}` is {shape_text(actual)}, not {shape_text(claimed)}",
                            right=right, counterexample=cx)

    def concrete(self, shape, sizes) -> tuple:
        subs = {self.d.dims[k]: v for k, v in sizes.items()}
        return tuple(int(sympy.sympify(x).subs(subs)) for x in shape)

    def shape_counterexample(self, a, b) -> dict:
        for sizes in size_combinations(self.d.dims, max(self.max_size, 2)):
            named = {str(k): v for k, v in sizes.items()}
            if self.concrete(a, named) != self.concrete(b, named):
                return named
        return {}

    # ---- equalities
    def link(self, part, left, right) -> StepVerdict:
        text = f"{self.src(left)} = {self.src(right)}"
        tree = self.step.tree
        if isinstance(tree, T.Chain) and tree.cases and part == "link1":
            text = self.src(tree)
        kind = "equality"
        shapes = []
        for side, node in (("left", left), ("right", right)):
            try:
                shapes.append(self.m.sh(node, {}).shape)
            except StepShapeError as err:
                v = self.verdict(part, kind, text, SHAPE, f"the {side} side cannot be formed: {err}")
                self.explain(v, left, right)
                return v
        sa, sb = shapes
        if not self.m.same(sa, sb):
            v = self.verdict(part, kind, text, SHAPE,
                             f"the left side is {shape_text(sa)}, the right side {shape_text(sb)}")
            self.explain(v, left, right)
            return v
        shape = tuple(x if x is not None else y for x, y in zip(sa, sb))
        if self.same_for_every_size(left, right, shape) and self.spot_check(left, right):
            return self.verdict(part, kind, text, PROVED,
                                "index form: entry (p, q) of both sides agrees symbolically for all dims")
        v = self.explicit(part, text, left, right)
        if not v.proved:
            self.explain(v, left, right)
        return v

    def index_terms(self, node, shape, m=None) -> list:
        m = m or self.m
        p, q = I.free_indices(shape)
        ctx = I.Context(dict(self.d.forward))
        return m.terms(node, p, q, {}, ctx)

    def index_form(self, node, shape, m=None) -> tuple:
        return fold_fixed(I.canon(self.index_terms(node, shape, m)))

    def same_for_every_size(self, left, right, shape, m=None) -> bool:
        """Both sides equal in index form, each defined wherever the other
        side and J are (no 1/u or log(u) on one side only)."""
        try:
            ta, tb = self.index_terms(left, shape, m), self.index_terms(right, shape, m)
        except (StepShapeError, TypeError):
            return False
        if "domain" not in self.d.cache:
            self.d.cache["domain"] = I.objective_conditions(self.d.forward, self.d.output, self.d.upstream)
        known = self.d.cache["domain"]
        ca, cb = I.conditions(ta), I.conditions(tb)
        if not all(I.implied(c, known | cb) for c in ca) or not all(I.implied(c, known | ca) for c in cb):
            return False
        return I.difference(fold_fixed(I.canon(ta)), fold_fixed(I.canon(tb))) == ()

    def free_values(self, X):
        names = sorted(self.m.free)
        ranges = [range(X.size(self.m.free[v])) for v in names]
        for combo in itertools.product(*ranges):
            yield dict(zip(names, combo))

    def spot_check(self, left, right) -> bool:
        """Every dim 2, SymPy's own diff: False only on a certain difference."""
        X = Sizes(self.d, {s: 2 for s in self.d.dims.values()})
        for env in self.free_values(X):
            a, b = self.m.value(left, env, X), self.m.value(right, env, X)
            if a.shape == b.shape and not all(is_zero(x) for x in a - b):
                if self.find_point(X, a, b, random.Random(0)) is not None:
                    return False
        return True

    def find_point(self, X, a, b, rng, tries=2):
        """A point where the two sides differ, or where one is undefined and
        the other is not: (point, left values, right values, polynomial).
        A generic function is tried as each stand-in polynomial in turn."""
        for _ in range(tries):
            point = random_point(X.ex, rng)
            for coeffs in POLYS if self.d.generic else (POLY,):
                va = a.applyfunc(lambda x: evaluate(x, point, coeffs))
                vb = b.applyfunc(lambda x: evaluate(x, point, coeffs))
                for x, y in zip(va, vb):
                    if finite(x) != finite(y) or (finite(x) and differ(x, y)):
                        return point, va, vb, coeffs
        return None

    def explicit(self, part, text, left, right) -> StepVerdict:
        rng = random.Random(1)
        undecided = []
        combos = size_combinations(self.d.dims, self.max_size)
        for sizes in combos:
            X = Sizes(self.d, sizes)
            for env in self.free_values(X):
                try:
                    a, b = self.m.value(left, env, X), self.m.value(right, env, X)
                except StepShapeError as err:
                    return self.verdict(part, "equality", text, SHAPE, str(err))
                a, b = match_scalar(a, b), match_scalar(b, a)
                found = self.find_point(X, a, b, rng)
                if found:
                    point, va, vb, coeffs = found
                    cx = self.counterexample(X, sizes, env, point, va, vb, coeffs)
                    return self.verdict(part, "equality", text, REFUTED,
                                        "the two sides differ at the point shown", counterexample=cx)
                if not all(is_zero(x) for x in a - b):
                    undecided.append(sizes)
        if undecided:
            return self.verdict(part, "equality", text, UNKNOWN,
                                "no proof for every size, no counterexample, and no exact proof at sizes "
                                + ", ".join(f"{k}={v}" for k, v in undecided[0].items()))
        if not self.d.dims and not self.m.free:
            return self.verdict(part, "equality", text, PROVED,
                                "every value is a scalar: exact at the only size there is")
        return self.verdict(part, "equality", text, UP_TO,
                            f"explicit matrices of symbols, every dim from 1 to {self.max_size}; "
                            "the index form did not reach a proof for every size", sizes=self.max_size)

    def counterexample(self, X, sizes, env, point, va, vb, coeffs) -> StepCounterexample:
        values = {}
        for name, m in X.ex.symbols.items():
            values[name] = [[str(point[m[i, j]]) for j in range(m.cols)] for i in range(m.rows)]
        exact = all(x.is_Rational for x in list(va) + list(vb) if finite(x))
        fn = "; ".join(f"{g}(t) = {poly_text(coeffs)}" for g in self.d.generic) or None
        return StepCounterexample({str(k): v for k, v in sizes.items()},
                                  {index_name(k): v + 1 for k, v in env.items()}, values, fn,
                                  matrix_strings(va), matrix_strings(vb), exact)

    # ---- the right form
    def explain(self, v: StepVerdict, left, right):
        """Give the true value of what the chain computes, and a one-edit fix if there is one."""
        ref = self.step.tree.members[0] if isinstance(self.step.tree, T.Chain) else left
        if not isinstance(self.unalias(ref), T.Deriv) and isinstance(self.unalias(left), T.Deriv):
            ref = left
        forms = []
        try:
            shape = self.m.sh(ref, {}).shape
            if None not in shape:
                forms.append(f"{self.src(ref)} = {self.show(self.unalias(ref), shape)}")
            deriv = self.unalias(ref)
            if isinstance(deriv, T.Deriv) and not (isinstance(deriv.num, T.Name) and deriv.num.name == LOSS):
                # what the chain would be with the loss above the bar
                loss = replace(deriv, num=T.Name(LOSS))
                m = Meaning(self.d, self.d.notation, self.step.latex)
                m.free = dict(self.m.free)
                shape = m.sh(loss, {}).shape
                self_m, self.m = self.m, m
                try:
                    forms.append(f"{self.node_text(loss)} = {self.show(loss, shape)}")
                finally:
                    self.m = self_m
        except (StepShapeError, TypeError, KeyError):
            pass
        v.right = "; ".join(forms) or None
        v.repair = self.find_repair(left, right)

    def unalias(self, node):
        while isinstance(node, T.Name) and node.name in self.d.notation:
            node = self.d.notation[node.name]
        return node

    def show(self, node, shape) -> str:
        closed = self.closed_form(node)
        if closed is not None:
            return closed
        terms = self.index_form(node, shape)
        if self.step.syntax == "text":
            return show_form(terms, self.d, self.m.vars, shape)
        body = show_terms(terms, self.d, self.m.vars)
        r, c = shape
        if r == 1 and c == 1:
            return body
        idx = ",".join(x for x, s in (("p", r), ("q", c)) if s != 1)
        return f"\\left( {body} \\right)_{{{idx}}}"

    def closed_form(self, node):
        """dJ/d(input) by the core's rule table, when that is what `node` is."""
        if not isinstance(node, T.Deriv) or not (isinstance(node.num, T.Name) and node.num.name == LOSS):
            return None
        var = self.m.resolve(node.den)
        if var is None or var.name not in self.d.inputs:
            return None
        closed = derive(self.d).closed[var.name]
        return core_latex(closed) if self.step.syntax == "latex" else E.text(closed)

    def find_repair(self, left, right):
        for node, other in ((right, left), (left, right)):
            for before, after, whole in mutations(node):
                try:
                    m = Meaning(self.d, self.d.notation, self.step.latex)
                    m.free = dict(self.m.free)
                    sa, sb = m.sh(whole, {}).shape, m.sh(other, {}).shape
                    if None in sa or None in sb or not m.same(sa, sb):
                        continue
                    if self.same_for_every_size(whole, other, sa, m):
                        return f"`{self.node_text(before)}` should be `{self.node_text(after)}`"
                except (StepShapeError, TypeError, KeyError):
                    continue
        return None


def fold_fixed(form: tuple) -> tuple:
    """One spelling for a function taken at a fixed entry: `g'(z_1)` is
    written with the fixed index inside the argument's form, never as an
    argument (the index form's differentiation gives the latter)."""
    out = []
    for bound, factors, coeff in form:
        out.append(I.Term(coeff, dict(bound), [_fold_factor(f) for f in factors]))
    return I.canon(out)


def plain_text(n) -> str:
    return show(n)


def _fold_factor(f):
    if f[0] != "F":
        return f
    _, fn, order, key, args = f
    sub = {I.P: args[0] if isinstance(args[0], int) else I.P, I.Q: args[1] if isinstance(args[1], int) else I.Q}
    inner = I.rename(I.form(key), sub)
    new_args = tuple(None if isinstance(a, int) else a for a in args)
    return ("F", fn, order, I.intern(fold_fixed(inner)), new_args)


# ---------------------------------------------------------------- one-edit repairs

def mutations(node):
    """(part, the part edited, the whole side after the edit) for small,
    plausible slips: a row for a column (`W_{i,:}` / `W_{:,i}`), swapped
    indices, a transpose too many or too few, the output for the loss above
    a derivative's bar."""
    for target in T.walk(node):
        for new in _edits(target):
            yield target, new, _replace_node(node, target, new)


def _edits(n):
    if isinstance(n, T.Index) and len(n.items) == 2 and n.items[0] != n.items[1]:
        yield replace(n, items=(n.items[1], n.items[0]))
    if isinstance(n, T.Transpose):
        yield n.a
    if isinstance(n, (T.Name, T.Index)):
        yield T.Transpose(n, pos=n.pos, end=n.end)
    if isinstance(n, T.Deriv) and not (isinstance(n.num, T.Name) and n.num.name == LOSS):
        yield replace(n, num=T.Name(LOSS))


def _replace_node(tree, target, new):
    if tree is target:
        return new
    if isinstance(tree, tuple):
        return tuple(_replace_node(x, target, new) for x in tree)
    if isinstance(tree, T.Node):
        changes = {}
        for f in fields(tree):
            if f.compare:
                v = getattr(tree, f.name)
                nv = _replace_node(v, target, new)
                if nv is not v:
                    changes[f.name] = nv
        return replace(tree, **changes) if changes else tree
    return tree


# ---------------------------------------------------------------- printing

_SPECIAL = {"yhat": "\\hat{y}"}
_FN = {"sigmoid": "\\sigma", "tanh": "\\tanh", "exp": "\\exp", "log": "\\log"}


def name_tex(name: str) -> str:
    for accent in ("hat", "bar", "tilde"):
        if name.endswith(accent) and len(name) > len(accent):
            return f"\\{accent}{{{name[:-len(accent)]}}}"
    return name


def fn_tex(fn, order) -> str:
    if fn == "recip":
        return "\\frac{1}{\\cdot}" if order == 0 else f"(1/t)^{{({order})}}"
    base = _FN.get(fn, fn)
    return base + "'" * order


def _ix_tex(ix: T.Ix) -> str:
    if ix.kind == "colon":
        return ":"
    return index_name(ix.value) if ix.kind == "var" else str(ix.value)


def tex(n) -> str:
    """LaTeX of a small tree (names, indices, transposes, derivatives)."""
    if isinstance(n, T.Name):
        return name_tex(n.name)
    if isinstance(n, T.Index):
        items = ",".join(_ix_tex(x) for x in n.items)
        return f"{tex(n.base)}_{{{items}}}"
    if isinstance(n, T.Transpose):
        return f"{tex(n.a)}^T"
    if isinstance(n, T.Deriv):
        return f"\\frac{{\\partial {tex(n.num)}}}{{\\partial {tex(n.den)}}}"
    if isinstance(n, T.Num):
        return str(n.value)
    return "\\ldots"


def core_latex(e: E.Expr) -> str:
    """A core expression in the notes' notation: `W^T \\cdot (dY \\odot g'(z))`."""
    t = type(e)
    if t is E.Var:
        return name_tex(e.name)
    if t is E.Const:
        return str(e.value)
    if t in (E.Broadcast,):
        return core_latex(e.a)
    if t is E.Transpose:
        return _wrap(e.a, 5) + "^T"
    if t is E.Apply:
        return f"{fn_tex(e.fn, e.order)}({core_latex(e.a)})"
    if t is E.Scale:
        return f"{e.c} {_wrap(e.a, 3)}" if e.c != -1 else f"-{_wrap(e.a, 3)}"
    if t is E.Pow:
        return f"{_wrap(e.a, 5)}^{{{e.p}}}"
    if t is E.Sum:
        return f"\\sum {_wrap(e.a, 3)}"
    if t is E.Add:
        return f"{core_latex(e.a)} + {_wrap(e.b, 2)}"
    if t is E.Mul:
        return f"{_wrap(e.a, 3)} \\odot {_wrap(e.b, 3)}"
    return f"{_wrap(e.a, 2)} \\cdot {_wrap(e.b, 3)}"


_CORE_PREC = {E.Add: 1, E.Scale: 2, E.MatMul: 2, E.Mul: 2, E.Pow: 4, E.Transpose: 5}


def _wrap(e, prec) -> str:
    inner = e.a if isinstance(e, E.Broadcast) else e
    s = core_latex(inner)
    return f"\\left({s}\\right)" if _CORE_PREC.get(type(inner), 9) < prec else s


def show_terms(terms: tuple, d, vars: dict) -> str:
    """A canonical index form in LaTeX: `\\sum_{j=1}^{k} dY_{j} g'(z_{j}) W_{j,i}`,
    function arguments folded back into the intermediates they are."""
    keys = {}
    ctx = I.Context(dict(d.forward))
    for name, e in d.forward.items():
        keys[I.intern(I.canon(I.entry(vars[name], I.P, I.Q, ctx)))] = name
    letters = iter("jlmrstuvabcefgh")
    out = []
    for bound, factors, coeff in terms:
        names = {b: next(letters, b) for b, _ in bound}
        sums = "".join(f"\\sum_{{{names[b]}=1}}^{{{size}}} " for b, size in bound)
        body = r" \, ".join(_factor_tex(f, names, keys, vars) for f in factors)
        c = sympy.sympify(coeff)
        if not body:
            body = str(c)
        elif c == -1:
            body = "-" + body
        elif c != 1:
            body = f"{sympy.latex(c)} \\, {body}"
        out.append(sums + body)
    if not out:
        return "0"
    return " + ".join(out).replace("+ -", "- ")


def _index_tex(x, names) -> str:
    if isinstance(x, int):
        return str(x + 1)
    if x in names:
        return names[x]
    if x.startswith("@"):
        return index_name(x[1:])
    return x


def _factor_tex(f, names, keys, vars) -> str:
    if f[0] == "D":
        return f"\\delta_{{{_index_tex(f[1], names)} {_index_tex(f[2], names)}}}"
    if f[0] == "E":
        return _entry_tex(f[1], f[2], f[3], names, vars)
    _, fn, order, key, args = f
    if key in keys:
        arg = _entry_tex(keys[key], args[0] if args[0] is not None else 0,
                         args[1] if args[1] is not None else 0, names, vars)
    else:
        sub = {I.P: args[0], I.Q: args[1]}
        inner = I.rename(I.form(key), sub)
        arg = _plain(inner, names, vars)
    return f"{fn_tex(fn, order)}({arg})"


def _plain(terms, names, vars) -> str:
    parts = []
    for bound, factors, coeff in terms:
        inner = dict(names)
        inner.update({b: next(iter(x for x in "lmrstuv" if x not in inner.values()), b) for b, _ in bound})
        sums = "".join(f"\\sum_{{{inner[b]}}} " for b, _ in bound)
        body = r" \, ".join(_factor_tex(f, inner, {}, vars) for f in factors) or str(coeff)
        parts.append(sums + (body if coeff == 1 else f"{coeff} {body}"))
    return " + ".join(parts) or "0"


def _entry_tex(name, i, j, names, vars) -> str:
    base = name_tex(name)
    var = vars.get(name)
    r, c = var.shape if var is not None else (2, 2)
    idx = [x for x, s in ((i, r), (j, c)) if s != 1]
    if not idx:
        return base
    return f"{base}_{{{','.join(_index_tex(x, names) for x in idx)}}}"
