"""Closed forms -> matrix expressions: claims, forward definitions, and
LaTeX claims, from the one tree (`steptree`) the plain-text and LaTeX
readers build.

The text is NumPy-like (`plaintext` reads it): `@` matrix product, `*`
elementwise product (or a constant times a matrix), `+ - /`, `**` with an
integer or half-integer power, `.T`, `g'(z)` for the derivative of a
declared function, `sum(E, axis=0|1)`, and the table functions by name.
Here every node is checked against what a closed form may say and turned
into an `Expr`; nothing the user writes is ever run.
"""
from __future__ import annotations

import math
from fractions import Fraction

import sympy

from . import expr as E
from . import steptree as T
from . import windows as W
from .errors import ExprError
from .functions import ACTIVATIONS, CALLABLE, LINEAR, PIECEWISE, PIECEWISE_USAGE, REDUCTIONS, WINDOWS
from .plaintext import PlainError, parse_expression

MAX_LENGTH = T.MAX_LENGTH
MAX_POWER = 64
MAX_DEPTH = T.MAX_DEPTH  # levels of the tree; each term of a chain `a @ b @ c` is one
MAX_INLINED_DEPTH = 800  # levels with the forward definitions it uses written out (a network's depth)
MAX_DIGITS = 60  # of a constant's numerator and of its denominator, as written or folded


def parse_tree(text: str) -> T.Node:
    """The tree of a closed form in plain text (no names resolved yet)."""
    if not isinstance(text, str):
        raise ExprError(f"expected an expression string, got {type(text).__name__} {text!r}")
    try:
        return parse_expression(text)
    except PlainError as err:
        raise ExprError(f"not a valid expression: {err}") from None


GELU_C = sympy.Rational("0.7978845608028654")  # sqrt(2 / pi)


def size_value(size) -> E.Expr:
    """A size as a value: a dim's `Var` (role "dim"), or a number."""
    if isinstance(size, sympy.Symbol):
        return E.Var(size.name, (E.ONE, E.ONE), "dim")
    return E.const(sympy.Integer(size))


def mean(a: E.Expr, axis) -> E.Expr:
    """The mean of `a` over `axis` (None: every entry): its sum over the count."""
    r, c = a.shape
    count = [r, c] if axis is None else [r] if axis == 0 else [c]
    out = E.sum_axis(a, axis)
    for size in count:
        if size != 1:
            out = E.mul(out, E.apply("recip", size_value(size)))
    return out


def digits(c) -> int:
    """Decimal digits of the larger of a rational's numerator and denominator."""
    c = sympy.Rational(c)
    big = max(abs(c.p), c.q)
    return len(str(big)) if big.bit_length() < 10_000 else int(big.bit_length() * math.log10(2)) + 1


def check_constants(e: E.Expr):
    """Refuse constants that fold (`1e30 * 1e30 * x`) to more than `MAX_DIGITS` digits."""
    for node in E.walk(e):
        c = node.value if isinstance(node, E.Const) else node.c if isinstance(node, E.Scale) else None
        if c is not None and digits(c) > MAX_DIGITS:
            raise ExprError(f"the constants multiply to a number of {digits(c)} digits, at most {MAX_DIGITS}")


NOT_CLOSED = {T.Index: "indices", T.SumOver: "`\\sum`", T.Deriv: "derivatives", T.Inner: "`\\langle \\rangle`",
              T.Pattern: "vectors written by entries", T.Grid: "vectors written by entries", T.Str: "strings"}


class Parser:
    """Turns closed-form trees into `Expr`s given the names in scope.

    `names`: name -> Expr (a `Var` for inputs, upstream, intermediates and
    dims); `functions`: name -> table function name or None for a generic
    function.  `latex`: the tree was read from LaTeX, where juxtaposition
    is a product by a scalar or a matrix product, and errors are
    `TexError`s that show the spot in `text`.
    """

    def __init__(self, names: dict, functions: dict, text: str = "", latex: bool = False):
        self.names, self.functions, self.text, self.latex = names, functions, text, latex

    def parse(self, text: str) -> E.Expr:
        self.text = text
        e = self.build(parse_tree(text))
        check_constants(e)
        return e

    def fail(self, message: str, node: T.Node | None = None):
        pos = node.pos if node is not None and node.pos >= 0 else None
        if self.latex:
            raise T.TexError(message, pos, self.text)
        raise ExprError(message + (f" (column {pos + 1})" if pos is not None else ""))

    def build(self, node: T.Node) -> E.Expr:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            what = NOT_CLOSED.get(type(node), type(node).__name__)
            self.fail(f"{what} have no place in a closed form; write it at matrix level", node)
        return method(node)

    def _Name(self, node):
        if node.name in self.names:
            return self.names[node.name]
        if node.name in self.functions or node.name in ACTIVATIONS:
            self.fail(f"function `{node.name}` used without an argument", node)
        known = ", ".join(f"`{n}`" for n in self.names) or "none"
        self.fail(f"unknown name `{node.name}` (known names: {known})", node)

    def _Num(self, node):
        value = sympy.Rational(node.value.numerator, node.value.denominator)
        if digits(value) > MAX_DIGITS:
            self.fail(f"a number of {digits(value)} digits: at most {MAX_DIGITS} above and below the bar", node)
        return E.const(value)

    def _Neg(self, node):
        return E.scale(-1, self.build(node.a))

    def _Labelled(self, node):
        return self.build(node.a)

    def _Transpose(self, node):
        return E.transpose(self.build(node.a))

    def _Power(self, node):
        a, p = self.build(node.a), Fraction(node.p)
        if p.denominator not in (1, 2):
            self.fail(f"`**` needs an integer or half-integer exponent, got {float(p)!r}", node)
        if abs(p) > MAX_POWER:
            self.fail(f"`**` exponent {p} too large: at most {MAX_POWER} in absolute value", node)
        if p.denominator == 2:  # t ** (n / 2), n odd: sqrt(t) ** n (t > 0 where it is used)
            a, p = E.apply("sqrt", a), p * 2
        return E.power(E.apply("recip", a), int(-p)) if p < 0 else E.power(a, int(p))

    def _Bin(self, node):
        a, b = self.build(node.a), self.build(node.b)
        if node.op == "+":
            return E.add(a, b)
        if node.op == "-":
            return E.sub(a, b)
        scalar = (E.ONE, E.ONE) in (a.shape, b.shape)
        if node.op == "odot":
            if self.latex and a.shape != b.shape and not scalar:
                raise E.ShapeError(f"`\\odot` needs equal shapes, got {E.fmt_shape(a.shape)} "
                                   f"and {E.fmt_shape(b.shape)}")
            return E.mul(a, b)
        return E.mul(a, b) if self.latex and scalar else E.matmul(a, b)

    def _Frac(self, node):
        a, b = self.build(node.a), self.build(node.b)
        try:
            return E.divide(a, b)
        except ZeroDivisionError:
            self.fail("division by zero", node.b)

    def _Call(self, node):
        return self.call(node, (node.arg,), ())

    def _Apply(self, node):
        return self.call(node, node.args, node.keywords)

    def call(self, node, args: tuple, keywords: tuple) -> E.Expr:
        name, order = node.fn, node.order
        library = order == 0 and name not in self.functions
        if name == "sum" and order == 0:
            return E.sum_axis(self.build(self.one(name, args)), self.axis(name, keywords, required=False))
        if library and name in REDUCTIONS:
            return self.reduction(name, args, keywords)
        if library and name in PIECEWISE:
            return self.piecewise(name, args, keywords)
        if library and name in LINEAR:
            return self.linear(name, args, keywords)
        if library and name in WINDOWS:
            return self.window(name, args, keywords)
        if library and name == "gelu" and keywords:
            return self.gelu_tanh(args, keywords)
        if name in self.functions:
            fn = self.functions[name] or name
        elif name in CALLABLE:
            fn = name
        else:
            known = ", ".join(f"`{f}`" for f in [*self.functions, *CALLABLE, "sum"])
            self.fail(f"unknown function `{name}` (known: {known})", node)
        if keywords or len(args) != 1:
            self.fail(f"`{name}` takes exactly one argument", node)
        return E.apply(fn, self.build(args[0]), order)

    @staticmethod
    def whole(node) -> int | None:
        """A whole number as written (`0`, `3`), or None."""
        if type(node) is T.Num and node.value.denominator == 1:
            return int(node.value)
        return None

    def one(self, name, args, usage=None):
        """The one matrix a reduction takes."""
        if len(args) != 1:
            self.fail(f"`{name}` takes one matrix and " + (usage or "an optional `axis=0` or `axis=1`"))
        return args[0]

    def axis(self, name: str, keywords, required: bool, message: str = ""):
        axis = None
        for word, value in keywords:
            if word != "axis" or self.whole(value) not in (0, 1):
                self.fail(message or f"`{name}` takes only `axis=0` or `axis=1`", value)
            axis = self.whole(value)
        if required and axis is None:
            self.fail(f"`{name}` needs `axis=0` (down the columns) or `axis=1` (along the rows)")
        return axis

    def positional(self, name, args, keywords, arity, usage):
        if keywords or len(args) != arity:
            self.fail(f"`{name}` takes {arity} positional argument{'s' if arity > 1 else ''}, {usage}")
        return [self.build(a) for a in args]

    def reduction(self, name: str, args, keywords) -> E.Expr:
        """mean, var, softmax, log_softmax and logsumexp, written with sum,
        exp, log and dims as values (so every check knows them already)."""
        required = name not in ("mean", "var")
        a = self.one(name, args, "`axis=0` or `axis=1`" if required else None)
        axis = self.axis(name, keywords, required)
        a = self.build(a)
        if name == "mean":
            return mean(a, axis)
        if name == "var":
            return mean(E.power(E.sub(a, mean(a, axis)), 2), axis)
        lse = E.apply("log", E.sum_axis(E.apply("exp", a), axis))
        if name == "logsumexp":
            return lse
        if name == "log_softmax":
            return E.sub(a, lse)
        e = E.apply("exp", a)  # softmax
        return E.mul(e, E.apply("recip", E.sum_axis(e, axis)))

    def piecewise(self, name: str, args, keywords) -> E.Expr:
        """abs, sign, maximum, minimum and clip, written with relu and step (so
        their kinks, derivatives and code are theirs): |a| = relu(a) + relu(-a),
        sign(a) = step(a) - step(-a),
        maximum(a, b) = b + relu(a - b), minimum(a, b) = a - relu(a - b),
        clip(a, lo, hi) = lo + relu(a - lo) - relu(a - hi) for numbers lo <= hi."""
        args = self.positional(name, args, keywords, PIECEWISE[name], f"as in `{PIECEWISE_USAGE[name]}`")
        relu = lambda x: E.apply("relu", x)  # noqa: E731
        if name == "abs":
            return E.add(relu(args[0]), relu(E.scale(-1, args[0])))
        if name == "sign":
            return E.sub(E.apply("step", args[0]), E.apply("step", E.scale(-1, args[0])))
        if name == "maximum":
            return E.add(args[1], relu(E.sub(args[0], args[1])))
        if name == "minimum":
            return E.sub(args[0], relu(E.sub(args[0], args[1])))
        a, lo, hi = args
        if not (isinstance(lo, E.Const) and isinstance(hi, E.Const)) or lo.value > hi.value:
            self.fail(f"`clip` takes numbers `lo <= hi` as its bounds, as in `{PIECEWISE_USAGE['clip']}`")
        return E.sub(E.add(lo, relu(E.sub(a, lo))), relu(E.sub(a, hi)))

    def linear(self, name: str, args, keywords) -> E.Expr:
        """eye(n), the identity; trace(A) = sum(A * eye(n)); diag(v) = v * eye(n)
        for a column v; outer(a, b) = a @ b.T; matrix_power(A, p) = A @ ... @ A
        (p >= 1 factors; p = 0 is the identity); inv, det, logdet (`linalg`)."""
        arity, usage = LINEAR[name][0], f"as in `{LINEAR[name][1]}`"
        if keywords or len(args) != arity:
            self.fail(f"`{name}` takes {arity} positional argument{'s' if arity > 1 else ''}, {usage}")
        if name == "eye":
            return E.eye(self.size(args[0], usage))
        a = self.build(args[0])
        r, c = a.shape
        if name in E.MATRIX_FUNCTIONS:  # inv, det, logdet: nodes of their own (see `symbolic.linalg`)
            if r != c:
                raise E.ShapeError(f"`{name}` needs a square matrix (n x n), got {E.fmt_shape(a.shape)}")
            return E.matfn(name, a)
        if name == "trace":
            if r != c:
                raise E.ShapeError(f"`trace` needs a square matrix, got {E.fmt_shape(a.shape)}")
            return E.sum_axis(E.mul(a, E.eye(r)), None)
        if name == "diag":
            if c != 1:
                raise E.ShapeError(f"`diag` takes a column (a vector `n x 1`), got {E.fmt_shape(a.shape)}")
            return E.mul(a, E.eye(r))
        if name == "outer":
            b = self.build(args[1])
            if c != 1 or b.shape[1] != 1:
                raise E.ShapeError(f"`outer` takes two columns, got {E.fmt_shape(a.shape)} and "
                                   f"{E.fmt_shape(b.shape)}")
            return E.matmul(a, E.transpose(b))
        p = self.whole(args[1])
        if p is None or not 0 <= p <= MAX_POWER:
            self.fail(f"`matrix_power` takes a whole number from 0 to {MAX_POWER} as its power, {usage}", args[1])
        if r != c:
            raise E.ShapeError(f"`matrix_power` needs a square matrix, got {E.fmt_shape(a.shape)}")
        out = E.eye(r)
        for k in range(p):
            out = a if k == 0 else E.matmul(out, a)
        return out

    def window(self, name: str, args, keywords) -> E.Expr:
        """conv1d(x, w), convolve(a, b), conv1d_full(a, v) = convolve(a, flip(v)),
        flip(v) (columns), max(E, axis=...) and max_mask(E, axis=...) (`windows`)."""
        arity, usage = WINDOWS[name][0], f"as in `{WINDOWS[name][1]}`"
        if name in ("max", "max_mask"):
            if len(args) != 1:
                self.fail(f"`{name}` takes one matrix and an optional `axis=0` or `axis=1`, {usage}")
            got = next((T.source(self.text, v) for k, v in keywords if k == "axis"), "")
            got = got if len(got) <= 20 else got[:17] + "..."
            axis = self.axis(name, keywords, False, f"`{name}` takes `axis=0` (down the columns), `axis=1` "
                             f"(along the rows) or no axis (every entry), got `axis={got}`")
            a = self.build(args[0])
            return W.max_axis(a, axis) if name == "max" else W.max_mask(a, axis)
        args = self.positional(name, args, keywords, arity, usage)
        if name == "flip":
            return W.flip(args[0])
        if name == "conv1d":
            return W.conv1d(*args)
        if name == "convolve":
            return W.convolve(*args)
        W._column(name, args[1], "its kernel")
        return W.convolve(args[0], W.flip(args[1]))

    def size(self, node, usage: str):
        """A size written as a dim's name or a whole number (`eye(n)`, `eye(3)`)."""
        if type(node) is T.Name and node.name in self.names and self.names[node.name].role == "dim":
            return sympy.Symbol(node.name, integer=True, positive=True)
        if self.whole(node) is not None and 1 <= self.whole(node) <= 100_000:
            return sympy.Integer(self.whole(node))
        self.fail(f"a size is a dim's name or a whole number from 1 to 100000, {usage}", node)

    def gelu_tanh(self, args, keywords) -> E.Expr:
        """gelu(a, approximate="tanh"): a (1 + tanh(c (a + 0.044715 a**3))) / 2,
        c = sqrt(2 / pi) to double precision, as the frameworks write it."""
        if len(args) != 1 or len(keywords) != 1 or keywords[0][0] != "approximate" \
                or type(keywords[0][1]) is not T.Str or keywords[0][1].value != "tanh":
            self.fail('`gelu` takes one matrix, and `approximate="tanh"` for the tanh form')
        a = self.build(args[0])
        inner = E.scale(GELU_C, E.add(a, E.scale(sympy.Rational("0.044715"), E.power(a, 3))))
        return E.scale(sympy.Rational(1, 2), E.mul(a, E.add(E.const(1), E.apply("tanh", inner))))
