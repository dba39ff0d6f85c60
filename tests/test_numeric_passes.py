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
