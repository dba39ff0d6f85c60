"""The semantics of a step: each tree node's shape, index form and value.

`Meaning` gives each node of a step tree (`steptree`) three readings, the
same three a claim gets in the core: its shape (`sh`, here, with the notes'
conventions for derivatives), the index form of its entry (p, q) for every
size (`terms`, in `stepindex`, built on `symbolic.index`), and its entries
at explicit sizes (`value`, in `stepvalues`, with SymPy's own `diff` for
every derivative).  `stepcheck` compares them.

A `Meaning` belongs to one check of one step: it remembers the shape it
found for each node (the index form and the values read those shapes
back), and is dropped with the check.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

from . import expr as E
from . import index as I
from . import steptree as T
from .derivation import dim_values
from .errors import ExprError
from .parse import Parser
from .stepindex import LOSS, IndexForm, StepShapeError, _product, _terms_of  # noqa: F401  (the names steps use)
from .steptree import index_name, shape_text
from .stepvalues import Values

@dataclass
class Info:
    shape: tuple
    mode: str | None = None  # Bin dot: scalar/matmul/hadamard; Deriv: num-scalar/den-scalar/diag/jacobian
    diag: bool = False  # a Jacobian written as its diagonal
    sel: tuple | None = None  # Index / Deriv den: (Var, row, col), row/col an Ix or None (the whole axis)


def same_size(a, b) -> bool:
    return a is not None and b is not None and sympy.simplify(a - b) == 0


class Meaning(IndexForm, Values):
    """Shapes, index forms and explicit values of the trees of one step."""

    def __init__(self, d, notation: dict, text: str):
        self.d, self.notation, self.text = d, notation, text
        self.vars = dict(d.inputs)
        self.vars.update({n: E.Var(n, e.shape, "intermediate") for n, e in d.forward.items()})
        if d.upstream is not None:
            self.vars[d.upstream.name] = d.upstream
        self.vars.update(dim_values(d.dims))  # a dim as a value: its size
        self.shapes: dict = {}  # (node, its span) -> Info: what `sh` found, for `terms` and `value`
        self.free: dict = {}  # free index var -> size
        self.cores: dict = {}  # (node, its span) -> the `Expr` of an operation of the library

    def src(self, node) -> str:
        return T.source(self.text, node) or "?"

    def fail(self, message, node):
        raise StepShapeError(f"{message} (in `{self.src(node)}`)")

    def size(self, ix: T.Ix):
        return sympy.Integer(ix.value) if ix.kind == "num" else self.d.dims[ix.value]

    # ---- shapes
    def sh(self, n, env) -> Info:
        """The shape of `n` (and how its operator reads), found once per
        node of the step: a node is its content and its span of the text."""
        k = (n, n.pos, n.end)
        if k not in self.shapes:
            self.shapes[k] = self._sh(n, env)
        return self.shapes[k]

    def info(self, n) -> Info:
        """What `sh` found for `n`."""
        return self.shapes[(n, n.pos, n.end)]

    def resolve(self, n):
        """A Name (through notation) -> its Var, or None."""
        while isinstance(n, T.Name) and n.name in self.notation:
            n = self.notation[n.name]
        if isinstance(n, T.Name) and n.name in self.vars and self.vars[n.name].role != "dim":
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
                if rng is not None and not same_size(rng, size):
                    self.fail(f"index `{index_name(ix.value)}` runs over 1..{rng} but indexes the {size} {axis} "
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
        if t is T.Apply:
            return Info(self.closed(n).shape)
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

    def closed(self, n) -> E.Expr:
        """An operation of the library (`sum(E, axis=1)`, `softmax(Z, axis=0)`)
        as the `Expr` a claim writing it would be: its shape, entries and
        values are that expression's."""
        k = (n, n.pos, n.end)
        if k not in self.cores:
            try:
                self.cores[k] = Parser(self.vars, self.d.functions, self.text).build(n)
            except (ExprError, E.ShapeError) as err:
                self.fail(str(err), n)
        return self.cores[k]

    def same(self, a, b) -> bool:
        return all(x is None or y is None or same_size(x, y) for x, y in zip(a, b))

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
        if same_size(sa[1], sb[0]):
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
            if same_size(num.shape[0], dshape[0]) and self.elementwise(n, info, env):
                return Info((num.shape[0], E.ONE), "diag", diag=True, sel=sel)
            return info
        self.fail(f"the derivative of a {shape_text(num.shape)} matrix by a {shape_text(dshape)} one "
                  "is not a matrix", n)

    def elementwise(self, n, info, env) -> bool:
        """Is d num_p / d den_q zero off the diagonal?"""
        names = {v: f"${v}" for v in {**self.free, **env}}
        ctx = I.Context(dict(self.d.forward))
        jac = I.canon(self.partial_terms(n, info, "$a", "$b", names, ctx))
        diag = I.rename(jac, {"$b": "$a"})
        again = I.canon(_product([I.Term(sympy.Integer(1), {}, [I.Delta("$a", "$b")])], _terms_of(diag)))
        return again == jac
