"""The trees of a step of the notes, whichever syntax it was written in.

`texparse` (the notes' LaTeX) and `plaintext` (the plain text of the rest of
a file) both read a step into these nodes; `semantics` gives them their
meaning and `steps` checks them.  Every node keeps the span of the text it
was read from (`pos`, `end`; not part of its identity), so a message can
quote the step as written.

Here too: the errors both parsers raise (`TexError`), their limits, the
token cursor they share, and the few walks over trees (`walk`, `source`,
`check_depth`, `generalise` for entries written with dots).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, is_dataclass, replace
from fractions import Fraction

import sympy


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


MAX_LENGTH = 10_000
MAX_DEPTH = 100  # levels of nesting, and of a parsed tree
MAX_POWER = 64
MAX_NUMBER = 60  # digits of a number, its exponent's zeros counted
MAX_ORDER = 4  # primes on one function
MAX_SIZE = 100_000  # the largest whole-number size in a shape


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
class Unary(Node):
    """A node over one operand `a` (a base)."""
    a: Node


class Transpose(Unary):
    """`a.T`, `a^T`."""


class Neg(Unary):
    """`-a`."""


@dataclass(frozen=True)
class Pair(Node):
    """A node over two operands `a` and `b` (a base)."""
    a: Node
    b: Node


class Frac(Pair):
    """`a / b`, `\\frac{a}{b}`."""


class Inner(Pair):
    """`<a, b>`, `\\langle a, b \\rangle`."""


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
class Apply(Node):
    """A call with several arguments or keywords (`sum(E, axis=0)`,
    `clip(z, -1, 1)`): `keywords` holds (name, node) pairs."""
    fn: str
    order: int
    args: tuple
    keywords: tuple = ()


@dataclass(frozen=True)
class Str(Node):
    """A string, as a keyword's value (`approximate="tanh"`)."""
    value: str


@dataclass(frozen=True)
class Bin(Node):
    op: str  # "+", "-", "dot" (\cdot or juxtaposition), "odot"
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


def number(word: str, pos: int, text: str, error=TexError) -> Fraction:
    """A number as written (`12`, `0.5`, `1e-8`), exactly; refused past
    `MAX_NUMBER` digits, the zeros its exponent stands for counted."""
    mantissa, _, exponent = word.lower().partition("e")
    digits = len(mantissa.replace(".", "")) + (abs(int(exponent or 0)) if len(exponent) < 8 else 10 ** 8)
    if digits > MAX_NUMBER:
        raise error(f"a number of {digits} digits, at most {MAX_NUMBER}", pos, text)
    return Fraction(word)


# ---------------------------------------------------------------- parser

class Cursor:
    """A position in a list of tokens (`kind`, `value`, `pos`), shared by
    the LaTeX parser (`texparse`) and the plain-text one (`plaintext`)."""
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


def merge(a, t1, t2):
    """`a` with the variable indices of both templates."""
    if isinstance(a, Ix):
        return t1 if t1 != a else t2
    if isinstance(a, tuple):
        return tuple(merge(x, y, z) for x, y, z in zip(a, t1, t2))
    if is_dataclass(a):
        changes = {f.name: merge(getattr(a, f.name), getattr(t1, f.name), getattr(t2, f.name))
                   for f in fields(a) if f.compare}
        return replace(a, **changes)
    return a


def substitute_index(t, var, ix):
    """`t` with the index variable `var` replaced by the index `ix`."""
    if isinstance(t, Ix):
        return ix if t == Ix("var", var) else t
    if isinstance(t, tuple):
        return tuple(substitute_index(x, var, ix) for x in t)
    if is_dataclass(t):
        return replace(t, **{f.name: substitute_index(getattr(t, f.name), var, ix) for f in fields(t) if f.compare})
    return t


def check_depth(tree, text, error=TexError):
    """`tree`, if its levels (a chain `a + b + c` counts one a term) are at
    most `MAX_DEPTH`; counted without recursion."""
    stack = [(tree, 1)]
    while stack:
        node, level = stack.pop()
        if level > MAX_DEPTH:
            raise error(f"nested too deeply: more than {MAX_DEPTH} levels (a chain like `a + b + c` "
                        "counts one level a term)", node.pos if node.pos >= 0 else None, text)
        stack.extend((c, level + 1) for c in children(node))
    return tree


def children(node):
    """The nodes directly below `node`, in reading order."""
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


def split_shape(text: str):
    """`"k x n"` -> ["k", "n"]: split on an `x` with white space on both
    sides (so a dim may be `n_x`), or on `×`; None if not two parts."""
    parts = [p.strip() for p in re.split(r"\s+x\s+|×", text.strip())]
    return parts if len(parts) == 2 and all(parts) else None


def size_of(text: str):
    """A whole-number size from 1 to `MAX_SIZE` written in ASCII digits, or None."""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_SIZE)):
        return None
    return int(text) if 1 <= int(text) <= MAX_SIZE else None


def read_shape(text: str, dims) -> tuple:
    """A shape as a file writes it (`"k x n"`, `"n x 1"`, `"scalar"`) -> two
    `Ix`s, each a whole number or a dim of `dims`.  Raises
    `ValueError(message, offset of the part at fault in text, -1 for the whole)`."""
    if text.strip() == "scalar":
        return Ix("num", 1), Ix("num", 1)
    shown = repr(text) if len(text) <= 60 else repr(text[:57] + "...")
    parts = split_shape(text)
    if parts is None:
        raise ValueError(f"expected a shape like \"k x n\", \"n x 1\" or \"scalar\" (an `x` between spaces), "
                         f"got {shown}", -1)
    items = []
    for p in parts:
        what = f"`{p}`" if len(p) <= 40 else f"`{p[:37]}...`"
        if size_of(p) is not None:
            items.append(Ix("num", size_of(p)))
        elif p in dims:
            items.append(Ix("dim", p))
        elif p.isdigit():
            raise ValueError(f"a size is a dim or a whole number from 1 to {MAX_SIZE}, got {what} in shape {shown}",
                             text.find(p))
        else:
            declared = ", ".join(f"`{d}`" for d in dims) or "none"
            raise ValueError(f"undeclared dim {what} in shape {shown} (declared dims: {declared})", text.find(p))
    return tuple(items)


def shape_of(spec: Shape, dims: dict) -> tuple:
    """A parsed `Shape` -> a pair of dim symbols / integers."""
    out = []
    for ix in (spec.r, spec.c):
        out.append(sympy.Integer(ix.value) if ix.kind == "num" else dims[ix.value])
    return tuple(out)


def index_name(v: str) -> str:
    """An index variable as written: one the parser made up for dots is `i`."""
    return v if not v.startswith("%") else "i"


def shape_text(shape) -> str:
    """`k x 1`: a shape as the plain syntax and the messages write it."""
    r, c = shape
    return f"{r} x {c}"


def walk(node):
    """Every tree node below `node`, parents first."""
    yield node
    if isinstance(node, Node):
        for c in children(node):
            yield from walk(c)


def labels(node, env):
    """(Labelled node, env of the index variables bound around it: var -> its
    last index), for every label below `node`, in reading order."""
    if isinstance(node, Labelled):
        yield node, env
    if isinstance(node, SumOver):
        env = {**env, node.var: node.hi}
    if isinstance(node, Pattern):
        env = dict(env)
        for spec in (node.rows, node.cols):
            if spec is not None:
                env[spec[0]] = spec[2]
    for child in children(node):
        yield from labels(child, env)


def generalise(first, last, second, var: str, pos: int, text: str):
    """The template of which `first` and `last` are instances: the
    indices where they differ (1 in the first, n in the last) become
    the index `var`.  Returns (template, (var, lo, hi))."""
    found = []
    try:
        template = _anti(first, last, var, found)
    except _Mismatch:
        raise TexError("the entries around the dots differ by more than an index", pos, text) from None
    if not found:
        return first, (var, Ix("num", 1), None)
    if len(set(found)) != 1:
        raise TexError("the entries around the dots differ in more than one index", pos, text)
    lo, hi = found[0]
    if lo != Ix("num", 1):
        raise TexError("a pattern must start at index 1", pos, text)
    if second is not None and substitute_index(template, var, Ix("num", 2)) != second:
        raise TexError("the second entry does not follow the pattern of the first and the last", second.pos, text)
    return template, (var, lo, hi)
