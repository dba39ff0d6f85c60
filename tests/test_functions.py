"""The functions beyond the activations: gelu (exact and tanh forms), sin,
cos, normcdf, normpdf, and abs, maximum, minimum, clip written with relu.
Their claims are proved, their slips refuted with counterexamples the NumPy
reference recomputes, their misuse refused by name, and their generated
code agrees with the reference."""
import math
from pathlib import Path

import numpy as np
import pytest

import reference
from numeric import gradients
from symbolic import ShapeError, derive, load
from symbolic.load import Claim, DerivationError
from symbolic.verify import verify_claim

FILE = Path(__file__).parent / "data" / "piecewise.toml"
TANH_FORM = ("0.5 * (1 + tanh(0.7978845608028654 * (y + 0.044715 * y ** 3))) + 0.5 * y * "
             "(1 - tanh(0.7978845608028654 * (y + 0.044715 * y ** 3)) ** 2) * 0.7978845608028654 * "
             "(1 + 3 * 0.044715 * y ** 2)")


def _verdict(wrt, text):
    d = load(FILE)
    try:
        claim = Claim(wrt, text, d.parser().parse(text))
    except ShapeError as err:
        claim = Claim(wrt, text, None, str(err))
    return verify_claim(d, claim, derive(d), max_size=3, seconds=30)


def test_the_files_claim_is_proved_for_every_size():
    d = load(FILE)
    v = verify_claim(d, d.claims["z"], derive(d), max_size=3, seconds=30)
    assert v.status == "proved", v.detail


def test_the_tanh_form_of_gelu_and_the_tie_of_maximum_are_proved():
    text = "step(y - z) - step(z - y) + maximum(z, 0.5) - sin(z) * sin(y) + " + TANH_FORM
    assert _verdict("y", text).status == "proved"


@pytest.mark.parametrize("wrt,text", [
    ("z", "step(z - y) - step(y - z) + step(z - 0.5) * y + step(z + 1) - step(z - 1) + gelu(z) + cos(z) * cos(y)"),
    ("z", "step(z - y) + step(z - 0.5) * y + step(z + 1) - step(z - 1) + gelu'(z) + cos(z) * cos(y)"),
    ("z", "step(z - y) - step(y - z) + step(z - 0.5) * y + step(z + 1) - step(z - 1) + gelu'(z) - sin(z) * cos(y)"),
    ("y", "step(y - z) - step(z - y) + maximum(z, 0.5) + sin(z) * sin(y) + " + TANH_FORM),
    ("y", "step(y - z) - step(z - y) + maximum(z, 0.5) - sin(z) * sin(y) + normcdf(y)"),
])
def test_slips_are_refuted_with_counterexamples_numpy_confirms(wrt, text):
    v = _verdict(wrt, text)
    assert v.status == "refuted", (v.status, v.detail)
    reference.check_counterexample(FILE, text, wrt, v.counterexample.to_dict())


def test_the_generated_code_agrees_with_the_reference():
    grads = gradients(FILE)
    rng = np.random.default_rng(7)
    for n in (1, 4):
        values = {"z": rng.standard_normal((n, 1)) * 2, "y": rng.standard_normal((n, 1)) * 2}
        got = grads(**values)
        ref = reference.File(FILE)
        for wrt in ("z", "y"):
            np.testing.assert_allclose(got[wrt], ref.fd_gradient(values, wrt), rtol=1e-5, atol=1e-7)
    z = np.array([[-40.0], [-3.0], [0.0], [2.5], [1e4]])
    cdf = np.array([[0.5 * math.erfc(-t / math.sqrt(2))] for t in z.ravel()])
    forward = gradients(FILE).forward(z=z, y=z)
    assert np.isfinite(forward).all()
    from numeric import stable
    np.testing.assert_allclose(stable.normcdf(z), cdf, rtol=2e-15, atol=0)


@pytest.mark.parametrize("formula,message", [
    ("sum(clip(z, y, 1))", "`clip` takes numbers `lo <= hi`"),
    ("sum(clip(z, 1, -1))", "`clip` takes numbers `lo <= hi`"),
    ("sum(maximum(z))", "`maximum` takes 2 positional arguments"),
    ("sum(abs(z, axis=0))", "`abs` takes 1 positional argument"),
    ('sum(gelu(z, approximate="erf"))', '`approximate="tanh"`'),
    ("sum(gelu(z, approximate=tanh))", '`approximate="tanh"`'),
])
def test_misuse_is_refused_by_name(tmp_path, formula, message):
    f = tmp_path / "bad.toml"
    lines = [f"J = '{formula}'" if line.startswith("J = ") else line for line in FILE.read_text().splitlines()]
    f.write_text("\n".join(lines))
    with pytest.raises(DerivationError) as err:
        load(f)
    assert message in str(err.value) and "forward.J" in str(err.value) and "bad.toml" in str(err.value)
