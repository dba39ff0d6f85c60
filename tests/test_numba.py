"""The optional compiled helpers (`numeric.fast`, numba) against the NumPy
path: the same gradients over the catalogue, float32 and float64, at odd
shapes, with arguments that are not C-contiguous or that broadcast, and
the same quiet values at |z| = 1e4.  The twins run at every size here
(`fast.SMALL` set to 0; below it they are the NumPy helpers).  Skipped
where numba is not installed; without it, the default is the NumPy path,
which the other tests run (`numba=False`, or arrays below `SMALL`)."""
from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

import numeric.fast
from numeric import gradients, stable
from symbolic import catalogue_files, load


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("GRADPROOF_CACHE", str(tmp_path_factory.getbasetemp() / "gradproof-cache"))


def test_without_numba_the_default_is_numpy_and_numba_true_says_what_to_install(monkeypatch):
    monkeypatch.setattr(numeric.fast, "available", lambda: False)
    with pytest.raises(ImportError, match=r"pip install gradproof\[fast\]"):
        gradients("layer_batch", activation="sigmoid", numba=True)
    grads = gradients("layer_batch", activation="sigmoid")
    assert grads.compiled == () and "numba" not in repr(grads)
    assert pickle.loads(pickle.dumps(grads)).compiled == ()


needs_numba = pytest.mark.skipif(not numeric.fast.available(),
                                 reason="numba is not installed (pip install gradproof[fast]); "
                                        "the NumPy path is tested without it")


@needs_numba
def test_with_numba_the_twins_are_the_default_and_false_turns_them_off():
    grads = gradients("layer_batch", activation="sigmoid")
    assert grads.compiled == ("_sigmoid_slope",) and repr(grads).endswith("; numba: _sigmoid_slope>")
    assert grads.module._sigmoid_slope is numeric.fast.sigmoid_slope
    plain = gradients("layer_batch", activation="sigmoid", numba=False)
    assert plain.compiled == () and plain.module._sigmoid_slope is not numeric.fast.sigmoid_slope
    assert plain.source == grads.source  # the module text is NumPy's either way
    assert pickle.loads(pickle.dumps(grads)).compiled == ("_sigmoid_slope",)
    assert pickle.loads(pickle.dumps(plain)).compiled == ()
    assert gradients("layer_batch", activation="tanh").compiled == ()  # no helper with a twin


def _cases():
    for f in catalogue_files():
        if load(f).generic:
            yield pytest.param(f, id=f.stem)


def _point(grads, dtype, rng, scale=1.0):
    sizes = {}
    out = {}
    for name in grads.arguments:
        shape = tuple(d if isinstance(d, int) else sizes.setdefault(d, int(rng.integers(1, 40)))
                      for d in grads.shapes[name])
        out[name] = (scale * rng.standard_normal(shape)).astype(dtype)
    return out


def _agree(got, want, dtype, tol):
    for n in want:
        assert got[n].dtype == dtype
        atol = max(tol * float(np.abs(want[n]).max(initial=0.0)), 1e10 * float(np.finfo(dtype).tiny))
        np.testing.assert_allclose(got[n], want[n], rtol=tol, atol=atol, err_msg=n)


@needs_numba
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("path", list(_cases()))
def test_compiled_and_numpy_paths_agree(path, dtype, monkeypatch):
    monkeypatch.setattr(numeric.fast, "SMALL", 0)  # the compiled loop at every size
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
        _agree(fast(**a), plain(**a), dtype, tol)
        # arguments in Fortran order and strided views: the twin works on C-contiguous copies
        odd = {n: np.asfortranarray(v) if i % 2 else np.repeat(v, 2, axis=1)[:, ::2]
               for i, (n, v) in enumerate(a.items())}
        _agree(fast(**odd), plain(**odd), dtype, tol)


@needs_numba
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_layer_paths_agree_at_the_size_of_a_batch(dtype):
    """Above `SMALL` entries, as `gradients` runs them: the bias, the slope
    and the row sum in one compiled pass."""
    fast = gradients("layer_batch", activation="sigmoid")
    plain = gradients("layer_batch", activation="sigmoid", numba=False)
    rng = np.random.default_rng(7)
    k, n, m = 67, 33, 129  # 8643 entries, odd sizes
    a = {"W": rng.standard_normal((k, n)) / 4, "X": rng.standard_normal((n, m)),
         "b": 3 * rng.standard_normal((k, 1)), "dY": rng.standard_normal((k, m))}
    a = {name: v.astype(dtype) for name, v in a.items()}
    _agree(fast(**a), plain(**a), dtype, 1e-13 if dtype == np.float64 else 2e-6)
    again = fast(**a)  # the scratch buffer reused: the same values
    _agree(again, plain(**a), dtype, 1e-13 if dtype == np.float64 else 2e-6)
    assert all(np.array_equal(again[n], fast(**a)[n]) for n in again)


Z = [[-1e4, -1e3, -745.0, -100.0, -88.5, -30.0, -5.0, -1.0, -1e-3, 0.0],
     [1e-3, 1.0, 5.0, 30.0, 87.5, 100.0, 700.0, 1e3, 1e4, 2.5]]


@needs_numba
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_compiled_slope_matches_the_table_and_is_quiet_at_1e4(dtype, monkeypatch):
    monkeypatch.setattr(numeric.fast, "SMALL", 0)
    twin = numeric.fast.twins(["_sigmoid_slope"])["_sigmoid_slope"]
    z = np.array(Z, dtype=dtype)
    dy = np.linspace(-2.0, 3.0, z.size).reshape(z.shape).astype(dtype)
    eps, tiny = float(np.finfo(dtype).eps), float(np.finfo(dtype).tiny)
    with warnings.catch_warnings(), np.errstate(all="raise", under="ignore"):
        warnings.simplefilter("error")
        want = stable.sigmoid_slope(z, dy)
        got = twin(z, dy)
        np.testing.assert_allclose(got, want, rtol=8 * eps, atol=tiny)
        assert got.dtype == dtype and not np.shares_memory(got, z)
        inplace = z.copy()
        assert twin(inplace, dy, out=inplace) is inplace and np.array_equal(inplace, got)
        elsewhere = np.empty_like(z)
        assert twin(z, dy, out=elsewhere) is elsewhere and np.array_equal(elsewhere, got)
        np.testing.assert_array_equal(twin(np.asfortranarray(z), dy), got)
        for narrow in (dy[:, :1], dy[:1, :], dy[:1, :1]):  # dy broadcast
            np.testing.assert_allclose(twin(z, narrow), stable.sigmoid_slope(z, narrow), rtol=8 * eps, atol=tiny)
        # the bias column and the row sums: in place, as the generated code calls it
        column = np.array([[0.75], [-2.0]], dtype=dtype)
        for c in (column, np.asfortranarray(np.repeat(column, 2, axis=1))[:, :1]):
            t = z.copy()
            want, want_sums = stable.sigmoid_slope(t, dy, out=t, column=c, sums=True)
            u = z.copy()
            got, sums = twin(u, dy, out=u, column=c, sums=True)
            assert got is u and sums.shape == (2, 1) and sums.dtype == dtype
            np.testing.assert_allclose(u, want, rtol=8 * eps, atol=tiny)
            np.testing.assert_allclose(sums, want_sums, rtol=8 * eps, atol=tiny)
            np.testing.assert_allclose(sums[:, 0], u.sum(axis=1), rtol=8 * eps, atol=tiny)
            got, sums = twin(np.asfortranarray(z), dy, column=c, sums=True)  # on a copy
            np.testing.assert_allclose(got, want, rtol=8 * eps, atol=tiny)
            np.testing.assert_allclose(sums, want_sums, rtol=8 * eps, atol=tiny)
        grads = gradients("layer_batch", activation="sigmoid", numba=True)
        b = np.array([[-1e4], [-100.0], [0.5], [100.0], [1e4]], dtype=dtype)
        g = grads(W=np.zeros((5, 2), dtype), X=np.ones((2, 3), dtype), b=b, dY=np.ones((5, 3), dtype))
        assert all(np.all(np.isfinite(v)) and v.dtype == dtype for v in g.values())
        slope = np.exp(-np.abs(b[:, 0].astype(np.float64))) / (1 + np.exp(-np.abs(b[:, 0].astype(np.float64)))) ** 2
        np.testing.assert_allclose(g["b"][:, 0], 3 * slope, rtol=8 * eps, atol=tiny)


@needs_numba
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_compiled_slope_is_accurate_over_the_whole_range(dtype, monkeypatch):
    """Its own exp, a polynomial: within a few ulps of the exact slope from
    0 to where it falls below the dtype's smallest normal number."""
    monkeypatch.setattr(numeric.fast, "SMALL", 0)
    top = 87.0 if dtype == np.float32 else 708.0
    z = np.linspace(-top, top, 200_001).astype(dtype).reshape(1, -1)
    got = numeric.fast.sigmoid_slope(z, np.ones_like(z))
    e = np.exp(-np.abs(z.astype(np.longdouble)))
    exact = e / (1 + e) ** 2
    ulps = np.abs(got - exact) / (exact * float(np.finfo(dtype).eps))
    assert float(ulps.max()) < 4, float(ulps.max())


@needs_numba
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_compiled_slope_keeps_nan_and_takes_infinities_as_numpy_does(dtype, monkeypatch):
    monkeypatch.setattr(numeric.fast, "SMALL", 0)
    z = np.array([[np.nan, np.inf, -np.inf, 1.0]], dtype=dtype)
    dy = np.ones_like(z)
    with np.errstate(invalid="ignore"):
        got, sums = numeric.fast.sigmoid_slope(z.copy(), dy, sums=True)
        want = stable.sigmoid_slope(z.copy(), dy)
    assert np.isnan(got[0, 0]) and np.isnan(sums[0, 0]) and np.isnan(want[0, 0])
    np.testing.assert_allclose(got[0, 1:], want[0, 1:], rtol=8 * float(np.finfo(dtype).eps),
                               atol=float(np.finfo(dtype).tiny))
