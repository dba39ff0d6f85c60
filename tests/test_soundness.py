"""Soundness and reach of the index form on random expressions: whenever
it says two expressions are equal, SymPy's explicit matrices agree; and
it does reach known matrix identities."""
import random

import pytest
import sympy

from symbolic import expr as E
from symbolic import index as I

n, k = (sympy.Symbol(s, integer=True, positive=True) for s in "nk")
LEAVES = [E.Var("W", (k, n)), E.Var("V", (k, n)), E.Var("x", (n, E.ONE)), E.Var("y", (n, E.ONE)),
          E.Var("u", (k, E.ONE)), E.Var("s", (E.ONE, E.ONE))]


def random_expr(rng, depth, leaves=LEAVES):
    """A random well-shaped expression (shape errors are retried)."""
    while True:
        try:
            return _build(rng, depth, leaves)
        except E.ShapeError:
            continue


def _build(rng, depth, leaves):
    if depth == 0 or rng.random() < 0.25:
        return rng.choice(leaves)
    a, b = _build(rng, depth - 1, leaves), _build(rng, depth - 1, leaves)
    op = rng.choice(["matmul", "add", "mul", "T", "g", "sum0", "sum1", "scale", "sigmoid"])
    if op == "matmul":
        return E.matmul(a, b)
    if op == "add":
        return E.add(a, b)
    if op == "mul":
        return E.mul(a, b)
    if op == "T":
        return E.transpose(a)
    if op == "g":
        return E.apply("g", a, rng.choice([0, 1]))
    if op == "sigmoid":
        return E.apply("sigmoid", a, rng.choice([0, 1]))
    if op == "scale":
        return E.scale(rng.choice([-1, 2, sympy.Rational(1, 2)]), a)
    return E.sum_axis(a, 0 if op == "sum0" else 1)


def explicit_equal(a, b, sizes, functions_known: bool = False) -> bool:
    """Whether a and b agree at explicit sizes: as polynomials in opaque
    function values, or (`functions_known`) also with each table function's
    definition (`sigmoid'(-u) = sigmoid'(u)`)."""
    from symbolic.explicit import Explicit, is_zero

    class D:  # the least a derivation needs for explicit evaluation
        inputs = {v.name: v for v in LEAVES}
        upstream = None
        forward = {}
    ex = Explicit(D, {n: sizes[0], k: sizes[1]})
    diff = ex.value(a) - ex.value(b)
    return all(sympy.expand(x) == 0 or functions_known and is_zero(x) for x in diff)


def _groups(seed, leaves, count, depth):
    rng = random.Random(seed)
    forms = {}
    for _ in range(count):
        e = random_expr(rng, depth, leaves)
        forms.setdefault((e.shape, I.index_form(e, {})), set()).add(e)
    return forms


@pytest.mark.parametrize("seed", range(4))
def test_index_form_equality_implies_explicit_equality(seed):
    # few leaves and shallow trees, so that many expressions share a form
    forms = _groups(seed, LEAVES[2:5] + LEAVES[:1], 500, 2)
    pairs = [(a, b) for es in forms.values() for a in es for b in es if E.text(a) < E.text(b)]
    assert len(pairs) >= 4
    for a, b in pairs:
        for sizes in [(1, 1), (2, 1), (1, 2), (2, 3)]:
            assert explicit_equal(a, b, sizes, functions_known=True), (E.text(a), E.text(b), sizes)


@pytest.mark.parametrize("seed", range(3))
def test_index_form_separates_what_differs_at_explicit_sizes(seed):
    forms = _groups(seed, LEAVES, 150, 3)
    by_shape = {}
    for (shape, _), es in forms.items():
        by_shape.setdefault(shape, []).append(min(es, key=E.text))
    missed = [(E.text(a), E.text(b)) for es in by_shape.values() for a, b in zip(es, es[1:])
              if explicit_equal(a, b, (2, 3))]
    assert not missed


W, V, x, y, u = LEAVES[:5]
IDENTITIES = [
    (E.transpose(E.matmul(W, x)), E.matmul(E.transpose(x), E.transpose(W))),
    (E.matmul(W, E.add(x, y)), E.add(E.matmul(W, x), E.matmul(W, y))),
    (E.mul(W, V), E.mul(V, W)),
    (E.transpose(E.sum_axis(W, 0)), E.sum_axis(E.transpose(W), 1)),
    (E.matmul(E.transpose(x), y), E.matmul(E.transpose(y), x)),
    (E.matmul(E.transpose(x), E.matmul(E.transpose(W), u)), E.matmul(E.transpose(E.matmul(W, x)), u)),
    (E.apply("sigmoid", x, 1), E.mul(E.apply("sigmoid", x), E.sub(E.const(1), E.apply("sigmoid", x)))),
    (E.sum_axis(E.mul(u, E.matmul(W, x)), None), E.sum_axis(E.mul(E.matmul(E.transpose(W), u), x), None)),
    (E.matmul(E.mul(u, E.apply("g", u, 1)), E.transpose(x)),
     E.mul(E.broadcast(E.mul(u, E.apply("g", u, 1)), (k, n)), E.broadcast(E.transpose(x), (k, n)))),
]


@pytest.mark.parametrize("a,b", IDENTITIES, ids=[E.text(a) for a, _ in IDENTITIES])
def test_index_form_reaches_matrix_identities(a, b):
    assert I.difference(I.index_form(a, {}), I.index_form(b, {})) == ()
    assert explicit_equal(a, b, (2, 3))
