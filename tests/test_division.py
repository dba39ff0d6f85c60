"""The index form's one rational step (`identities.divide_out`): 1/u cancels
against u only where u divides the terms that share it, exactly; never a
false equality, checked against numbers."""
import random

import pytest
import sympy
from hypothesis import given, settings, strategies as st

from fixtures import evaluate
from symbolic import expr as E
from symbolic import index as I

n = sympy.Symbol("n", integer=True, positive=True)
A, B, C = (E.Var(name, (n, E.ONE)) for name in "abc")


def equal(x, y) -> bool:
    return I.difference(I.index_form(x, {}), I.index_form(y, {})) == ()


def over(x, u):
    return E.mul(x, E.apply("recip", u))


def s(x):
    return E.apply("sigmoid", x)


@pytest.mark.parametrize("left, right", [
    (over(E.mul(A, B), A), B),                                                   # a b / a = b
    (over(E.sub(E.mul(A, A), E.mul(B, B)), E.sub(A, B)), E.add(A, B)),          # (a² - b²)/(a - b)
    (over(E.sub(s(A), E.mul(s(A), s(A))), E.sub(E.const(1), s(A))), s(A)),      # s(1 - s)/(1 - s)
    (over(E.mul(E.sub(E.const(1), B), E.sub(s(A), E.mul(s(A), s(A)))),          # (1 - y)/(1 - p) p(1 - p)
          E.sub(E.const(1), s(A))), E.mul(E.sub(E.const(1), B), s(A))),
])
def test_exact_quotients_are_proved(left, right):
    assert equal(left, right)


@pytest.mark.parametrize("left, right", [
    (over(E.add(E.mul(A, A), E.mul(B, B)), E.sub(A, B)), E.add(A, B)),          # a² + b² is no multiple
    (over(E.mul(A, B), E.add(A, C)), B),
    (over(E.sub(s(A), E.mul(s(A), s(A))), s(A)), s(A)),                          # s(1 - s)/s is 1 - s
])
def test_inexact_quotients_are_not(left, right):
    assert not equal(left, right)


def test_a_zero_denominator_is_never_divided():
    zero = E.sub(B, B)
    assert not equal(over(E.mul(A, zero), zero), A)
    (v,) = _verify_b("dY * g'(z) + (z - z) * z / (z - z)")
    assert v.status == "refuted" and "undefined" in v.detail


@pytest.mark.parametrize("claim, status", [
    ("dY * g'(z) * b / b", "refuted"),                                  # undefined where b = 0
    ("(dY * g'(z) * b - dY * g'(z) * z) / (b - z)", "refuted"),         # undefined where b = z
    ("dY * g'(z) * (b * b + 1) / (b * b + 1)", "proved"),               # b*b + 1 is never 0
])
def test_a_quotient_that_cancels_is_proved_only_where_its_divisor_cannot_vanish(claim, status):
    (v,) = _verify_b(claim)
    assert v.status == status, (claim, v.status, v.detail)


def _verify_b(claim):
    from pathlib import Path
    import tempfile
    from symbolic import load, verify
    text = (Path(__file__).parent.parent / "derivations" / "layer.toml").read_text()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "layer.toml"
        path.write_text(text.partition("[claims]")[0] + f'[claims]\nb = "{claim}"\n')
        return verify(load(path), max_size=2, default_budget=10)


ATOMS = [A, B, C, s(A), s(B)]


@st.composite
def polynomials(draw, depth=2):
    """A small polynomial in the atoms, as an expression."""
    if depth == 0 or draw(st.booleans()):
        return draw(st.sampled_from(ATOMS + [E.const(1), E.const(2)]))
    a, b = draw(polynomials(depth=depth - 1)), draw(polynomials(depth=depth - 1))
    return draw(st.sampled_from([E.add(a, b), E.sub(a, b), E.mul(a, b)]))


def value(e, point):
    """`e` at scalar values of a, b, c (n = 1), in floats."""
    return evaluate(e, point, {"recip": lambda x: 1 / x, "sigmoid": lambda x: 1 / (1 + 2.718281828459045 ** -x)})


@settings(max_examples=60)
@given(polynomials(), polynomials(), polynomials())
def test_a_proved_quotient_agrees_with_numbers(p, q, r):
    """(p q + r q) / q against p + r: proved, and equal at points where q != 0;
    and whatever p / q is said to equal, the numbers agree."""
    assert equal(over(E.add(E.mul(p, q), E.mul(r, q)), q), E.add(p, r)) or not _nonzero(q)
    rng = random.Random(0)
    for candidate in (p, r, E.add(p, r), q):
        if equal(over(p, q), candidate):
            for _ in range(5):
                point = {k: rng.uniform(-2, 2) for k in "abc"}
                d = value(q, point)
                if abs(d) > 1e-6:
                    assert abs(value(p, point) / d - value(candidate, point)) < 1e-6 * (1 + abs(value(p, point) / d))


def _nonzero(q) -> bool:
    """Whether q is not the zero polynomial (its index form is not empty)."""
    return I.index_form(q, {}) != ()
