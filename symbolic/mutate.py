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

import re
from dataclasses import dataclass, field, fields, replace

from . import expr as E
from . import steptree as T
from .functions import LIBRARY
from .parse import parse_tree

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

# the file syntax's one precedence table (`expr`'s), read by operator
_BINARY = {"+": E._PREC[E.Add], "-": E._PREC[E.Add], "odot": E._PREC[E.Mul], "dot": E._PREC[E.MatMul]}
_OPS = {"+": "+", "-": "-", "odot": "*", "dot": "@"}
ATOM = 9


@dataclass(eq=False)
class Node:
    """One node of the claim's tree (`steptree`) and its place in the text."""
    tree: T.Node
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
        return ATOM if self.parenthesized else precedence(self.tree)


def precedence(t) -> int:
    if type(t) is T.Bin:
        return _BINARY[t.op]
    if type(t) is T.Frac:
        return E._PREC[E.Mul]
    if type(t) is T.Power:
        return E._PREC[E.Pow]
    return 3 if type(t) is T.Neg else ATOM


def _binary(t) -> bool:
    """An operator between two operands: `+ - * @ /`."""
    return type(t) in (T.Bin, T.Frac)


def _op(t) -> str:
    return "/" if type(t) is T.Frac else _OPS[t.op]


class Source:
    """A claim's text, its tree, and each node's span in the text."""

    def __init__(self, text: str):
        self.text = text
        self.nodes: list = []

        def visit(t, need, parent):
            os_, oe = t.pos, t.end  # a node's span holds the parentheses the user put around it
            s, e = _inside(text, os_, oe)
            n = Node(t, s, e, os_, oe, 0 if os_ != s else need, parent, parent is None)
            self.nodes.append(n)
            if type(t) in (T.Call, T.Apply):
                n.children = [visit(a, 0, n) for a in ((t.arg,) if type(t) is T.Call else t.args)]
                n.func_span = (s, s + re.match(r"[A-Za-z_]\w*(?:\s*')*", text[s:]).end())
                n.keywords = [(k, v.pos, v.end, v) for k, v in getattr(t, "keywords", ())]
            else:
                operands = (t.a, t.b) if _binary(t) else (t.a,) if type(t) in (T.Power, T.Neg, T.Transpose) else ()
                n.children = [visit(a, _operand_need(t, k == 0), n) for k, a in enumerate(operands)]
            return n

        self.root = visit(parse_tree(text), 0, None)

    def src(self, n: Node) -> str:
        """The node as the user wrote it, with their parentheses."""
        return self.text[n.outer_start:n.outer_end]

    def inner(self, n: Node) -> str:
        return self.text[n.start:n.end]

    def op_span(self, n: Node):
        """Where the operator of a binary node stands."""
        left, right = n.children
        gap = self.text[left.outer_end:right.outer_start]
        symbol = _op(n.tree)
        i = gap.index(symbol)
        return left.outer_end + i, left.outer_end + i + len(symbol)


def fit(text: str, prec: int, need: int) -> str:
    """`text` (of precedence `prec`) parenthesised if its place needs more."""
    return text if prec >= need else f"({text})"


def _inside(text: str, s: int, e: int):
    """The span without the parentheses that enclose exactly all of it."""
    while e - s >= 2 and text[s] == "(" and text[e - 1] == ")":
        depth = 0
        for m in range(s, e):
            depth += {"(": 1, ")": -1}.get(text[m], 0)
            if depth == 0 and m < e - 1:
                return s, e  # `(a) * (b)`: the first `(` closes early
        s, e = s + 1, e - 1
        while text[s].isspace():
            s += 1
        while text[e - 1].isspace():
            e -= 1
    return s, e


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


def _is_call(t, names) -> bool:
    return type(t) in (T.Call, T.Apply) and t.order == 0 and t.fn in names


def _is_sum(t) -> bool:
    return _is_call(t, ("sum",))


def _is_t(t) -> bool:
    return type(t) is T.Transpose


def _is_mult(t) -> bool:
    return type(t) is T.Bin and t.op == "odot"


def _is_product(t) -> bool:
    """`*`, `@` or `/`."""
    return type(t) is T.Frac or type(t) is T.Bin and t.op in ("odot", "dot")


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
        yield from _node_edits(src, n, n.tree, scope, text)


def _replace(n: Node, replacement: str, prec: int) -> Edit:
    """Replace node `n` inside the parentheses the user put around it; a
    name or call left alone in them takes their place."""
    if prec == ATOM and n.parenthesized and _simple_call_or_name(replacement):
        return Edit(n.outer_start, n.outer_end, replacement)
    if _elementwise_chain(replacement) and not n.parenthesized and n.parent is not None \
            and _is_mult(n.parent.tree):
        return Edit(n.start, n.end, replacement)  # a * (b * c) is a * b * c
    return Edit(n.start, n.end, fit(replacement, prec, n.need))


def _by_child(src: Source, n: Node, child: Node | None = None) -> Edit:
    """Node `n` replaced by one of its operands (default: its first) as the user wrote it."""
    child = child or n.children[0]
    return _replace(n, src.src(child), child.prec)


def _elementwise_chain(text: str) -> bool:
    """Whether `text` is a product `a * b * ...` of elementwise factors only."""
    tree = _tree_of(text)
    if not _is_mult(tree):
        return False
    while _is_mult(tree):
        tree = tree.a
    return not (_binary(tree) and precedence(tree) <= 2)


def _linear(n: Node) -> bool:
    """Whether the claim is linear in node `n`: negating it negates the
    whole (a factor of a product, under a transpose or a sum)."""
    while n.parent is not None:
        p = n.parent.tree
        if type(p) is T.Bin and p.op in ("odot", "dot") or type(p) is T.Frac and n.parent.children[0] is n or \
                _is_t(p) or _is_sum(p) or type(p) is T.Neg:
            n = n.parent
            continue
        return False
    return True


def _simple_call_or_name(text: str) -> bool:
    return type(_tree_of(text)) in (T.Name, T.Call, T.Apply, T.Transpose)


def _tree_of(text: str):
    """The tree of `text`, or None if it does not parse."""
    try:
        return parse_tree(text)
    except ValueError:
        return None


def _is_size(n: Node) -> bool:
    """A size, as the `n` of `eye(n)`: no value to transpose."""
    return n.parent is not None and _is_call(n.parent.tree, ("eye",))


def _node_edits(src: Source, n: Node, node, scope: Scope, text: str):
    need_outer = _need_outer(n)

    def wrap_whole(replacement, prec):
        return Edit(n.outer_start, n.outer_end, fit(replacement, prec, need_outer))

    whole = "layout" if n.root else "transpose"
    # ---- transposes
    if _is_t(node):
        yield whole, _by_child(src, n), ""
    elif type(node) in (T.Name, T.Call, T.Apply, T.Bin, T.Frac, T.Power, T.Neg) and not _is_sum(node) \
            and not (n.parent and _is_t(n.parent.tree)) and not _is_size(n):
        if type(node) is T.Bin and node.op == "dot":
            yield whole, _replace(n, *_transposed(src, n, inside=True)), ""
        elif scope.extended or type(node) is not T.Neg:
            yield whole, wrap_whole(fit(src.src(n), n.prec, ATOM) + ".T", ATOM), ""
    # ---- flips: a column of a convolution upside down, or not
    if _is_call(node, ("flip",)) and n.children:
        yield "flip", _by_child(src, n), ""
    elif n.parent is not None and _is_call(n.parent.tree, ("conv1d", "convolve", "conv1d_full")):
        yield "flip", wrap_whole(f"flip({src.src(n)})", ATOM), ""
    if _is_call(node, ("conv1d", "convolve", "conv1d_full")) and len(n.children) == 2:
        a, b = n.children  # the signal and the kernel swapped
        yield "swap", Edit(a.start, b.end, src.src(b) + src.text[a.end:b.start] + src.src(a)), ""
    # ---- binary operators
    if _binary(node):
        a, b = n.children
        p, op = precedence(node), _op(node)
        if op in ("@", "-"):
            gap = text[a.outer_end:b.outer_start]
            negates = op == "-" and _linear(n) and scope.extended
            swapped = fit(src.src(b), b.prec, p) + gap + fit(src.src(a), a.prec, p + 1)
            yield "negated" if negates else "swap", _replace(n, swapped, p), ""
        if op in ("*", "@"):
            yield ("product", *_within(src, n, src.op_span(n), "@" if op == "*" else "*"))
            for kept, dropped in ((a, b), (b, a)):
                kind = "constant" if type(dropped.tree) is T.Num else _factor_kind(src.src(dropped), scope)
                if kept.prec >= n.need:  # only the factor and its operator go
                    span = (a.outer_end, b.outer_end) if kept is a else (a.outer_start, b.outer_start)
                    yield kind, Edit(*span, ""), ""
                else:
                    yield kind, _by_child(src, n, kept), ""
        if op == "/" and type(b.tree) is T.Num:
            yield "constant", _by_child(src, n, a), ""
        if op in ("+", "-"):
            yield ("sign", *_within(src, n, src.op_span(n), "-" if op == "+" else "+"))
        if scope.extended and op == "*" and not (n.parent and _is_mult(n.parent.tree) and n.parent.children[0] is n):
            yield from _chain_drops(src, n, scope)
    if type(node) is T.Neg:
        yield "negated" if _linear(n) else "sign", _by_child(src, n), ""
    elif n.root and scope.extended:
        product = _is_product(node)
        yield "negated", wrap_whole("-" + (src.src(n) if product else fit(src.src(n), n.prec, 3)), 3), ""
    # ---- functions and sums
    if type(node) in (T.Call, T.Apply):
        base, order = node.fn, node.order
        if _is_sum(node):
            v = n.children[0]
            yield "sum", _by_child(src, n), ""
            if not n.keywords:
                for axis in (0, 1):
                    yield "sum axis", Edit(v.outer_end, v.outer_end, f", axis={axis}"), ""
            yield from _axis_edits(src, n)
        elif order == 0 and base in LIBRARY:
            yield from _axis_edits(src, n)  # its axis, never a prime
        else:
            for new in (order + 1, order - 1):
                if new >= 0:
                    yield ("derivative", *_within(src, n, n.func_span, base + "'" * new))
    if type(node) is T.Name and node.name in scope.derivatives:
        for replacement, prec in scope.derivatives[node.name]:
            yield "derivative", _replace(n, replacement, prec), ""
    # ---- variables
    if type(node) is T.Name and node.name in scope.names:
        for other, shape in scope.names.items():
            if other != node.name and (shape == scope.names[node.name] or scope.extended):
                yield "variable", Edit(n.start, n.end, other), ""
    # ---- factors and sums put in
    if type(node) in (T.Name, T.Call, T.Apply, T.Transpose) and not _is_sum(node) or \
            scope.extended and type(node) in (T.Bin, T.Frac, T.Power):
        shape = scope.shapes(src.src(n)) if scope.shapes else None
        for factor, fshape in scope.factors.items():
            if shape is not None and fshape != shape:
                continue
            if shape is None and type(node) is T.Name and scope.names.get(node.name) != fshape:
                continue
            kind = _factor_kind(factor, scope)
            right = factor if _elementwise_chain(factor) else _paren(factor)
            if type(node) in (T.Call, T.Apply) and _simple(factor):
                new = f"{factor} * {fit(src.src(n), n.prec, 3)}"
            else:
                new = f"{fit(src.src(n), n.prec, 2)} * {right}"
            yield kind, wrap_whole(new, 2), ""
        if scope.extended and shape is not None:
            for axis, size in ((1, shape[1]), (0, shape[0]), (None, None)):
                if size != 1 and shape != (1, 1):
                    tail = "" if axis is None else f", axis={axis}"
                    yield "sum", wrap_whole(f"sum({src.inner(n)}{tail})", ATOM), ""


def _axis_edits(src: Source, n: Node):
    """`axis=0` for `axis=1` and back."""
    for arg, s, e, value in n.keywords:
        if arg == "axis" and type(value) is T.Num and value.value in (0, 1):
            yield ("sum axis", *_within(src, n, (s, e), str(1 - value.value)))


def _within(src: Source, n: Node, span, replacement: str):
    """(edit, note): the piece at `span` of node `n` replaced (an operator,
    a name); the note shows the whole node: `dY @ g'(z)` -> `dY * g'(z)`."""
    t = src.text
    after = t[n.start:span[0]] + replacement + t[span[1]:n.end]
    return Edit(span[0], span[1], replacement), f"`{t[n.start:n.end]}` should be `{after}`"


def _need_outer(n: Node) -> int:
    """The precedence the place of `n`, parentheses included, asks for."""
    return 0 if n.parent is None else _operand_need(n.parent.tree, n.parent.children[0] is n)


def _operand_need(t, first: bool) -> int:
    """The precedence an operand of `t` (its first, or another) asks for."""
    if _binary(t):
        return precedence(t) + (not first)
    if type(t) is T.Power:
        return precedence(t) + 1
    if type(t) is T.Neg:
        return 3
    return ATOM if type(t) is T.Transpose else 0


def _chain_drops(src: Source, n: Node, scope: Scope):
    """Two neighbouring factors of a `*` chain dropped at once (an extra
    `s * (1 - s)`)."""
    factors, top = [], n
    while _is_mult(top.tree) and not (top is not n and top.parenthesized):
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
    if _is_t(n.tree):
        v = n.children[0]
        return src.src(v), v.prec
    if type(n.tree) is T.Bin and n.tree.op == "dot" and (inside or n.parenthesized):
        a, b = n.children
        (ta, pa), (tb, pb) = _transposed(src, a), _transposed(src, b)
        op = src.text[a.outer_end:b.outer_start]
        return fit(tb, pb, 2) + op + fit(ta, pa, 3), 2
    return fit(src.src(n), n.prec, ATOM) + ".T", ATOM


def _simple(text: str) -> bool:
    return text.replace("_", "").isalnum()


def _paren(text: str) -> str:
    tree = _tree_of(text)
    return f"({text})" if tree is None else fit(text, precedence(tree), 3)


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
