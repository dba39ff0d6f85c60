"""Steps: a derivation as the notes write it, every link and label checked.

A derivation file may hold `[[steps]]`: each a displayed equation of the
notes in their own LaTeX (see `texparse`), placed by `section` and `eq`.
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
from dataclasses import dataclass, field, replace

import sympy

from . import expr as E
from . import index as I
from . import texparse as T
from .budget import OutOfTime, budget
from .explicit import Explicit, differ, evaluate, is_zero, poly_text, random_point, size_combinations
from .functions import ACTIVATIONS, sympy_function
from .load import DerivationError

PROVED, UP_TO, REFUTED, SHAPE, UNKNOWN = "proved", "proved-up-to", "refuted", "shape-error", "unknown"
STATUSES = (PROVED, UP_TO, REFUTED, SHAPE, UNKNOWN)
STEP_KEYS = {"section", "eq", "latex", "expected", "note", "written"}
LOSS = "J"


# ---------------------------------------------------------------- data model

@dataclass
class Step:
    """One displayed equation (or `\\in` claim) of the notes."""
    key: str  # where in the file: "steps[3]"
    section: str
    eq: str
    latex: str
    tree: T.Node
    parts: list  # part names in report order: link1.., label1.., ends
    expected: dict = field(default_factory=dict)  # part -> status
    note: str = ""  # how a transcription artifact was read
    written: str = ""  # the notes' text, where the encoding differs

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
        if self.status == PROVED:
            return "proved for every size"
        if self.status == UP_TO:
            return f"proved for sizes up to {self.sizes}"
        return {REFUTED: "refuted", SHAPE: "shape error", UNKNOWN: "unknown"}[self.status]

    def to_dict(self):
        return {"file": self.path, "section": self.section, "eq": self.eq, "part": self.part,
                "kind": self.kind, "text": self.text, "verdict": self.status, "detail": self.detail,
                "right": self.right, "repair": self.repair, "expected": self.expected, "ok": self.ok,
                "sizes": self.sizes, "seconds": round(self.seconds, 4),
                "counterexample": self.counterexample.to_dict() if self.counterexample else None}

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
        for k in ("section", "eq", "latex"):
            if k not in spec:
                raise DerivationError(path, key, f"missing `{k}`")
        section, eq, latex = spec["section"], spec["eq"], spec["latex"]
        if not isinstance(section, str) or not section:
            raise DerivationError(path, f"{key}.section", f"expected a section name like \"IV\", got {section!r}")
        if isinstance(eq, bool) or not isinstance(eq, (int, str)):
            raise DerivationError(path, f"{key}.eq", f"expected an equation number or label, got {eq!r}")
        if not isinstance(latex, str):
            raise DerivationError(path, f"{key}.latex", f"expected a LaTeX string, got {latex!r}")
        latex = " ".join(latex.split())
        try:
            tree = T.parse_statement(latex, scope)
        except T.TexError as err:
            raise DerivationError(path, f"{key}.latex", str(err)) from None
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
                        spec.get("note", ""), spec.get("written", "")))
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
    for f in T.fields(node):
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


# ---------------------------------------------------------------- meaning

class StepShapeError(Exception):
    """Shapes that do not meet, with the LaTeX where."""


@dataclass
class Info:
    shape: tuple
    mode: str | None = None  # Bin dot: scalar/matmul/hadamard; Deriv: num-scalar/den-scalar/diag/jacobian
    diag: bool = False  # a Jacobian written as its diagonal
    sel: tuple | None = None  # Index / Deriv den: (Var, row, col), row/col an Ix or None (the whole axis)


def _eq(a, b) -> bool:
    return a is not None and b is not None and sympy.simplify(a - b) == 0


def shape_tex(shape) -> str:
    r, c = shape
    return f"{r} \\times {c}"


def shape_text(shape) -> str:
    r, c = shape
    return f"{r} x {c}"


def _ixs(f):
    if f[0] == "E":
        return (f[2], f[3])
    if f[0] == "F":
        return tuple(a for a in f[4] if a is not None)
    return (f[1], f[2])


def _product(xs, ys):
    return [I.Term(a.coeff * b.coeff, {**a.bound, **b.bound}, a.factors + b.factors) for a in xs for b in ys]


def _bind(terms, idx, size):
    if idx == 0:
        return terms
    for t in terms:
        t.bound[idx] = size
    return terms


def _terms_of(canonical) -> list:
    return [I.Term(c, dict(b), list(f)) for b, f, c in canonical]


class Meaning:
    """Shapes, index forms and explicit values of the trees of one step."""

    def __init__(self, d, notation: dict, text: str):
        self.d, self.notation, self.text = d, notation, text
        self.vars = dict(d.inputs)
        self.vars.update({n: E.Var(n, e.shape, "intermediate") for n, e in d.forward.items()})
        if d.upstream is not None:
            self.vars[d.upstream.name] = d.upstream
        self.info: dict = {}
        self.free: dict = {}  # free index var -> size

    def src(self, node) -> str:
        return T.source(self.text, node) or "?"

    def fail(self, message, node):
        raise StepShapeError(f"{message} (in `{self.src(node)}`)")

    def size(self, ix: T.Ix):
        return sympy.Integer(ix.value) if ix.kind == "num" else self.d.dims[ix.value]

    # ---- shapes
    def sh(self, n, env) -> Info:
        k = id(n)
        if k not in self.info:
            self.info[k] = self._sh(n, env)
        return self.info[k]

    def resolve(self, n):
        """A Name (through notation) -> its Var, or None."""
        while isinstance(n, T.Name) and n.name in self.notation:
            n = self.notation[n.name]
        if isinstance(n, T.Name) and n.name in self.vars:
            return self.vars[n.name]
        return None

    def selection(self, n, env):
        """For `W_{i,:}` and kin: (Var, row Ix or None, col Ix or None) and the shape."""
        var = self.resolve(n.base)
        if var is None:
            self.fail("only a named matrix takes indices", n)
        r, c = var.shape
        items = n.items
        if len(items) == 2:
            row, col = [None if x.kind == "colon" else x for x in items]
        else:
            x = items[0]
            if x.kind == "colon":
                self.fail("a lone `:` selects nothing", n)
            if r == 1 and c == 1:
                self.fail(f"`{var.name}` is a scalar; it has no entries", n)
            if c == 1:
                row, col = x, T.Ix("num", 1)
            elif r == 1:
                row, col = T.Ix("num", 1), x
            else:
                row, col = x, None  # one index on a matrix: its row (W_i = W_{i,:})
        for ix, size, axis in ((row, r, "rows"), (col, c, "columns")):
            if ix is None:
                continue
            if ix.kind == "dim":
                self.fail(f"`{ix.value}` as an index: only the last entry around dots may use a dim", n)
            if ix.kind == "num" and size.is_Integer and ix.value > size:
                self.fail(f"index {ix.value} beyond the {size} {axis} of `{var.name}`", n)
            if ix.kind == "var":
                if ix.value in env:
                    rng = env[ix.value]  # None: any value in range (a label's view)
                elif ix.value in self.free:
                    rng = self.free[ix.value]
                else:
                    rng = self.free[ix.value] = size
                if rng is not None and not _eq(rng, size):
                    self.fail(f"index `{_var_text(ix.value)}` runs over 1..{rng} but indexes the {size} {axis} "
                              f"of `{var.name}`", n)
        shape = (E.ONE if row is not None else r, E.ONE if col is not None else c)
        return (var, row, col), shape

    def _sh(self, n, env) -> Info:
        t = type(n)
        if t is T.Num:
            return Info((E.ONE, E.ONE))
        if t is T.Name:
            if n.name == LOSS:
                return Info((E.ONE, E.ONE))
            if n.name in self.notation:
                return self.sh(self.notation[n.name], env)
            return Info(self.vars[n.name].shape)
        if t is T.Index:
            sel, shape = self.selection(n, env)
            return Info(shape, sel=sel)
        if t is T.Transpose:
            a = self.sh(n.a, env)
            return Info((a.shape[1], a.shape[0]))
        if t in (T.Power, T.Neg, T.Labelled):
            return Info(self.sh(n.a, env).shape, diag=self.sh(n.a, env).diag)
        if t is T.Call:
            return Info(self.sh(n.arg, env).shape)
        if t is T.Frac:
            a, b = self.sh(n.a, env), self.sh(n.b, env)
            if b.shape != (E.ONE, E.ONE):
                self.fail(f"a fraction needs a scalar below the bar, got {shape_text(b.shape)}", n)
            return Info(a.shape)
        if t is T.Bin:
            return self._sh_bin(n, env)
        if t is T.SumOver:
            if n.lo != T.Ix("num", 1):
                self.fail("a sum must start at 1", n)
            if n.hi.kind == "var":
                self.fail("a sum must end at a number or a dim", n)
            return Info(self.sh(n.body, {**env, n.var: self.size(n.hi)}).shape)
        if t is T.Inner:
            a, b = self.sh(n.a, env), self.sh(n.b, env)
            if not self.same(a.shape, b.shape):
                self.fail(f"`\\langle a, b \\rangle` needs two vectors of one shape, got {shape_text(a.shape)} "
                          f"and {shape_text(b.shape)}", n)
            return Info((E.ONE, E.ONE))
        if t is T.Pattern:
            return self._sh_pattern(n, env)
        if t is T.Grid:
            return self._sh_grid(n, env)
        if t is T.Deriv:
            return self._sh_deriv(n, env)
        self.fail(f"no meaning for {t.__name__}", n)

    def same(self, a, b) -> bool:
        return all(x is None or y is None or _eq(x, y) for x, y in zip(a, b))

    def _sh_bin(self, n, env) -> Info:
        a, b = self.sh(n.a, env), self.sh(n.b, env)
        sa, sb = a.shape, b.shape
        one = (E.ONE, E.ONE)
        if n.op in ("+", "-"):
            if not self.same(sa, sb):
                self.fail(f"`{n.op}` needs two sides of one shape, got {shape_text(sa)} and {shape_text(sb)}", n)
            return Info(tuple(x if x is not None else y for x, y in zip(sa, sb)))
        if None in sa or None in sb:
            if n.op == "odot" and self.same(sa, sb):
                return Info(tuple(x if x is not None else y for x, y in zip(sa, sb)), "same")
            self.fail("the length of a vector written with dots and no index is not determined here", n)
        if n.op == "odot":
            if sa == one or sb == one:
                return Info(sb if sa == one else sa, "scalar")
            if not self.same(sa, sb):
                self.fail(f"`\\odot` needs two sides of one shape, got {shape_text(sa)} and {shape_text(sb)}", n)
            return Info(sa, "same")
        if sa == one or sb == one:
            big = b if sa == one else a
            return Info(big.shape, "scalar", diag=big.diag)
        if _eq(sa[1], sb[0]):
            return Info((sa[0], sb[1]), "matmul")
        if (a.diag or b.diag) and self.same(sa, sb):
            return Info(sa, "hadamard", diag=a.diag and b.diag)
        self.fail(f"a product needs the inner sizes to agree, got {shape_text(sa)} times {shape_text(sb)}", n)

    def _sh_pattern(self, n, env) -> Info:
        env2 = dict(env)
        lengths = []
        for spec in (n.rows, n.cols):
            if spec is None:
                lengths.append(None)
                continue
            var, lo, hi = spec
            if hi is None:
                lengths.append(None)
                continue
            if lo != T.Ix("num", 1):
                self.fail("a vector written with dots must start at index 1", n)
            env2[var] = self.size(hi)
            lengths.append(env2[var])
        tshape = self.sh(n.template, env2).shape
        if n.rows is not None and n.cols is not None:
            if tshape != (E.ONE, E.ONE):
                self.fail(f"each entry of a matrix written with dots must be a scalar, got {shape_text(tshape)}", n)
            return Info(tuple(lengths))
        if n.rows is not None:
            if tshape[0] != 1:
                self.fail(f"each entry of a column must be a scalar or a row, got {shape_text(tshape)}", n)
            return Info((lengths[0], tshape[1]))
        if tshape[1] != 1:
            self.fail(f"each entry of a row must be a scalar or a column, got {shape_text(tshape)}", n)
        return Info((tshape[0], lengths[1]))

    def _sh_grid(self, n, env) -> Info:
        shapes = [[self.sh(x, env).shape for x in row] for row in n.rows]
        one = (E.ONE, E.ONE)
        if all(s == one for row in shapes for s in row):
            if len({len(r) for r in shapes}) != 1:
                self.fail("rows of different lengths", n)
            return Info((sympy.Integer(len(shapes)), sympy.Integer(len(shapes[0]))), "scalars")
        if all(len(r) == 1 and r[0][0] == 1 for r in shapes) and len({r[0][1] for r in shapes}) == 1:
            return Info((sympy.Integer(len(shapes)), shapes[0][0][1]), "rows")
        self.fail("a matrix written entry by entry takes scalars, or one row per line", n)

    def _sh_deriv(self, n, env) -> Info:
        num = self.sh(n.num, env)
        den = n.den
        if isinstance(den, T.Index):
            sel, dshape = self.selection(den, env)
        else:
            var = self.resolve(den)
            if var is None:
                self.fail("below the bar must stand a variable, an entry, a row or a column", n)
            sel, dshape = (var, None, None), var.shape
        one = (E.ONE, E.ONE)
        if num.shape == one:
            return Info(dshape, "num-scalar", sel=sel)
        if dshape == one:
            return Info(num.shape, "den-scalar", sel=sel)
        if num.shape[1] == 1 and dshape[1] == 1:
            info = Info((num.shape[0], dshape[0]), "jacobian", sel=sel)
            if _eq(num.shape[0], dshape[0]) and self.elementwise(n, info, env):
                return Info((num.shape[0], E.ONE), "diag", diag=True, sel=sel)
            return info
        self.fail(f"the derivative of a {shape_text(num.shape)} matrix by a {shape_text(dshape)} one "
                  "is not a matrix", n)

    def elementwise(self, n, info, env) -> bool:
        """Is d num_p / d den_q zero off the diagonal?"""
        names = {v: f"${v}" for v in {**self.free, **env}}
        ctx = I.Context(dict(self.d.forward))
        jac = I.canon(self.partial_terms(n, info, "$a", "$b", names, ctx))
        diag = I.canon([I.Term(c, dict(b), [I._rename_factor(f, {"$b": "$a"}) for f in fs]) for b, fs, c in jac])
        again = I.canon(_product([I.Term(sympy.Integer(1), {}, [("D", "$a", "$b")])], _terms_of(diag)))
        return again == jac

    # ---- index form
    def ix(self, ix: T.Ix | None, env, default):
        if ix is None:
            return default
        if ix.kind == "num":
            return ix.value - 1
        if ix.kind == "var":
            if ix.value in env:
                return env[ix.value]
            return "@" + ix.value
        raise StepShapeError(f"`{ix.value}` cannot stand as an index here")

    def terms(self, n, p, q, env, ctx) -> list:
        """Terms of entry (p, q) of `n`; `env`: index var -> index."""
        info = self.info[id(n)]
        r, c = info.shape
        p = 0 if r == 1 else p
        q = 0 if c == 1 else q
        t = type(n)
        if t is T.Num:
            return [I.Term(sympy.Rational(n.value.numerator, n.value.denominator))]
        if t is T.Name:
            if n.name == LOSS:
                return I.entry(I.objective(self.d.output, self.d.upstream), 0, 0, ctx)
            if n.name in self.notation:
                return self.terms(self.notation[n.name], p, q, env, ctx)
            return I.entry(self.vars[n.name], p, q, ctx)
        if t is T.Index:
            var, row, col = info.sel
            return I.entry(var, self.ix(row, env, p), self.ix(col, env, q), ctx)
        if t is T.Transpose:
            return self.terms(n.a, q, p, env, ctx)
        if t is T.Labelled:
            return self.terms(n.a, p, q, env, ctx)
        if t is T.Neg:
            return [I.Term(-x.coeff, x.bound, x.factors) for x in self.terms(n.a, p, q, env, ctx)]
        if t is T.Power:
            out = self.terms(n.a, p, q, env, ctx)
            for _ in range(n.p - 1):
                out = _product(out, self.terms(n.a, p, q, env, ctx))
            return out
        if t is T.Call:
            return self.fn_terms(self.function(n.fn), n.order, n.arg, p, q, env, ctx)
        if t is T.Frac:
            return _product(self.terms(n.a, p, q, env, ctx), self.fn_terms("recip", 0, n.b, 0, 0, env, ctx))
        if t is T.Bin:
            return self.bin_terms(n, info, p, q, env, ctx)
        if t is T.SumOver:
            size = self.size(n.hi)
            k = 0 if size == 1 else ctx.fresh()
            return _bind(self.terms(n.body, p, q, {**env, n.var: k}, ctx), k, size)
        if t is T.Inner:
            r, c = self.info[id(n.a)].shape
            u = 0 if r == 1 else ctx.fresh()
            v = 0 if c == 1 else ctx.fresh()
            out = _product(self.terms(n.a, u, v, env, ctx), self.terms(n.b, u, v, env, ctx))
            return _bind(_bind(out, u, r), v, c)
        if t is T.Pattern:
            env2 = dict(env)
            if n.rows is not None and n.rows[2] is not None:
                env2[n.rows[0]] = p
            if n.cols is not None and n.cols[2] is not None:
                env2[n.cols[0]] = q
            tr, tc = self.info[id(n.template)].shape
            return self.terms(n.template, p if tr != 1 else 0, q if tc != 1 else 0, env2, ctx)
        if t is T.Grid:
            out = []
            for a, row in enumerate(n.rows):
                for b, x in enumerate(row):
                    deltas = []
                    if r != 1:
                        deltas.append(("D", p, a))
                    if info.mode == "scalars" and c != 1:
                        deltas.append(("D", q, b))
                    inner = self.terms(x, 0, q if info.mode == "rows" else 0, env, ctx)
                    out.extend(_product([I.Term(sympy.Integer(1), {}, deltas)], inner))
            return out
        if t is T.Deriv:
            if info.mode == "diag":
                return self.partial_terms(n, info, p, p, env, ctx)
            return self.partial_terms(n, info, p, q, env, ctx)
        raise StepShapeError(f"no index form for {t.__name__}")

    def function(self, fn):
        if fn in self.d.functions:
            return self.d.functions[fn] or fn
        return fn

    def fn_terms(self, fn, order, arg, p, q, env, ctx) -> list:
        """fn^(order) of entry (p, q) of `arg`, with the indices that are not
        the entry's own moved into the key's free slots so that equal
        entries meet whatever their index names."""
        r, c = self.info[id(arg)].shape
        key = I.canon(self.terms(arg, I.P, I.Q, env, ctx))
        slots = [s for s, size in ((I.P, r), (I.Q, c)) if size == 1]
        foreign = []
        for _, factors, _ in key:
            for f in factors:
                for x in _ixs(f):
                    if isinstance(x, str) and x not in (I.P, I.Q) and not x.startswith("#") and x not in foreign:
                        foreign.append(x)
        args = {I.P: p if r != 1 else None, I.Q: q if c != 1 else None}
        if foreign and len(foreign) <= len(slots):
            m = dict(zip(foreign, slots))
            key = I.canon([I.Term(co, dict(b), [I._rename_factor(f, m) for f in fs]) for b, fs, co in key])
            args.update({s: x for x, s in m.items()})
        used = {x for _, fs, _ in key for f in fs for x in _ixs(f)}
        pair = (args[I.P] if I.P in used else None, args[I.Q] if I.Q in used else None)
        return I.function_terms(fn, order, I.intern(key), pair, ctx)

    def bin_terms(self, n, info, p, q, env, ctx) -> list:
        if n.op in ("+", "-"):
            b = self.terms(n.b, p, q, env, ctx)
            if n.op == "-":
                b = [I.Term(-x.coeff, x.bound, x.factors) for x in b]
            return self.terms(n.a, p, q, env, ctx) + b
        if info.mode == "matmul":
            inner = self.info[id(n.a)].shape[1]
            k = 0 if inner == 1 else ctx.fresh()
            return _bind(_product(self.terms(n.a, p, k, env, ctx), self.terms(n.b, k, q, env, ctx)), k, inner)
        return _product(self.terms(n.a, p, q, env, ctx), self.terms(n.b, p, q, env, ctx))

    def partial_terms(self, n, info, p, q, env, ctx) -> list:
        """d num / d den at entry (p, q) by the index form's chain rule;
        for a Jacobian, (p, q) are the num's and the den's entry."""
        var, row, col = info.sel
        name = var.name
        sub = I.Context({k: v for k, v in self.d.forward.items() if k != name})
        sub.counter = ctx.counter

        def at(a, b):
            rr, cc = var.shape
            a, b = self.ix(row, env, a), self.ix(col, env, b)
            return (0 if rr == 1 else a, 0 if cc == 1 else b)

        mode = info.mode
        if mode == "num-scalar":
            num, (a, b) = self.terms(n.num, 0, 0, env, sub), at(p, q)
        elif mode == "den-scalar":
            num, (a, b) = self.terms(n.num, p, q, env, sub), at(0, 0)
        else:  # diag, jacobian: column vectors
            num, (a, b) = self.terms(n.num, p, 0, env, sub), at(q, 0)
        raw = I.differentiate(num, name, a, b, sub)
        if name in self.d.forward:
            raw = self.inline(raw, name, ctx)
        return raw

    def inline(self, terms, name, ctx) -> list:
        """Put the definition of the intermediate `name` back in."""
        out = []
        for t in terms:
            acc = [I.Term(t.coeff, dict(t.bound), [])]
            for f in t.factors:
                acc = _product(acc, self.inline_factor(f, name, ctx))
            out.extend(acc)
        return out

    def inline_factor(self, f, name, ctx) -> list:
        if f[0] == "E" and f[1] == name:
            return I.entry(self.vars[name], f[2], f[3], ctx)
        if f[0] == "F":
            _, fn, order, key, args = f
            new = I.canon(self.inline(I.instantiate(key, (I.P, I.Q), ctx), name, ctx))
            used = {x for _, fs, _ in new for g in fs for x in _ixs(g)}
            pair = (args[0] if I.P in used else None, args[1] if I.Q in used else None)
            return I.function_terms(fn, order, I.intern(new), pair, ctx)
        return [I.Term(sympy.Integer(1), {}, [f])]

    # ---- explicit values
    def value(self, n, env, X, ex=None) -> sympy.Matrix:
        """Entry values of `n` at the sizes of `X`; `env`: index var -> int."""
        ex = ex or X.ex
        info = self.info[id(n)]
        t = type(n)
        if t is T.Num:
            return sympy.Matrix([[sympy.Rational(n.value.numerator, n.value.denominator)]])
        if t is T.Name:
            if n.name == LOSS:
                return sympy.Matrix([[ex.objective()]])
            if n.name in self.notation:
                return self.value(self.notation[n.name], env, X, ex)
            return ex.value(self.vars[n.name])
        if t is T.Index:
            var, row, col = info.sel
            m = ex.value(var)
            return m.extract(self.ex_range(row, env, m.rows), self.ex_range(col, env, m.cols))
        if t is T.Transpose:
            return self.value(n.a, env, X, ex).T
        if t is T.Labelled:
            return self.value(n.a, env, X, ex)
        if t is T.Neg:
            return -self.value(n.a, env, X, ex)
        if t is T.Power:
            return self.value(n.a, env, X, ex).applyfunc(lambda v: v ** n.p)
        if t is T.Call:
            f = sympy_function(self.function(n.fn), n.order)
            return self.value(n.arg, env, X, ex).applyfunc(f)
        if t is T.Frac:
            b = self.value(n.b, env, X, ex)[0, 0]
            return self.value(n.a, env, X, ex).applyfunc(lambda v: v / b)
        if t is T.Bin:
            a, b = self.value(n.a, env, X, ex), self.value(n.b, env, X, ex)
            if n.op in ("+", "-"):
                a, b = _match(a, b), _match(b, a)
                return a + b if n.op == "+" else a - b
            if a.shape == (1, 1) and b.shape != (1, 1):
                return a[0, 0] * b
            if b.shape == (1, 1) and a.shape != (1, 1):
                return b[0, 0] * a
            if info.mode == "matmul":
                return a * b
            return a.multiply_elementwise(b)
        if t is T.SumOver:
            total = None
            for k in range(X.size(self.size(n.hi))):
                v = self.value(n.body, {**env, n.var: k}, X, ex)
                total = v if total is None else total + v
            return total
        if t is T.Inner:
            a, b = self.value(n.a, env, X, ex), self.value(n.b, env, X, ex)
            return sympy.Matrix([[sum(x * y for x, y in zip(a, b))]])
        if t is T.Pattern:
            return self.pattern_value(n, env, X, ex)
        if t is T.Grid:
            return sympy.Matrix.vstack(*[sympy.Matrix.hstack(*[self.value(x, env, X, ex) for x in row])
                                         for row in n.rows])
        if t is T.Deriv:
            return self.partial_value(n, info, env, X, ex)
        raise StepShapeError(f"no explicit value for {t.__name__}")

    def ex_range(self, ix, env, size) -> list:
        if ix is None:
            return list(range(size))
        k = ix.value - 1 if ix.kind == "num" else env[ix.value]
        if size == 1:
            return [0]
        if not 0 <= k < size:
            raise StepShapeError(f"index {k + 1} out of range 1..{size}")
        return [k]

    def pattern_value(self, n, env, X, ex):
        rv = n.rows if n.rows is not None and n.rows[2] is not None else None
        cv = n.cols if n.cols is not None and n.cols[2] is not None else None
        if rv is None and cv is None:
            return self.value(n.template, env, X, ex)  # a constant entry: acts as a scalar
        if rv is not None and cv is not None:
            lr, lc = X.size(self.size(rv[2])), X.size(self.size(cv[2]))
            return sympy.Matrix(lr, lc, lambda i, j: self.value(n.template, {**env, rv[0]: i, cv[0]: j}, X, ex)[0, 0])
        var, _, hi = rv or cv
        blocks = [self.value(n.template, {**env, var: k}, X, ex) for k in range(X.size(self.size(hi)))]
        return sympy.Matrix.vstack(*blocks) if rv else sympy.Matrix.hstack(*blocks)

    def partial_value(self, n, info, env, X, ex):
        var, row, col = info.sel
        name = var.name
        freed = name in self.d.forward
        inner = X.freed(name) if freed else ex
        num = self.value(n.num, env, X, inner)
        s = inner.symbols[name]
        den = s.extract(self.ex_range(row, env, s.rows), self.ex_range(col, env, s.cols))
        mode = info.mode
        if mode == "num-scalar":
            out = den.applyfunc(lambda v: sympy.diff(num[0, 0], v))
        elif mode == "den-scalar":
            out = num.applyfunc(lambda v: sympy.diff(v, den[0, 0]))
        elif mode == "diag":
            out = sympy.Matrix(num.rows, 1, lambda i, _: sympy.diff(num[i, 0], den[i, 0]))
        else:
            out = sympy.Matrix(num.rows, den.rows, lambda i, j: sympy.diff(num[i, 0], den[j, 0]))
        if freed:
            true = ex.value(var)
            out = out.xreplace({s[i, j]: true[i, j] for i in range(s.rows) for j in range(s.cols)})
        return out


def _match(a, b):
    """A 1 x 1 constant entry (a vector of ones written with dots) to `b`'s shape."""
    if a.shape == (1, 1) and b.shape != (1, 1):
        return sympy.Matrix(b.rows, b.cols, lambda i, j: a[0, 0])
    return a


def _var_text(v: str) -> str:
    return v if not v.startswith("%") else "i"


class Sizes:
    """Explicit sizes for one check: the core's `Explicit`, plus copies in
    which an intermediate is a matrix of free symbols (for partials by it)."""

    def __init__(self, d, sizes):
        self.d, self.sizes = d, sizes
        self.ex = Explicit(d, sizes)
        self._freed = {}

    def size(self, s) -> int:
        return self.ex.size(s)

    def freed(self, name) -> Explicit:
        if name not in self._freed:
            ex = Explicit(self.d, self.sizes)
            ex.symbols[name] = ex.matrix_of_symbols(name, self.d.forward[name].shape)
            self._freed[name] = ex
        return self._freed[name]


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
        tree = step.tree
        if isinstance(tree, T.Chain) and tree.forall is not None:
            var, lo, hi = tree.forall
            if lo != T.Ix("num", 1) or hi.kind == "var":
                raise DerivationError(d.path, f"{step.key}.latex", "`\\forall` runs from 1 to a number or a dim")
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
                                      f"{self.src(s)} \\in {self.src(tree.shape)}"))
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
                                  f"{self.src(members[-1])} \\in {self.src(tree.within)}"))
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
        if all(_eq(x, y) for x, y in zip(actual, claimed)):
            return self.verdict(part, "label", text, PROVED, f"`{self.src(node)}` is {shape_text(actual)} for every size")
        sizes = self.shape_counterexample(actual, claimed)
        cx = StepCounterexample(sizes, {}, {}, None, [[str(x) for x in self.concrete(actual, sizes)]],
                                [[str(x) for x in self.concrete(claimed, sizes)]], True)
        return self.verdict(part, "label", text, REFUTED,
                            f"`{self.src(node)}` is {shape_text(actual)}, not {shape_text(claimed)}",
                            right=f"{self.src(node)} \\in \\mathbb{{R}}^{{{shape_tex(actual)}}}", counterexample=cx)

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

    def index_form(self, node, shape, m=None) -> tuple:
        m = m or self.m
        p, q = I.free_indices(shape)
        ctx = I.Context(dict(self.d.forward))
        return fold_fixed(I.canon(m.terms(node, p, q, {}, ctx)))

    def same_for_every_size(self, left, right, shape) -> bool:
        try:
            return I.difference(self.index_form(left, shape), self.index_form(right, shape)) == ()
        except (StepShapeError, TypeError):
            return False

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
        for _ in range(tries):
            point = random_point(X.ex, rng)
            va = a.applyfunc(lambda x: evaluate(x, point))
            vb = b.applyfunc(lambda x: evaluate(x, point))
            if any(differ(x, y) for x, y in zip(va, vb)):
                return point, va, vb
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
                a, b = _match(a, b), _match(b, a)
                found = self.find_point(X, a, b, rng)
                if found:
                    point, va, vb = found
                    cx = self.counterexample(X, sizes, env, point, va, vb)
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

    def counterexample(self, X, sizes, env, point, va, vb) -> StepCounterexample:
        values = {}
        for name, m in X.ex.symbols.items():
            values[name] = [[str(point[m[i, j]]) for j in range(m.cols)] for i in range(m.rows)]
        exact = all(x.is_Rational for x in list(va) + list(vb))
        fn = "; ".join(f"{g}(t) = {poly_text()}" for g in self.d.generic) or None
        return StepCounterexample({str(k): v for k, v in sizes.items()},
                                  {_var_text(k): v + 1 for k, v in env.items()}, values, fn,
                                  _matrix(va), _matrix(vb), exact)

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
                    forms.append(f"{tex(loss)} = {self.show(loss, shape)}")
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
        from .derive import derive
        return core_latex(derive(self.d).closed[var.name])

    def find_repair(self, left, right):
        for node, other in ((right, left), (left, right)):
            for before, after, whole in mutations(node):
                try:
                    m = Meaning(self.d, self.d.notation, self.step.latex)
                    m.free = dict(self.m.free)
                    sa, sb = m.sh(whole, {}).shape, m.sh(other, {}).shape
                    if None in sa or None in sb or not m.same(sa, sb):
                        continue
                    if I.difference(self.index_form(whole, sa, m), self.index_form(other, sa, m)) == ():
                        return f"`{tex(before)}` should be `{tex(after)}`"
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


def _fold_factor(f):
    if f[0] != "F":
        return f
    _, fn, order, key, args = f
    sub = {I.P: args[0] if isinstance(args[0], int) else I.P, I.Q: args[1] if isinstance(args[1], int) else I.Q}
    inner = I.canon([I.Term(c, dict(b), [I._rename_factor(g, sub) for g in fs]) for b, fs, c in I.form(key)])
    new_args = tuple(None if isinstance(a, int) else a for a in args)
    return ("F", fn, order, I.intern(fold_fixed(inner)), new_args)


def _matrix(m) -> list:
    return [[str(m[i, j]) if m[i, j].is_Rational else str(sympy.N(m[i, j], 20)) for j in range(m.cols)]
            for i in range(m.rows)]


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
        for f in T.fields(tree):
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
    return _var_text(ix.value) if ix.kind == "var" else str(ix.value)


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
        body = " ".join(_factor_tex(f, names, keys, vars) for f in factors)
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
        return _var_text(x[1:])
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
        inner = I.canon([I.Term(c, dict(b), [I._rename_factor(g, sub) for g in fs]) for b, fs, c in I.form(key)])
        arg = _plain(inner, names, vars)
    return f"{fn_tex(fn, order)}({arg})"


def _plain(terms, names, vars) -> str:
    parts = []
    for bound, factors, coeff in terms:
        inner = dict(names)
        inner.update({b: next(iter(x for x in "lmrstuv" if x not in inner.values()), b) for b, _ in bound})
        sums = "".join(f"\\sum_{{{inner[b]}}} " for b, _ in bound)
        body = " ".join(_factor_tex(f, inner, {}, vars) for f in factors) or str(coeff)
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


# ---------------------------------------------------------------- the terminal report

def report_lines(results: list, style=None) -> list:
    """The step-by-step report of one file, as lines: each part placed by
    section and equation, and under a part that does not hold, the
    evidence, the right form, a likely mistake and a counterexample."""
    from .console import MARKS, Style
    style = style or Style()
    if not results:
        return []
    lines = ["  steps, by section and equation:"]
    pw = max(len(v.place) for v in results)
    kw = max(len(v.part) for v in results)
    hw = max(len(_head(v)) for v in results)
    indent = " " * (4 + style.mark_width() + pw)
    seen = set()
    for v in results:
        mark = style.mark(v.status) + " " * (style.mark_width() - len(MARKS[v.status][0 if style.unicode else 1]))
        head = style.paint(f"{_head(v):<{hw}}", MARKS[v.status][2] if v.ok else "31")
        lines.append(f"  {mark} {v.place:<{pw}}  {v.part:<{kw}}  {head}  {v.text}")

        def row(label, value):
            lines.append(f"{indent}{style.paint(label, '2')} {value}")

        if v.note and v.place not in seen:
            row("reading:", v.note)
        seen.add(v.place)
        if v.proved and v.expected is None:
            continue
        if v.expected is not None and not v.ok:
            row("NOT AS EXPECTED:", f"the file expects {v.expected}")
        row("evidence:", v.detail)
        if v.right:
            row("right form:", v.right)
        if v.repair:
            row("likely mistake:", v.repair)
        c = v.counterexample
        if c is not None and c.point:
            where = ", ".join(f"{k}={n}" for k, n in {**c.sizes, **c.indices}.items()) or "no dims"
            row("counterexample:", "at " + where + (f", with {c.function}" if c.function else ""))
            row("", "; ".join(f"{name} = {_mat(value)}" for name, value in c.point.items()))
            how = "exact" if c.exact else "to 20 digits"
            row("", f"left side {_mat(c.left)}, right side {_mat(c.right)} ({how})")
        elif c is not None:
            where = ", ".join(f"{k}={n}" for k, n in c.sizes.items())
            row("counterexample:", f"at {where} the expression is {' x '.join(c.left[0])}, "
                                   f"the label says {' x '.join(c.right[0])}")
    return lines


def _head(v: StepVerdict) -> str:
    if v.expected is None:
        return v.headline()
    return v.headline() + (" (expected)" if v.ok else " (NOT expected)")


def _mat(rows) -> str:
    return "[" + "; ".join(", ".join(r) for r in rows) + "]"


def summary(results: list) -> str:
    """`56 step parts: 47 proved, 6 refuted, 3 shape-error; 9 wrong as expected`."""
    counts = {s: sum(v.status == s for v in results) for s in STATUSES}
    parts = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    expected = sum(1 for v in results if v.expected is not None and v.ok)
    off = sum(1 for v in results if not v.ok)
    tail = f"; {expected} wrong as the files expect" if expected else ""
    tail += f"; {off} NOT as expected or unproved" if off else ""
    return f"{len(results)} step parts: {parts or 'none'}{tail}"
