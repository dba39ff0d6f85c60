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
`to_core` reads a closed form into the core IR (`symbolic.expr`, through `parse.Parser`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from fractions import Fraction

from .functions import ACTIVATIONS, LATEX_CALLS
from . import parse
from .steptree import (MAX_LENGTH, MAX_NUMBER, MAX_ORDER, MAX_POWER, Bin, Call, Chain, Cursor, Deriv, Dots, Frac,
                       Index, Inner, Ix, Labelled, Membership, Name, Neg, Node, Num, Power, Scope, Shape,
                       SumOver, TexError, Transpose, check_depth, source, walk)
from .texdots import DOTS, DotsParser, _describe

__all__ = ["TexError", "Scope", "tokenize", "parse_statement", "parse_expression", "to_core", "source", "walk",
           "Name"]


# ---------------------------------------------------------------- tokens

@dataclass(frozen=True)
class Tok:
    kind: str  # cmd, id, num, sym, end
    value: str
    pos: int


IGNORED = {",", ";", "!", " ", ":", "quad", "qquad", "displaystyle", "left", "right", "big", "Big",
           "bigl", "bigr", "Bigl", "Bigr", "limits"}
FUNCTION_COMMANDS = LATEX_CALLS  # `\sigma(z)`, `\tanh(z)`, ...: the function table's own column
ACCENTS = {"hat": "hat", "bar": "bar", "tilde": "tilde"}
SUPPORTED = sorted({"cdot", "odot", "circ", "frac", "partial", "sum", "langle", "rangle", "nabla",
                    "underbrace", "overbrace", "mathbb", "in", "times", "begin", "end", "top", "prime",
                    "rightarrow", "forall", "left", "right", "quad"} | DOTS | set(FUNCTION_COMMANDS)
                   | set(ACCENTS))
_SYMS = set("_^{}()[],=+-'&:|<>*/@.")
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


class Parser(DotsParser, Cursor):
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

    def optionally_braced(self, read):
        """`read()`, inside `{ }` if they are there."""
        braced = self.at("sym", "{")
        if braced:
            self.next()
        out = read()
        if braced:
            self.expect("sym", "}")
        return out

    def label(self) -> Node:
        start = self.peek().pos
        return self.optionally_braced(lambda: self._label(start))

    def _label(self, start) -> Node:
        if self.at("cmd", "mathbb"):
            return self.space()
        if self.at("id") and self.peek().value in self.scope.names:
            t = self.next()
            return Name(t.value, pos=t.pos, end=t.pos + len(t.value))
        if self.at("cmd", "hat"):
            return self.atom()
        return self.shape_items(start)

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
                j = self.optionally_braced(self.identifier)
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

    def sum_from(self) -> tuple:
        """`j=1` below a `\\sum`: (the index's token, its first value)."""
        var = self.expect("id", None)
        if len(var.value) != 1 or var.value in self.scope.dims:
            self.fail(f"expected a one-letter index below `\\sum`, got `{var.value}`", var)
        self.expect("sym", "=")
        return var, self.index_item()

    def sum_op(self) -> Node:
        start = self.next().pos
        self.expect("sym", "_")
        var, lo = self.optionally_braced(self.sum_from)
        self.expect("sym", "^")
        hi = self.optionally_braced(self.index_item)
        body = self.product()
        return self.node(SumOver, start, var.value, lo, hi, body)

def _show(kind, value):
    return value if value is not None else kind


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


# ---------------------------------------------------------------- to the core IR

def to_core(text: str, names: dict, functions: dict):
    """LaTeX of a closed form (no indices, sums or derivatives) -> a core
    `Expr`, given the derivation's names (name -> Var) and functions
    (name -> table function or None).  Raises `TexError` on text outside
    the grammar and `ShapeError` on shapes that do not meet."""
    scope = Scope(frozenset(functions) | frozenset(ACTIVATIONS), frozenset(), frozenset(names))
    return parse.Parser(names, functions, text, latex=True).build(parse_expression(text, scope))
