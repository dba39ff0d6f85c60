"""The optional compiled helpers (`numeric.fast`, numba) against the NumPy
path: the same gradients over the catalogue, float32 and float64, and the
same quiet values at |z| = 1e4.  Skipped where numba is not installed; the
NumPy path is tested everywhere else with numba turned off."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import numeric.fast
from numeric import gradients, stable
from symbolic import catalogue_files, load


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("GRADPROOF_CACHE", str(tmp_path_factory.getbasetemp() / "gradproof-cache"))


def test_numba_true_without_numba_says_what_to_install(monkeypatch):
    monkeypatch.setattr(numeric.fast, "available", lambda: False)
    with pytest.raises(ImportError, match=r"pip install gradproof\[fast\]"):
        gradients("layer_batch", activation="sigmoid", numba=True)
    assert "numba" not in repr(gradients("layer_batch", activation="sigmoid"))  # not the default


needs_numba = pytest.mark.skipif(not numeric.fast.available(),
                                 reason="numba is not installed (pip install gradproof[fast]); "
                                        "the NumPy path is tested without it")


def _cases():
    for f in catalogue_files():
        if load(f).generic:
            yield pytest.param(f, id=f.stem)


def _point(grads, dtype, rng, scale=1.0):
    sizes = {}
    out = {}
    for name in grads.arguments:
        shape = tuple(d if isinstance(d, int) else sizes.setdefault(d, int(rng.integers(2, 40)))
                      for d in grads.shapes[name])
        out[name] = (scale * rng.standard_normal(shape)).astype(dtype)
    return out


@needs_numba
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("path", list(_cases()))
def test_compiled_and_numpy_paths_agree(path, dtype):
    fast = gradients(path, activation="sigmoid", numba=True)
    plain = gradients(path, activation="sigmoid", numba=False)
    assert fast.source == plain.source
    if not fast.compiled:
        pytest.skip(f"{path.stem} uses no helper with a compiled twin")
    assert fast.compiled == ("_sigmoid_slope",) and "numba: _sigmoid_slope" in repr(fast)
    rng = np.random.default_rng(5)
    tol = 1e-13 if dtype == np.float64 else 2e-6
    for scale in (1.0, 30.0):
        a = _point(plain, dtype, rng, scale)
        want, got = plain(**a), fast(**a)
        for n in want:
            assert got[n].dtype == dtype
            atol = max(tol * float(np.abs(want[n]).max()), 1e10 * float(np.finfo(dtype).tiny))
            np.testing.assert_allclose(got[n], want[n], rtol=tol, atol=atol, err_msg=n)


@needs_numba
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_compiled_slope_matches_the_table_and_is_quiet_at_1e4(dtype):
    twin = numeric.fast.twins(["_sigmoid_slope"])["_sigmoid_slope"]
    z = np.array([[-1e4, -1e3, -745.0, -100.0, -30.0, -5.0, -1.0, -1e-3, 0.0],
                  [1e-3, 1.0, 5.0, 30.0, 100.0, 700.0, 1e3, 1e4, 2.5]], dtype=dtype)
    dy = np.linspace(-2.0, 3.0, z.size).reshape(z.shape).astype(dtype)
    with warnings.catch_warnings(), np.errstate(all="raise", under="ignore"):
        warnings.simplefilter("error")
        want = stable.sigmoid_slope(z, dy)
        got = twin(z, dy)
        eps = float(np.finfo(dtype).eps)
        np.testing.assert_allclose(got, want, rtol=8 * eps, atol=float(np.finfo(dtype).tiny))
        assert got.dtype == dtype
        inplace = z.copy()
        assert twin(inplace, dy, out=inplace) is inplace and np.array_equal(inplace, got)
        strided = np.asfortranarray(z)
        np.testing.assert_array_equal(twin(strided, dy), got)
        column = dy[:, :1]
        np.testing.assert_allclose(twin(z, column), stable.sigmoid_slope(z, column), rtol=8 * eps,
                                   atol=float(np.finfo(dtype).tiny))
        grads = gradients("layer_batch", activation="sigmoid", numba=True)
        b = np.array([[-1e4], [-100.0], [0.5], [100.0], [1e4]], dtype=dtype)
        g = grads(W=np.zeros((5, 2), dtype), X=np.ones((2, 3), dtype), b=b, dY=np.ones((5, 3), dtype))
        assert all(np.all(np.isfinite(v)) and v.dtype == dtype for v in g.values())
