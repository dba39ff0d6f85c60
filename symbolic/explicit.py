"""Explicit sizes: every dim a number, every entry a SymPy symbol.

This path shares nothing with the index form or the rule table: the true
gradient is SymPy's own `diff` of the scalar J with respect to each entry.
It backs the "proved for sizes up to N" verdict and finds counterexamples.
"""
from __future__ import annotations

import operator
import random

import mpmath
import sympy

from . import expr as E
from .functions import ACTIVATIONS, concretize, domain, sign, sympy_apply
from .index import objective
from .linalg import DOMAIN, MATRIX_FACTS, SYMMETRIC, explicit_value, fact_point, symmetric_given
from . import windows


class Explicit:
    """One assignment of sizes to the dims of a derivation."""

    def __init__(self, derivation, sizes: dict):
        self.d = derivation
        self.sizes = sizes  # dim Symbol -> int
        self.symbols = {}
        self.cache = {}
        self.functions = None
        for name, var in derivation.inputs.items():
            self.symbols[name] = self.matrix_of_symbols(name, var.shape)
        if derivation.upstream is not None:
            up = derivation.upstream
            self.symbols[up.name] = self.matrix_of_symbols(up.name, up.shape)
        self.facts = getattr(derivation, "facts", {})

    def respect(self, point: dict, rng: random.Random) -> dict:
        """`point` with the data inputs' entries made to meet their facts
        (`derivation.FACTS`): one-hot columns or rows, 0 or 1, positive."""
        for name, fact in self.facts.items():
            m = self.symbols[name]
            if fact in ("one-hot columns", "one-hot rows"):  # a row of m is a column of m.T
                cols = m if fact == "one-hot columns" else m.T
                for j in range(cols.cols):
                    hot = rng.randrange(cols.rows)
                    point.update({cols[i, j]: sympy.Integer(int(i == hot)) for i in range(cols.rows)})
            elif fact == "binary":
                point.update({s: sympy.Integer(rng.randint(0, 1)) for s in m})
            elif fact == "positive":
                point.update({s: abs(point[s]) or sympy.Integer(1) for s in m if s in point})
            elif fact == "negative":  # a constant's sign
                point.update({s: -abs(point[s]) or sympy.Integer(-1) for s in m if s in point})
            elif fact in MATRIX_FACTS:  # symmetric, positive definite, orthogonal (`linalg.fact_point`)
                value = fact_point(fact, m.rows, rng)
                point.update({m[i, j]: value[i, j] for i in range(m.rows) for j in range(m.cols)})
        return point

    def given(self, m: sympy.Matrix) -> sympy.Matrix:
        """`m` with what the facts make exact: the last entry of a one-hot
        column (row) is 1 minus the others, so that it sums to 1."""
        subs = {}
        for name, fact in self.facts.items():
            y = self.symbols[name]
            if fact == "one-hot columns" and y.rows > 1:
                subs.update({y[y.rows - 1, j]: 1 - sum(y[i, j] for i in range(y.rows - 1)) for j in range(y.cols)})
            elif fact == "one-hot rows" and y.cols > 1:
                subs.update({y[i, y.cols - 1]: 1 - sum(y[i, j] for j in range(y.cols - 1)) for i in range(y.rows)})
            elif fact in ("one-hot columns", "one-hot rows"):
                subs.update({s: sympy.Integer(1) for s in y})  # one class: every entry is 1
            elif fact in SYMMETRIC:
                subs.update(symmetric_given(y))
        m = m.xreplace(subs) if subs else m
        if any(x.has(windows.MaxAt) for x in m):  # the arg-max indicators' own identities
            m = m.applyfunc(windows.indicator_identities)
        return m

    def size(self, s) -> int:
        if s in self.sizes:
            return int(self.sizes[s])
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
            if e.role == "dim":
                return sympy.Matrix([[self.size(sympy.Symbol(e.name, integer=True, positive=True))]])
            if e.role == "eye":
                return sympy.eye(self.size(e.shape[0]))
            return self.value(self.d.forward[e.name])
        if t is E.Const:
            return sympy.Matrix([[e.value]])
        # products entry by entry, so that 0 * undefined stays undefined (SymPy's
        # own matrix products skip zero entries)
        if t is E.MatMul:
            a, b = self.value(e.a), self.value(e.b)
            return sympy.Matrix(a.rows, b.cols,
                                lambda i, j: sympy.Add(*[a[i, k] * b[k, j] for k in range(a.cols)]))
        if t in (E.Add, E.Mul):
            a, b, op = self.value(e.a), self.value(e.b), operator.add if t is E.Add else operator.mul
            return sympy.Matrix(a.rows, a.cols, lambda i, j: op(a[i, j], b[i, j]))
        if t is E.Scale:
            return self.value(e.a).applyfunc(lambda v: e.c * v)
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
        if t is E.MatFn:
            return explicit_value(e.fn, self.value(e.a))
        if t is E.Apply:  # each function's value at once where `at` was given one, else a SymPy function
            apply = self.functions or sympy_apply
            return self.value(e.a).applyfunc(lambda v: apply(e.fn, e.order, v))
        if isinstance(e, windows.NODES):
            return windows.explicit_value(e, [self.value(c) for c in e.children()])
        raise TypeError(f"explicit: no rule for {t.__name__}")

    def at(self, point: dict, functions=None) -> "Explicit":
        """The same sizes with every entry symbol set to its value at
        `point`: expressions then evaluate term by term, as NumPy would, so
        an undefined term (1/0) stays undefined instead of cancelling.
        `functions(fn, order, x)`, if given, gives each function's value at
        once (a number), so nested functions never build nested terms."""
        ex = Explicit.__new__(Explicit)
        ex.d, ex.sizes, ex.cache = self.d, self.sizes, {}
        ex.symbols = {n: m.xreplace(point) for n, m in self.symbols.items()}
        ex.functions = functions
        return ex

    def objective(self):
        return self.value(self.objective_expr())[0, 0]

    def objective_expr(self) -> E.Expr:
        return objective(self.d.output, self.d.upstream)

    def conditions(self, e: E.Expr) -> set:
        """(kind, u) for every entry u of every argument of a function in
        `e` (forward values inlined) that is defined only where u != 0
        ("nonzero") or u > 0 ("positive")."""
        out, seen = set(), set()
        stack = [e]
        while stack:
            node = stack.pop()
            if isinstance(node, E.Var) and node.name in self.d.forward and node.name not in seen:
                seen.add(node.name)
                stack.append(self.d.forward[node.name])
            kind = domain(node.fn) if isinstance(node, E.Apply) else None
            if kind is not None:
                out.update((kind, sympy.expand(u)) for u in self.value(node.a))
            if isinstance(node, E.MatFn):  # a condition on the determinant
                a = self.value(node.a)
                out.add((DOMAIN[node.fn], sympy.expand(a.det(method="berkowitz")) if a.rows > 1 else a[0, 0]))
            stack.extend(node.children())
        return out

    def gradient(self, wrt: str) -> sympy.Matrix:
        """dJ/d wrt by SymPy's scalar differentiation, entry by entry."""
        j = self.objective()
        s = self.symbols[wrt]
        return s.applyfunc(lambda v: sympy.diff(j, v))


def size_combinations(dims: dict, max_size: int):
    """Every assignment of 1..max_size to the dims, smallest totals first
    (ties in lexicographic order), generated one at a time: a dozen dims
    at size 6 are two billion assignments, never held at once."""
    syms = list(dims.values())
    n = len(syms)
    for total in range(n, n * max_size + 1):
        for combo in _compositions(total, n, max_size):
            yield dict(zip(syms, combo))


def preferred_sizes(dims: dict, max_size: int):
    """Every assignment of `size_combinations`, those with every dim at
    least 2 first (a counterexample there is one a reader can follow:
    no dim collapses to a scalar), then the rest; smallest totals first."""
    rest = []
    for sizes in size_combinations(dims, max_size):
        if all(v >= 2 for v in sizes.values()):
            yield sizes
        else:
            rest.append(sizes)
            if len(rest) > 10_000:  # too many to hold: the plain order
                yield from rest
                yield from (s for s in size_combinations(dims, max_size) if s not in rest)
                return
    yield from rest


def _compositions(total: int, parts: int, top: int):
    """Tuples of `parts` integers in 1..top summing to `total`, in
    lexicographic order: each first value the rest can still complete."""
    if parts == 0:
        if total == 0:
            yield ()
        return
    for first in range(max(1, total - top * (parts - 1)), min(top, total - (parts - 1)) + 1):
        for rest in _compositions(total - first, parts - 1, top):
            yield (first, *rest)


def unmet(conditions: set, known: set) -> list:
    """The conditions (kind, u) not implied by `known` (the same u, or a
    constant u that meets it), largest argument last."""
    out = []
    for kind, u in conditions:
        if (kind, u) in known or (kind == "nonzero" and ("positive", u) in known):
            continue
        if (u.is_zero is False) if kind == "nonzero" else (u.is_positive is True):
            continue
        if sign_of(u) == "+":
            continue
        out.append((kind, u))
    return sorted(out, key=lambda c: (sympy.count_ops(c[1]), str(c[1])))


def sign_of(x) -> str | None:
    """"+" if the SymPy value `x` (in opaque function atoms) is positive
    wherever it is defined, "0+" if nonnegative, else None."""
    if x.is_positive:
        return "+"
    if x.is_zero:
        return "0+"
    key = getattr(type(x), "gradproof", None)
    if key is not None:
        s = sign(*key)
        if s is None and key == ("recip", 0) and sign_of(x.args[0]) == "+":
            s = "+"
        return s
    if x.is_Add or x.is_Mul:
        signs = [sign_of(a) for a in x.args]
        if None in signs:
            return None
        if x.is_Add:
            return "+" if "+" in signs else "0+"
        return "+" if all(s == "+" for s in signs) else "0+"
    if x.is_Pow:
        base, p = x.args
        if sign_of(base) == "+":
            return "+"
        if p.is_integer and p.is_even and p.is_positive:
            return "0+"
    return None


def boundary_point(kind: str, u, point: dict) -> dict | None:
    """`point` moved along one symbol so that u = 0 ("nonzero") or u = -1
    ("positive"): a point where the function of u is undefined; None if no
    symbol enters u linearly."""
    target = 0 if kind == "nonzero" else -1
    for s in sorted(u.free_symbols, key=str):
        poly = sympy.Poly(u, s) if u.is_polynomial(s) else None
        if poly is None or poly.degree() != 1:
            continue
        a, b = poly.all_coeffs()
        a, b = a.xreplace(point), b.xreplace(point)
        if a.is_Rational and b.is_Rational and a != 0:
            return {**point, s: (target - b) / a}
    return None


def is_zero(x) -> bool | None:
    """Exact zero test of a SymPy scalar: True, or None (undecided).

    First as a polynomial in the opaque function values, then with every
    table function given its real definition and simplified.  A generic
    function stays opaque throughout: its values and derivatives at each
    distinct argument are independent unknowns, so only what holds for
    every differentiable function is ever called zero.  An undefined
    value (`nan`, `zoo`) is never zero."""
    if x.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
        return None
    x = sympy.expand(x)
    if x == 0:
        return True
    real = concretize(x, None)
    if real == x:  # no table function: a rational function (an inverse, a determinant), or generic ones
        rational = not x.atoms(sympy.Function)
        return True if rational and sympy.expand(sympy.fraction(sympy.together(x))[0]) == 0 else None
    if real.has(sympy.nan, sympy.zoo):
        return None
    # a rational function of exponentials: zero iff its numerator expands to 0
    numerator, _ = sympy.fraction(sympy.together(sympy.expand(real.rewrite(sympy.exp))))
    return True if sympy.expand(numerator) == 0 or sympy.simplify(real) == 0 else None


# ---------------------------------------------------------------- concrete points

# Concrete stand-ins for a generic function, for counterexamples only:
# polynomials, so that every value at rational points is an exact rational.
# The second, of degree 5, shows what the first cannot (an identity that
# holds for the cubic, a fourth derivative).
POLY = (1, 3, -2, 1)  # g(t) = 1 + 3 t - 2 t**2 + t**3
POLYS = (POLY, (2, -1, 1, 2, -1, 1))
# A claim's counterexample tries these first: the plainest g that tells the
# two sides apart.
SIMPLE_POLYS = ((0, 0, 1), (0, 1, 1))


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


SATURATING = {"sigmoid", "tanh", "softplus", "exp", "log"}


def integer_point(ex: Explicit, rng: random.Random) -> dict | None:
    """Small nonzero integers (1, 2, -1, -2) for every entry symbol: the
    first point tried, as the easiest to follow by hand; None where a
    function that saturates (sigmoid, tanh, exp) would flatten the
    difference at such values."""
    fns = {n.fn for e in ex.d.forward.values() for n in E.walk(e) if isinstance(n, E.Apply)}
    if fns & SATURATING:
        return None
    return ex.respect({s: sympy.Integer(rng.choice([1, 2, -1, -2])) for m in ex.symbols.values() for s in m}, rng)


def random_point(ex: Explicit, rng: random.Random) -> dict:
    """Small nonzero rationals (|v| <= 3/2) for every entry symbol: small
    enough that no activation saturates, so a difference shows plainly."""
    point = {}
    for m in ex.symbols.values():
        for s in m:
            point[s] = sympy.Rational(rng.choice([-1, 1]) * rng.randint(1, 3), rng.randint(2, 4))
    return ex.respect(point, rng)


DIGITS = 50


def evaluate(x, point, coeffs=POLY):
    """A SymPy value at a point, generic functions the polynomial `coeffs`:
    an exact rational where only polynomials are involved, else a Float of
    50 digits; `nan` where it is undefined."""
    v = concretize(x.xreplace(point), lambda order, t: poly_derivative(order, t, coeffs))
    if v.is_Rational:
        return v
    v = sympy.N(v, DIGITS)
    return v if finite(v) else sympy.nan


def value_string(x) -> str:
    """A value as a string: an exact rational as it is while it is short,
    else to 20 significant digits; an undefined value as "undefined"."""
    if not finite(x):
        return "undefined"
    if x.is_Rational and max(abs(x.p), x.q).bit_length() <= 128:
        return str(x)
    if x.is_Rational:  # through mpmath: a huge integer is never written out in decimal
        with mpmath.workdps(25):
            return str(sympy.Float(mpmath.mpf(int(x.p)) / int(x.q), 20))
    return str(sympy.Float(x, 20))


def matrix_strings(m) -> list:
    """A matrix of values as strings (`value_string`)."""
    return [[value_string(m[i, j]) for j in range(m.cols)] for i in range(m.rows)]


def finite(v) -> bool:
    """Whether a value is a real, finite number."""
    return bool(v.is_real) and bool(v.is_finite)


def differ(a, b) -> bool:
    """True only when a and b certainly differ."""
    if a.is_Rational and b.is_Rational:
        return a != b
    d = abs(sympy.N(a - b, DIGITS))
    sizes = [abs(sympy.N(x, DIGITS)) for x in (a, b)]
    if not (d.is_Number and all(x.is_Number for x in sizes)):
        return False  # a value that is no number (DiracDelta(0)): nothing certain
    return d > max(*sizes, 1) * sympy.Float("1e-30", DIGITS)


def at_a_kink(values, point) -> bool:
    """Whether some function in `values` (SymPy expressions in opaque
    function atoms: the objective J) is taken, at `point`, where it has no
    derivative, so that J has no gradient there.  A function at a constant
    argument is a constant, never a kink."""
    for v in values:
        for a in v.atoms(sympy.Function):
            if isinstance(a, windows.MaxOf) and windows.tied([evaluate(x, point) for x in a.args]):
                return True  # a max at a tie: no derivative there
            key = getattr(type(a), "gradproof", None)
            act = ACTIVATIONS.get(key[0]) if key else None
            if act is not None and act.kink is not None and a.args[0].free_symbols \
                    and evaluate(a.args[0], point) == act.kink:
                return True
    return False
