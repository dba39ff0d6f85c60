"""Small, plausible mistakes in a closed form, one edit each.

The same operators serve twice: the tests apply them to every catalogue
claim and expect each wrong variant to be refuted (never proved), and the
verifier runs them on a wrong claim to find the one edit that repairs it.
"""
from __future__ import annotations

import ast
import copy
from dataclasses import dataclass

from .parse import parse_tree, split_function, unprepare


@dataclass(frozen=True)
class Mutant:
    kind: str  # e.g. "transpose", "derivative", "swap"
    before: str  # the piece of the original that changes
    after: str  # what it becomes
    text: str  # the whole mutated expression

    def __str__(self):
        return f"{self.kind}: `{self.before}` -> `{self.after}`"


def _src(node) -> str:
    return unprepare(ast.unparse(node))


def _preorder(node):
    yield node
    children = node.args if isinstance(node, ast.Call) else ast.iter_child_nodes(node)
    for child in children:
        if isinstance(child, ast.expr):
            yield from _preorder(child)


def _replace(tree, target_index, new_node):
    """A copy of `tree` with its `target_index`-th preorder node replaced."""
    tree = copy.deepcopy(tree)
    nodes = list(_preorder(tree))
    target = nodes[target_index]
    if target is tree:
        return new_node
    for parent in nodes:
        for field, value in ast.iter_fields(parent):
            if value is target:
                setattr(parent, field, new_node)
                return tree
            if isinstance(value, list) and any(v is target for v in value):
                setattr(parent, field, [new_node if v is target else v for v in value])
                return tree
    raise AssertionError("node not found")


def _edits(node, names: dict, factors: dict):
    """(kind, replacement node) for each one-edit mistake at `node`."""
    c = copy.deepcopy
    if isinstance(node, ast.Attribute) and node.attr == "T":
        yield "transpose", c(node.value)
    elif isinstance(node, (ast.Name, ast.Call, ast.BinOp)) and not _is_sum(node):
        yield "transpose", ast.Attribute(value=c(node), attr="T", ctx=ast.Load())
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.MatMult, ast.Sub)):
        yield "swap", ast.BinOp(left=c(node.right), op=node.op, right=c(node.left))
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.MatMult)):
        other = ast.MatMult() if isinstance(node.op, ast.Mult) else ast.Mult()
        yield "product", ast.BinOp(left=c(node.left), op=other, right=c(node.right))
        yield "factor", c(node.left)
        yield "factor", c(node.right)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
        other = ast.Sub() if isinstance(node.op, ast.Add) else ast.Add()
        yield "sign", ast.BinOp(left=c(node.left), op=other, right=c(node.right))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        base, order = split_function(node.func.id)
        if _is_sum(node):
            yield "sum", c(node.args[0])
            for kw in node.keywords:
                if kw.arg == "axis" and isinstance(kw.value, ast.Constant) and kw.value.value in (0, 1):
                    new = c(node)
                    new.keywords = [ast.keyword(arg="axis", value=ast.Constant(1 - kw.value.value))]
                    yield "sum axis", new
        else:
            for new_order in (order + 1, order - 1):
                if new_order >= 0:
                    new = c(node)
                    new.func = ast.Name(id=base + (f"__d{new_order}" if new_order else ""), ctx=ast.Load())
                    yield "derivative", new
    if isinstance(node, ast.Name) and node.id in names:
        for other, shape in names.items():
            if other != node.id and shape == names[node.id]:
                yield "variable", ast.Name(id=other, ctx=ast.Load())
    if isinstance(node, (ast.Name, ast.Call)) and not _is_sum(node):
        for text, shape in factors.items():
            if not isinstance(node, ast.Name) or shape == names.get(node.id):
                pair = (c(node), parse_tree(text)) if isinstance(node, ast.Name) else (parse_tree(text), c(node))
                yield "factor", ast.BinOp(left=pair[0], op=ast.Mult(), right=pair[1])


def _is_sum(node) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "sum"


def mutants(text: str, names: dict | None = None, factors: dict | None = None) -> list:
    """Every one-edit variant of `text`, in a fixed order, without repeats.

    `names`: name -> shape of the values in scope, for swapping a variable
    with another of the same shape; `factors`: text -> shape of factors
    that may be missing (`dY`, `g'(z)`), multiplied onto a same-shape name.
    """
    tree = parse_tree(text)
    original = _src(tree)
    out, seen = [], {original}
    for index, node in enumerate(_preorder(tree)):
        for kind, new in _edits(node, names or {}, factors or {}):
            mutated = _src(_replace(tree, index, new))
            if mutated in seen:
                continue
            seen.add(mutated)
            out.append(Mutant(kind, _src(node), _src(new), mutated))
    return out


KIND_NAMES = {
    "transpose": "a transpose missing or extra",
    "swap": "operands swapped",
    "product": "`*` (elementwise) and `@` (matrix product) confused",
    "factor": "a factor missing or extra",
    "sign": "`+` and `-` confused",
    "sum": "a sum missing or extra",
    "sum axis": "the sum over the wrong axis",
    "derivative": "a function and its derivative confused",
    "variable": "one variable written for another",
}
