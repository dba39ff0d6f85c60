"""The LaTeX of lecture notes -> expression trees, without `eval`.

A hand-written tokenizer and recursive-descent parser read a restricted
grammar, the one the notes use:

    products      `\\cdot`, juxtaposition (`A B`), `\\odot` / `\\circ` (binds tighter
                  than `\\cdot`: `W^T \\cdot dY \\odot g'(z)` is `W^T (dY ⊙ g'(z))`)
    postfix       `^T`, `^{T}`, `^\\top`, `^{2}`; functions `g(z)`, `g'(z)`,
                  `g^{\\prime}(z)`, `\\sigma(z)`, `\\tanh`, `\\exp`, `\\log`, `e^{..}`
    indices       `x_i`, `x_1`, `W_{j,i}`, a row `W_{i,:}`, a column `W_{:,i}`;
                  one index on a matrix is its row (`W_i = W_{i,:}`), on a vector its entry
    sums          `\\sum_{j=1}^{k} body`, `a_1 + a_2 + \\dots + a_n`
    products      `\\langle a, b \\rangle`
    derivatives   `\\frac{\\partial A}{\\partial B}`, `\\frac{dA}{dB}`, `\\nabla_J(W)`
    vectors       `\\begin{pmatrix} a_1 \\\\ \\vdots \\\\ a_k \\end{pmatrix}`, rows `(a_1, \\dots, a_n)`,
                  a matrix with `&`, `\\dots`, `\\vdots`, `\\ddots`; the entries between the
                  dots are generalised from the first and the last (`dY_1`, `dY_k`: `dY_i`, i = 1..k)
    labels        `\\underbrace{E}_{k \\times 1}`, `\\overbrace{E}^{\\mathbb{R}}`, `_{1}`; a label
                  that is a name (`\\underbrace{w x + b}_z`) says the expression is that value
    statements    `A = B = C \\in \\mathbb{R}^{k \\times n}`, `x, w \\in \\mathbb{R}`,
                  `\\begin{cases} z_1 = .. \\\\ \\vdots \\\\ z_k = .. \\end{cases}`,
                  a trailing `\\rightarrow \\forall i=1, \\dots, k`

`\\left`, `\\right` and spacing commands are ignored; `\\hat{y}` is the name
`yhat`.  Anything else is a `TexError` naming the command and its column.
`to_core` turns an index-free tree into the core IR (`symbolic.expr`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, is_dataclass, replace
from fractions import Fraction

import sympy

from . import expr as E
from .functions import ACTIVATIONS


class TexError(ValueError):
    """LaTeX outside the grammar; says what, where (column) and shows the spot."""

    def __init__(self, message: str, pos: int | None = None, text: str | None = None):
        self.message, self.pos, self.text = message, pos, text
        where = ""
        if pos is not None:
            where = f" at column {pos + 1}"
            if text is not None:
                where += f": `{text[max(0, pos - 20):pos]}` <here> `{text[pos:pos + 20]}`"
        super().__init__(message + where)


# ---------------------------------------------------------------- tokens

@dataclass(frozen=True)
class Tok:
    kind: str  # cmd, id, num, sym, end
    value: str
    pos: int


IGNORED = {",", ";", "!", " ", ":", "quad", "qquad", "displaystyle", "left", "right", "big", "Big",
           "bigl", "bigr", "Bigl", "Bigr", "limits"}
DOTS = {"dots", "cdots", "ldots", "vdots", "ddots"}
FUNCTION_COMMANDS = {"sigma": "sigmoid", "tanh": "tanh", "exp": "exp", "log": "log"}
ACCENTS = {"hat": "hat", "bar": "bar", "tilde": "tilde"}
SUPPORTED = sorted({"cdot", "odot", "circ", "frac", "partial", "sum", "langle", "rangle", "nabla",
                    "underbrace", "overbrace", "mathbb", "in", "times", "begin", "end", "top", "prime",
                    "rightarrow", "forall", "left", "right", "quad"} | DOTS | set(FUNCTION_COMMANDS)
                   | set(ACCENTS))
_SYMS = set("_^{}()[],=+-'&:|<>*/@.")
MAX_LENGTH = 10_000
MAX_DEPTH = 100  # levels of nesting, and of a parsed tree
MAX_POWER = 64
MAX_NUMBER = 30  # digits of a number
MAX_ORDER = 4  # primes on one function
_DIGITS = set("0123456789")
_LETTERS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def tokenize(text: str) -> list:
    if not isinstance(text, str):
        raise TexError(f"expected LaTeX text, got {type(text).__name__} {text!r}")
    if len(text) > MAX_LENGTH:
        raise TexError(f"too long: {len(text)} characters, at most {MAX_LENGTH}")
    toks, i, n = [], 0, len(text)
    left = None  # where a dropped `\\left` stood: its delimiter's span starts there
    while i < n:
        if left is not None and toks and toks[-1].pos > left:
            toks[-1] = Tok(toks[-1].kind, toks[-1].value, left)
            left = None
        c = text[i]
        script = bool(toks) and toks[-1].kind == "sym" and toks[-1].value in "_^"
        if c.isspace():
            i += 1
        elif c == "\\":
            if text.startswith("\\\\", i):
                toks.append(Tok("sym", "\\\\", i))
                i += 2
                continue
            m = re.match(r"[A-Za-z]+", text[i + 1:])
            name = m.group(0) if m else text[i + 1:i + 2]
            if not name:
                raise TexError("a lone `\\` at the end", i, text)
            if name == "left":
                left = i
            if name not in IGNORED:
                toks.append(Tok("cmd", name, i))
            i += 1 + len(name)
        elif c in _LETTERS:
            m = re.compile(r"[A-Za-z]+").match(text, i)
            word = m.group(0)[0] if script else m.group(0)  # `x_ij`: TeX takes one letter
            toks.append(Tok("id", word, i))
            i += len(word)
        elif c in _DIGITS:
            m = re.compile(r"[0-9]+").match(text, i)
            word = m.group(0)[0] if script else m.group(0)
            if len(word) > MAX_NUMBER:
                raise TexError(f"a number of {len(word)} digits, at most {MAX_NUMBER}", i, text)
            toks.append(Tok("num", word, i))
            i += len(word)
        elif c in _SYMS:
            toks.append(Tok("sym", c, i))
            i += 1
        else:
            raise TexError(f"unsupported character {c!r}", i, text)
    toks.append(Tok("end", "", n))
    return toks


# ---------------------------------------------------------------- trees

@dataclass(frozen=True)
class Node:
    pos: int = field(default=-1, compare=False, repr=False, kw_only=True)
    end: int = field(default=-1, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True)
class Ix:
    """One index: a literal `num` (1-based), a `dim` name, an index `var`, or `colon`."""
    kind: str
    value: object = None


@dataclass(frozen=True)
class Num(Node):
    value: Fraction


@dataclass(frozen=True)
class Name(Node):
    name: str


@dataclass(frozen=True)
class Index(Node):
    base: Node
    items: tuple  # of Ix


@dataclass(frozen=True)
class Transpose(Node):
    a: Node


@dataclass(frozen=True)
class Power(Node):
    a: Node
    p: int


@dataclass(frozen=True)
class Call(Node):
    fn: str
    order: int
    arg: Node


@dataclass(frozen=True)
class Neg(Node):
    a: Node


@dataclass(frozen=True)
class Bin(Node):
    op: str  # "+", "-", "dot" (\cdot or juxtaposition), "odot"
    a: Node
    b: Node


@dataclass(frozen=True)
class Frac(Node):
    a: Node
    b: Node


@dataclass(frozen=True)
class Deriv(Node):
    """d num / d den: a partial derivative (also `\\nabla_J(den)`)."""
    num: Node
    den: Node


@dataclass(frozen=True)
class SumOver(Node):
    var: str
    lo: Ix
    hi: Ix
    body: Node


@dataclass(frozen=True)
class Inner(Node):
    a: Node
    b: Node


@dataclass(frozen=True)
class Pattern(Node):
    """A vector or matrix written by its first and last entries with dots:
    `rows`/`cols` are (var, lo, hi) or None; hi None: a constant entry,
    whose length comes from the context."""
    template: Node
    rows: tuple | None
    cols: tuple | None


@dataclass(frozen=True)
class Grid(Node):
    """A vector or matrix written entry by entry."""
    rows: tuple  # of tuples of Node


@dataclass(frozen=True)
class Shape(Node):
    r: Ix
    c: Ix


@dataclass(frozen=True)
class Labelled(Node):
    """`\\underbrace{a}_{label}` / `\\overbrace{a}^{label}`: label a Shape, or a Name."""
    a: Node
    label: Node
    brace: str


@dataclass(frozen=True)
class Dots(Node):
    kind: str


# statements

@dataclass(frozen=True)
class Chain(Node):
    """`m0 = m1 = ... [\\in R^..] [\\forall var = 1..hi]`."""
    members: tuple
    within: Shape | None = None
    forall: tuple | None = None  # (var, lo, hi)
    cases: bool = field(default=False, compare=False)  # written as `\\begin{cases}`


@dataclass(frozen=True)
class Membership(Node):
    """`a, b \\in \\mathbb{R}^{..}`."""
    subjects: tuple
    shape: Shape


@dataclass(frozen=True)
class Scope:
    """What the parser must know of a derivation's names."""
    functions: frozenset  # names called as functions (g)
    dims: frozenset
    names: frozenset  # value names (x, W, yhat, J, notation)


# ---------------------------------------------------------------- parser

class Cursor:
    """A position in a list of tokens (`kind`, `value`, `pos`), shared by
    the LaTeX parser here and the plain-text one in `indexparse`."""
    error = TexError

    def __init__(self, text: str, toks: list):
        self.text, self.toks, self.i = text, toks, 0
        self.depth = 0

    def enter(self):
        """One level deeper (a parenthesis, a sign, an argument); refused past `MAX_DEPTH`."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.fail(f"nested too deeply: at most {MAX_DEPTH} levels")

    def leave(self):
        self.depth -= 1

    def peek(self, k=0):
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def next(self):
        t = self.peek()
        self.i += 1
        return t

    def at(self, kind, value=None, k=0) -> bool:
        t = self.peek(k)
        return t.kind == kind and (value is None or t.value == value)

    def fail(self, message, tok=None):
        tok = tok or self.peek()
        raise self.error(message, tok.pos, self.text)


class Parser(Cursor):
    def __init__(self, text: str, scope: Scope):
        super().__init__(text, tokenize(text))
        self.scope = scope
        self.counter = 0

    def expect(self, kind, value):
        if not self.at(kind, value):
            self.fail(f"expected `{_show(kind, value)}`, got {_describe(self.peek())}")
        return self.next()

    def fresh(self) -> str:
        self.counter += 1
        return f"%{self.counter}"

    def node(self, cls, start, *args, **kw):
        return cls(*args, pos=start, end=self.last_end(), **kw)

    def last_end(self) -> int:
        if not self.i:
            return 0
        t = self.toks[self.i - 1]
        return self.text.index(t.value, t.pos) + len(t.value) if t.value else t.pos

    # -- statements
    def statement(self) -> Node:
        start = self.peek().pos
        if self.at("cmd", "begin") and self.env_name(peek=True) == "cases":
            st = self.cases()
        else:
            first = self.expr()
            if self.at("sym", ",") or self.at("cmd", "in") and not self.at("sym", "="):
                subjects = [first]
                while self.at("sym", ","):
                    self.next()
                    subjects.append(self.expr())
                if not self.at("cmd", "in"):
                    self.fail(f"expected `\\in` after the names {', '.join('`'+_src(self, s)+'`' for s in subjects)}")
                self.next()
                shape = self.space()
                st = self.node(Membership, start, tuple(subjects), shape)
            else:
                members = [first]
                while self.at("sym", "="):
                    self.next()
                    members.append(self.expr())
                if len(members) == 1 and not self.at("cmd", "in"):
                    self.fail("a step needs `=` or `\\in`")
                within = None
                if self.at("cmd", "in"):
                    self.next()
                    within = self.space()
                forall = self.forall()
                st = self.node(Chain, start, tuple(members), within, forall)
        if not self.at("end"):
            self.fail(f"unexpected {_describe(self.peek())}")
        return st

    def forall(self):
        if self.at("cmd", "rightarrow") or self.at("sym", ","):
            self.next()
        if not self.at("cmd", "forall"):
            return None
        self.next()
        var = self.expect("id", None).value
        self.expect("sym", "=")
        lo = self.index_item()
        self.expect("sym", ",")
        if not (self.at("cmd") and self.peek().value in DOTS):
            self.fail("expected `\\dots` in `\\forall i=1, \\dots, k`")
        self.next()
        self.expect("sym", ",")
        hi = self.index_item()
        return (var, lo, hi)

    def cases(self) -> Node:
        start = self.peek().pos
        self.env_name()
        rows = []
        while not self.at("cmd", "end"):
            if self.at("cmd") and self.peek().value in DOTS:
                t = self.next()
                rows.append(Dots(t.value, pos=t.pos))
            else:
                s = self.peek().pos
                lhs = self.expr()
                self.expect("sym", "=")
                rhs = self.expr()
                rows.append(self.node(Chain, s, (lhs, rhs)))
            if self.at("sym", "\\\\"):
                self.next()
            elif not self.at("cmd", "end"):
                self.fail(f"expected `\\\\` or `\\end{{cases}}`, got {_describe(self.peek())}")
        self.next()
        self.expect("sym", "{")
        self.expect("id", "cases")
        self.expect("sym", "}")
        eqs = [r for r in rows if not isinstance(r, Dots)]
        if len(eqs) == len(rows):
            if len(eqs) != 1:
                self.fail("`cases` with several equations and no `\\vdots`: write one step per equation")
            return eqs[0]
        template, (var, lo, hi), _ = self.generalise(eqs[0], eqs[-1], eqs[1] if len(eqs) == 3 else None, start)
        return self.node(Chain, start, template.members, None, (var, lo, hi), cases=True)

    def env_name(self, peek=False) -> str:
        k = self.i
        self.expect("cmd", "begin")
        self.expect("sym", "{")
        name = self.expect("id", None).value
        self.expect("sym", "}")
        if peek:
            self.i = k
        return name

    # -- shapes
    def space(self) -> Shape:
        start = self.peek().pos
        self.expect("cmd", "mathbb")
        self.expect("sym", "{")
        self.expect("id", "R")
        self.expect("sym", "}")
        if not self.at("sym", "^"):
            return self.node(Shape, start, Ix("num", 1), Ix("num", 1))
        self.next()
        if self.at("sym", "{"):
            self.next()
            shape = self.shape_items(start)
            self.expect("sym", "}")
            return replace(shape, end=self.toks[self.i - 1].pos + 1)
        item = self.index_item()
        return self.node(Shape, start, item, Ix("num", 1))

    def shape_items(self, start) -> Shape:
        r = self.index_item()
        if self.at("cmd", "times"):
            self.next()
            c = self.index_item()
        else:
            c = Ix("num", 1)
        return self.node(Shape, start, r, c)

    def label(self) -> Node:
        start = self.peek().pos
        braced = self.at("sym", "{")
        if braced:
            self.next()
        if self.at("cmd", "mathbb"):
            lab = self.space()
        elif self.at("id") and self.peek().value in self.scope.names:
            t = self.next()
            lab = Name(t.value, pos=t.pos, end=t.pos + len(t.value))
        elif self.at("cmd", "hat"):
            lab = self.atom()
        else:
            lab = self.shape_items(start)
        if braced:
            self.expect("sym", "}")
        return lab

    def index_item(self) -> Ix:
        t = self.next()
        if t.kind == "num":
            if int(t.value) < 1:
                self.fail("indices count from 1", t)
            return Ix("num", int(t.value))
        if t.kind == "id":
            if t.value in self.scope.dims:
                return Ix("dim", t.value)
            if len(t.value) != 1:
                self.fail(f"expected an index (a letter, a number or a dim), got `{t.value}`", t)
            return Ix("var", t.value)
        if t.kind == "sym" and t.value == ":":
            return Ix("colon")
        self.fail(f"expected an index, got {_describe(t)}", t)

    def index_list(self) -> tuple:
        """After `_`: `{j,i}`, `{:,i}`, `{ij}`, `i`, `1`."""
        if not self.at("sym", "{"):
            return (self.index_item(),)
        self.next()
        if self.at("id") and len(self.peek().value) > 1 and self.at("sym", "}", 1) \
                and self.peek().value not in self.scope.dims:
            t = self.next()  # `W_{ij}`
            self.next()
            return tuple(Ix("var", ch) for ch in t.value)
        items = [self.index_item()]
        while self.at("sym", ","):
            self.next()
            items.append(self.index_item())
        self.expect("sym", "}")
        if len(items) > 2:
            self.fail("at most two indices")
        return tuple(items)

    # -- expressions, lowest precedence first
    def expr(self) -> Node:
        start, depth = self.peek().pos, self.depth
        terms = []  # (sign, node or Dots)
        sign = "+"
        if self.at("sym", "-"):
            self.next()
            sign = "-"
        while True:
            self.enter()  # each term of a chain is one level of its tree
            if self.at("cmd") and self.peek().value in DOTS:
                t = self.next()
                terms.append((sign, Dots(t.value, pos=t.pos, end=t.pos + len(t.value) + 1)))
            else:
                terms.append((sign, self.product()))
            if self.at("sym", "+") or self.at("sym", "-"):
                sign = self.next().value
                continue
            break
        terms = self.sum_patterns(terms, start)
        sign, out = terms[0]
        if sign == "-":
            out = Neg(out, pos=out.pos, end=out.end)
        for sign, t in terms[1:]:
            out = Bin("+" if sign == "+" else "-", out, t, pos=start, end=t.end)
        self.depth = depth
        return out

    def sum_patterns(self, terms, start):
        """`a_1 + a_2 + \\dots + a_n` -> a sum over an index."""
        while any(isinstance(t, Dots) for _, t in terms):
            d = next(k for k, (_, t) in enumerate(terms) if isinstance(t, Dots))
            if d == 0 or d == len(terms) - 1 or terms[d + 1][0] != "+" or terms[d][0] != "+":
                raise TexError("`\\dots` in a sum must stand between `+` signs", terms[d][1].pos, self.text)
            last = terms[d + 1][1]
            if d >= 2 and terms[d - 1][0] == "+" and self._fits(terms[d - 2][1], last):
                first, second, k0 = terms[d - 2][1], terms[d - 1][1], d - 2
            else:
                first, second, k0 = terms[d - 1][1], None, d - 1
            template, (var, lo, hi), _ = self.generalise(first, last, second, first.pos)
            if hi is None:
                raise TexError("the terms around `\\dots` do not differ by an index", first.pos, self.text)
            s = SumOver(var, lo, hi, template, pos=first.pos, end=last.end)
            terms = terms[:k0] + [(terms[k0][0], s)] + terms[d + 2:]
        return terms

    def _fits(self, first, last) -> bool:
        try:
            self.generalise(first, last, None, first.pos)
            return True
        except TexError:
            return False

    def product(self) -> Node:
        start, depth = self.peek().pos, self.depth
        out = self.hadamard()
        while True:
            if self.at("cmd", "cdot"):
                self.next()
            elif not self.starts_atom():
                self.depth = depth
                return out
            self.enter()
            b = self.hadamard()
            out = Bin("dot", out, b, pos=start, end=b.end)

    def hadamard(self) -> Node:
        start, depth = self.peek().pos, self.depth
        out = self.unary()
        while self.at("cmd", "odot") or self.at("cmd", "circ"):
            self.next()
            self.enter()
            b = self.unary()
            out = Bin("odot", out, b, pos=start, end=b.end)
        self.depth = depth
        return out

    def unary(self) -> Node:
        self.enter()
        if self.at("sym", "-"):
            t = self.next()
            a = self.unary()
            self.leave()
            return Neg(a, pos=t.pos, end=a.end)
        node = self.postfix(self.atom())
        self.leave()
        return node

    def starts_atom(self) -> bool:
        t = self.peek()
        if t.kind in ("id", "num"):
            return True
        if t.kind == "sym":
            return t.value == "("
        return t.kind == "cmd" and t.value in {"frac", "sum", "langle", "begin", "underbrace", "overbrace",
                                               "nabla", "partial"} | set(FUNCTION_COMMANDS) | set(ACCENTS)

    def postfix(self, node: Node) -> Node:
        depth = self.depth
        while True:
            self.enter()
            if self.at("sym", "_"):
                t = self.next()
                if not isinstance(node, Name):
                    self.fail("a subscript must follow a name", t)
                items = self.index_list()
                node = Index(node, items, pos=node.pos, end=self.toks[self.i - 1].pos + 1)
            elif self.at("sym", "^"):
                t = self.next()
                braced = self.at("sym", "{")
                if braced:
                    self.next()
                if self.at("id", "T") or self.at("cmd", "top"):
                    self.next()
                    node = Transpose(node, pos=node.pos, end=t.pos + 2)
                elif self.at("num"):
                    p = int(self.next().value)
                    if p > MAX_POWER:
                        self.fail(f"a power of at most {MAX_POWER}, got {p}", self.toks[self.i - 1])
                    node = Power(node, p, pos=node.pos, end=t.pos + 2)
                elif self.at("cmd", "prime"):
                    self.fail("`\\prime` may only follow a function name, as in `g^{\\prime}(z)`")
                else:
                    self.fail(f"expected `^T`, `^\\top` or an integer power, got {_describe(self.peek())}")
                if braced:
                    self.expect("sym", "}")
                    node = replace(node, end=self.toks[self.i - 1].pos + 1)
            elif self.at("sym", "'"):
                self.fail("a prime `'` may only follow a function name, as in `g'(z)`")
            else:
                self.depth = depth
                return node

    def atom(self) -> Node:
        t = self.peek()
        start = t.pos
        if t.kind == "num":
            self.next()
            return Num(Fraction(int(t.value)), pos=start, end=start + len(t.value))
        if t.kind == "id":
            return self.identifier()
        if t.kind == "sym" and t.value == "(":
            return self.parens()
        if t.kind == "cmd":
            c = t.value
            if c == "frac":
                return self.frac()
            if c == "sum":
                return self.sum_op()
            if c == "langle":
                self.next()
                a = self.expr()
                self.expect("sym", ",")
                b = self.expr()
                self.expect("cmd", "rangle")
                return self.node(Inner, start, a, b)
            if c == "begin":
                return self.matrix()
            if c in ("underbrace", "overbrace"):
                self.next()
                self.expect("sym", "{")
                a = self.expr()
                self.expect("sym", "}")
                self.expect("sym", "_" if c == "underbrace" else "^")
                lab = self.label()
                return self.node(Labelled, start, a, lab, c[:-5])
            if c == "nabla":
                self.next()
                self.expect("sym", "_")
                braced = self.at("sym", "{")
                if braced:
                    self.next()
                j = self.identifier()
                if braced:
                    self.expect("sym", "}")
                self.expect("sym", "(")
                wrt = self.expr()
                self.expect("sym", ")")
                return self.node(Deriv, start, j, wrt)
            if c in FUNCTION_COMMANDS:
                self.next()
                return self.call(FUNCTION_COMMANDS[c], start)
            if c in ACCENTS:
                self.next()
                self.expect("sym", "{")
                base = self.expect("id", None)
                self.expect("sym", "}")
                return self.name(base.value + ACCENTS[c], start)
            if c in DOTS:
                self.fail(f"`\\{c}` only stands between the entries of a vector or the terms of a sum")
            if c not in SUPPORTED:
                self.fail(f"unsupported command `\\{c}`")
            self.fail(f"`\\{c}` cannot start an expression")
        self.fail(f"expected an expression, got {_describe(t)}")

    def identifier(self) -> Node:
        t = self.next()
        word = t.value
        if word in self.scope.functions:
            return self.call(word, t.pos)
        if word == "e" and "e" not in self.scope.names and self.at("sym", "^"):
            self.next()
            self.expect("sym", "{")
            arg = self.expr()
            self.expect("sym", "}")
            return self.node(Call, t.pos, "exp", 0, arg)
        return self.name(word, t.pos)

    def name(self, word, start) -> Node:
        if word not in self.scope.names:
            known = ", ".join(f"`{n}`" for n in sorted(self.scope.names)) or "none"
            raise TexError(f"unknown name `{word}` (known names: {known})", start, self.text)
        return self.node(Name, start, word)

    def call(self, fn, start) -> Node:
        order = 0
        while True:
            if self.at("sym", "'"):
                self.next()
                order += 1
            elif self.at("sym", "^") and self.at("sym", "{", 1) and self.at("cmd", "prime", 2):
                self.next()
                self.next()
                while self.at("cmd", "prime"):
                    self.next()
                    order += 1
                self.expect("sym", "}")
            else:
                break
        if order > MAX_ORDER:
            self.fail(f"at most {MAX_ORDER} primes on a function, got {order}")
        if not self.at("sym", "("):
            self.fail(f"function `{fn}` needs an argument in parentheses")
        self.next()
        arg = self.expr()
        self.expect("sym", ")")
        return self.node(Call, start, fn, order, arg)

    def parens(self) -> Node:
        start = self.next().pos
        items = [self.item()]
        while self.at("sym", ","):
            self.next()
            items.append(self.item())
        self.expect("sym", ")")
        if len(items) == 1:
            if isinstance(items[0], Dots):
                self.fail("`( \\dots )` is not a vector")
            return items[0]
        return self.vector([items], start)

    def item(self) -> Node:
        if self.at("cmd") and self.peek().value in DOTS:
            t = self.next()
            return Dots(t.value, pos=t.pos, end=t.pos + len(t.value) + 1)
        return self.expr()

    def frac(self) -> Node:
        start = self.next().pos
        self.expect("sym", "{")
        num_d = self.derivative_mark()
        num = self.expr()
        self.expect("sym", "}")
        self.expect("sym", "{")
        den_d = self.derivative_mark()
        if num_d != den_d:
            self.fail("a derivative needs `\\partial` (or `d`) above and below the bar")
        den = self.expr()
        self.expect("sym", "}")
        if num_d:
            return self.node(Deriv, start, num, den)
        return self.node(Frac, start, num, den)

    def derivative_mark(self) -> bool:
        """Consume `\\partial` or the `d` of `dJ`, `d\\hat{y}`; True if there was one."""
        t = self.peek()
        if t.kind == "cmd" and t.value == "partial":
            self.next()
            return True
        if t.kind == "id" and t.value.startswith("d") and t.value not in self.scope.names:
            rest = t.value[1:]
            if rest == "":
                self.next()
            else:  # `dJ` -> `J`
                self.toks[self.i] = Tok("id", rest, t.pos + 1)
            return True
        return False

    def sum_op(self) -> Node:
        start = self.next().pos
        self.expect("sym", "_")
        braced = self.at("sym", "{")
        if braced:
            self.next()
        var = self.expect("id", None)
        if len(var.value) != 1 or var.value in self.scope.dims:
            self.fail(f"expected a one-letter index below `\\sum`, got `{var.value}`", var)
        self.expect("sym", "=")
        lo = self.index_item()
        if braced:
            self.expect("sym", "}")
        self.expect("sym", "^")
        braced = self.at("sym", "{")
        if braced:
            self.next()
        hi = self.index_item()
        if braced:
            self.expect("sym", "}")
        body = self.product()
        return self.node(SumOver, start, var.value, lo, hi, body)

    def matrix(self) -> Node:
        start = self.peek().pos
        env = self.env_name()
        if env not in ("pmatrix", "bmatrix"):
            self.fail_at(f"unsupported environment `{env}` (supported: pmatrix, bmatrix, and cases for a step)", start)
        rows, row = [], [self.item()]
        while True:
            if self.at("sym", "&"):
                self.next()
                row.append(self.item())
            elif self.at("sym", "\\\\"):
                self.next()
                rows.append(row)
                row = [self.item()]
            elif self.at("cmd", "end"):
                rows.append(row)
                break
            else:
                self.fail(f"expected `&`, `\\\\` or `\\end{{{env}}}`, got {_describe(self.peek())}")
        self.next()
        self.expect("sym", "{")
        self.expect("id", env)
        self.expect("sym", "}")
        return self.vector(rows, start)

    # -- vectors and patterns
    def vector(self, rows, start) -> Node:
        """Rows of items (nodes and Dots) -> Grid or Pattern."""
        end = self.toks[self.i - 1].pos + 1
        vdots = [k for k, r in enumerate(rows) if all(isinstance(x, Dots) for x in r)]
        hdots = any(isinstance(x, Dots) for r in rows if not all(isinstance(y, Dots) for y in r) for x in r)
        if not vdots and not hdots:
            return Grid(tuple(tuple(r) for r in rows), pos=start, end=end)
        if len(vdots) > 1 or (vdots and (vdots[0] == 0 or vdots[0] != len(rows) - 2)):
            self.fail_at("a `\\vdots` row must stand once, between the first rows and the last", start)
        if not vdots:
            if len(rows) != 1:
                self.fail_at("dots within rows need a `\\vdots` row too", start)
            first, second, last = self.ends(rows[0], start)
            t, cv, _ = self.generalise(first, last, second, start)
            return Pattern(t, None, cv, pos=start, end=end)
        lines = [r for r in rows if not all(isinstance(x, Dots) for x in r)]
        if not hdots:
            if any(len(r) != 1 for r in lines):
                self.fail_at("a column written with `\\vdots` takes one entry a row", start)
            second = lines[1][0] if len(lines) == 3 else None
            t, rv, _ = self.generalise(lines[0][0], lines[-1][0], second, start)
            return Pattern(t, rv, None, pos=start, end=end)
        top = self.ends(lines[0], start)
        bottom = self.ends(lines[-1], start)
        tc, cv, _ = self.generalise(top[0], top[2], top[1], start)
        tr, rv, _ = self.generalise(top[0], bottom[0], lines[1][0] if len(lines) == 3 else None, start)
        template = _merge(top[0], tc, tr)
        corner = _instantiate(_instantiate(template, rv[0], rv[2]), cv[0], cv[2])
        if corner != bottom[2]:
            self.fail_at("the last entry does not follow the pattern of the first row and column", bottom[2].pos)
        return Pattern(template, rv, cv, pos=start, end=end)

    def ends(self, row, start):
        k = [n for n, x in enumerate(row) if isinstance(x, Dots)]
        if len(k) != 1 or k[0] == 0 or k[0] != len(row) - 2 or k[0] > 2:
            self.fail_at("a row with dots reads `a_1, \\dots, a_n` or `a_1, a_2, \\dots, a_n`", start)
        return row[0], (row[1] if k[0] == 2 else None), row[-1]

    def fail_at(self, message, pos):
        raise TexError(message, pos, self.text)

    def generalise(self, first, last, second, pos):
        """The template of which `first` and `last` are instances: the
        indices where they differ (1 in the first, n in the last) become
        one fresh index.  Returns (template, (var, lo, hi), second_ok)."""
        var = self.fresh()
        found = []
        try:
            template = _anti(first, last, var, found)
        except _Mismatch:
            raise TexError("the entries around the dots differ by more than an index", pos, self.text) from None
        if not found:
            return first, (var, Ix("num", 1), None), True
        pairs = set(found)
        if len(pairs) != 1:
            raise TexError("the entries around the dots differ in more than one index", pos, self.text)
        lo, hi = found[0]
        if lo != Ix("num", 1):
            raise TexError("a pattern must start at index 1", pos, self.text)
        if second is not None and _instantiate(template, var, Ix("num", 2)) != second:
            raise TexError("the second entry does not follow the pattern of the first and the last",
                           second.pos, self.text)
        return template, (var, lo, hi), True


class _Mismatch(Exception):
    pass


def _anti(a, b, var, found):
    if isinstance(a, Ix) and isinstance(b, Ix):
        if a == b:
            return a
        if a.kind == "num" and b.kind in ("num", "dim"):
            found.append((a, b))
            return Ix("var", var)
        raise _Mismatch()
    if type(a) is not type(b):
        raise _Mismatch()
    if isinstance(a, tuple):
        if len(a) != len(b):
            raise _Mismatch()
        return tuple(_anti(x, y, var, found) for x, y in zip(a, b))
    if is_dataclass(a):
        changes = {}
        for f in fields(a):
            if not f.compare:
                continue
            x, y = getattr(a, f.name), getattr(b, f.name)
            nx = _anti(x, y, var, found)
            if nx is not x:
                changes[f.name] = nx
        return replace(a, **changes) if changes else a
    if a != b:
        raise _Mismatch()
    return a


def _merge(a, t1, t2):
    """`a` with the variable indices of both templates."""
    if isinstance(a, Ix):
        return t1 if t1 != a else t2
    if isinstance(a, tuple):
        return tuple(_merge(x, y, z) for x, y, z in zip(a, t1, t2))
    if is_dataclass(a):
        changes = {f.name: _merge(getattr(a, f.name), getattr(t1, f.name), getattr(t2, f.name))
                   for f in fields(a) if f.compare}
        return replace(a, **changes)
    return a


def _instantiate(t, var, ix):
    if isinstance(t, Ix):
        return ix if t == Ix("var", var) else t
    if isinstance(t, tuple):
        return tuple(_instantiate(x, var, ix) for x in t)
    if is_dataclass(t):
        return replace(t, **{f.name: _instantiate(getattr(t, f.name), var, ix) for f in fields(t) if f.compare})
    return t


def substitute_index(t, var, ix):
    """`t` with the index variable `var` replaced by the index `ix`."""
    return _instantiate(t, var, ix)


def _show(kind, value):
    return value if value is not None else kind


def _describe(t: Tok) -> str:
    if t.kind == "end":
        return "the end of the text"
    if t.kind == "cmd":
        return f"`\\{t.value}`"
    return f"`{t.value}`"


def _src(p: Parser, node) -> str:
    return p.text[node.pos:node.end] if node.pos >= 0 else "?"


# ---------------------------------------------------------------- entry points

def parse_statement(text: str, scope: Scope) -> Node:
    """A step: a chain of equalities, a `\\in` claim, or `cases`."""
    return check_depth(Parser(text, scope).statement(), text)


def parse_expression(text: str, scope: Scope) -> Node:
    p = Parser(text, scope)
    e = p.expr()
    if not p.at("end"):
        p.fail(f"unexpected {_describe(p.peek())}")
    return check_depth(e, text)


def check_depth(tree, text, error=TexError):
    """`tree`, if its levels (a chain `a + b + c` counts one a term) are at
    most `MAX_DEPTH`; counted without recursion."""
    stack = [(tree, 1)]
    while stack:
        node, level = stack.pop()
        if level > MAX_DEPTH:
            raise error(f"nested too deeply: more than {MAX_DEPTH} levels (a chain like `a + b + c` "
                        "counts one level a term)", node.pos if node.pos >= 0 else None, text)
        stack.extend((c, level + 1) for c in _kids(node))
    return tree


def _kids(node):
    for f in fields(node):
        if f.compare:
            v = getattr(node, f.name)
            if isinstance(v, Node):
                yield v
            elif isinstance(v, tuple):
                for x in v:
                    if isinstance(x, Node):
                        yield x
                    elif isinstance(x, tuple):
                        yield from (y for y in x if isinstance(y, Node))


def source(text: str, node: Node) -> str:
    """The LaTeX a node was parsed from."""
    return text[node.pos:node.end].strip() if 0 <= node.pos < node.end else ""


def shape_of(spec: Shape, dims: dict) -> tuple:
    """A parsed `Shape` -> a pair of dim symbols / integers."""
    out = []
    for ix in (spec.r, spec.c):
        out.append(sympy.Integer(ix.value) if ix.kind == "num" else dims[ix.value])
    return tuple(out)


def walk(node):
    """Every tree node below `node`, parents first."""
    yield node
    if isinstance(node, Node):
        for f in fields(node):
            if f.compare:
                v = getattr(node, f.name)
                if isinstance(v, Node):
                    yield from walk(v)
                elif isinstance(v, tuple):
                    for x in v:
                        if isinstance(x, Node):
                            yield from walk(x)
                        elif isinstance(x, tuple):
                            for y in x:
                                if isinstance(y, Node):
                                    yield from walk(y)


# ---------------------------------------------------------------- to the core IR

def to_core(text: str, names: dict, functions: dict):
    """LaTeX of a closed form (no indices, sums or derivatives) -> a core
    `Expr`, given the derivation's names (name -> Var) and functions
    (name -> table function or None).  Raises `TexError` on text outside
    the grammar and `ShapeError` on shapes that do not meet."""
    scope = Scope(frozenset(functions) | frozenset(ACTIVATIONS), frozenset(), frozenset(names))
    tree = parse_expression(text, scope)

    def build(n):
        t = type(n)
        if t is Num:
            return E.const(n.value)
        if t is Name:
            return names[n.name]
        if t is Transpose:
            return E.transpose(build(n.a))
        if t is Power:
            return E.power(build(n.a), n.p)
        if t is Neg:
            return E.scale(-1, build(n.a))
        if t is Labelled:
            return build(n.a)
        if t is Call:
            fn = functions.get(n.fn, n.fn) if n.fn in functions else n.fn
            return E.apply(fn or n.fn, build(n.arg), n.order)
        if t is Bin:
            a, b = build(n.a), build(n.b)
            if n.op == "+":
                return E.add(a, b)
            if n.op == "-":
                return E.sub(a, b)
            if n.op == "odot":
                if a.shape != b.shape and (E.ONE, E.ONE) not in (a.shape, b.shape):
                    raise E.ShapeError(f"`\\odot` needs equal shapes, got {E.fmt_shape(a.shape)} "
                                       f"and {E.fmt_shape(b.shape)}")
                return E.mul(a, b)
            if (E.ONE, E.ONE) in (a.shape, b.shape):
                return E.mul(a, b)
            return E.matmul(a, b)
        if t is Frac:
            a, b = build(n.a), build(n.b)
            if isinstance(b, E.Const):
                if b.value == 0:
                    raise TexError("division by zero", n.b.pos, text)
                return E.scale(1 / b.value, a)
            return E.mul(a, E.apply("recip", b))
        what = {Index: "indices", SumOver: "`\\sum`", Deriv: "derivatives", Inner: "`\\langle \\rangle`",
                Pattern: "vectors written by entries", Grid: "vectors written by entries"}.get(t, t.__name__)
        raise TexError(f"{what} have no place in a closed form; write it at matrix level", n.pos, text)

    return build(tree)
