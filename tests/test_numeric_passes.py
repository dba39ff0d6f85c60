"""The batch passes of `numeric.stable` (a column broadcast along rows, a
sum along rows) give NumPy's own values on both sides of the size above
which they take another route, and leave NumPy's settings as they found
them."""
from __future__ import annotations

import numpy as np
import pytest

from numeric import stable

# (k, m): below `_QUIET_ABOVE` entries; above, with a row NumPy would buffer
# (m from 256 to 8192, a multiple of 16); above, with rows too short, not a
# multiple of 16, or longer than NumPy's buffer
SHAPES = [(8, 1), (16, 256), (64, 256), (16, 1024), (128, 64), (40, 1000), (2, 8192), (3, 10000)]


@pytest.mark.parametrize("k, m", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ufunc", [np.add, np.subtract, np.multiply])
def test_with_column_is_the_broadcast_update_in_place(k, m, dtype, ufunc):
    rng = np.random.default_rng(k * m)
    t, c = rng.standard_normal((k, m)).astype(dtype), rng.standard_normal((k, 1)).astype(dtype)
    want = ufunc(t, c)
    before = np.getbufsize()
    got = stable.with_column(ufunc, t, c)
    assert got is t and t.dtype == dtype
    np.testing.assert_array_equal(t, want)  # the same operation, entry by entry: no rounding differs
    assert np.getbufsize() == before


def test_with_column_restores_the_buffer_size_when_the_ufunc_fails():
    t, c = np.zeros((16, 1024)), np.zeros((16, 1))
    before = np.getbufsize()
    with pytest.raises(TypeError):
        stable.with_column(np.add, t, c.astype(np.complex128))  # complex into float: refused by casting
    assert np.getbufsize() == before


@pytest.mark.parametrize("k, m", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("axis", [0, 1, None])
def test_sum_along_is_numpys_sum(k, m, dtype, axis):
    a = np.random.default_rng(k + m).standard_normal((k, m)).astype(dtype)
    got = stable.sum_along(a, axis)
    want = a.astype(np.float64).sum(axis=axis, keepdims=True)
    assert got.shape == want.shape and got.dtype == dtype
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.sqrt(a.shape[1 if axis == 1 else 0]))


COLUMNS = '''title = "A layer whose bias is subtracted and whose output is scaled per neuron"
output = "Yhat"
upstream = "dY"

[dims]
n = "inputs"
k = "neurons"
m = "examples in the batch"

[inputs]
W = "k x n"
X = "n x m"
b = "k x 1"
c = "k x 1"

[forward]
Z = "W @ X - b"
Yhat = "tanh(Z) * c"
'''


@pytest.mark.parametrize("m", [3, 256])  # NumPy's spelling, then the buffer one row long
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_generated_code_subtracts_and_multiplies_columns_in_place(tmp_path, monkeypatch, m, dtype):
    from numeric import gradients
    monkeypatch.setenv("GRADPROOF_CACHE", str(tmp_path / "cache"))
    f = tmp_path / "columns.toml"
    f.write_text(COLUMNS)
    grads = gradients(str(f))
    assert "    _with_column(_np.subtract, Z, b)\n" in grads.source
    assert "    _with_column(_np.multiply, Yhat, c)\n" in grads.source
    rng = np.random.default_rng(m)
    k, n = 32, 16
    W, X = rng.standard_normal((k, n)).astype(dtype), rng.standard_normal((n, m)).astype(dtype)
    b, c = rng.standard_normal((k, 1)).astype(dtype), rng.standard_normal((k, 1)).astype(dtype)
    dY = rng.standard_normal((k, m)).astype(dtype)
    T = np.tanh(W.astype(np.float64) @ X - b)
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(grads.forward(W, X, b, c), T * c, rtol=tol, atol=tol)
    dZ = dY * c * (1 - T ** 2)
    want = {"W": dZ @ X.T, "X": W.T @ dZ, "b": -dZ.sum(axis=1, keepdims=True),
            "c": (dY * T).sum(axis=1, keepdims=True)}
    got = grads(W, X, b, c, dY)
    for name, value in want.items():
        assert got[name].dtype == dtype
        np.testing.assert_allclose(got[name], value, rtol=tol, atol=tol * np.sqrt(m), err_msg=f"dJ/d{name}")
