"""Explicit sizes: every dim a number, every entry a SymPy symbol.

This path shares nothing with the index form or the rule table: the true
gradient is SymPy's own `diff` of the scalar J with respect to each entry.
It backs the "proved for sizes up to N" verdict and finds counterexamples.
"""
from __future__ import annotations

import itertools
import random

import sympy

from . import expr as E
from .functions import ACTIVATIONS, sympy_apply


class Explicit:
    """One assignment of sizes to the dims of a derivation."""

    def __init__(self, derivation, sizes: dict):
        self.d = derivation
        self.sizes = sizes  # dim Symbol -> int
        self.symbols = {}
        self.cache = {}
        for name, var in derivation.inputs.items():
            self.symbols[name] = self.matrix_of_symbols(name, var.shape)
        if derivation.upstream is not None:
            up = derivation.upstream
            self.symbols[up.name] = self.matrix_of_symbols(up.name, up.shape)

    def size(self, s) -> int:
        return int(s.subs(self.sizes)) if isinstance(s, sympy.Expr) else int(s)

    def matrix_of_symbols(self, name, shape):
        r, c = self.size(shape[0]), self.size(shape[1])
        return sympy.Matrix(r, c, lambda i, j: sympy.Symbol(f"{name}[{i},{j}]", real=True))

    def value(self, e: E.Expr) -> sympy.Matrix:
        if e in self.cache:
            return self.cache[e]
        v = self._value(e)
        self.cache[e] = v
        return v

    def _value(self, e: E.Expr) -> sympy.Matrix:
        t = type(e)
        if t is E.Var:
            if e.name in self.symbols:
                return self.symbols[e.name]
            return self.value(self.d.forward[e.name])
        if t is E.Const:
            return sympy.Matrix([[e.value]])
        if t is E.MatMul:
            return self.value(e.a) * self.value(e.b)
        if t is E.Add:
            return self.value(e.a) + self.value(e.b)
        if t is E.Mul:
            return self.value(e.a).multiply_elementwise(self.value(e.b))
        if t is E.Scale:
            return e.c * self.value(e.a)
        if t is E.Transpose:
            return self.value(e.a).T
        if t is E.Pow:
            return self.value(e.a).applyfunc(lambda v: v ** e.p)
        if t is E.Broadcast:
            a = self.value(e.a)
            r, c = self.size(e.shape[0]), self.size(e.shape[1])
            return sympy.Matrix(r, c, lambda i, j: a[i if a.rows > 1 else 0, j if a.cols > 1 else 0])
        if t is E.Sum:
            a = self.value(e.a)
            if e.axis is None:
                return sympy.Matrix([[sum(a)]])
            if e.axis == 0:
                return sympy.Matrix(1, a.cols, lambda _, j: sum(a[:, j]))
            return sympy.Matrix(a.rows, 1, lambda i, _: sum(a[i, :]))
        if t is E.Apply:
            generic = e.fn not in ACTIVATIONS
            return self.value(e.a).applyfunc(lambda v: sympy_apply(e.fn, e.order, v, generic))
        raise TypeError(f"explicit: no rule for {t.__name__}")

    def objective(self):
        from .index import objective
        return self.value(objective(self.d.output, self.d.upstream))[0, 0]

    def gradient(self, wrt: str) -> sympy.Matrix:
        """dJ/d wrt by SymPy's scalar differentiation, entry by entry."""
        j = self.objective()
        s = self.symbols[wrt]
        return s.applyfunc(lambda v: sympy.diff(j, v))


def size_combinations(dims: dict, max_size: int):
    """Every assignment of 1..max_size to the dims, smallest totals first."""
    syms = list(dims.values())
    combos = list(itertools.product(range(1, max_size + 1), repeat=len(syms)))
    combos.sort(key=lambda c: (sum(c), c))
    return [dict(zip(syms, c)) for c in combos]


def is_zero(x, concrete_functions: bool) -> bool | None:
    """Exact zero test of a SymPy scalar: True, False, or None (undecided)."""
    x = sympy.expand(x)
    if x == 0:
        return True
    if not concrete_functions:
        return None
    y = sympy.simplify(x.rewrite(sympy.exp))
    return True if y == 0 else None


# ---------------------------------------------------------------- concrete points

# A concrete stand-in for a generic function: a polynomial, so that every
# value at rational points is an exact rational.
POLY = (1, 3, -2, 1)  # g(t) = 1 + 3 t - 2 t**2 + t**3


def poly_text(coeffs=POLY) -> str:
    terms = []
    for k, c in enumerate(coeffs):
        if c:
            terms.append(f"{c}" if k == 0 else f"{c}*t" if k == 1 else f"{c}*t**{k}")
    return " + ".join(terms).replace("+ -", "- ")


def poly_derivative(order: int, t, coeffs=POLY):
    return sympy.diff(sum(c * t ** k for k, c in enumerate(coeffs)), t, order)


def concretize(x, generic: list):
    """Replace generic functions by the polynomial stand-in."""
    def is_generic(node):
        return isinstance(node, sympy.Function) and getattr(type(node), "__name__", "").rstrip("'") in generic

    def replace(node):
        order = type(node).__name__.count("'")
        t = sympy.Dummy("t")
        return poly_derivative(order, t).subs(t, node.args[0])

    return x.replace(is_generic, replace)


def random_point(ex: Explicit, rng: random.Random) -> dict:
    """Small rationals with distinct values for every entry symbol."""
    point = {}
    for m in ex.symbols.values():
        for s in m:
            point[s] = sympy.Rational(rng.choice([-1, 1]) * rng.randint(1, 9), rng.randint(1, 4))
    return point


def evaluate(x, point, generic):
    """A SymPy value at a point: exact where it can be, else 50 digits."""
    v = concretize(x, generic).xreplace(point) if generic else x.xreplace(point)
    v = sympy.nsimplify(v) if v.is_Rational else v
    return v


def differ(a, b) -> bool:
    """True only when a and b certainly differ."""
    d = sympy.expand(a - b)
    if d.is_Rational:
        return d != 0
    v = sympy.N(d, 50)
    w = sympy.N(d, 80)
    return v.is_number and abs(v) > sympy.Float("1e-30") and abs(w - v) < abs(v) / 1000
