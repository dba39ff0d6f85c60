"""Steps in plain text (NumPy-like, with indices) -> step trees, without `eval`.

The NumPy-like text of the rest of a derivation file, with index notation.
A hand-written tokenizer and recursive-descent parser read it into the very
trees (`steptree`) `texparse` builds from the notes' LaTeX, so `semantics` and `steps`
decide both alike:

    operators     `@` a matrix product (or a scalar times anything), `*` elementwise
                  (or a scalar times anything), `/` by a scalar, `+`, `-`, `**` a positive
                  integer power; `*`, `@` and `/` bind alike, left to right, as in Python:
                  `W.T @ (dY * g'(z))` needs its parentheses
    postfix       `.T`; functions `g(z)`, `g'(z)`, `g''(z)`, `sigmoid(z)`, `exp(z)`, ...
    indices       `x[i]`, `W[j, i]`, a column `W[:, i]`, a row `W[i, :]`; indices count
                  from 1, as in the notes; one index on a matrix is its row (`W[i]`)
    sums          `sum(body, j=1..k)`: over j from 1 to k (a number or a dim)
    operations    as a claim writes them, on matrices written without indices:
                  `sum(E)`, `sum(E, axis=1)`, `mean`, `softmax`, `clip`, `conv1d`, ...;
                  a dim is also a value, its size (`m * mean(E, axis=1)`)
    inner product `<a, b>`
    derivatives   `d(A)/d(B)`: `d(yhat)/d(z)`, `d(z[i])/d(W[i, j])`, `d(J)/d(x[i])`
    vectors       `col(e, i=1..k)` the column of the entries e_1 .. e_k, `row(e, j=1..n)`,
                  `matrix(e, i=1..k, j=1..n)`; entry by entry, `col(a, b)` and `row(a, b)`
    labels        `label(e, "k x 1")` claims the shape of e (shapes as in `[inputs]`:
                  "k x n", "scalar"); `label(e, z)` says e is the value z
    statements    `A = B = C`, a closing shape claim `... in "k x n"`, `x, w, b in "scalar"`,
                  a trailing `for i=1..k`

`d(` always opens a derivative, and `sum`, `col`, `row`, `matrix`, `label`
are read as above before a parenthesis.  Anything else is a `PlainError`
naming what and where (the column, and the text around it).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from fractions import Fraction

from . import steptree as T
from .functions import CALLABLE, LIBRARY


class PlainError(T.TexError):
    """Text outside the plain step grammar; says what, where (column) and shows the spot."""


MAX_LENGTH = T.MAX_LENGTH
MAX_DEPTH = T.MAX_DEPTH
MAX_POWER = T.MAX_POWER
KEYWORDS = ("sum", "col", "row", "matrix", "label")
INDEXED = (T.Index, T.SumOver, T.Deriv, T.Inner, T.Pattern, T.Grid)  # what an operation of the library cannot take


# ---------------------------------------------------------------- tokens

@dataclass(frozen=True)
class Tok:
    kind: str  # id, num, str, sym, end
    value: str
    pos: int
    end: int


_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<num>(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)
  | (?P<id>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<str>"[^"]*")
  | (?P<sym>\*\*|\.\.|\.T(?![A-Za-z0-9_])|[-+*/@()\[\],=<>:'])
""", re.X)


def tokenize(text: str) -> list:
    if not isinstance(text, str):
        raise PlainError(f"expected a step as text, got {type(text).__name__} {text!r}")
    if len(text) > MAX_LENGTH:
        raise PlainError(f"text too long: {len(text)} characters, at most {MAX_LENGTH}")
    toks, i = [], 0
    while i < len(text):
        m = _TOKEN.match(text, i)
        if m is None:
            c = text[i]
            hint = " (a `.` stands only in `.T` and in bounds `1..k`)" if c == "." else ""
            if c == '"':
                hint = " (a string in double quotes is missing its closing `\"`)"
            if c == "\0":
                raise PlainError("a NUL character is not allowed", i, text)
            raise PlainError(f"unsupported character {c!r}{hint}", i, text)
        kind = m.lastgroup
        if kind == "num":
            T.number(m.group(), i, text, PlainError)
        if kind == "id" and "__" in m.group():
            raise PlainError(f"names with `__` (dunders) are not allowed, got `{m.group()}`", i, text)
        if kind != "space":
            toks.append(Tok(kind, m.group(), i, m.end()))
        i = m.end()
    toks.append(Tok("end", "", len(text), len(text)))
    return toks


# ---------------------------------------------------------------- parser

class Parser(T.Cursor):
    error = PlainError

    def __init__(self, text: str, scope: T.Scope | None = None):
        """`scope` None: a closed form (a claim, a forward definition), whose
        names and functions the builder (`parse`) resolves; no indices,
        sums over bounds or derivatives, but calls with several arguments
        and keywords, and any real power."""
        super().__init__(text, tokenize(text))
        self.claim = scope is None
        self.scope = scope or T.Scope(frozenset(), frozenset(), frozenset())
        self.callable = set(self.scope.functions) | set(CALLABLE)

    def expect(self, kind, value=None, what=None):
        if not self.at(kind, value):
            self.fail(f"expected {what or '`' + (value or kind) + '`'}, got {_describe(self.peek())}")
        return self.next()

    def end(self) -> int:
        return self.toks[self.i - 1].end if self.i else 0

    # -- statements
    def statement(self) -> T.Node:
        start = self.peek().pos
        first = self.expr()
        if self.at("sym", ",") or self.at("id", "in"):
            subjects = [first]
            while self.at("sym", ","):
                self.next()
                subjects.append(self.expr())
            self.expect("id", "in", "`in \"shape\"` after the values "
                        + ", ".join(f"`{T.source(self.text, s)}`" for s in subjects))
            shape = self.shape()
            st = T.Membership(tuple(subjects), shape, pos=start, end=self.end())
        else:
            members = [first]
            while self.at("sym", "="):
                self.next()
                members.append(self.expr())
            if len(members) == 1:
                self.fail(f"a step needs `=` or `in`, got {_describe(self.peek())}")
            within = None
            if self.at("id", "in"):
                self.next()
                within = self.shape()
            forall = None
            if self.at("id", "for"):
                self.next()
                forall = self.bounds()
            st = T.Chain(tuple(members), within, forall, pos=start, end=self.end())
        if not self.at("end"):
            self.unexpected()
        return st

    def unexpected(self):
        t = self.peek()
        hint = ""
        if t.kind in ("id", "num") or t.kind == "sym" and t.value in "(<":
            hint = " (products are written with `@` or `*`)"
        self.fail(f"unexpected {_describe(t)}{hint}")

    def bounds(self) -> tuple:
        """`j=1..k` -> (var, lo, hi)."""
        var = self.index_name()
        self.expect("sym", "=", "`=` in bounds like `j=1..k`")
        lo = self.index_item(bound=True)
        self.expect("sym", "..", "`..` in bounds like `j=1..k`")
        hi = self.index_item(bound=True)
        return (var, lo, hi)

    def index_name(self) -> str:
        t = self.peek()
        if t.kind != "id":
            self.fail(f"expected an index name like `j`, got {_describe(t)}")
        if t.value in self.scope.dims:
            self.fail(f"`{t.value}` is a dim; an index runs up to it: `j=1..{t.value}`")
        if t.value in self.scope.names or t.value in self.callable:
            self.fail(f"`{t.value}` names a value or a function, not an index")
        return self.next().value

    def shape(self) -> T.Shape:
        """A shape as `[inputs]` writes it: `"k x n"`, `"n x 1"`, `"scalar"`."""
        t = self.peek()
        if t.kind != "str":
            hint = " (shapes take double quotes)" if t.kind == "sym" and t.value == "'" else ""
            self.fail(f"expected a shape like \"k x n\", \"n x 1\" or \"scalar\"{hint}, got {_describe(t)}")
        self.next()
        try:
            r, c = T.read_shape(t.value[1:-1], sorted(self.scope.dims))
        except ValueError as err:
            raise PlainError(err.args[0], t.pos + 1 + err.args[1] if err.args[1] >= 0 else t.pos, self.text) from None
        return T.Shape(r, c, pos=t.pos, end=t.end)

    # -- expressions, lowest precedence first
    def expr(self) -> T.Node:
        start, depth = self.peek().pos, self.depth
        self.enter()
        out = self.term()
        while self.at("sym", "+") or self.at("sym", "-"):
            op = self.next().value
            self.enter()  # each term of a chain is one level of its tree
            b = self.term()
            out = T.Bin(op, out, b, pos=start, end=b.end)
        self.depth = depth
        return out

    def term(self) -> T.Node:
        start, depth = self.peek().pos, self.depth
        out = self.unary()
        while self.at("sym", "*") or self.at("sym", "@") or self.at("sym", "/"):
            op = self.next().value
            self.enter()
            b = self.unary()
            if op == "/":
                out = T.Frac(out, b, pos=start, end=b.end)
            else:
                out = T.Bin("odot" if op == "*" else "dot", out, b, pos=start, end=b.end)
        self.depth = depth
        return out

    def unary(self) -> T.Node:
        if self.at("sym", "-") or self.at("sym", "+"):
            self.enter()
            t = self.next()
            a = self.unary()
            self.leave()
            return T.Neg(a, pos=t.pos, end=a.end) if t.value == "-" else replace(a, pos=t.pos)
        return self.power()

    def power(self) -> T.Node:
        a = self.postfix(self.atom())
        if not self.at("sym", "**"):
            return a
        self.next()
        if self.claim:  # a signed number; `parse` says which it takes
            sign = -1 if self.at("sym", "-") else 1
            if self.at("sym", "-") or self.at("sym", "+"):
                self.next()
            t = self.peek()
            if t.kind != "num":
                self.fail(f"`**` needs a constant power, as in `a**2` or `a**-0.5`, got {_describe(t)}")
            self.next()
            return T.Power(a, sign * T.number(t.value, t.pos, self.text, PlainError), pos=a.pos, end=t.end)
        t = self.peek()
        if t.kind != "num" or not t.value.isdigit() or not 1 <= int(t.value) <= MAX_POWER:
            self.fail(f"`**` needs an integer power from 1 to {MAX_POWER}, got {_describe(t)}")
        self.next()
        return T.Power(a, int(t.value), pos=a.pos, end=t.end)

    def postfix(self, node: T.Node) -> T.Node:
        depth = self.depth
        while True:
            self.enter()
            if self.at("sym", "["):
                t = self.peek()
                if self.claim:
                    self.fail("indexing `[...]` is not allowed in a closed form", t)
                if not isinstance(node, T.Name):
                    self.fail("indices `[..]` follow a name, as in `W[j, i]`", t)
                node = T.Index(node, self.indices(), pos=node.pos, end=self.end())
            elif self.at("sym", ".T"):
                self.next()
                node = T.Transpose(node, pos=node.pos, end=self.end())
            elif self.at("sym", "'"):
                self.fail("a prime `'` may only follow a function name, as in `g'(z)`")
            else:
                self.depth = depth
                return node

    def indices(self) -> tuple:
        self.expect("sym", "[")
        items = [self.index_item()]
        while self.at("sym", ","):
            self.next()
            items.append(self.index_item())
        if self.at("sym", ":") or self.at("sym", ".."):
            self.fail("a slice is `:` alone, the whole row or column")
        if len(items) > 2:
            self.fail("at most two indices, as in `W[j, i]`")
        self.expect("sym", "]", "`]` or `,`")
        return tuple(items)

    def index_item(self, bound=False) -> T.Ix:
        t = self.peek()
        if t.kind == "num":
            if "." in t.value:
                self.fail(f"an index is a whole number, got `{t.value}`")
            if int(t.value) < 1:
                self.fail("indices count from 1, as in the notes")
            self.next()
            return T.Ix("num", int(t.value))
        if t.kind == "id":
            if t.value in self.scope.dims:
                self.next()
                return T.Ix("dim", t.value)
            return T.Ix("var", self.index_name())
        if t.kind == "sym" and t.value == ":" and not bound:
            self.next()
            if not (self.at("sym", ",") or self.at("sym", "]")):
                self.fail("a slice is `:` alone, the whole row or column")
            return T.Ix("colon")
        self.fail(f"expected an index (a letter, a number from 1, a dim{'' if bound else ' or `:`'}), "
                  f"got {_describe(t)}")

    def atom(self) -> T.Node:
        t = self.peek()
        if t.kind == "num":
            self.next()
            return T.Num(Fraction(t.value), pos=t.pos, end=t.end)
        if t.kind == "id":
            word = t.value
            if self.claim:
                return self.call() if self.at("sym", "(", 1) or self.at("sym", "'", 1) else self.name()
            if self.at("sym", "(", 1):
                if word == "d":
                    return self.derivative()
                if word in KEYWORDS:
                    return getattr(self, "kw_" + word)()
                if self.library(word, 0):
                    return self.call()
            if word in self.callable:
                return self.call()
            return self.name()
        if t.kind == "sym" and t.value == "(":
            self.next()
            inner = self.expr()
            self.expect("sym", ")", "`)`")
            return replace(inner, pos=t.pos, end=self.end())
        if t.kind == "sym" and t.value == "<":
            self.next()
            a = self.expr()
            self.expect("sym", ",", "`,` between the two sides of `<a, b>`")
            b = self.expr()
            self.expect("sym", ">", "`>` closing `<a, b>`")
            return T.Inner(a, b, pos=t.pos, end=self.end())
        if t.kind == "sym" and t.value == "'":
            self.fail("a `'` is a prime after a function name (`g'(z)`); shapes take double quotes")
        if t.kind == "str":
            self.fail("a shape in quotes stands only in `label(e, \"k x 1\")` and after `in`")
        self.fail(f"expected an expression, got {_describe(t)}")

    def name(self) -> T.Node:
        t = self.next()
        if t.value in self.scope.names or t.value in self.scope.dims or self.claim:  # a dim is its size
            return T.Name(t.value, pos=t.pos, end=t.end)
        if t.value in KEYWORDS or t.value == "d":
            self.fail(f"`{t.value}` needs its arguments in parentheses", t)
        known = ", ".join(f"`{n}`" for n in sorted(self.scope.names)) or "none"
        self.fail(f"unknown name `{t.value}` (known names: {known})", t)

    def call(self) -> T.Node:
        t = self.next()
        order = 0
        while self.at("sym", "'"):
            self.next()
            order += 1
        if order > T.MAX_ORDER:
            self.fail(f"at most {T.MAX_ORDER} primes on a function, got {order}")
        if order and not self.at("sym", "("):
            self.fail("a `'` may only follow a function name, as in `g'(z)`", self.toks[self.i - 1])
        if not self.at("sym", "("):
            self.fail(f"function `{t.value}` needs an argument in parentheses")
        node = self.apply(t, order)
        if not self.claim and type(node) is T.Apply and not self.library(t.value, order) \
                and not (t.value == "gelu" and node.keywords):
            extra = node.args[1:] or [v for _, v in node.keywords]
            self.fail_at(f"`{t.value}` takes one argument", self.text.rfind(",", 0, extra[0].pos) if extra else t.pos)
        if not self.claim and type(node) is T.Apply and any(type(x) in INDEXED for x in T.walk(node)):
            hint = "; a sum over an index takes its bounds: `sum(body, j=1..k)`" if t.value == "sum" else ""
            self.fail_at(f"`{t.value}` takes matrices written without indices{hint}", t.pos)
        return node

    def library(self, name: str, order: int) -> bool:
        """Whether `name` called with `order` primes is an operation of the library (not a declared function)."""
        return name in LIBRARY and name not in self.scope.functions and not order

    def apply(self, t: Tok, order: int) -> T.Node:
        """A call: a function of one argument (`g(z)`, a `Call`), or an
        operation of the library or one with several arguments and keywords
        (`abs(z)`, `clip(z, -1, 1)`, `sum(E, axis=0)`, `gelu(z, approximate="tanh")`:
        an `Apply`, which `parse` reads)."""
        self.next()
        args, keywords = [], []
        while not self.at("sym", ")"):
            if self.at("id") and self.at("sym", "=", 1):
                word = self.next()
                if word.value in (k for k, _ in keywords):
                    self.fail(f"keyword `{word.value}` given twice", word)
                self.next()
                if self.at("str"):
                    s = self.next()
                    keywords.append((word.value, T.Str(s.value[1:-1], pos=s.pos, end=s.end)))
                elif self.at("sym", "'") and self.at("id", None, 1) and self.at("sym", "'", 2):
                    s = self.toks[self.i + 1]  # 'tanh', as Python writes a string too
                    self.i += 3
                    keywords.append((word.value, T.Str(s.value, pos=s.pos - 1, end=s.end + 1)))
                else:
                    keywords.append((word.value, self.expr()))
            elif keywords:
                self.fail("a positional argument after a keyword one")
            else:
                args.append(self.expr())
            if not self.at("sym", ","):
                break
            self.next()
        self.expect("sym", ")", "`,` or `)`")
        if len(args) == 1 and not keywords and not self.library(t.value, order):
            return T.Call(t.value, order, args[0], pos=t.pos, end=self.end())
        return T.Apply(t.value, order, tuple(args), tuple(keywords), pos=t.pos, end=self.end())

    def derivative(self) -> T.Node:
        """`d(A)/d(B)`."""
        start = self.next().pos
        self.next()
        num = self.expr()
        self.expect("sym", ")", "`)`")
        if not (self.at("sym", "/") and self.at("id", "d", 1) and self.at("sym", "(", 2)):
            self.fail("a derivative reads `d(A)/d(B)`: expected `/d(` here")
        self.i += 3
        den = self.expr()
        self.expect("sym", ")", "`)`")
        return T.Deriv(num, den, pos=start, end=self.end())

    def arguments(self, word) -> list:
        """The arguments of a keyword call: expressions and bounds `j=1..k`,
        as ("expr", node) and ("bounds", (var, lo, hi))."""
        self.next()
        self.expect("sym", "(")
        args = []
        while True:
            if self.at("id") and self.at("sym", "=", 1):
                args.append(("bounds", self.bounds()))
            else:
                args.append(("expr", self.expr()))
            if self.at("sym", ","):
                self.next()
                continue
            self.expect("sym", ")", "`,` or `)`")
            return args

    def kw_sum(self) -> T.Node:
        """`sum(body, j=1..k)`, over an index; without bounds, the sum of a
        matrix's entries or along an axis, as a closed form writes it."""
        if not self.bounded():
            return self.call()
        start = self.peek().pos
        args = self.arguments("sum")
        if len(args) != 2 or args[0][0] != "expr" or args[1][0] != "bounds":
            self.fail_at("`sum` takes a body and its bounds: `sum(body, j=1..k)`", start)
        var, lo, hi = args[1][1]
        return T.SumOver(var, lo, hi, args[0][1], pos=start, end=self.end())

    def bounded(self) -> bool:
        """Whether the call at the cursor has bounds (`j=1..k`) among its own arguments."""
        depth, k = 0, 1
        while self.peek(k).kind != "end":
            t = self.peek(k)
            if depth == 1 and t.kind == "id" and t.value != "axis" and self.peek(k + 1).value == "=":
                return True
            if t.kind == "sym" and t.value in ("(", "["):
                depth += 1
            elif t.kind == "sym" and t.value in (")", "]"):
                depth -= 1
                if depth == 0:
                    return False
            elif depth == 1 and t.kind == "sym" and t.value == "..":
                return True
            k += 1
        return False

    def kw_col(self) -> T.Node:
        return self.vector("col")

    def kw_row(self) -> T.Node:
        return self.vector("row")

    def kw_matrix(self) -> T.Node:
        start = self.peek().pos
        args = self.arguments("matrix")
        if [k for k, _ in args] != ["expr", "bounds", "bounds"]:
            self.fail_at("`matrix` takes an entry and the bounds of its rows and columns: "
                         "`matrix(W[i, j], i=1..k, j=1..n)`", start)
        return T.Pattern(args[0][1], args[1][1], args[2][1], pos=start, end=self.end())

    def vector(self, word) -> T.Node:
        start = self.peek().pos
        args = self.arguments(word)
        kinds = [k for k, _ in args]
        if kinds == ["expr", "bounds"]:
            spec = args[1][1]
            rows, cols = (spec, None) if word == "col" else (None, spec)
            return T.Pattern(args[0][1], rows, cols, pos=start, end=self.end())
        if "bounds" in kinds:
            self.fail_at(f"`{word}` takes an entry and its bounds, `{word}(e, i=1..k)`, "
                         f"or its entries one by one, `{word}(a, b, c)`", start)
        entries = tuple(node for _, node in args)
        rows = tuple((x,) for x in entries) if word == "col" else (entries,)
        return T.Grid(rows, pos=start, end=self.end())

    def kw_label(self) -> T.Node:
        start = self.peek().pos
        self.next()
        self.expect("sym", "(")
        a = self.expr()
        self.expect("sym", ",", "`,` and a shape, as in `label(dY, \"k x 1\")`")
        if self.at("str"):
            lab = self.shape()
        elif self.at("id") and self.peek().value in self.scope.names and self.at("sym", ")", 1):
            t = self.next()
            lab = T.Name(t.value, pos=t.pos, end=t.end)
        else:
            hint = " (shapes take double quotes)" if self.at("sym", "'") else ""
            self.fail(f"a label is a shape like \"k x 1\" or a value's name{hint}, got {_describe(self.peek())}")
        self.expect("sym", ")", "`)`")
        return T.Labelled(a, lab, "under", pos=start, end=self.end())

    def fail_at(self, message, pos):
        raise PlainError(message, pos, self.text)


def _describe(t: Tok) -> str:
    if t.kind == "end":
        return "the end of the text"
    return f"`{t.value}`"


# ---------------------------------------------------------------- entry points

def parse_statement(text: str, scope: T.Scope) -> T.Node:
    """A step in plain text: a chain of equalities, an `in` claim."""
    return T.check_depth(Parser(text, scope).statement(), text, PlainError)


def parse_expression(text: str, scope: T.Scope | None = None) -> T.Node:
    """An expression; `scope` None: a closed form (see `Parser`)."""
    p = Parser(text, scope)
    e = p.expr()
    if not p.at("end"):
        p.unexpected()
    return T.check_depth(e, text, PlainError)
