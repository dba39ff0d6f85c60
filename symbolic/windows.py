"""Windows over a matrix: 1-D convolution and the maximum along an axis.

Nodes of the matrix IR beside those of `expr`, each with its backward rule
(`BACKWARD`, joined to `derive`'s table), its text in the file syntax and
its value at explicit sizes (matrices of SymPy values):

    conv1d(x, w)     valid cross-correlation of a column x (n x 1) with a
                     kernel w (k x 1), as the frameworks' conv1d: entry i is
                     sum_j x[i + j] w[j] (from 0), n - k + 1 entries
    convolve(a, b)   full convolution, NumPy's `np.convolve(a, b)`: entry t
                     is sum over i + j = t of a[i] b[j], n + k - 1 entries
    flip(v)          a column upside down; `conv1d_full(a, v)`, the full
                     cross-correlation, is `convolve(a, flip(v))`
    max(E, axis=)    the largest entry of each column (axis=0), row (1) or
                     of all (None), keeping two dims like `sum`
    max_mask(E, axis=)  1 at the arg max of each column (row, or of all),
                     0 elsewhere: the derivative of `max`

A valid convolution's length `n - k + 1` is a shape like any other (a SymPy
expression in the dims); a proof for every size holds for every size at
which the shapes are positive (k <= n), and explicit checks skip sizes at
which they are not (`fits`).

`max` has a kink where two entries tie for the largest: there J has no
gradient, as `relu` has none at 0.  Away from ties `max_mask` is the one-hot
indicator of the arg max; at a tie it puts its 1 on the first (NumPy's
`argmax`), a value no proof relies on, since a point at a tie of a `max` of
J is skipped.  At explicit sizes `max` is the opaque SymPy function
`MaxOf(a1, ..., an)` whose partial derivative along `ak` is `MaxAt(k, a1,
..., an)`, the indicator: an exact zero of claim minus gradient in these
atoms is an identity on every region where one entry is the largest (the
indicators are constants there), so it proves the claim away from ties.
With every argument a number they take their values.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import sympy

from . import expr as E
from .errors import ShapeError


def _axis_text(axis) -> str:
    return "" if axis is None else f", axis={axis}"


@dataclass(frozen=True, eq=True, repr=False)
class Conv(E._Binary):
    """`conv1d(a, b)` (mode "valid") or `convolve(a, b)` (mode "full") of two columns."""
    a: E.Expr
    b: E.Expr
    mode: str

    @cached_property
    def shape(self):
        n, k = self.a.shape[0], self.b.shape[0]
        return (sympy.expand(n - k + 1) if self.mode == "valid" else sympy.expand(n + k - 1), E.ONE)

    def written(self) -> str:
        return f"{'conv1d' if self.mode == 'valid' else 'convolve'}({E.text(self.a)}, {E.text(self.b)})"

    def rebuilt(self, kids):
        return conv(kids[0], kids[1], self.mode)


@dataclass(frozen=True, eq=True, repr=False)
class Flip(E._Elementwise, E._Unary):
    """A column upside down: entry i is a[n - 1 - i]."""
    a: E.Expr

    def written(self) -> str:
        return f"flip({E.text(self.a)})"

    def rebuilt(self, kids):
        return flip(kids[0])


@dataclass(frozen=True, eq=True, repr=False)
class Max(E._Unary):
    """The largest entry along `axis` (0: of each column, 1: of each row, None: of all), keeping 2-D."""
    a: E.Expr
    axis: int | None

    @cached_property
    def shape(self):
        r, c = self.a.shape
        return {0: (E.ONE, c), 1: (r, E.ONE), None: (E.ONE, E.ONE)}[self.axis]

    def written(self) -> str:
        return f"max({E.text(self.a)}{_axis_text(self.axis)})"

    def rebuilt(self, kids):
        return max_axis(kids[0], self.axis)


@dataclass(frozen=True, eq=True, repr=False)
class MaxMask(E._Elementwise, E._Unary):
    """1 at the arg max along `axis`, 0 elsewhere (the first arg max at a tie)."""
    a: E.Expr
    axis: int | None

    def written(self) -> str:
        return f"max_mask({E.text(self.a)}{_axis_text(self.axis)})"

    def rebuilt(self, kids):
        return max_mask(kids[0], self.axis)


NODES = (Conv, Flip, Max, MaxMask)


# ---------------------------------------------------------------- constructors

def _column(name: str, a: E.Expr, what: str):
    if a.shape[1] != 1:
        raise ShapeError(f"`{name}` takes {what} as a column (`n x 1`), got {E.fmt_shape(a.shape)}")


def conv(a: E.Expr, b: E.Expr, mode: str) -> E.Expr:
    name = "conv1d" if mode == "valid" else "convolve"
    _column(name, a, "its signal" if mode == "valid" else "its first argument")
    _column(name, b, "its kernel" if mode == "valid" else "its second argument")
    out = Conv(a, b, mode)
    length = out.shape[0]
    if length.is_number and length < 1:
        raise ShapeError(f"`{name}` needs a kernel no longer than the signal, got a signal of "
                         f"{a.shape[0]} entries and a kernel of {b.shape[0]}")
    return out


def conv1d(a, b):
    return conv(a, b, "valid")


def convolve(a, b):
    return conv(a, b, "full")


def flip(a: E.Expr) -> E.Expr:
    _column("flip", a, "its argument")
    if a.shape[0] == 1:
        return a
    if isinstance(a, Flip):
        return a.a
    return Flip(a)


def max_axis(a: E.Expr, axis) -> E.Expr:
    if axis is None and a.shape == (E.ONE, E.ONE) or axis is not None and a.shape[axis] == 1:
        return a
    return Max(a, axis)


def max_mask(a: E.Expr, axis) -> E.Expr:
    if axis is None and a.shape == (E.ONE, E.ONE) or axis is not None and a.shape[axis] == 1:
        return E.broadcast(E.const(1), a.shape)
    return MaxMask(a, axis)


# ---------------------------------------------------------------- backward rules

BACKWARD = {
    # y = conv1d(x, w): dx = convolve(G, w), dw = conv1d(x, G)
    Conv: lambda e, G: ([(e.a, convolve(G, e.b)), (e.b, conv1d(e.a, G))] if e.mode == "valid" else
                        [(e.a, conv1d(G, e.b)), (e.b, conv1d(G, e.a))]),
    Flip: lambda e, G: [(e.a, flip(G))],
    Max: lambda e, G: [(e.a, E.mul(E.broadcast(G, e.a.shape), max_mask(e.a, e.axis)))],
    MaxMask: lambda e, G: [],  # piecewise constant: no gradient away from ties
}


# ---------------------------------------------------------------- explicit sizes

def _numbers(args):
    """The arguments as exact numbers or 60-digit floats, or None when one is no number."""
    out = []
    for a in args:
        if a.free_symbols:
            return None
        v = a if a.is_Rational else sympy.N(a, 60)
        if not (v.is_Rational or v.is_Float):
            return None
        out.append(v)
    return out


def _first_max(values) -> int:
    best = 0
    for k, v in enumerate(values):
        if v > values[best]:
            best = k
    return best


class MaxOf(sympy.Function):
    """max(a1, ..., an), opaque until every argument is a number; its
    partial derivative along ak is `MaxAt(k, a1, ..., an)`."""
    is_real = True

    @classmethod
    def eval(cls, *args):
        if len(args) == 1:
            return args[0]
        values = _numbers(args)
        if values is None:
            return None
        return args[_first_max(values)]

    def fdiff(self, argindex=1):
        return MaxAt(sympy.Integer(argindex - 1), *self.args)


class MaxAt(sympy.Function):
    """1 if ak is the (first) largest of a1, ..., an, else 0; opaque until the arguments are numbers."""
    is_real = True

    @classmethod
    def eval(cls, k, *args):
        if len(args) == 1:
            return sympy.Integer(1)
        values = _numbers(args)
        if values is None:
            return None
        return sympy.Integer(int(_first_max(values) == int(k)))

    def fdiff(self, argindex=1):
        return sympy.Integer(0)


def indicator_identities(x):
    """`x` (a SymPy value) with what the arg-max indicators of one max
    satisfy, ties or not (the first arg max): the last is 1 minus the
    others, each is its own square, and two of them multiply to 0; so an
    exact zero in what is left is one on every region."""
    atoms = [a for a in x.atoms(MaxAt)]
    if not atoms:
        return x
    groups: dict = {}
    for a in atoms:
        groups.setdefault(a.args[1:], set()).add(int(a.args[0]))
    subs = {}
    for args in groups:
        last = len(args) - 1
        subs[MaxAt(sympy.Integer(last), *args)] = 1 - sympy.Add(*[MaxAt(sympy.Integer(k), *args)
                                                                  for k in range(last)])
    out = []
    for term in sympy.Add.make_args(sympy.expand(x.xreplace(subs))):
        seen: dict = {}
        factors = []
        for f in sympy.Mul.make_args(term):
            base, power = f.as_base_exp()
            if isinstance(base, MaxAt) and power.is_Integer and power > 0:
                seen.setdefault(base.args[1:], set()).add(base)
                if base not in factors:
                    factors.append(base)
            else:
                factors.append(f)
        if any(len(found) > 1 for found in seen.values()):
            continue  # two indicators of one max: never both 1
        out.append(sympy.Mul(*factors))
    return sympy.Add(*out)


def tied(args) -> bool:
    """Whether the arguments of a `MaxOf` atom, evaluated at a point, tie for the largest."""
    values = _numbers(args)
    if values is None:
        return False
    top = max(values)
    return sum(1 for v in values if v == top) > 1


def explicit_value(e: E.Expr, kids: list) -> sympy.Matrix:
    """The value of a window node at explicit sizes, from its children's values."""
    if type(e) is Conv:
        a, b = kids
        n, k = a.rows, b.rows
        if e.mode == "valid":
            return sympy.Matrix(n - k + 1, 1, lambda i, _: sympy.Add(*[a[i + j, 0] * b[j, 0] for j in range(k)]))
        return sympy.Matrix(n + k - 1, 1,
                            lambda t, _: sympy.Add(*[a[i, 0] * b[t - i, 0] for i in range(n) if 0 <= t - i < k]))
    a = kids[0]
    if type(e) is Flip:
        return sympy.Matrix(a.rows, 1, lambda i, _: a[a.rows - 1 - i, 0])
    if e.axis is None:
        groups = [[(i, j) for i in range(a.rows) for j in range(a.cols)]]
    elif e.axis == 0:
        groups = [[(i, j) for i in range(a.rows)] for j in range(a.cols)]
    else:
        groups = [[(i, j) for j in range(a.cols)] for i in range(a.rows)]
    if type(e) is Max:
        tops = [MaxOf(*[a[x] for x in g]) for g in groups]
        if e.axis == 0:
            return sympy.Matrix(1, a.cols, lambda _, j: tops[j])
        if e.axis == 1:
            return sympy.Matrix(a.rows, 1, lambda i, _: tops[i])
        return sympy.Matrix([[tops[0]]])
    out = sympy.zeros(a.rows, a.cols)
    for g in groups:
        args = [a[x] for x in g]
        for k, x in enumerate(g):
            out[x] = MaxAt(sympy.Integer(k), *args)
    return out


def size_conditions(exprs) -> set:
    """The lengths (SymPy expressions in the dims) that the convolutions in
    `exprs` need positive."""
    out, seen, stack = set(), set(), list(exprs)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if type(node) is Conv:
            out.add(node.shape[0])
        stack.extend(node.children())
    return out


def fits(conditions: set, sizes: dict) -> bool:
    """Whether every length in `conditions` is positive at `sizes` (dim Symbol -> int)."""
    return all(sympy.sympify(c).xreplace(sizes) >= 1 for c in conditions)
