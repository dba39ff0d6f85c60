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
import re

import sympy

from . import expr as E
from .functions import ACTIVATIONS, CALLABLE


class ExprError(ValueError):
    """Text outside the expression grammar; the message says what and where."""


MAX_LENGTH = 10_000
MAX_POWER = 64
_PRIME = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)('+)")
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
        raise ExprError("names with `__` (dunders) are not allowed")
    return _PRIME.sub(lambda m: f"{m.group(1)}{_MARK}{len(m.group(2))}", text)


def unprepare(source: str) -> str:
    """Inverse of `prepare` on unparsed text."""
    return re.sub(r"([A-Za-z_][A-Za-z0-9_]*?)__d(\d+)", lambda m: m.group(1) + "'" * int(m.group(2)), source)


def parse_tree(text: str) -> ast.expr:
    """The checked syntax tree of `text` (no names resolved yet)."""
    source = prepare(text)
    if "'" in source:
        raise ExprError("a `'` may only follow a function name, as in `g'(z)`")
    if len(source) > MAX_LENGTH:
        raise ExprError(f"expression too long: {len(source)} characters, at most {MAX_LENGTH}")
    try:
        tree = ast.parse(source.strip(), mode="eval").body
    except SyntaxError as err:
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise ExprError(f"not a valid expression ({err.msg}) at column {err.offset or 0}: {shown!r}") from None
    except (RecursionError, MemoryError):
        raise ExprError("expression nested too deeply") from None
    for node in ast.walk(tree):
        for kind, what in _FORBIDDEN.items():
            if isinstance(node, kind):
                raise ExprError(f"{what} not allowed (column {node.col_offset + 1})")
    return tree


def split_function(name: str):
    """`g__d2` -> ('g', 2); `g` -> ('g', 0)."""
    if _MARK in name:
        base, _, order = name.partition(_MARK)
        return base, int(order)
    return name, 0


class Parser:
    """Turns checked trees into `Expr`s given the names in scope.

    `names`: name -> Expr (a `Var` for inputs, upstream and intermediates);
    `functions`: name -> table function name or None for a generic function.
    """

    def __init__(self, names: dict, functions: dict):
        self.names = names
        self.functions = functions

    def parse(self, text: str) -> E.Expr:
        return self.build(parse_tree(text))

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
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ExprError(f"constant {v!r} not allowed: only numbers")
        return E.const(sympy.Rational(repr(v)) if isinstance(v, float) else v)

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
            if isinstance(p_val, bool) or not isinstance(p_val, int):
                raise ExprError(f"`**` needs an integer exponent, got {p_val!r}")
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
            if isinstance(b, E.Const):
                if b.value == 0:
                    raise ExprError("division by zero")
                return E.broadcast(E.scale(1 / b.value, a), a.shape)
            return E.mul(a, E.apply("recip", b))
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
