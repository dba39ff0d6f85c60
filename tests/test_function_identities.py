"""The index form's identities of the table functions (`identities.identity`):
exp(log(u)) = u, log(exp(u)) = u, sqrt(u) sqrt(u) = u, (1/sqrt(u))**2 = 1/u,
u / sqrt(u) = sqrt(u), and a term's own 1/u against its u.  Claims that need
them are proved for every size and confirmed by the reference; wrong ones
are refuted; a claim that uses one where J does not keep it defined is
never proved; and any two expressions the index form calls equal agree in
value wherever both are defined."""
import math
import random

import numpy as np
import sympy
import pytest
from hypothesis import given, settings, strategies as st

import reference
from fixtures import evaluate
from symbolic import expr as E
from symbolic import index as I
from symbolic import load, verify

FILE = '''
output = "Y"
upstream = "dY"
[dims]
k = "rows"
m = "columns"
[inputs]
Z = "k x m"
[forward]
Y = "{forward}"
[claims]
Z = "{claim}"
'''


def _verdict(tmp_path, forward=None, claim=None, template=None, **fields):
    """(the file, the verdict of its one claim) for FILE (or `template`) filled in."""
    path = tmp_path / "identity.toml"
    text = (template or FILE).format(forward=forward, claim=claim, **fields)
    path.write_text(text, encoding="utf-8")
    (v,) = verify(load(path), max_size=2, default_budget=20)
    return path, v


@pytest.mark.parametrize("forward, claim", [
    ("exp(log(Z))", "dY"),
    ("log(exp(Z))", "dY"),
    ("sqrt(Z) ** 2", "dY"),
    ("exp(log(Z)) + sqrt(Z) ** 2 + log(exp(Z))", "3 * dY"),
    ("Z / sqrt(Z)", "dY / sqrt(Z) / 2"),
    ("sqrt(Z) ** 3", "1.5 * dY * sqrt(Z)"),
    ("Z ** 2 / sqrt(Z)", "1.5 * dY * sqrt(Z)"),
    ("Z * (1 / Z) ** 2", "-dY / Z ** 2"),
    ("Z * (1 / sqrt(Z)) ** 2", "0 * dY"),
    ("Z * (1 / Z)", "0 * dY"),
    ("(Z + 1) / sqrt(Z + 1)", "dY / sqrt(Z + 1) / 2"),           # u a sum: its 1/u meets u
    ("(Z + 1) ** 2 / sqrt(Z + 1)", "1.5 * dY * sqrt(Z + 1)"),     # once refuted at Z = -1, where J is undefined
    ("(Z * Z + 1) ** -1.5", "-3 * dY * Z * (Z * Z + 1) ** -2.5"),
    ("exp(Z) * exp(-Z) * Z", "dY"),                                # exp(u) exp(-u) = 1
    ("exp(Z + 1) * exp(-Z)", "0 * dY"),
    ("exp(2 * Z) * exp(-Z)", "dY * exp(Z)"),                       # exp(a u) exp(b u) = exp((a + b) u)
    ("exp(Z) ** 3", "3 * dY * exp(3 * Z)"),
    ("sigmoid(Z) + sigmoid(-Z)", "0 * dY"),                        # sigmoid(-u) = 1 - sigmoid(u)
    ("tanh(-Z)", "dY * (tanh(Z) ** 2 - 1)"),                       # tanh is odd
    ("softplus(-Z)", "dY * (sigmoid(Z) - 1)"),                     # softplus(-u) = softplus(u) - u
    ("sin(-Z) * cos(-Z)", "dY * (sin(Z) ** 2 - cos(Z) ** 2)"),
    ("gelu(-Z) + silu(-Z)", "-dY * (gelu'(-Z) + silu'(-Z))"),
])
def test_claims_that_need_an_identity_are_proved_and_the_reference_agrees(tmp_path, forward, claim):
    path, v = _verdict(tmp_path, forward, claim)
    rng = np.random.default_rng(5)
    _proved_and_confirmed(path, v, claim, {"Z": rng.uniform(0.3, 2.0, (2, 3)), "dY": rng.uniform(-1.5, 1.5, (2, 3))})


def _proved_and_confirmed(path, v, claim, values):
    """The verdict is a proof for every size, and the reference's finite
    differences give the claim's value at `values`."""
    assert v.status == "proved" and "for all dims" in v.detail, (v.status, v.detail)
    ref = reference.File(path)
    env = {**ref.forward(values), **values}
    np.testing.assert_allclose(ref.eval(claim, env) * np.ones(values["Z"].shape), ref.fd_gradient(values, "Z"),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("forward, claim", [
    ("(Z ** 2) ** 0.5", "dY"),                 # sqrt(Z**2) is |Z|, not Z
    ("sqrt(Z) ** 2", "2 * dY"),
    ("sqrt(Z) ** 3", "dY * sqrt(Z)"),          # the 3/2 dropped
    ("Z * (1 / Z)", "dY"),
    ("exp(log(Z))", "dY / Z"),
    ("sigmoid(-Z)", "dY * sigmoid(Z)"),
    ("tanh(-Z)", "dY * (1 - tanh(Z) ** 2)"),
])
def test_wrong_claims_are_refuted_with_counterexamples_the_reference_recomputes(tmp_path, forward, claim):
    path, v = _verdict(tmp_path, forward, claim)
    assert v.status == "refuted", (v.status, v.detail)
    reference.check_counterexample(path, claim, "Z", v.counterexample.to_dict())


@pytest.mark.parametrize("forward, claim", [
    ("Z * Z / 2", "dY * exp(log(Z))"),          # right for Z > 0 only: J is defined everywhere
    ("Z * Z / 2", "dY * sqrt(Z) * sqrt(Z)"),
    ("Z * Z / 2", "dY * Z / sqrt(Z) * sqrt(Z)"),
    ("Z * Z / 2", "dY * Z * Z / Z"),
])
def test_an_identity_outside_the_domain_j_keeps_proves_nothing(tmp_path, forward, claim):
    _, v = _verdict(tmp_path, forward, claim)
    assert v.status != "proved", (v.status, v.detail)


# ---------------------------------------------------------------- equal forms agree in value

n = E.ONE
A, B = E.Var("a", (n, n)), E.Var("b", (n, n))


@st.composite
def expressions(draw, depth=3):
    """A small expression in a, b with exp, log, sqrt, 1/u, products, sums."""
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from([A, B, E.const(2)]))
    a = draw(expressions(depth=depth - 1))
    kind = draw(st.sampled_from(["exp", "log", "sqrt", "recip", "mul", "add", "pow", "sigmoid", "tanh", "neg"]))
    if kind == "neg":
        return E.scale(-1, a)
    if kind in ("mul", "add"):
        b = draw(expressions(depth=depth - 1))
        return E.mul(a, b) if kind == "mul" else E.add(a, b)
    if kind == "pow":
        return E.power(a, draw(st.integers(2, 3)))
    return E.apply(kind, a)


def rewritten(e):
    """Forms the identities should meet, and some they must not."""
    return [E.apply("exp", E.apply("log", e)), E.apply("log", E.apply("exp", e)),
            E.mul(E.apply("sqrt", e), E.apply("sqrt", e)), E.mul(e, E.apply("recip", E.apply("sqrt", e))),
            E.apply("sqrt", E.mul(e, e)), E.apply("sqrt", e), E.mul(e, E.apply("recip", e)),
            E.mul(e, E.mul(E.apply("exp", e), E.apply("exp", E.scale(-1, e)))),
            E.mul(e, E.mul(E.apply("exp", e), E.apply("exp", e))), E.apply("exp", E.scale(2, e)),
            E.sub(E.const(1), E.apply("sigmoid", E.scale(-1, e))), E.scale(-1, E.apply("tanh", E.scale(-1, e))),
            E.apply("sigmoid", e), E.apply("tanh", e)]


def _defined(fn, where):
    """fn, raising ArithmeticError where `where` says it is undefined."""
    def call(x):
        if np.any(where(x)):
            raise ArithmeticError
        return fn(x)
    return call


SCALAR = {"exp": _defined(math.exp, lambda x: x > 700), "log": _defined(math.log, lambda x: x <= 0),
          "sqrt": _defined(math.sqrt, lambda x: x <= 0),  # gradproof takes sqrt where u > 0, as log
          "recip": _defined(lambda x: 1 / x, lambda x: x == 0),
          "sigmoid": lambda x: 1 / (1 + math.exp(-x)) if x > -700 else 0.0, "tanh": math.tanh}
COLUMN = {"exp": _defined(np.exp, lambda x: x > 700), "log": _defined(np.log, lambda x: x <= 0),
          "recip": _defined(lambda x: 1 / x, lambda x: x == 0)}


def value(e, point):
    return evaluate(e, point, SCALAR)


@settings(max_examples=80, deadline=None)
@given(expressions(), expressions())
def test_expressions_the_index_form_calls_equal_agree_in_value(x, y):
    rng = random.Random(1)
    reflections = [(E.sub(E.const(1), E.apply("sigmoid", E.scale(-1, x))), E.apply("sigmoid", x)),
                   (E.mul(E.apply("exp", x), E.apply("exp", x)), E.apply("exp", E.scale(2, x))),
                   (E.mul(E.apply("exp", E.scale(3, x)), E.apply("exp", E.scale(-1, x))),
                    E.apply("exp", E.scale(2, x))),
                   (E.scale(-1, E.apply("tanh", E.scale(-1, x))), E.apply("tanh", x))]
    pairs = [(x, y)] + [(r, x) for r in rewritten(x)] + [(r, y) for r in rewritten(x)] + reflections
    _equal_forms_agree(pairs, value, lambda: {"a": rng.uniform(-3, 3), "b": rng.uniform(-3, 3)})


def _equal_forms_agree(pairs, value, point):
    """For each pair the index form calls equal, the values agree at six
    points (from `point()`) where both are defined."""
    for left, right in pairs:
        try:
            same = I.difference(I.index_form(left, {}), I.index_form(right, {})) == ()
        except I.FormTooLarge:
            continue
        if not same:
            continue
        for _ in range(6):
            at = point()
            try:
                a, b = value(left, at), value(right, at)
            except (ArithmeticError, OverflowError):
                continue
            assert np.allclose(a, b, rtol=1e-7, atol=1e-9), (E.text(left), E.text(right), at, a, b)


# ---------------------------------------------------------------- softmax: exp of a sum, a sum over its denominator

SOFTMAX = '''
output = "J"
[dims]
c = "classes"
m = "examples"
[inputs]
Z = "c x m"
Y = {{ shape = "c x m", data = "one-hot columns" }}
[forward]
P = "softmax(Z, axis=0)"
L = "log_softmax(Z, axis=0)"
J = "{objective}"
[claims]
Z = "{claim}"
'''


def _softmax_verdict(tmp_path, objective, claim):
    return _verdict(tmp_path, claim=claim, template=SOFTMAX, objective=objective)


@pytest.mark.parametrize("objective, claim", [
    ("sum(P)", "0 * Z"),                                             # each column of P sums to 1
    ("sum(exp(L))", "0 * Z"),                                        # exp(Z - log s) = exp(Z) / s
    ("sum(P * Z)", "P + P * Z - P * sum(P * Z, axis=0)"),
    ("-sum(Y * L) / m + sum(P)", "(exp(L) - Y) / m"),
    ("sum(exp(Z + 1))", "exp(Z + 1)"),
])
def test_softmax_sums_and_exp_of_sums_are_proved_and_the_reference_agrees(tmp_path, objective, claim):
    path, v = _softmax_verdict(tmp_path, objective, claim)
    _proved_and_confirmed(path, v, claim, reference.random_values(path, {"c": 3, "m": 2}, np.random.default_rng(2)))


@pytest.mark.parametrize("objective, claim", [
    ("sum(P)", "P - P * sum(P, axis=1)"),                            # sums along the wrong axis are not 1
    ("sum(P * Z)", "P * Z - P * sum(P * Z, axis=0)"),                # the P of the product rule dropped
    ("sum(exp(L))", "exp(L) - 1"),
])
def test_wrong_softmax_claims_are_refuted(tmp_path, objective, claim):
    path, v = _softmax_verdict(tmp_path, objective, claim)
    assert v.status == "refuted", (v.status, v.detail)
    reference.check_counterexample(path, claim, "Z", v.counterexample.to_dict())


N = sympy.Symbol("n", integer=True, positive=True)
U, V = E.Var("u", (N, E.ONE)), E.Var("v", (N, E.ONE))


@st.composite
def columns(draw, depth=3):
    """An n x 1 expression in u, v: exp, log, 1/x, products, sums, and a column sum broadcast back."""
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from([U, V]))
    a = draw(columns(depth=depth - 1))
    kind = draw(st.sampled_from(["exp", "log", "recip", "mul", "add", "sum", "softmax"]))
    if kind in ("mul", "add"):
        b = draw(columns(depth=depth - 1))
        return E.mul(a, b) if kind == "mul" else E.add(a, b)
    if kind == "sum":
        return E.broadcast(E.sum_axis(a, 0), a.shape)
    if kind == "softmax":
        return E.mul(E.apply("exp", a), E.apply("recip", E.sum_axis(E.apply("exp", a), 0)))
    return E.apply(kind, a)


def column_value(e, point):
    """`e` at n = 3, as a NumPy column; ArithmeticError where undefined."""
    return evaluate(e, point, COLUMN, rows=3)


@settings(max_examples=60, deadline=None)
@given(columns(), columns())
def test_columns_the_index_form_calls_equal_agree_in_value(x, y):
    ones = E.broadcast(E.const(1), x.shape)
    pairs = [(x, y), (E.sum_axis(E.mul(E.apply("exp", x), E.apply("recip", E.sum_axis(E.apply("exp", x), 0))), 0),
                      E.const(1)), (E.mul(x, ones), E.apply("exp", E.apply("log", x)))]
    rng = np.random.default_rng(3)
    _equal_forms_agree(pairs, column_value, lambda: {"u": rng.uniform(-2, 2, (3, 1)), "v": rng.uniform(-2, 2, (3, 1))})
