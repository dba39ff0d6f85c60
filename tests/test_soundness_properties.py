"""Property: gradproof never proves a false claim.

Claims are built from the grammar around a correct form: extra terms that
vanish only for one polynomial `g`, only at one size, only on a kink, or
only by `0 x` an undefined term, besides terms that truly vanish.  Every
claim gradproof calls proved (for every size, or up to N) is then checked
by the independent NumPy reference (`reference.py`: finite differences,
several random polynomials in place of `g`, sizes above `max_size`): the
claim must be defined and agree wherever the gradient is defined.  A
claim with a term that is undefined at some point where the gradient is
defined must not be proved at all.
"""
from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import reference
from symbolic import load, verify
from symbolic.verify import PROVED, UP_TO

ROOT = os.path.join(os.path.dirname(__file__), "..", "derivations")

# (file, input, correct claim, values of the claim's shape to build terms from)
BASES = [
    ("layer.toml", "b", "dY * g'(z)", ["z", "b", "dY", "yhat"]),
    ("layer.toml", "W", "(dY * g'(z)) @ x.T", ["W", "dY @ x.T", "z @ x.T", "b @ x.T"]),
    ("layer.toml", "x", "W.T @ (dY * g'(z))", ["x", "W.T @ z", "W.T @ dY"]),
    ("layer_sigmoid.toml", "b", "dY * sigmoid'(z)", ["z", "b", "dY", "yhat"]),
    ("layer_batch_relu.toml", "b", "sum(dY * step(Z), axis=1)", ["b", "sum(Z, axis=1)", "sum(dY, axis=1)"]),
    ("layer_batch_relu.toml", "X", "W.T @ (dY * step(Z))", ["X", "W.T @ Z", "W.T @ dY"]),
]

# Terms in one value `A`: each is 0 only in some cases (named), or never
# defined somewhere the gradient is; `truly` marks the ones that are 0 for
# every size, every `g` and every value.
TERMS = [
    ("{A} - {A}", "truly"),
    ("relu({A} - {A})", "truly"),
    ("step({A}) * step(-{A})", "truly"),
    ("g''({A}) - g''({A})", "truly"),
    ("({A} - {A}) / ({A} - {A})", "undefined everywhere"),
    ("0 * log({A} - {A})", "undefined everywhere"),
    ("({A} - {A}) * (1 / {A})", "undefined where A = 0"),
    ("1 / {A} - 1 / {A}", "undefined where A = 0"),
    ("({A} - {A}) * log({A})", "undefined where A <= 0"),
    ("step({A} - {A}) - 0.5", "-1/2 (step(0) = 0)"),
    ("step({A} - {A})", "truly"),
    ("g({A}) - (1 + 3*{A} - 2*{A}**2 + {A}**3)", "0 for one cubic g"),
    ("g'''({A}) - 6", "0 for one cubic g"),
    ("g''''({A})", "0 for every cubic g"),
    ("sum({A}, axis=0) - {A}", "0 at one size"),
    ("{A} * {A} - {A}**2", "truly"),
]
GENERIC_ONLY = ("g(", "g'", "g''")


def _terms_for(path):
    generic = "elementwise" in open(path, encoding="utf-8").read()
    return [t for t in TERMS if generic or not any(s in t[0] for s in GENERIC_ONLY)]


def _write(tmp_path, file, wrt, claim) -> str:
    text = open(os.path.join(ROOT, file), encoding="utf-8").read()
    head, _, tail = text.partition("[claims]")
    path = tmp_path / file
    path.write_text(f'{head}[claims]\n{wrt} = "{claim}"\n', encoding="utf-8")
    return str(path)


@st.composite
def claims(draw):
    file, wrt, base, values = draw(st.sampled_from(BASES))
    terms = _terms_for(os.path.join(ROOT, file))
    parts = [base]
    for _ in range(draw(st.integers(1, 2))):
        template, _ = draw(st.sampled_from(terms))
        a = draw(st.sampled_from(values))
        c = draw(st.sampled_from(["", "2 * ", "-", "0.5 * "]))
        parts.append(f"{c}({template.format(A='(' + a + ')')})")
    return file, wrt, " + ".join(parts)


SIZES = [{"n": 1, "k": 1, "m": 1}, {"n": 2, "k": 3, "m": 2}, {"n": 4, "k": 2, "m": 3}, {"n": 3, "k": 4, "m": 1}]


def reference_agrees(path, wrt, claim, seed=0) -> tuple[bool, str]:
    """Whether the claim equals the finite-difference gradient wherever the
    gradient is defined: several sizes, points and random polynomials g."""
    rng = np.random.default_rng(seed)
    for sizes in SIZES:
        for _ in range(3):
            coefficients = list(rng.integers(-3, 4, size=6))
            f = reference.File(path, coefficients)
            values = reference.random_values(path, sizes, rng)
            with np.errstate(all="ignore"):
                fd = f.fd_gradient(values, wrt)
                env = f.forward(values)
                env.update(values)
                peak = _tracking(f)
                got = np.broadcast_to(f.eval(claim, env), fd.shape)
            if not np.all(np.isfinite(fd)):
                continue
            if not np.all(np.isfinite(got)):
                return False, f"undefined at {sizes} where the gradient is {fd}"
            # float64 loses about 1e-16 of the largest value the claim passes through
            # (`g(yhat) - g(yhat)` with g(yhat) ~ 1e16 is off by units)
            tolerance = max(1e-4 * max(1.0, float(np.abs(fd).max())), 1e-12 * peak[0])
            if not np.allclose(got, fd, rtol=1e-4, atol=tolerance):
                return False, f"at {sizes}: claim {got} != gradient {fd} (g = {coefficients})"
    return True, ""


def _tracking(f) -> list:
    """[the largest magnitude of any value f's evaluator computes from now on]."""
    peak, evaluate = [0.0], f._eval

    def tracked(node, env):
        out = evaluate(node, env)
        finite = np.abs(np.asarray(out, dtype=float))
        finite = finite[np.isfinite(finite)]
        if finite.size:
            peak[0] = max(peak[0], float(finite.max()))
        return out
    f._eval = tracked
    return peak


@pytest.fixture(scope="module", autouse=True)
def batch_relu(tmp_path_factory):
    """`layer_batch_relu.toml`: the catalogue's relu layer under the name used above."""
    global ROOT
    folder = tmp_path_factory.mktemp("catalogue")
    for name in {b[0] for b in BASES}:
        source = "layer_relu.toml" if name == "layer_batch_relu.toml" else name
        (folder / name).write_text(open(os.path.join(ROOT, source), encoding="utf-8").read(), encoding="utf-8")
    saved, ROOT = ROOT, str(folder)
    yield
    ROOT = saved


@settings(max_examples=int(os.environ.get("GRADPROOF_SOUNDNESS_EXAMPLES", "30")))
@given(claims())
def test_no_false_proof(tmp_path_factory, spec):
    file, wrt, claim = spec
    path = _write(tmp_path_factory.mktemp("claim"), file, wrt, claim)
    (v,) = verify(load(path), max_size=2, default_budget=4)
    if v.status in (PROVED, UP_TO):
        ok, why = reference_agrees(path, wrt, claim)
        assert ok, f"{claim!r} was {v.headline()}, but the reference disagrees: {why}"


@pytest.mark.parametrize("template, case", [t for t in TERMS if t[1] != "truly"])
def test_each_vanishing_term_alone_is_not_proved(tmp_path, template, case):
    """Each term that vanishes only in some cases, added to the notes'
    correct dJ/db, is never proved; where it is 0 for every value of a
    cubic g or at one size, a counterexample shows it."""
    path = _write(tmp_path, "layer.toml", "b", "dY * g'(z) + " + template.format(A="(z)"))
    (v,) = verify(load(path), max_size=2, default_budget=10)
    assert v.status not in (PROVED, UP_TO), (template, v.headline(), v.detail)
    if "undefined where" not in case:
        assert v.status == "refuted", (template, v.status, v.detail)


@pytest.mark.parametrize("template", [t for t, case in TERMS if case == "truly"])
def test_terms_that_truly_vanish_keep_the_claim_provable(tmp_path, template):
    path = _write(tmp_path, "layer.toml", "b", "dY * g'(z) + " + template.format(A="(z)"))
    (v,) = verify(load(path), max_size=2, default_budget=10)
    assert v.status != "refuted", (template, v.detail)
    ok, why = reference_agrees(path, "b", "dY * g'(z) + " + template.format(A="(z)"))
    assert ok, why
