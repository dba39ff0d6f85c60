"""Matrix-level reverse mode: dJ/d(input) for every input, with no claim.

One backward rule per primitive: given a node and the adjoint `G` of its
value (dJ/d node, same shape), each rule returns (child, adjoint of the
child) pairs.  The sweep runs the forward definitions in reverse order, as
the notes do by hand, and names each intermediate's adjoint (`dz`), so the
result reads as a backward pass:

    dz = dY * g'(z)
    dW = dz @ x.T
    db = dz
    dx = W.T @ dz

An adjoint's name is `d` + the value's name unless the file already uses
that name (an input called `dz`, a dim called `dW`); then it is `dz_1`,
`dz_2`, ..., the first name nothing else has (`adjoint_names`).
"""
from __future__ import annotations

import keyword
from dataclasses import dataclass, field

from . import expr as E
from . import linalg
from .functions import derivative
from .derivation import Derivation
from .simplify import simplify
from .windows import BACKWARD as WINDOW_RULES

BACKWARD = {
    E.MatMul:    lambda e, G: [(e.a, E.matmul(G, E.transpose(e.b))), (e.b, E.matmul(E.transpose(e.a), G))],
    E.Add:       lambda e, G: [(e.a, G), (e.b, G)],
    E.Mul:       lambda e, G: [(e.a, E.mul(G, e.b)), (e.b, E.mul(G, e.a))],
    E.Scale:     lambda e, G: [(e.a, E.scale(e.c, G))],
    E.Transpose: lambda e, G: [(e.a, E.transpose(G))],
    E.Apply:     lambda e, G: [(e.a, E.mul(G, derivative(e.fn, e.a, e.order + 1)))],
    E.Pow:       lambda e, G: [(e.a, E.mul(G, E.scale(e.p, E.power(e.a, e.p - 1))))],
    E.Broadcast: lambda e, G: [(e.a, E.unbroadcast(G, e.a.shape))],
    E.Sum:       lambda e, G: [(e.a, E.broadcast(G, e.a.shape))],
    E.Const:     lambda e, G: [],
    E.MatFn:     linalg.backward,  # inv, det, logdet of a square matrix
}
BACKWARD.update(WINDOW_RULES)  # conv1d, convolve, flip, max (`symbolic.windows`)


@dataclass
class Gradients:
    """The derived backward pass of a derivation.

    `steps`: (name, expression) in evaluation order, each in terms of the
    inputs, the upstream gradient, forward intermediates and earlier steps;
    `closed`: input name -> closed form with the steps inlined, made
    readable by `simplify` (like terms collected, forward values by name);
    `adjoint_of`: step name -> the name of the value it is dJ/d of.
    """
    derivation: Derivation
    steps: list
    closed: dict
    adjoint_of: dict = field(default_factory=dict)

    def step(self, name) -> E.Expr:
        return dict(self.steps)[name]

    def __repr__(self):
        lines = [f"Gradients of {self.derivation.name!r}:"]
        lines += [f"  {n} = {E.text(e)}" for n, e in self.steps]
        return "\n".join(lines)


def adjoint_names(d: Derivation) -> dict:
    """value name -> the name of its adjoint, for every forward value and
    input: `d<name>` where no name of the file is that, else the first of
    `d<name>_1`, `d<name>_2`, ... that neither the file nor another adjoint
    uses.  Never a Python keyword (a value `ef` gets `def_1`), so that
    generated code can use the names as they are."""
    own = set(map(str, d.dims)) | set(d.inputs) | set(d.forward) | set(d.functions)
    if d.upstream is not None:
        own.add(d.upstream.name)
    own |= set(keyword.kwlist)
    values = list(d.forward) + list(d.inputs)
    names = {v: "d" + v for v in values if "d" + v not in own}  # distinct: `d` + a distinct name
    taken = own | set(names.values())
    for v in values:
        if v not in names:
            i = 1
            while f"d{v}_{i}" in taken:
                i += 1
            names[v] = f"d{v}_{i}"
            taken.add(names[v])
    return names


def derive(d: Derivation) -> Gradients:
    """Derive dJ/d(input) for every input of `d` by the rule table."""
    acc: dict = {}  # name -> accumulated adjoint expression
    adjoint_name = adjoint_names(d).__getitem__

    def push(node: E.Expr, G: E.Expr):
        if isinstance(node, E.Var):
            acc[node.name] = G if node.name not in acc else E.add(acc[node.name], G)
            return
        rule = BACKWARD.get(type(node))
        if rule is None:
            raise NotImplementedError(f"no backward rule for `{type(node).__name__}` in {d.path}")
        for child, g in rule(node, G):
            push(child, g)

    out = d.output.name
    seed = d.upstream if d.upstream is not None else E.const(1)
    steps, named = [], {}
    for name in reversed(list(d.forward)):
        if name == out:
            G = seed
        elif name in acc:
            G = E.Var(adjoint_name(name), d.forward[name].shape, "adjoint")
            steps.append((G.name, acc.pop(name)))
            named[G.name] = steps[-1][1]
        else:
            continue  # J does not depend on it
        push(d.forward[name], G)
    for name, var in d.inputs.items():
        g = acc.get(name, E.broadcast(E.const(0), var.shape))
        steps.append((adjoint_name(name), g))
    by_name = dict(steps)
    memo: dict = {}
    closed = {name: simplify(_inline(by_name[adjoint_name(name)], named, memo), d.forward) for name in d.inputs}
    of = {adjoint_name(v): v for v in list(d.forward) + list(d.inputs)}
    return Gradients(d, steps, closed, {n: of[n] for n, _ in steps})


def _inline(e: E.Expr, named: dict, memo: dict) -> E.Expr:
    """`e` with every named adjoint replaced by its definition, repeatedly.
    Shared subexpressions are rebuilt once (`memo`, by identity), so the
    cost follows the size of the expression graph, not of its text."""
    key = id(e)
    if key in memo:
        return memo[key][1]
    if isinstance(e, E.Var):
        out = _inline(named[e.name], named, memo) if e.name in named else e
    elif isinstance(e, E.Const) or not e.children():
        out = e
    else:
        out = E.rebuild(e, [_inline(c, named, memo) for c in e.children()])
    memo[key] = (e, out)  # keeps `e` alive, so its id is not reused
    return out
