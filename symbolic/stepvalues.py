"""A step tree's entries at explicit sizes, with SymPy's own `diff`.

Methods of `semantics.Meaning`: `value` reads each node as a matrix of
SymPy expressions in the entry symbols of the core's `Explicit`; a partial
by an intermediate holds everything else fixed (`Sizes.freed`: a copy in
which the intermediate is a matrix of free symbols).
"""
from __future__ import annotations

import sympy

from . import steptree as T
from .explicit import Explicit
from .functions import sympy_function
from .stepindex import LOSS, StepShapeError


class Values:
    """Mixin of `semantics.Meaning`: the explicit value of each node."""

    def value(self, n, env, X, ex=None) -> sympy.Matrix:
        """Entry values of `n` at the sizes of `X`; `env`: index var -> int."""
        ex = ex or X.ex
        info = self.info(n)
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
        if t is T.Apply:
            return ex.value(self.closed(n))
        if t is T.Call:
            f = sympy_function(self.function(n.fn), n.order)
            return self.value(n.arg, env, X, ex).applyfunc(f)
        if t is T.Frac:
            b = self.value(n.b, env, X, ex)[0, 0]
            return self.value(n.a, env, X, ex).applyfunc(lambda v: v / b)
        if t is T.Bin:
            a, b = self.value(n.a, env, X, ex), self.value(n.b, env, X, ex)
            if n.op in ("+", "-"):
                a, b = match_scalar(a, b), match_scalar(b, a)
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


def match_scalar(a, b):
    """A 1 x 1 constant entry (a vector of ones written with dots) to `b`'s shape."""
    if a.shape == (1, 1) and b.shape != (1, 1):
        return sympy.Matrix(b.rows, b.cols, lambda i, j: a[0, 0])
    return a


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
