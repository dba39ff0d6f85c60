"""eye, trace, diag, outer and matrix_power: gradients through them proved
for every size, slips refuted with counterexamples the NumPy reference
recomputes, misuse refused by name, and the generated code right."""
from pathlib import Path

import numpy as np
import pytest

import reference
from numeric import gradients
from symbolic import ShapeError, derive, load
from symbolic.load import Claim, DerivationError
from symbolic.verify import verify, verify_claim

FILE = Path(__file__).parent / "data" / "linear_algebra.toml"


def test_every_claim_is_proved_for_every_size():
    assert [v.status for v in verify(load(FILE))] == ["proved"] * 4


@pytest.mark.parametrize("wrt,text", [
    ("A", "B.T + v @ (u * 0 + 1).T + 3 * matrix_power(A, 2).T"),   # trace(A.T B)' is B, not B.T
    ("A", "B + v @ (u * 0 + 1).T + 3 * matrix_power(A, 2)"),        # the power's transpose dropped
    ("B", "A + outer(v, u) + eye(n)"),                              # outer's arguments swapped
    ("v", "sum(A, axis=0).T + B.T @ u"),                            # the wrong sum
])
def test_slips_are_refuted_with_counterexamples_numpy_confirms(wrt, text):
    d = load(FILE)
    try:
        claim = Claim(wrt, text, d.parser().parse(text))
    except ShapeError as err:
        claim = Claim(wrt, text, None, str(err))
    v = verify_claim(d, claim, derive(d), max_size=3, seconds=30)
    assert v.status in ("refuted", "shape-error"), v.detail
    if v.counterexample is not None:
        reference.check_counterexample(FILE, text, wrt, v.counterexample.to_dict())


def test_the_generated_code_matches_the_reference():
    g = gradients(FILE)
    rng = np.random.default_rng(3)
    for n in (1, 3):
        values = {k: rng.standard_normal(s) for k, s in
                  {"A": (n, n), "B": (n, n), "v": (n, 1), "u": (n, 1)}.items()}
        got = g(**values)
        for wrt in values:
            np.testing.assert_allclose(got[wrt], reference.File(FILE).fd_gradient(values, wrt), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("formula,message", [
    ("trace(v @ u.T @ v)", "`trace` needs a square matrix"),
    ("sum(diag(A))", "`diag` takes a column"),
    ("sum(outer(A, v))", "`outer` takes two columns"),
    ("sum(matrix_power(A, 1.5))", "`matrix_power` takes a whole number"),
    ("sum(matrix_power(v, 2))", "`matrix_power` needs a square matrix"),
    ("sum(eye(k))", "a size is a dim's name or a whole number"),
    ("sum(eye(n, n))", "`eye` takes 1 positional argument"),
])
def test_misuse_is_refused_by_name(tmp_path, formula, message):
    f = tmp_path / "bad.toml"
    f.write_text('output = "J"\n[dims]\nn = "n"\n[inputs]\nA = "n x n"\nv = "n x 1"\nu = "n x 1"\n'
                 f'[forward]\nJ = "{formula}"\n')
    with pytest.raises(DerivationError) as err:
        load(f)
    assert message in str(err.value) and "bad.toml" in str(err.value) and "`forward.J`" in str(err.value)
