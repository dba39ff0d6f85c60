"""Small, plausible mistakes in a closed form, one edit of the text each.

A step of the notes (`steptree`) is edited as a tree instead
(`tree_mutants`): each edit replaces one node, whose span in the step as
written the edit keeps.

The same operators serve twice: the tests apply them to every catalogue
claim and expect each wrong variant to be refuted (never proved), and the
verifier runs them on a wrong claim to find the one edit that repairs it.

An edit is a span of the claim *as written* and its replacement, built
from the user's own text of the parts it moves, so the repaired claim
keeps the user's spacing and parentheses (`x.T @ (dY * g'(z))` swapped is
`(dY * g'(z)) @ x.T`); parentheses are added only where the new
neighbours would otherwise change the grouping.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field, fields, replace

from . import expr as E
from . import steptree as T
from .parse import _PRIME, LINEAR, PIECEWISE, REDUCTIONS, WINDOWS, parse_tree, split_function

# what each kind of edit says about the mistake
KIND_NAMES = {
    "derivative": "a function and its derivative confused",
    "derivative factor": "an activation's derivative factor missing or extra",
    "transpose": "a transpose missing or extra",
    "flip": "a flip missing or extra (a kernel or a gradient upside down)",
    "layout": "the whole result transposed (numerator layout)",
    "swap": "operands swapped",
    "product": "`*` (elementwise) and `@` (matrix product) confused",
    "negated": "the sign of the whole result",
    "sign": "`+` and `-` confused",
    "constant": "a constant factor",
    "sum axis": "the sum over the wrong axis",
    "sum": "a sum missing or extra",
    "term": "a term missing or extra",
    "factor": "a factor missing or extra",
    "variable": "one variable written for another",
    "two edits": "two mistakes",
    "indices": "a row for a column (two indices swapped)",
    "loss": "the output above the bar where the loss belongs",
}
KINDS = tuple(KIND_NAMES)  # also the order in which repairs are preferred


@dataclass(frozen=True)
class Edit:
    """Replace `text[start:end]` of the claim as written by `replacement`."""
    start: int
    end: int
    replacement: str

    def apply(self, text: str) -> str:
        return text[:self.start] + self.replacement + text[self.end:]

    def to_dict(self):
        return {"start": self.start, "end": self.end, "replacement": self.replacement}


@dataclass(frozen=True)
class Mutant:
    kind: str  # a key of KIND_NAMES
    before: str  # the piece of the original that changes ("" for an insertion)
    after: str  # what it becomes ("" for a deletion)
    text: str  # the whole mutated expression
    edits: tuple = field(default=(), compare=False)  # Edit(s) on the original text
    note: str = field(default="", compare=False)  # what the edit means, where the kind alone does not say

    def __str__(self):
        return f"{self.kind}: `{self.before}` -> `{self.after}`"


def apply_edits(text: str, edits) -> str:
    for e in sorted(edits, key=lambda e: -e.start):
        text = e.apply(text)
    return text


def marked(text: str, edits) -> str:
    """The claim as written with each change marked: `[old -> new]`,
    `[inserted: new]`, `[deleted: old]`."""
    out = text
    for e in sorted(edits, key=lambda e: -e.start):
        old, new = text[e.start:e.end], e.replacement
        mark = f"[{old} -> {new}]" if old.strip() and new.strip() else \
            f"[inserted: {new.strip()}]" if new.strip() else f"[deleted: {old.strip()}]"
        out = out[:e.start] + mark + out[e.end:]
    return out


# ---------------------------------------------------------------- the claim as written

# the file syntax's one precedence table (`expr`'s), read by Python operator
_BINARY = {op: E._PREC[node] for op, node in ((ast.Add, E.Add), (ast.Sub, E.Add), (ast.Mult, E.Mul),
                                              (ast.MatMult, E.MatMul), (ast.Div, E.Mul), (ast.Pow, E.Pow))}
_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.MatMult: "@", ast.Div: "/", ast.Pow: "**"}
ATOM = 9


@dataclass(eq=False)
class Node:
    """One node of the claim's syntax tree and its place in the text."""
    ast: ast.expr
    start: int  # the node itself
    end: int
    outer_start: int  # with the parentheses the user put around it
    outer_end: int
    need: int  # the precedence its place asks for (0 inside parentheses)
    parent: "Node | None"
    root: bool = False

    @property
    def parenthesized(self) -> bool:
        return self.outer_start != self.start

    @property
    def prec(self) -> int:
        return ATOM if self.parenthesized else precedence(self.ast)


def precedence(node) -> int:
    if isinstance(node, ast.BinOp):
        return _BINARY.get(type(node.op), 2)
    if isinstance(node, ast.UnaryOp):
        return 3
    return ATOM


class Source:
    """A claim's text, its syntax tree, and each node's span in the text."""

    def __init__(self, text: str):
        parse_tree(text)  # refuses what the grammar refuses
        self.text = text
        prepared, pos = _prepared(text)
        lead = len(prepared) - len(prepared.lstrip())
        body = prepared.strip()
        lines = body.split("\n")
        starts = [0]
        for line in lines[:-1]:
            starts.append(starts[-1] + len(line) + 1)

        def place(lineno, col):
            line = lines[lineno - 1]
            chars = len(line.encode("utf-8")[:col].decode("utf-8", errors="ignore"))
            return pos[lead + starts[lineno - 1] + chars]

        self.nodes: list = []
        tree = ast.parse(body, mode="eval").body

        def visit(node, need, parent):
            s, e = place(node.lineno, node.col_offset), place(node.end_lineno, node.end_col_offset)
            os_, oe = _expand(text, s, e)
            n = Node(node, s, e, os_, oe, 0 if os_ != s else need, parent, parent is None)
            self.nodes.append(n)
            if isinstance(node, ast.BinOp):
                p = precedence(node)
                left, right = (p + 1, p) if isinstance(node.op, ast.Pow) else (p, p + 1)
                n.children = [visit(node.left, left, n), visit(node.right, right, n)]
            elif isinstance(node, ast.UnaryOp):
                n.children = [visit(node.operand, 3, n)]
            elif isinstance(node, ast.Attribute):
                n.children = [visit(node.value, ATOM, n)]
            elif isinstance(node, ast.Call):
                n.children = [visit(a, 0, n) for a in node.args]
                n.func_span = (place(node.func.lineno, node.func.col_offset),
                               place(node.func.end_lineno, node.func.end_col_offset))
                n.keywords = [(kw.arg, place(kw.value.lineno, kw.value.col_offset),
                               place(kw.value.end_lineno, kw.value.end_col_offset), kw.value) for kw in node.keywords]
            else:
                n.children = []
            return n

        self.root = visit(tree, 0, None)

    def src(self, n: Node) -> str:
        """The node as the user wrote it, with their parentheses."""
        return self.text[n.outer_start:n.outer_end]

    def inner(self, n: Node) -> str:
        return self.text[n.start:n.end]

    def op_span(self, n: Node):
        """Where the operator of a binary node stands."""
        left, right = n.children
        gap = self.text[left.outer_end:right.outer_start]
        symbol = _OPS[type(n.ast.op)]
        i = gap.index(symbol)
        return left.outer_end + i, left.outer_end + i + len(symbol)


def fit(text: str, prec: int, need: int) -> str:
    """`text` (of precedence `prec`) parenthesised if its place needs more."""
    return text if prec >= need else f"({text})"


def _prepared(text: str):
    """`prepare(text)` and, for each of its offsets, the offset in `text`."""
    out, pos, last = [], [], 0
    for m in _PRIME.finditer(text):
        out.append(text[last:m.start(2)])
        pos.extend(range(last, m.start(2)))
        mark = f"__d{len(m.group(2))}"
        out.append(mark)
        pos.extend([m.start(2)] * len(mark))
        last = m.end(2)
    out.append(text[last:])
    pos.extend(range(last, len(text) + 1))
    return "".join(out), pos


def _expand(text: str, s: int, e: int):
    """The span widened over the parentheses that enclose exactly it (not a
    call's)."""
    while True:
        i, j = s - 1, e
        while i >= 0 and text[i].isspace():
            i -= 1
        while j < len(text) and text[j].isspace():
            j += 1
        if i < 0 or j >= len(text) or text[i] != "(" or text[j] != ")":
            return s, e
        k = i - 1
        while k >= 0 and text[k].isspace():
            k -= 1
        if k >= 0 and (text[k].isalnum() or text[k] in "_'"):
            return s, e  # a call's parentheses
        depth = 0
        for m in range(i, j + 1):
            depth += {"(": 1, ")": -1}.get(text[m], 0)
            if depth == 0 and m < j:
                return s, e  # `(a) * (b)`: the first `(` closes early
        s, e = i, j + 1


# ---------------------------------------------------------------- the edits

@dataclass
class Scope:
    """What the edits may use: `names` (name -> shape) of the values in
    scope; `factors` (text -> shape) that may be missing (the upstream
    gradient, each function's derivative); `derivatives` (name -> texts of
    its derivative) for forward values that are a function's value;
    `derivative_texts`: texts that count as a derivative factor; `shapes`
    (a function: text -> shape or None) to place factors and sums."""
    names: dict = field(default_factory=dict)
    factors: dict = field(default_factory=dict)
    derivatives: dict = field(default_factory=dict)
    derivative_texts: set = field(default_factory=set)
    shapes: object = None
    extended: bool = False  # every kind of edit, not only the catalogue's mutation suite


def _is_sum(node) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "sum"


def _is_t(node) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "T"


def _squash(text: str) -> str:
    t = "".join(text.split())
    while t.startswith("(") and t.endswith(")"):
        t = t[1:-1]
    return t


def _factor_kind(text: str, scope: Scope) -> str:
    t = _squash(text)
    if "'" in t or t in {_squash(x) for x in scope.derivative_texts}:
        return "derivative factor"
    return "factor"


def single_edits(src: Source, scope: Scope):
    """(kind, Edit, note) for every one-edit mistake of the claim."""
    text = src.text
    for n in src.nodes:
        node = n.ast
        yield from _node_edits(src, n, node, scope, text)


def _replace(n: Node, replacement: str, prec: int) -> Edit:
    """Replace node `n` inside the parentheses the user put around it; a
    name or call left alone in them takes their place."""
    if prec == ATOM and n.parenthesized and _simple_call_or_name(replacement):
        return Edit(n.outer_start, n.outer_end, replacement)
    if _elementwise_chain(replacement) and not n.parenthesized and n.parent is not None \
            and _is_mult(n.parent.ast):
        return Edit(n.start, n.end, replacement)  # a * (b * c) is a * b * c
    return Edit(n.start, n.end, fit(replacement, prec, n.need))


def _elementwise_chain(text: str) -> bool:
    """Whether `text` is a product `a * b * ...` of elementwise factors only."""
    try:
        tree = parse_tree(text)
    except ValueError:
        return False
    if not _is_mult(tree):
        return False
    while _is_mult(tree):
        tree = tree.left
    return not (isinstance(tree, ast.BinOp) and precedence(tree) <= 2)


def _linear(n: Node) -> bool:
    """Whether the claim is linear in node `n`: negating it negates the
    whole (a factor of a product, under a transpose or a sum)."""
    while n.parent is not None:
        p = n.parent.ast
        if isinstance(p, ast.BinOp) and isinstance(p.op, (ast.Mult, ast.MatMult)) or \
                isinstance(p, ast.BinOp) and isinstance(p.op, ast.Div) and n.parent.children[0] is n or \
                _is_t(p) or _is_sum(p) or isinstance(p, ast.UnaryOp):
            n = n.parent
            continue
        return False
    return True


def _is_call(node, names) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names


def _simple_call_or_name(text: str) -> bool:
    try:
        tree = parse_tree(text)
    except ValueError:
        return False
    return isinstance(tree, (ast.Name, ast.Call, ast.Attribute))


def _is_size(n: Node) -> bool:
    """A size, as the `n` of `eye(n)`: no value to transpose."""
    p = n.parent.ast if n.parent else None
    return isinstance(p, ast.Call) and isinstance(p.func, ast.Name) and p.func.id == "eye"


def _node_edits(src: Source, n: Node, node, scope: Scope, text: str):
    need_outer = _need_outer(n)

    def wrap_whole(replacement, prec):
        return Edit(n.outer_start, n.outer_end, fit(replacement, prec, need_outer))

    whole = "layout" if n.root else "transpose"
    # ---- transposes
    if _is_t(node):
        v = n.children[0]
        yield whole, _replace(n, src.src(v), v.prec), ""
    elif isinstance(node, (ast.Name, ast.Call, ast.BinOp, ast.UnaryOp)) and not _is_sum(node) \
            and not (n.parent and _is_t(n.parent.ast)) and not _is_size(n):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            yield whole, _replace(n, *_transposed(src, n, inside=True)), ""
        elif scope.extended or not isinstance(node, ast.UnaryOp):
            yield whole, wrap_whole(fit(src.src(n), n.prec, ATOM) + ".T", ATOM), ""
    # ---- flips: a column of a convolution upside down, or not
    if _is_call(node, ("flip",)) and n.children:
        v = n.children[0]
        yield "flip", _replace(n, src.src(v), v.prec), ""
    elif n.parent is not None and _is_call(n.parent.ast, ("conv1d", "convolve", "conv1d_full")):
        yield "flip", wrap_whole(f"flip({src.src(n)})", ATOM), ""
    if _is_call(node, ("conv1d", "convolve", "conv1d_full")) and len(n.children) == 2:
        a, b = n.children  # the signal and the kernel swapped
        yield "swap", Edit(a.start, b.end, src.src(b) + src.text[a.end:b.start] + src.src(a)), ""
    # ---- binary operators
    if isinstance(node, ast.BinOp):
        a, b = n.children
        p = precedence(node)
        if isinstance(node.op, (ast.MatMult, ast.Sub)):
            op = text[a.outer_end:b.outer_start]
            negates = isinstance(node.op, ast.Sub) and _linear(n) and scope.extended
            yield "negated" if negates else "swap", _replace(n, fit(src.src(b), b.prec, p) + op + fit(src.src(a), a.prec, p + 1), p), ""
        if isinstance(node.op, (ast.Mult, ast.MatMult)):
            yield ("product", *_within(src, n, src.op_span(n), "@" if isinstance(node.op, ast.Mult) else "*"))
            for kept, dropped in ((a, b), (b, a)):
                kind = "constant" if isinstance(dropped.ast, ast.Constant) else _factor_kind(src.src(dropped), scope)
                if kept.prec >= n.need:  # only the factor and its operator go
                    span = (a.outer_end, b.outer_end) if kept is a else (a.outer_start, b.outer_start)
                    yield kind, Edit(*span, ""), ""
                else:
                    yield kind, _replace(n, src.src(kept), kept.prec), ""
        if isinstance(node.op, ast.Div) and isinstance(b.ast, ast.Constant):
            yield "constant", _replace(n, src.src(a), a.prec), ""
        if isinstance(node.op, (ast.Add, ast.Sub)):
            yield ("sign", *_within(src, n, src.op_span(n), "-" if isinstance(node.op, ast.Add) else "+"))
        if scope.extended and isinstance(node.op, ast.Mult) and not (n.parent and _is_mult(n.parent.ast)
                                                                       and n.parent.children[0] is n):
            yield from _chain_drops(src, n, scope)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        v = n.children[0]
        yield "negated" if _linear(n) else "sign", _replace(n, src.src(v), v.prec), ""
    elif n.root and scope.extended:
        product = isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.MatMult, ast.Div))
        yield "negated", wrap_whole("-" + (src.src(n) if product else fit(src.src(n), n.prec, 3)), 3), ""
    # ---- functions and sums
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        base, order = split_function(node.func.id)
        if _is_sum(node):
            v = n.children[0]
            yield "sum", _replace(n, src.src(v), v.prec), ""
            if not n.keywords:
                for axis in (0, 1):
                    yield "sum axis", Edit(v.outer_end, v.outer_end, f", axis={axis}"), ""
            for arg, s, e, value in n.keywords:
                if arg == "axis" and isinstance(value, ast.Constant) and value.value in (0, 1):
                    yield ("sum axis", *_within(src, n, (s, e), str(1 - value.value)))
        elif base in REDUCTIONS or base in PIECEWISE or base in LINEAR or base in WINDOWS:  # its axis, never a prime
            for arg, s, e, value in n.keywords:
                if arg == "axis" and isinstance(value, ast.Constant) and value.value in (0, 1):
                    yield ("sum axis", *_within(src, n, (s, e), str(1 - value.value)))
        else:
            for new in (order + 1, order - 1):
                if new >= 0:
                    yield ("derivative", *_within(src, n, n.func_span, base + "'" * new))
    if isinstance(node, ast.Name) and node.id in scope.derivatives:
        for replacement, prec in scope.derivatives[node.id]:
            yield "derivative", _replace(n, replacement, prec), ""
    # ---- variables
    if isinstance(node, ast.Name) and node.id in scope.names:
        for other, shape in scope.names.items():
            if other != node.id and (shape == scope.names[node.id] or scope.extended):
                yield "variable", Edit(n.start, n.end, other), ""
    # ---- factors and sums put in
    if isinstance(node, (ast.Name, ast.Call, ast.Attribute)) and not _is_sum(node) or \
            scope.extended and isinstance(node, ast.BinOp):
        shape = scope.shapes(src.src(n)) if scope.shapes else None
        for factor, fshape in scope.factors.items():
            if shape is not None and fshape != shape:
                continue
            if shape is None and isinstance(node, ast.Name) and scope.names.get(node.id) != fshape:
                continue
            kind = _factor_kind(factor, scope)
            right = factor if _elementwise_chain(factor) else _paren(factor)
            if isinstance(node, ast.Call) and _simple(factor):
                new = f"{factor} * {fit(src.src(n), n.prec, 3)}"
            else:
                new = f"{fit(src.src(n), n.prec, 2)} * {right}"
            yield kind, wrap_whole(new, 2), ""
        if scope.extended and shape is not None:
            for axis, size in ((1, shape[1]), (0, shape[0]), (None, None)):
                if size != 1 and shape != (1, 1):
                    tail = "" if axis is None else f", axis={axis}"
                    yield "sum", wrap_whole(f"sum({src.inner(n)}{tail})", ATOM), ""


def _within(src: Source, n: Node, span, replacement: str):
    """(edit, note): the piece at `span` of node `n` replaced (an operator,
    a name); the note shows the whole node: `dY @ g'(z)` -> `dY * g'(z)`."""
    t = src.text
    after = t[n.start:span[0]] + replacement + t[span[1]:n.end]
    return Edit(span[0], span[1], replacement), f"`{t[n.start:n.end]}` should be `{after}`"


def _need_outer(n: Node) -> int:
    """The precedence the place of `n`, parentheses included, asks for."""
    p = n.parent
    if p is None:
        return 0
    node = p.ast
    if isinstance(node, ast.BinOp):
        prec = precedence(node)
        first = p.children[0] is n
        if isinstance(node.op, ast.Pow):
            return prec + 1 if first else prec
        return prec if first else prec + 1
    if isinstance(node, ast.UnaryOp):
        return 3
    if isinstance(node, ast.Attribute):
        return ATOM
    return 0


def _is_mult(node) -> bool:
    return isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult)


def _chain_drops(src: Source, n: Node, scope: Scope):
    """Two neighbouring factors of a `*` chain dropped at once (an extra
    `s * (1 - s)`)."""
    factors, top = [], n
    while _is_mult(top.ast) and not (top is not n and top.parenthesized):
        factors.insert(0, top.children[1])
        top = top.children[0]
    factors.insert(0, top)
    for i in range(len(factors) - 1):
        if len(factors) <= 2:
            break
        a, b = factors[i], factors[i + 1]
        dropped = src.text[a.outer_start:b.outer_end]
        kind = "derivative factor" if all(_factor_kind(src.src(f), scope) != "factor" for f in (a, b)) or \
            _factor_kind(dropped, scope) != "factor" else "factor"
        if i == 0:
            yield kind, Edit(a.outer_start, factors[2].outer_start, ""), ""
        else:
            yield kind, Edit(factors[i - 1].outer_end, b.outer_end, ""), ""


def _transposed(src: Source, n: Node, inside: bool = False):
    """(text, precedence) of node `n` transposed: `.T` taken off or put on,
    a product's factors transposed in reverse order ((a @ b).T = b.T @ a.T)."""
    if _is_t(n.ast):
        v = n.children[0]
        return src.src(v), v.prec
    if isinstance(n.ast, ast.BinOp) and isinstance(n.ast.op, ast.MatMult) and (inside or n.parenthesized):
        a, b = n.children
        (ta, pa), (tb, pb) = _transposed(src, a), _transposed(src, b)
        op = src.text[a.outer_end:b.outer_start]
        return fit(tb, pb, 2) + op + fit(ta, pa, 3), 2
    return fit(src.src(n), n.prec, ATOM) + ".T", ATOM


def _simple(text: str) -> bool:
    return text.replace("_", "").isalnum()


def _paren(text: str) -> str:
    try:
        tree = parse_tree(text)
    except ValueError:
        return f"({text})"
    return fit(text, precedence(tree), 3)


def mutants(text: str, names: dict | None = None, factors: dict | None = None, scope: Scope | None = None) -> list:
    """Every one-edit variant of `text`, in a fixed order, without repeats.

    `names`: name -> shape of the values in scope, for swapping a variable
    with another of the same shape; `factors`: text -> shape of factors
    that may be missing (`dY`, `g'(z)`), multiplied onto a same-shape name.
    A `Scope` gives more (derivatives of named values, every kind of edit).
    """
    scope = scope or Scope(names or {}, factors or {})
    src = Source(text)
    out, seen = [], {_squash(text)}
    for kind, edit, note in single_edits(src, scope):
        mutated = edit.apply(text)
        if _squash(mutated) in seen:
            continue
        seen.add(_squash(mutated))
        out.append(Mutant(kind, text[edit.start:edit.end], edit.replacement, mutated, (edit,), note))
    return out


# ---------------------------------------------------------------- a step's tree

@dataclass(frozen=True)
class TreeMutant:
    """One edit of a step's tree: `target` (a node of the step as written)
    becomes `new`; `whole` is the side it stands in, after the edit."""
    kind: str  # a key of KIND_NAMES
    target: object
    new: object
    whole: object

    def edit(self, text: str, replacement: str) -> Edit | None:
        """The edit of the step as written, where the node is its own text there."""
        t = self.target
        return Edit(t.pos, t.end, replacement) if 0 <= t.pos < t.end <= len(text) else None


def tree_mutants(side, loss: str = "J"):
    """Small, plausible slips in one side of a step, node by node in reading
    order: a row for a column (`W_{i,:}` / `W_{:,i}`, swapped indices), a
    transpose too many or too few, the output for the loss above a
    derivative's bar."""
    transposed = {id(n.a) for n in T.walk(side) if isinstance(n, T.Transpose)}
    for target in T.walk(side):
        for kind, new in _tree_edits(target, loss, id(target) in transposed):
            yield TreeMutant(kind, target, new, replace_node(side, target, new))


def _tree_edits(n, loss, transposed: bool):
    if isinstance(n, T.Index) and len(n.items) == 2 and n.items[0] != n.items[1]:
        yield "indices", replace(n, items=(n.items[1], n.items[0]))
    if isinstance(n, T.Transpose):
        yield "transpose", n.a
    if isinstance(n, (T.Name, T.Index)) and not transposed:  # x^T^T is x: the transpose's own edit
        yield "transpose", T.Transpose(n, pos=n.pos, end=n.end)
    if isinstance(n, T.Deriv) and not (isinstance(n.num, T.Name) and n.num.name == loss):
        yield "loss", replace(n, num=T.Name(loss))


def replace_node(tree, target, new):
    """`tree` with the node `target` (that very object) replaced by `new`."""
    if tree is target:
        return new
    if isinstance(tree, tuple):
        return tuple(replace_node(x, target, new) for x in tree)
    if isinstance(tree, T.Node):
        changes = {}
        for f in fields(tree):
            if f.compare:
                v = getattr(tree, f.name)
                nv = replace_node(v, target, new)
                if nv is not v:
                    changes[f.name] = nv
        return replace(tree, **changes) if changes else tree
    return tree
