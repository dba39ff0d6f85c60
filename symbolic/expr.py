"""Matrix expressions with symbolic shapes.

Every value is a 2-D matrix whose sizes are dims (SymPy integer symbols) or
positive integers; a scalar is 1 x 1.  The smart constructors (`matmul`,
`add`, `mul`, ...) check shapes, apply NumPy broadcasting explicitly (as a
`Broadcast` node) and make the few simplifications that keep derived forms
readable.  `text` prints an expression back in the derivation-file syntax.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import sympy

from .errors import ShapeError  # noqa: F401  defined there, without SymPy

ONE = sympy.Integer(1)


def fmt_shape(shape) -> str:
    return f"({shape[0]}, {shape[1]})"


class Expr:
    """Base of all matrix-expression nodes (immutable, hashable)."""

    shape: tuple

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {text(self)} : {fmt_shape(self.shape)}>"

    def children(self) -> tuple:
        return ()


@dataclass(frozen=True, eq=True, repr=False)
class Var(Expr):
    """A named matrix: an input, the upstream gradient, a forward
    intermediate, a named adjoint of the backward pass, a dim as a value
    (role "dim"), or the identity matrix of a size (role "eye", named
    `eye(n)`, see `eye`)."""
    name: str
    shape: tuple
    role: str = "input"


@dataclass(frozen=True, eq=True, repr=False)
class Const(Expr):
    value: sympy.Rational
    shape = (ONE, ONE)


class _Unary(Expr):
    """A node over one operand `a` (here and in `windows`; a base, not a node)."""

    def children(self):
        return (self.a,)


class _Binary(Expr):
    """A node over two operands `a` and `b`."""

    def children(self):
        return (self.a, self.b)


class _Elementwise:
    """Of the shape of its (first) operand."""

    @property
    def shape(self):
        return self.a.shape


@dataclass(frozen=True, eq=True, repr=False)
class MatMul(_Binary):
    a: Expr
    b: Expr

    @cached_property
    def shape(self):
        return (self.a.shape[0], self.b.shape[1])


@dataclass(frozen=True, eq=True, repr=False)
class Add(_Elementwise, _Binary):
    a: Expr
    b: Expr


@dataclass(frozen=True, eq=True, repr=False)
class Mul(_Elementwise, _Binary):
    """Elementwise (Hadamard) product of two matrices of one shape."""
    a: Expr
    b: Expr


@dataclass(frozen=True, eq=True, repr=False)
class Scale(_Elementwise, _Unary):
    """A rational constant times a matrix."""
    c: sympy.Rational
    a: Expr


@dataclass(frozen=True, eq=True, repr=False)
class Transpose(_Unary):
    a: Expr

    @cached_property
    def shape(self):
        return (self.a.shape[1], self.a.shape[0])


@dataclass(frozen=True, eq=True, repr=False)
class Apply(_Elementwise, _Unary):
    """The `order`-th derivative of scalar function `fn`, elementwise."""
    fn: str
    order: int
    a: Expr


@dataclass(frozen=True, eq=True, repr=False)
class Pow(_Elementwise, _Unary):
    """Elementwise integer power (p >= 2)."""
    a: Expr
    p: int


@dataclass(frozen=True, eq=True, repr=False)
class Broadcast(_Unary):
    """`a` repeated along its axes of size 1 up to `shape` (NumPy rules)."""
    a: Expr
    shape: tuple


@dataclass(frozen=True, eq=True, repr=False)
class Sum(_Unary):
    """Sum over `axis` 0 (rows), 1 (columns) or None (all), keeping 2-D."""
    a: Expr
    axis: int | None

    @cached_property
    def shape(self):
        r, c = self.a.shape
        return {0: (ONE, c), 1: (r, ONE), None: (ONE, ONE)}[self.axis]


@dataclass(frozen=True, eq=True, repr=False)
class MatFn(Expr):
    """A function of a whole square matrix: `inv` (its inverse, of its
    shape), `det` and `logdet` (the log of its determinant; 1 x 1)."""
    fn: str
    a: Expr

    @property
    def shape(self):
        return self.a.shape if self.fn == "inv" else (ONE, ONE)

    def children(self):
        return (self.a,)


MATRIX_FUNCTIONS = ("inv", "det", "logdet")


# ---------------------------------------------------------------- constructors

def const(value) -> Const:
    return Const(sympy.Rational(value))


def _broadcast_shape(op: str, sa, sb):
    out = []
    for x, y in zip(sa, sb):
        if x == y or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        else:
            raise ShapeError(f"`{op}` cannot broadcast shapes {fmt_shape(sa)} and {fmt_shape(sb)}")
    return tuple(out)


def broadcast(a: Expr, shape) -> Expr:
    shape = tuple(shape)
    if a.shape == shape:
        return a
    if any(x != 1 and x != y for x, y in zip(a.shape, shape)):
        raise ShapeError(f"cannot broadcast shape {fmt_shape(a.shape)} to {fmt_shape(shape)}")
    if isinstance(a, Broadcast):
        a = a.a
    return Broadcast(a, shape)


def unbroadcast(g: Expr, shape) -> Expr:
    """Sum `g` over the axes along which a matrix of `shape` was broadcast."""
    shape = tuple(shape)
    if g.shape == shape:
        return g
    if shape == (ONE, ONE):
        return sum_axis(g, None)
    if shape[0] == 1 and g.shape[0] != 1:
        g = sum_axis(g, 0)
    if shape[1] == 1 and g.shape[1] != 1:
        g = sum_axis(g, 1)
    return g


def matmul(a: Expr, b: Expr) -> Expr:
    if a.shape[1] != b.shape[0]:
        raise ShapeError(f"`@` needs the inner sizes to agree, got {fmt_shape(a.shape)} @ {fmt_shape(b.shape)}")
    if isinstance(a, Const) and b.shape[0] == 1:
        return scale(a.value, b)
    if isinstance(b, Const) and a.shape[1] == 1:
        return scale(b.value, a)
    if _is_eye(a):
        return b
    if _is_eye(b):
        return a
    return MatMul(a, b)


def _is_eye(e: Expr) -> bool:
    return isinstance(e, Var) and e.role == "eye"


def add(a: Expr, b: Expr) -> Expr:
    shape = _broadcast_shape("+", a.shape, b.shape)
    if _constant(a) == 0:
        return broadcast(b, shape)
    if _constant(b) == 0:
        return broadcast(a, shape)
    return Add(broadcast(a, shape), broadcast(b, shape))


def sub(a: Expr, b: Expr) -> Expr:
    _broadcast_shape("-", a.shape, b.shape)
    return add(a, scale(-1, b))


def _constant(e: Expr):
    """The value of a constant, broadcast or not; None for anything else."""
    inner = e.a if isinstance(e, Broadcast) else e
    return inner.value if isinstance(inner, Const) else None


def mul(a: Expr, b: Expr) -> Expr:
    shape = _broadcast_shape("*", a.shape, b.shape)
    if _constant(a) is not None:
        return broadcast(scale(_constant(a), b), shape)
    if _constant(b) is not None:
        return broadcast(scale(_constant(b), a), shape)
    return Mul(broadcast(a, shape), broadcast(b, shape))


def scale(c, a: Expr) -> Expr:
    c = sympy.Rational(c)
    if c == 1:
        return a
    if isinstance(a, Const):
        return Const(c * a.value)
    if isinstance(a, Scale):
        return scale(c * a.c, a.a)
    return Scale(c, a)


def divide(a: Expr, b: Expr) -> Expr:
    """a / b, elementwise: by a number, a scaling; by a power u**n, a times
    (1/u)**n (defined where u != 0, as 1/u is); else a times 1/b.  Raises
    ZeroDivisionError for a division by the number 0."""
    if isinstance(b, Const):
        if b.value == 0:
            raise ZeroDivisionError("division by zero")
        return broadcast(scale(1 / b.value, a), a.shape)
    if isinstance(b, Pow):
        return mul(a, power(apply("recip", b.a), b.p))
    return mul(a, apply("recip", b))


def transpose(a: Expr) -> Expr:
    if a.shape == (ONE, ONE):
        return a
    if isinstance(a, Transpose):
        return a.a
    if _is_eye(a):
        return a
    if isinstance(a, Broadcast):
        return broadcast(transpose(a.a), (a.shape[1], a.shape[0]))
    return Transpose(a)


def power(a: Expr, p: int) -> Expr:
    if p == 0:
        return broadcast(const(1), a.shape)
    if p == 1:
        return a
    return Pow(a, p)


def sum_axis(a: Expr, axis: int | None) -> Expr:
    if axis is None:
        if a.shape == (ONE, ONE):
            return a
    elif a.shape[axis] == 1:
        return a
    return Sum(a, axis)


def apply(fn: str, a: Expr, order: int = 0) -> Expr:
    """`fn` (or its `order`-th derivative) applied elementwise to `a`."""
    if fn == "identity":
        if order == 0:
            return a
        return broadcast(const(1 if order == 1 else 0), a.shape)
    if isinstance(a, Broadcast):
        return broadcast(apply(fn, a.a, order), a.shape)
    return Apply(fn, order, a)


# ---------------------------------------------------------------- traversal

def matfn(fn: str, a: Expr) -> Expr:
    """`inv(a)`, `det(a)` or `logdet(a)` of a square matrix `a`; of a 1 x 1
    value, the scalar functions themselves (1 / a, a, log(a))."""
    if fn not in MATRIX_FUNCTIONS:
        raise ValueError(f"no matrix function `{fn}`")
    if a.shape[0] != a.shape[1]:
        raise ShapeError(f"`{fn}` needs a square matrix, got {fmt_shape(a.shape)}")
    if a.shape == (ONE, ONE):
        return a if fn == "det" else apply("recip" if fn == "inv" else "log", a)
    if fn == "inv" and isinstance(a, Transpose):
        return Transpose(MatFn("inv", a.a))  # inv(A.T) = inv(A).T: one form for both
    if fn != "inv" and isinstance(a, Transpose):
        return MatFn(fn, a.a)  # det(A.T) = det(A)
    return MatFn(fn, a)


def walk(e: Expr):
    """Every node of `e`, parents before children."""
    yield e
    for c in e.children():
        yield from walk(c)


def depth(e: Expr, known: dict | None = None) -> int:
    """Levels of `e`'s tree, without recursion; a `Var` named in `known`
    counts as that many levels (the depth of what it stands for)."""
    known = known or {}
    deepest, stack = 0, [(e, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, Var):
            level += known.get(node.name, 1) - 1
        deepest = max(deepest, level)
        stack.extend((c, level + 1) for c in node.children())
    return deepest


def eye(size) -> Var:
    """The identity matrix of `size` (a dim's Symbol or a whole number): a
    constant, its entries the deltas of the index form."""
    return Var(f"eye({size})", (size, size), "eye")


def variables(e: Expr) -> set:
    return {n.name for n in walk(e) if isinstance(n, Var)}


def substitute(e: Expr, mapping: dict) -> Expr:
    """Replace `Var`s by name with the expressions in `mapping`, rebuilding
    through the smart constructors."""
    if isinstance(e, Var):
        return mapping.get(e.name, e)
    if isinstance(e, Const):
        return e
    return rebuild(e, [substitute(c, mapping) for c in e.children()])


def rebuild(e: Expr, kids: list) -> Expr:
    """`e` with its children replaced by `kids`, through the constructors."""
    if hasattr(e, "rebuilt"):  # a node of another module (`windows`): its own constructor
        return e.rebuilt(kids)
    t = type(e)
    if t is MatMul:
        return matmul(*kids)
    if t is Add:
        return add(*kids)
    if t is Mul:
        return mul(*kids)
    if t is Scale:
        return scale(e.c, kids[0])
    if t is Transpose:
        return transpose(kids[0])
    if t is Apply:
        return apply(e.fn, kids[0], e.order)
    if t is Pow:
        return power(kids[0], e.p)
    if t is Broadcast:
        return broadcast(kids[0], e.shape)
    if t is Sum:
        return sum_axis(kids[0], e.axis)
    if t is MatFn:
        return matfn(e.fn, kids[0])
    return e


# ---------------------------------------------------------------- printing

_PREC = {Add: 1, Scale: 2, Mul: 2, MatMul: 2, Pow: 4, Transpose: 5}


def _is_recip(e: Expr) -> bool:
    e = _unbroadcast(e)
    return isinstance(e, Apply) and e.fn == "recip" and e.order == 0


def _prec(e: Expr) -> int:
    if _is_recip(e):
        return 2  # printed as a quotient
    return _PREC.get(type(e), 9)


def fn_text(fn: str, order: int) -> str:
    return fn + "'" * order


def text(e: Expr) -> str:
    """`e` in derivation-file syntax: `W.T @ (dY * g'(z))`."""
    if hasattr(e, "written"):  # a node of another module (`windows`): a call, written by itself
        return e.written()
    t = type(e)
    if t is Var:
        return e.name
    if t is Const:
        return str(e.value)
    if t is Broadcast:
        return text(e.a)
    if t is Apply:
        if e.fn == "recip" and e.order == 0:
            return f"1 / {_wrap(e.a, 3)}"
        return f"{fn_text(e.fn, e.order)}({text(e.a)})"
    if t is Sum:
        return f"sum({text(e.a)})" if e.axis is None else f"sum({text(e.a)}, axis={e.axis})"
    if t is MatFn:
        return f"{e.fn}({text(e.a)})"
    if t is Transpose:
        return _wrap(e.a, 5) + ".T"
    if t is Pow:
        return f"{_wrap(e.a, 5)}**{e.p}"
    if t is Scale:
        if e.c == -1:
            return "-" + _wrap(e.a, 3)
        if e.c.p in (1, -1) and e.c.q > 1:  # a / 2, -a / 2
            return f"{'-' if e.c < 0 else ''}{_wrap(e.a, 3 if e.c < 0 else 2)} / {e.c.q}"
        return f"{_const_text(e.c)} * {_wrap(e.a, 3)}"
    if t is Add:
        right = e.b
        if _constant(right) is not None and _constant(right) < 0:
            return f"{_wrap(e.a, 1)} - {text(const(-_constant(right)))}"
        if isinstance(right, Scale) and right.c < 0:
            return f"{_wrap(e.a, 1)} - {_wrap(scale(-right.c, right.a), 2)}"
        return f"{_wrap(e.a, 1)} + {_wrap(right, 2)}"
    if t is Mul and _is_recip(e.b) and not _is_recip(e.a):  # a * (1 / b) is a / b
        left = _wrap(e.a, 2)
        if type(_unbroadcast(e.a)) is MatMul:
            left = f"({left})"
        return f"{left} / {_wrap(_unbroadcast(e.b).a, 3)}"
    op = {Mul: "*", MatMul: "@"}[t]
    left = _wrap(e.a, 2)
    if type(_unbroadcast(e.a)) in (Mul, MatMul) and type(_unbroadcast(e.a)) is not t:
        left = f"({left})"  # `*` and `@` share a precedence: make the grouping plain
    return f"{left} {op} {_wrap(e.b, 3)}"


def _unbroadcast(e: Expr) -> Expr:
    return e.a if isinstance(e, Broadcast) else e


def _const_text(c) -> str:
    return str(c) if c.q == 1 else f"({c})"


def _wrap(e: Expr, prec: int) -> str:
    inner = e.a if isinstance(e, Broadcast) else e
    s = text(inner)
    if isinstance(inner, Const) and inner.value < 0 and prec > 1:
        return f"({s})"
    return f"({s})" if _prec(inner) < prec else s
