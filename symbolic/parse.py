"""Expression text -> matrix expression, through a whitelisted syntax tree.

The text is NumPy-like: `@` matrix product, `*` elementwise product (or a
constant times a matrix), `+ - /`, `**` with an integer power, `.T`,
`g'(z)` for the derivative of a declared function, `sum(E, axis=0|1)`, and
the table functions by name.  Python's `ast` only *parses* the text; every
node is checked against the whitelist and turned into an `Expr`, so nothing
the user writes is ever run.
"""
from __future__ import annotations

import ast
import math
import re

import sympy

from . import expr as E
from .errors import ExprError  # noqa: F401  defined there, without SymPy
from .functions import ACTIVATIONS, CALLABLE
from . import windows as W


MAX_LENGTH = 10_000
MAX_POWER = 64
MAX_DEPTH = 100  # levels of the syntax tree; each operator of a chain `a @ b @ c` is one
MAX_INLINED_DEPTH = 800  # levels with the forward definitions it uses written out (a network's depth)
MAX_ORDER = 4  # primes on one function
MAX_DIGITS = 60  # of a constant's numerator and of its denominator, as written or folded
_PRIME = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)('+)(?=\s*\()")
_MARK = "__d"

_FORBIDDEN = {
    ast.Lambda: "`lambda`", ast.Subscript: "indexing `[...]`", ast.Compare: "comparisons",
    ast.BoolOp: "`and`/`or`", ast.IfExp: "`if`/`else`", ast.ListComp: "comprehensions",
    ast.GeneratorExp: "comprehensions", ast.DictComp: "comprehensions", ast.SetComp: "comprehensions",
    ast.List: "lists", ast.Tuple: "tuples", ast.Dict: "dicts", ast.Set: "sets",
    ast.NamedExpr: "`:=`", ast.Starred: "`*args`", ast.JoinedStr: "strings", ast.Await: "`await`",
    ast.Yield: "`yield`", ast.YieldFrom: "`yield`", ast.Slice: "slices",
}


def prepare(text: str) -> str:
    """Rewrite `g'(` as a call of a marked name; refuse dunders first so no
    user-written name can collide with the mark."""
    if not isinstance(text, str):
        raise ExprError(f"expected an expression string, got {type(text).__name__} {text!r}")
    if "__" in text:
        raise ExprError(f"names with `__` (dunders) are not allowed (column {text.index('__') + 1})")
    for m in _PRIME.finditer(text):
        if len(m.group(2)) > MAX_ORDER:
            raise ExprError(f"at most {MAX_ORDER} primes on a function, got {len(m.group(2))} "
                            f"(column {m.start(2) + 1})")
    return _PRIME.sub(lambda m: f"{m.group(1)}{_MARK}{len(m.group(2))}", text)


def parse_tree(text: str) -> ast.expr:
    """The checked syntax tree of `text` (no names resolved yet)."""
    if isinstance(text, str) and len(text) > MAX_LENGTH:
        raise ExprError(f"expression too long: {len(text)} characters, at most {MAX_LENGTH}")
    source = prepare(text)
    if "'" in source:
        column = _PRIME.sub(lambda m: m.group(1) + "#" * len(m.group(2)), text).index("'") + 1
        raise ExprError(f"a `'` may only follow a function name, as in `g'(z)` (column {column})")
    if "\0" in source:
        raise ExprError(f"a NUL character is not allowed (column {text.index(chr(0)) + 1})")
    try:
        tree = ast.parse(source.strip(), mode="eval").body
    except SyntaxError as err:
        shown = text if len(text) <= 60 else text[:57] + "..."
        msg = err.msg.split(";")[0]  # a huge number's message runs on with advice for Python code
        raise ExprError(f"not a valid expression ({msg}) at column {err.offset or 0}: {shown!r}") from None
    except (RecursionError, MemoryError):
        raise ExprError(f"expression nested too deeply: at most {MAX_DEPTH} levels") from None
    except ValueError as err:
        raise ExprError(f"not a valid expression ({err})") from None
    depth, stack = 0, [(tree, 1)]
    while stack:  # no recursion: the tree may be deeper than Python's stack
        node, level = stack.pop()
        depth = max(depth, level)
        for kind, what in _FORBIDDEN.items():
            if isinstance(node, kind):
                raise ExprError(f"{what} not allowed (column {node.col_offset + 1})")
        stack.extend((child, level + 1) for child in ast.iter_child_nodes(node))
    if depth > MAX_DEPTH:
        raise ExprError(f"expression nested too deeply: {depth} levels, at most {MAX_DEPTH} "
                        "(each operator of a chain like `a @ b @ c` is one level)")
    return tree


REDUCTIONS = ("mean", "var", "softmax", "log_softmax", "logsumexp")
PIECEWISE = {"abs": 1, "sign": 1, "maximum": 2, "minimum": 2, "clip": 3}  # name -> arguments
PIECEWISE_USAGE = {"abs": "abs(z)", "sign": "sign(z)", "maximum": "maximum(z, 0)", "minimum": "minimum(z, Y)",
                   "clip": "clip(z, -1, 1)"}
GELU_C = sympy.Rational("0.7978845608028654")  # sqrt(2 / pi)
LINEAR = {"eye": (1, "eye(n)"), "trace": (1, "trace(A)"), "diag": (1, "diag(v)"), "outer": (2, "outer(a, b)"),
          "matrix_power": (2, "matrix_power(A, 3)"),
          "inv": (1, "inv(A)"), "det": (1, "det(A)"), "logdet": (1, "logdet(A)")}  # name -> (arguments, usage)
WINDOWS = {"conv1d": (2, "conv1d(x, w)"), "convolve": (2, "convolve(dy, w)"),
           "conv1d_full": (2, "conv1d_full(dy, flip(w))"), "flip": (1, "flip(w)"),
           "max": (1, "max(Z, axis=0)"), "max_mask": (1, "max_mask(Z, axis=0)")}  # name -> (arguments, usage)


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


def split_function(name: str):
    """`g__d2` -> ('g', 2); `g` -> ('g', 0)."""
    m = re.fullmatch(r"(.+?)__d(\d+)", name)
    if m:
        return m.group(1), int(m.group(2))
    return name, 0


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


class Parser:
    """Turns checked trees into `Expr`s given the names in scope.

    `names`: name -> Expr (a `Var` for inputs, upstream and intermediates);
    `functions`: name -> table function name or None for a generic function.
    """

    def __init__(self, names: dict, functions: dict):
        self.names = names
        self.functions = functions

    def parse(self, text: str) -> E.Expr:
        e = self.build(parse_tree(text))
        check_constants(e)
        return e

    def build(self, node: ast.expr) -> E.Expr:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise ExprError(f"`{type(node).__name__}` syntax not allowed (column {node.col_offset + 1})")
        return method(node)

    def _Name(self, node):
        if node.id in self.names:
            return self.names[node.id]
        base, _ = split_function(node.id)
        if base in self.functions or base in ACTIVATIONS:
            raise ExprError(f"function `{base}` used without an argument")
        known = ", ".join(f"`{n}`" for n in self.names) or "none"
        raise ExprError(f"unknown name `{node.id}` (known names: {known})")

    def _Constant(self, node):
        v = node.value
        where = f"column {node.col_offset + 1}"
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            shown = repr(v) if len(repr(v)) <= 40 else repr(v)[:37] + "..."
            raise ExprError(f"constant {shown} not allowed: only numbers ({where})")
        if isinstance(v, float) and not math.isfinite(v):
            raise ExprError(f"number too large for a float ({where})")
        value = sympy.Rational(repr(v)) if isinstance(v, float) else sympy.Integer(v)
        if digits(value) > MAX_DIGITS:
            raise ExprError(f"a number of {digits(value)} digits: at most {MAX_DIGITS} "
                            f"above and below the bar ({where})")
        return E.const(value)

    def _UnaryOp(self, node):
        a = self.build(node.operand)
        if isinstance(node.op, ast.USub):
            return E.scale(-1, a)
        if isinstance(node.op, ast.UAdd):
            return a
        raise ExprError(f"operator `{type(node.op).__name__}` not allowed")

    def _BinOp(self, node):
        op = node.op
        if isinstance(op, ast.Pow):
            a = self.build(node.left)
            p = node.right
            if isinstance(p, ast.UnaryOp) and isinstance(p.op, ast.USub) and isinstance(p.operand, ast.Constant):
                p_val = -p.operand.value
            elif isinstance(p, ast.Constant):
                p_val = p.value
            else:
                raise ExprError("`**` needs an integer constant exponent")
            if isinstance(p_val, float) and p_val * 2 == int(p_val * 2) and int(p_val * 2) % 2:
                if abs(p_val) > MAX_POWER:
                    raise ExprError(f"`**` exponent {p_val} too large: at most {MAX_POWER} in absolute value")
                # t ** (n / 2), n odd: sqrt(t) ** n (t > 0 where it is used)
                root = E.apply("sqrt", a)
                n = int(p_val * 2)
                return E.power(E.apply("recip", root), -n) if n < 0 else E.power(root, n)
            if isinstance(p_val, bool) or not isinstance(p_val, int):
                raise ExprError(f"`**` needs an integer or half-integer exponent, got {p_val!r}")
            if abs(p_val) > MAX_POWER:
                raise ExprError(f"`**` exponent {p_val} too large: at most {MAX_POWER} in absolute value")
            if p_val < 0:
                return E.power(E.apply("recip", a), -p_val)
            return E.power(a, p_val)
        a, b = self.build(node.left), self.build(node.right)
        if isinstance(op, ast.MatMult):
            return E.matmul(a, b)
        if isinstance(op, ast.Mult):
            return E.mul(a, b)
        if isinstance(op, ast.Add):
            return E.add(a, b)
        if isinstance(op, ast.Sub):
            return E.sub(a, b)
        if isinstance(op, ast.Div):
            try:
                return E.divide(a, b)
            except ZeroDivisionError:
                raise ExprError("division by zero") from None
        raise ExprError(f"operator `{type(op).__name__}` not allowed")

    def _Attribute(self, node):
        if node.attr != "T":
            raise ExprError(f"attribute `.{node.attr}` not allowed: only `.T` (column {node.col_offset + 1})")
        return E.transpose(self.build(node.value))

    def _Call(self, node):
        if not isinstance(node.func, ast.Name):
            raise ExprError(f"only named functions can be called (column {node.col_offset + 1})")
        base, order = split_function(node.func.id)
        if base == "sum" and order == 0:
            return self._sum(node)
        if base in REDUCTIONS and order == 0 and base not in self.functions:
            return self._reduction(base, node)
        if base in PIECEWISE and order == 0 and base not in self.functions:
            return self._piecewise(base, node)
        if base in LINEAR and order == 0 and base not in self.functions:
            return self._linear(base, node)
        if base in WINDOWS and order == 0 and base not in self.functions:
            return self._window(base, node)
        if base == "gelu" and order == 0 and node.keywords and "gelu" not in self.functions:
            return self._gelu_tanh(node)
        if base in self.functions:
            fn = self.functions[base] or base
        elif base in CALLABLE:
            fn = base
        else:
            known = ", ".join(f"`{f}`" for f in [*self.functions, *CALLABLE, "sum"])
            raise ExprError(f"unknown function `{base}` (known: {known})")
        if node.keywords or len(node.args) != 1:
            raise ExprError(f"`{base}` takes exactly one argument")
        return E.apply(fn, self.build(node.args[0]), order)

    def _axis(self, name: str, node, required: bool):
        if len(node.args) != 1:
            raise ExprError(f"`{name}` takes one matrix and " + ("`axis=0` or `axis=1`" if required else
                                                                   "an optional `axis=0` or `axis=1`"))
        axis = None
        for kw in node.keywords:
            if kw.arg != "axis" or not isinstance(kw.value, ast.Constant) or kw.value.value not in (0, 1) \
                    or isinstance(kw.value.value, bool):
                raise ExprError(f"`{name}` takes only `axis=0` or `axis=1`")
            axis = kw.value.value
        if required and axis is None:
            raise ExprError(f"`{name}` needs `axis=0` (down the columns) or `axis=1` (along the rows)")
        return axis

    def _reduction(self, name: str, node) -> E.Expr:
        """mean, var, softmax, log_softmax and logsumexp, written with sum,
        exp, log and dims as values (so every check knows them already)."""
        axis = self._axis(name, node, required=name not in ("mean", "var"))
        a = self.build(node.args[0])
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

    def _piecewise(self, name: str, node) -> E.Expr:
        """abs, sign, maximum, minimum and clip, written with relu and step (so
        their kinks, derivatives and code are theirs): |a| = relu(a) + relu(-a),
        sign(a) = step(a) - step(-a),
        maximum(a, b) = b + relu(a - b), minimum(a, b) = a - relu(a - b),
        clip(a, lo, hi) = lo + relu(a - lo) - relu(a - hi) for numbers lo <= hi."""
        arity = PIECEWISE[name]
        if node.keywords or len(node.args) != arity:
            raise ExprError(f"`{name}` takes {arity} positional argument{'s' if arity > 1 else ''}, "
                            f"as in `{PIECEWISE_USAGE[name]}`")
        args = [self.build(a) for a in node.args]
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
            raise ExprError(f"`clip` takes numbers `lo <= hi` as its bounds, as in `{PIECEWISE_USAGE['clip']}`")
        return E.sub(E.add(lo, relu(E.sub(a, lo))), relu(E.sub(a, hi)))

    def _linear(self, name: str, node) -> E.Expr:
        """eye(n), the identity; trace(A) = sum(A * eye(n)); diag(v) = v * eye(n)
        for a column v; outer(a, b) = a @ b.T; matrix_power(A, p) = A @ ... @ A
        (p >= 1 factors; p = 0 is the identity)."""
        arity, usage = LINEAR[name][0], f"as in `{LINEAR[name][1]}`"
        if node.keywords or len(node.args) != arity:
            raise ExprError(f"`{name}` takes {arity} positional argument{'s' if arity > 1 else ''}, {usage}")
        if name == "eye":
            size = self._size(node.args[0], usage)
            return E.eye(size)
        a = self.build(node.args[0])
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
            b = self.build(node.args[1])
            if c != 1 or b.shape[1] != 1:
                raise E.ShapeError(f"`outer` takes two columns, got {E.fmt_shape(a.shape)} and "
                                   f"{E.fmt_shape(b.shape)}")
            return E.matmul(a, E.transpose(b))
        p = node.args[1]
        if not isinstance(p, ast.Constant) or isinstance(p.value, bool) or not isinstance(p.value, int) \
                or not 0 <= p.value <= MAX_POWER:
            raise ExprError(f"`matrix_power` takes a whole number from 0 to {MAX_POWER} as its power, {usage}")
        if r != c:
            raise E.ShapeError(f"`matrix_power` needs a square matrix, got {E.fmt_shape(a.shape)}")
        out = E.eye(r)
        for k in range(p.value):
            out = a if k == 0 else E.matmul(out, a)
        return out

    def _window(self, name: str, node) -> E.Expr:
        """conv1d(x, w), convolve(a, b), conv1d_full(a, v) = convolve(a, flip(v)),
        flip(v) (columns), max(E, axis=...) and max_mask(E, axis=...) (`windows`)."""
        arity, usage = WINDOWS[name][0], f"as in `{WINDOWS[name][1]}`"
        if name in ("max", "max_mask"):
            if len(node.args) != 1:
                raise ExprError(f"`{name}` takes one matrix and an optional `axis=0` or `axis=1`, {usage}")
            for kw in node.keywords:
                if kw.arg == "axis" and not (isinstance(kw.value, ast.Constant) and kw.value.value in (0, 1)
                                             and not isinstance(kw.value.value, bool)):
                    got = ast.unparse(kw.value)
                    raise ExprError(f"`{name}` takes `axis=0` (down the columns), `axis=1` (along the rows) "
                                    f"or no axis (every entry), got `axis={got if len(got) <= 20 else got[:17] + '...'}`")
            axis = self._axis(name, node, required=False)
            a = self.build(node.args[0])
            return W.max_axis(a, axis) if name == "max" else W.max_mask(a, axis)
        if node.keywords or len(node.args) != arity:
            raise ExprError(f"`{name}` takes {arity} positional argument{'s' if arity > 1 else ''}, {usage}")
        args = [self.build(a) for a in node.args]
        if name == "flip":
            return W.flip(args[0])
        if name == "conv1d":
            return W.conv1d(*args)
        if name == "convolve":
            return W.convolve(*args)
        W._column(name, args[1], "its kernel")
        return W.convolve(args[0], W.flip(args[1]))

    def _size(self, node, usage: str):
        """A size written as a dim's name or a whole number (`eye(n)`, `eye(3)`)."""
        if isinstance(node, ast.Name) and node.id in self.names and self.names[node.id].role == "dim":
            return sympy.Symbol(node.id, integer=True, positive=True)
        if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool) \
                and 1 <= node.value <= 100_000:
            return sympy.Integer(node.value)
        raise ExprError(f"a size is a dim's name or a whole number from 1 to 100000, {usage}")

    def _gelu_tanh(self, node) -> E.Expr:
        """gelu(a, approximate="tanh"): a (1 + tanh(c (a + 0.044715 a**3))) / 2,
        c = sqrt(2 / pi) to double precision, as the frameworks write it."""
        kw = node.keywords
        if len(node.args) != 1 or len(kw) != 1 or kw[0].arg != "approximate" \
                or not isinstance(kw[0].value, ast.Constant) or kw[0].value.value != "tanh":
            raise ExprError('`gelu` takes one matrix, and `approximate="tanh"` for the tanh form')
        a = self.build(node.args[0])
        inner = E.scale(GELU_C, E.add(a, E.scale(sympy.Rational("0.044715"), E.power(a, 3))))
        return E.scale(sympy.Rational(1, 2), E.mul(a, E.add(E.const(1), E.apply("tanh", inner))))

    def _sum(self, node):
        if len(node.args) != 1:
            raise ExprError("`sum` takes one matrix and an optional `axis=0` or `axis=1`")
        axis = None
        for kw in node.keywords:
            if kw.arg != "axis" or not isinstance(kw.value, ast.Constant) or kw.value.value not in (0, 1) \
                    or isinstance(kw.value.value, bool):
                raise ExprError("`sum` takes only `axis=0` or `axis=1`")
            axis = kw.value.value
        return E.sum_axis(self.build(node.args[0]), axis)
