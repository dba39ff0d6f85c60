"""Stability at |z| up to 1e4, float32 and float64, warnings as errors: every
function of the NumPy table, the helpers of the losses, the losses, and
the generated gradients of a layer for every activation.  Values are
checked against the table's SymPy definitions evaluated to 30 digits."""
from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest
import mpmath
import sympy

from numeric import gradients, losses, stable
from symbolic import ACTIVATIONS

Z = [-1e4, -1e3, -100.0, -30.0, -5.0, -1.0, -1e-3, 0.0, 1e-3, 1.0, 5.0, 30.0, 100.0, 1e3, 1e4]
DTYPES = [np.float32, np.float64]


@pytest.fixture(autouse=True)
def _strict(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("GRADPROOF_CACHE", str(tmp_path_factory.getbasetemp() / "gradproof-cache"))
    with warnings.catch_warnings(), np.errstate(all="raise", under="ignore"):
        warnings.simplefilter("error")
        yield


@functools.lru_cache(maxsize=None)
def exact(f, z, order=0):
    """f^(order)(z) from the table's SymPy form, in arithmetic with enough
    digits to resolve exp(-2|z|) against 1, or None where it is not a
    finite real number."""
    if f == "step":
        return 0.0 if order else float(z > 0)
    t = sympy.Symbol("t", real=True)
    form = sympy.diff(ACTIVATIONS[f].sympy(t), t, order)
    with mpmath.workdps(int(0.87 * abs(z)) + 40):
        try:
            value = sympy.lambdify(t, form, "mpmath")(mpmath.mpf(z))
        except (ValueError, ZeroDivisionError):
            return None
        if isinstance(value, (int, float)):
            value = mpmath.mpf(value)
        if not isinstance(value, mpmath.mpf) or not mpmath.isfinite(value):
            return None
        return float(value) if abs(value) < 1e308 else None


def close(got, want, dtype, absolute=0.0):
    """Agreement to the dtype's precision (relative), or within `absolute`."""
    eps = float(np.finfo(dtype).eps)
    return abs(got - want) <= 8 * eps * abs(want) + max(absolute, float(np.finfo(dtype).tiny) * 1e10)


def representable(value, dtype):
    return value is not None and abs(value) < float(np.finfo(dtype).max) / 2


# float32 sigmoid is 0.5 + 0.5 * tanh(z / 2): accurate to float32's resolution at 1, not relative
ABSOLUTE = {("sigmoid", np.float32): float(np.finfo(np.float32).eps)}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(stable.FUNCTIONS))
def test_table_functions_are_exact_and_quiet(name, dtype):
    assert name in ACTIVATIONS, f"numeric.stable.FUNCTIONS has `{name}`, which symbolic does not"
    fn = stable.FUNCTIONS[name].numpy
    points = [z for z in Z if representable(exact(name, z), dtype)]
    z = np.array(points, dtype=dtype)
    got = fn(z)
    assert got.dtype == dtype and np.all(np.isfinite(got))
    for x, y in zip(points, got):
        assert close(float(y), exact(name, x), dtype, absolute=ABSOLUTE.get((name, dtype), 0.0)), \
            f"{name}({x}) = {y}, expected {exact(name, x)}"
    inplace = z.copy()
    assert fn(inplace, out=inplace) is inplace and np.array_equal(inplace, got)


SLOPES = sorted(n for n, s in stable.FUNCTIONS.items() if s.slope is not None)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", SLOPES)
def test_slope_helpers_are_exact_and_quiet(name, dtype):
    """dy * fn'(z) from the table's slope helper, to the dtype's relative
    precision at every z (no s * (1 - s) cancellation), in place or not."""
    fn = stable.FUNCTIONS[name].slope
    points = [z for z in Z if representable(exact(name, z, 1), dtype)]
    z = np.array(points, dtype=dtype)
    dy = np.linspace(-2.0, 3.0, len(points)).astype(dtype)
    got = fn(z, dy)
    assert got.dtype == dtype and np.all(np.isfinite(got))
    for x, d, y in zip(points, dy, got):
        want = float(d) * exact(name, x, 1)
        assert close(float(y), want, dtype), f"{d} * {name}'({x}) = {y}, expected {want}"
    inplace = z.copy()
    assert fn(inplace, dy, out=inplace) is inplace and np.array_equal(inplace, got)


def test_every_activation_has_a_numpy_spelling():
    assert set(ACTIVATIONS) <= set(stable.FUNCTIONS)


def test_activations_are_quiet_over_the_whole_range():
    """The activations of the table, and log-sigmoid, at +-1e4: nothing overflows."""
    for dtype in DTYPES:
        z = np.array([-1e4, 1e4], dtype=dtype)
        for fn in (stable.sigmoid, stable.tanh, stable.relu, stable.softplus, stable.log_sigmoid):
            assert np.all(np.isfinite(fn(z))), fn.__name__
        assert stable.sigmoid(z)[1] == 1 and 0 <= stable.sigmoid(z)[0] < np.finfo(dtype).tiny
        assert stable.softplus(z)[1] == np.float32(1e4) and stable.softplus(z)[0] == 0
        assert stable.log_sigmoid(z)[0] == np.float32(-1e4) and stable.log_sigmoid(z)[1] == 0


@pytest.mark.parametrize("dtype", DTYPES)
def test_log_sigmoid_is_exact_and_quiet(dtype):
    z = np.array(Z, dtype=dtype)
    got = stable.log_sigmoid(z)
    assert got.dtype == dtype
    for x, y in zip(Z, got):
        with mpmath.workdps(int(0.87 * abs(x)) + 40):
            want = float(-mpmath.log(1 + mpmath.exp(-mpmath.mpf(x))))
        assert close(float(y), want, dtype), (x, y, want)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_and_log_softmax_are_quiet(dtype):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 0.0], [1e4 - 1, 1e4, 0.0]], dtype=dtype)
    p = stable.softmax(z, axis=0)
    lp = stable.log_softmax(z, axis=0)
    assert p.dtype == lp.dtype == dtype and np.all(np.isfinite(p)) and np.all(np.isfinite(lp))
    np.testing.assert_allclose(p.sum(axis=0), 1, rtol=1e-6)
    np.testing.assert_allclose(p[:, 2], 1 / 3, rtol=1e-6)
    e = np.exp(-1.0)
    np.testing.assert_allclose(p[:, 0], [1 / (1 + e), 0, e / (1 + e)], rtol=1e-6)
    np.testing.assert_allclose(lp[1, 0], -2e4 - np.log(1 + e), rtol=1e-6)
    np.testing.assert_allclose(np.exp(lp), p, rtol=1e-5, atol=1e-30)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(losses.LOSSES))
def test_losses_are_finite_and_quiet_at_1e4(name, dtype):
    fn = losses.LOSSES[name].fn
    Y = np.array([[1e4, -1e4, 1e4], [-1e4, 1e4, 0.0]], dtype=dtype)
    T = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]], dtype=dtype)
    J, dY = fn(Y, T)
    assert np.isfinite(J) and np.all(np.isfinite(dY))
    assert dY.dtype == dtype and np.asarray(J).dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
def test_losses_at_1e4_have_the_right_values(dtype):
    Z = np.array([[1e4, -1e4]], dtype=dtype)
    J, dZ = losses.logistic(Z, np.array([[1.0, 1.0]], dtype=dtype))
    assert J == pytest.approx(1e4) and dZ.tolist() == [[0.0, -1.0]]  # only the second is wrong
    Z = np.array([[1e4], [-1e4], [0.0]], dtype=dtype)
    J, dZ = losses.cross_entropy(Z, np.array([[0.0], [1.0], [0.0]], dtype=dtype))
    assert J == pytest.approx(2e4) and dZ[:, 0].tolist() == [1.0, -1.0, 0.0]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "softplus", "identity", "step"])
def test_generated_layer_gradients_are_quiet_at_1e4(activation, dtype):
    """Z = W @ X + b spans -1e4..1e4; every gradient is finite and right."""
    grads = gradients("layer_batch", activation=activation)
    z = np.array([-1e4, -100.0, -1.0, 0.5, 100.0, 1e4])
    W = np.zeros((6, 2), dtype=dtype)
    X = np.ones((2, 3), dtype=dtype)
    b = z.reshape(-1, 1).astype(dtype)
    dY = np.ones((6, 3), dtype=dtype)
    got = grads(W=W, X=X, b=b, dY=dY)
    Yhat = grads.forward(W=W, X=X, b=b)
    assert Yhat.dtype == dtype and np.all(np.isfinite(Yhat))
    for name, g in got.items():
        assert g.dtype == dtype and np.all(np.isfinite(g)), name
    # relative accuracy for the values; the derivatives' rule-table forms
    # (s * (1 - s), 1 - tanh**2) are accurate to eps of their largest value
    eps = float(np.finfo(dtype).eps)
    for i, x in enumerate(z):
        slope = exact(activation, x, 1) if activation != "identity" else 1.0
        assert close(float(got["b"][i, 0]), 3 * slope, dtype, absolute=12 * eps), (x, got["b"][i, 0], slope)
        assert close(float(Yhat[i, 0]), exact(activation, x) if activation != "identity" else x, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_large_arrays_take_the_silenced_path_and_agree(dtype):
    """Above `_QUIET_ABOVE` entries the helpers let exp and cosh overflow
    under an error state instead of capping: the same values, no warning."""
    small = np.array(Z, dtype=dtype)
    large = np.resize(small, stable._QUIET_ABOVE + len(Z))
    dy = np.linspace(-2.0, 3.0, large.size).astype(dtype)
    for fn, args in ((stable.sigmoid, ()), (stable.sigmoid_slope, (dy,))):
        got = fn(large, *args)
        want = fn(small, *(a[:small.size] for a in args))
        assert got.dtype == dtype and np.all(np.isfinite(got))
        np.testing.assert_allclose(got[:small.size], want, rtol=4 * float(np.finfo(dtype).eps),
                                   atol=float(np.finfo(dtype).tiny) * 1e10, err_msg=fn.__name__)


def test_generated_modules_hold_the_helpers_constants():
    module = gradients("layer_batch", activation="sigmoid").module
    assert module._QUIET_ABOVE == stable._QUIET_ABOVE
    assert module._SMALL.keys() == stable._SMALL.keys()
    for dtype, constants in stable._SMALL.items():
        assert all(a.dtype == dtype and b.dtype == dtype and a == b for a, b in zip(module._SMALL[dtype], constants))
