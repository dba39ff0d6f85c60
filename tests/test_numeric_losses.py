"""The losses: central differences, naive formulas at moderate values, and
the gradients `symbolic` derives for the same loss written as a file."""
from __future__ import annotations

import numpy as np
import pytest

from numeric import gradients, losses


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("GRADPROOF_CACHE", str(tmp_path_factory.getbasetemp() / "gradproof-cache"))


def targets(name, rng, shape):
    if name == "cross_entropy":
        P = rng.uniform(0.1, 1.0, shape)
        return P / P.sum(axis=0)
    if name == "logistic":
        return rng.uniform(0, 1, shape)
    return rng.standard_normal(shape)


NAIVE = {  # the textbook formulas, fine at moderate values
    "squared_error": lambda Y, T: 0.5 * np.sum((Y - T) ** 2),
    "logistic": lambda Z, T: -np.sum(T * np.log(1 / (1 + np.exp(-Z))) + (1 - T) * np.log(1 - 1 / (1 + np.exp(-Z)))),
    "cross_entropy": lambda Z, T: -np.sum(T * np.log(np.exp(Z) / np.exp(Z).sum(axis=0))),
}


@pytest.mark.parametrize("name", sorted(losses.LOSSES))
def test_loss_gradient_agrees_with_central_differences(name):
    rng = np.random.default_rng(3)
    Y, T = rng.standard_normal((3, 4)) * 2, targets(name, rng, (3, 4))
    fn = losses.LOSSES[name].fn
    J, dY = fn(Y, T)
    assert J == pytest.approx(NAIVE[name](Y, T), rel=1e-12)
    h = 1e-4
    for idx in np.ndindex(Y.shape):
        values = []
        for step in (2, 1, -1, -2):
            shifted = Y.copy()
            shifted[idx] += step * h
            values.append(float(fn(shifted, T)[0]))
        fd = (-values[0] + 8 * values[1] - 8 * values[2] + values[3]) / (12 * h)
        assert abs(dY[idx] - fd) <= 1e-7 * max(1.0, abs(fd))


# the same losses as derivation files: SymPy-free stable code against what symbolic derives
FILES = {
    "squared_error": "[forward]\nJ = \"sum((Y - P)**2) / 2\"\n",
    "logistic": "[forward]\nJ = \"sum(softplus(Y) - P * Y)\"\n",
    "cross_entropy": "[forward]\nL = \"Y - log(sum(exp(Y), axis=0))\"\nJ = \"-sum(P * L)\"\n",
}


@pytest.mark.parametrize("name", sorted(losses.LOSSES))
def test_loss_gradient_is_the_derived_one(name, tmp_path):
    f = tmp_path / f"{name}.toml"
    f.write_text(f'title = "{name}"\noutput = "J"\n[dims]\nk = "rows"\nm = "examples"\n'
                 f'[inputs]\nY = "k x m"\nP = "k x m"\n' + FILES[name])
    derived = gradients(f)
    rng = np.random.default_rng(4)
    Y, P = rng.standard_normal((3, 5)), targets(name, rng, (3, 5))
    J, dY = losses.LOSSES[name].fn(Y, P)
    assert J == pytest.approx(derived.forward(Y=Y, P=P).item(), rel=1e-12)
    np.testing.assert_allclose(dY, derived(Y=Y, P=P)["Y"], rtol=1e-12, atol=1e-14)


def test_losses_refuse_mismatched_arguments():
    with pytest.raises(ValueError, match=r"cross_entropy: `Y` is float64 \(3, 4\) but `T` is float64 \(4, 3\)"):
        losses.cross_entropy(np.zeros((3, 4)), np.zeros((4, 3)))
    with pytest.raises(TypeError, match="logistic: `T` must be a float32 or float64 array, got int64"):
        losses.logistic(np.zeros((3, 4)), np.zeros((3, 4), dtype=np.int64))
