"""Readable derived forms: a value-preserving pass over matrix expressions.

`simplify(e, forward)` rewrites a derived closed form the way a careful
hand derivation would write it, without changing its value anywhere it
is defined:

- constants move out of products, transposes, sums and broadcasts and
  fold (`(-1) * ((-1) * a) @ b` is `a @ b`);
- like terms are collected (`(1/2) * yhat + (1/2) * yhat` is `yhat`) and a
  sum starts with a positive term where it has one (`b - a`, not `-a + b`);
- a derivative whose table rule is another function is named by it
  (`softplus'(z)` is `sigmoid(z)`, `relu'(z)` is `step(z)`);
- a subexpression equal to a forward value's definition is that value's
  name (`yhat` for `g(z)` when the file defines `yhat = g(z)`);
- a factor and its reciprocal in one product cancel (`dY / exp(z) *
  exp(z)` is `dY`; the same wherever 1/u is defined).

Every rewrite is an identity of the expression algebra (for `1 / (c u)`,
c != 0; for `u (1/u)`, where 1/u is defined), so a form proved before the
pass is proved after it; the tests prove every catalogue form again after
the pass.
"""
from __future__ import annotations

import sympy

from . import expr as E
from .functions import ACTIVATIONS
from .kinks import mul_factors

MAX_NODES = 5000  # distinct nodes: a larger form is left as derived


def simplify(e: E.Expr, forward: dict | None = None) -> E.Expr:
    """`e` rewritten as above; `forward`: name -> definition of the file's
    forward values, whose names replace their definitions."""
    if _distinct_nodes(e) > MAX_NODES:
        return e
    names = {}
    for name, definition in (forward or {}).items():
        if not isinstance(definition, E.Var) and not isinstance(_unbroadcast(definition), E.Const):
            names.setdefault(definition, E.Var(name, definition.shape, "intermediate"))
    out = _simplify(e, names, {})
    if isinstance(out, E.Scale) and out.c < 0 and isinstance(out.a, E.Add):
        flipped = _collect(out.shape, [E.scale(-1, out.a)])  # -(a - b) is b - a
        if not (isinstance(flipped, E.Scale) and flipped.c < 0):
            out = E.scale(-out.c, flipped)
    return out


def _distinct_nodes(e: E.Expr) -> int:
    seen, stack = set(), [e]
    while stack and len(seen) <= MAX_NODES:
        node = stack.pop()
        if id(node) not in seen:
            seen.add(id(node))
            stack.extend(node.children())
    return len(seen)


def _unbroadcast(e):
    return e.a if isinstance(e, E.Broadcast) else e


def _simplify(e: E.Expr, names: dict, memo: dict) -> E.Expr:
    key = id(e)
    if key in memo:
        return memo[key][1]
    if not e.children():
        out = e
    else:
        out = _rewrite(e, [_simplify(c, names, memo) for c in e.children()])
        out = names.get(out, out)
    memo[key] = (e, out)  # keeps `e` alive, so its id is not reused
    return out


def _split(e: E.Expr):
    """(c, a) with e = c * a and `a` not a `Scale`."""
    if isinstance(e, E.Scale):
        return e.c, e.a
    if isinstance(e, E.Broadcast) and isinstance(e.a, E.Scale):
        return e.a.c, E.broadcast(e.a.a, e.shape)
    return sympy.Integer(1), e


def _rewrite(e: E.Expr, kids: list) -> E.Expr:
    t = type(e)
    if t is E.Mul:
        (ca, a), (cb, b) = _split(kids[0]), _split(kids[1])
        return E.scale(ca * cb, _cancelled(E.mul(a, b)))
    if t is E.MatMul:
        (ca, a), (cb, b) = _split(kids[0]), _split(kids[1])
        return E.scale(ca * cb, _chain(a, b))
    if t is E.Transpose:
        c, a = _split(kids[0])
        out = E.transpose(a)
        if isinstance(a, E.MatMul):
            pushed = _pushed(a)
            if _transposes(pushed) <= _transposes(out):
                out = pushed
        return E.scale(c, out)
    if t in (E.Sum, E.Broadcast):
        c, a = _split(kids[0])
        return E.scale(c, E.rebuild(e, [a]))
    if t is E.Add:
        return _collect(e.shape, kids)
    if t is E.Apply:
        c, a = _split(kids[0])
        if e.fn == "recip" and e.order == 0 and c != 0:
            return E.scale(1 / c, E.apply("recip", a))
        named = _named_derivative(e.fn, e.order, kids[0])
        if named is not None:
            return named
    return E.rebuild(e, kids)


def _cancelled(e: E.Expr) -> E.Expr:
    """A product of one shape with each pair of factors u and 1/u dropped
    (`dY / exp(z) * exp(z)` is `dY`): the same wherever 1/u is defined."""
    factors = mul_factors(e)
    for n, f in enumerate(factors):
        if isinstance(f, E.Apply) and (f.fn, f.order) == ("recip", 0) and f.a in factors:
            rest = [g for m, g in enumerate(factors) if m != n]
            rest.remove(f.a)
            out = E.broadcast(E.const(1), e.shape)
            for g in rest:
                out = g if out.shape == g.shape and isinstance(_unbroadcast(out), E.Const) else E.mul(out, g)
            return _cancelled(out)
    return e


def _chain(a: E.Expr, b: E.Expr) -> E.Expr:
    """a @ b with a product on the right regrouped to the left, so that a
    chain reads `A @ B @ C`."""
    if isinstance(b, E.MatMul):
        return E.matmul(_chain(a, b.a), b.b)
    return E.matmul(a, b)


def _pushed(a: E.Expr) -> E.Expr:
    """a.T with the transpose moved onto the factors: (A @ B).T = B.T @ A.T."""
    if isinstance(a, E.MatMul):
        return _chain(_pushed(a.b), _pushed(a.a))
    return E.transpose(a)


def _transposes(e: E.Expr) -> int:
    return sum(isinstance(n, E.Transpose) for n in E.walk(e))


def _named_derivative(fn: str, order: int, u: E.Expr):
    """fn'(u) as the function its table rule names (softplus' = sigmoid)."""
    act = ACTIVATIONS.get(fn)
    if order != 1 or act is None or act.prime is None:
        return None
    p = act.prime(u)
    return p if isinstance(_unbroadcast(p), E.Apply) else None


def _terms(e: E.Expr, c, out: dict):
    """Accumulate e's terms, times c, into `out` (term -> coefficient)."""
    k, a = _split(e)
    if isinstance(a, E.Add):
        _terms(a.a, c * k, out)
        _terms(a.b, c * k, out)
        return
    inner = _unbroadcast(a)
    if isinstance(inner, E.Const):
        k, a = k * inner.value, None  # None: the constant term
    out[a] = out.get(a, 0) + c * k


def _collect(shape, kids: list) -> E.Expr:
    terms: dict = {}
    for kid in kids:
        _terms(kid, sympy.Integer(1), terms)
    items = [(a, c) for a, c in terms.items() if c != 0]
    if not items:
        return E.broadcast(E.const(0), shape)
    first = next((i for i, (_, c) in enumerate(items) if c > 0), 0)
    items = items[first:first + 1] + items[:first] + items[first + 1:]
    out = None
    for a, c in items:
        term = E.broadcast(E.const(c), shape) if a is None else E.broadcast(E.scale(c, a), shape)
        out = term if out is None else E.add(out, term)
    return out
