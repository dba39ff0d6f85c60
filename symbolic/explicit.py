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
from .functions import ACTIVATIONS, concretize, sympy_apply


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
            return self.value(e.a).applyfunc(lambda v: sympy_apply(e.fn, e.order, v))
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


def is_zero(x) -> bool | None:
    """Exact zero test of a SymPy scalar: True, or None (undecided).

    First as a polynomial in the opaque function values, then with every
    table function given its real definition and simplified."""
    x = sympy.expand(x)
    if x == 0:
        return True
    real = concretize(x, poly_derivative)
    if real == x:
        return None
    # a rational function of exponentials: zero iff its numerator expands to 0
    numerator, _ = sympy.fraction(sympy.together(sympy.expand(real.rewrite(sympy.exp))))
    if sympy.expand(numerator) == 0:
        return True
    return True if sympy.simplify(real) == 0 else None


# ---------------------------------------------------------------- concrete points

# A concrete stand-in for a generic function: a polynomial, so that every
# value at rational points is an exact rational.
POLY = (1, 3, -2, 1)  # g(t) = 1 + 3 t - 2 t**2 + t**3


def poly_text(coeffs=POLY) -> str:
    terms = []
    for k, c in enumerate(coeffs):
        if c:
            power = "" if k == 0 else "t" if k == 1 else f"t**{k}"
            factor = "" if k == 0 else "-" if c == -1 else "" if c == 1 else f"{c}*"
            terms.append(f"{c}" if k == 0 else factor + power)
    return " + ".join(terms).replace("+ -", "- ")


def poly_derivative(order: int, t, coeffs=POLY):
    return sympy.diff(sum(c * t ** k for k, c in enumerate(coeffs)), t, order)


def random_point(ex: Explicit, rng: random.Random) -> dict:
    """Small nonzero rationals (|v| <= 3/2) for every entry symbol: small
    enough that no activation saturates, so a difference shows plainly."""
    point = {}
    for m in ex.symbols.values():
        for s in m:
            point[s] = sympy.Rational(rng.choice([-1, 1]) * rng.randint(1, 3), rng.randint(2, 4))
    return point


DIGITS = 50


def evaluate(x, point):
    """A SymPy value at a point: an exact rational where only polynomials
    are involved, else a Float of 50 digits."""
    v = concretize(x.xreplace(point), poly_derivative)
    return v if v.is_Rational else sympy.N(v, DIGITS)


def differ(a, b) -> bool:
    """True only when a and b certainly differ."""
    if a.is_Rational and b.is_Rational:
        return a != b
    d = abs(sympy.N(a - b, DIGITS))
    scale = max(abs(sympy.N(a, DIGITS)), abs(sympy.N(b, DIGITS)), 1)
    return d.is_number and d > scale * sympy.Float("1e-30", DIGITS)


def at_a_kink(values, point) -> bool:
    """Whether some function in `values` (SymPy expressions in opaque
    function atoms) is taken, at `point`, where it has no derivative."""
    for v in values:
        for a in v.atoms(sympy.Function):
            key = getattr(type(a), "gradproof", None)
            act = ACTIVATIONS.get(key[0]) if key else None
            if act is not None and act.kink is not None and evaluate(a.args[0], point) == act.kink:
                return True
    return False
