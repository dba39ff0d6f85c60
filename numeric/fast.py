"""Compiled elementwise helpers (numba): an optional extra.

    pip install gradproof[fast]

`numeric.gradients(..., numba=True)` uses them: the generated module's
text stays the same (NumPy only, as `gradproof export` writes it);
the loaded module's table helpers that have a compiled twin here are
replaced by it (`twins`), one fused pass over the arrays where NumPy
makes several.  Each twin takes the same arguments and computes the same
values to a few units in the last place; the tests run both paths against
each other.

They are not the default.  On the 2-core machine of the benchmarks, the
one pass of `sigmoid_slope` takes 0.34 to 0.37 ms for 1024 x 256 in
float64, against 0.52 to 0.57 for NumPy's four, but 0.30 in float32,
against NumPy's 0.19 to 0.20 (NumPy's float32 cosh is vectorized and
twice as fast as its float64 one; the loop computes in float64 either
way); a parallel loop fought the other processes for the two cores.

`exp` in the kernels is a polynomial of numba's own code, not a call of
the C library's, so that the loop has no call in it: exp(r) for
|r| <= log(2)/2 by its Taylor series to degree 13 (error below 1e-17),
times 2**k from the bits of k.
"""
from __future__ import annotations

import importlib.util
from functools import cache

TWINS = ("_sigmoid_slope",)  # the helpers that have a compiled twin


def available() -> bool:
    """Whether numba can be imported (without importing it: that takes a while)."""
    return importlib.util.find_spec("numba") is not None


def twins(names) -> dict:
    """{helper name: compiled twin} for the `names` a module uses that have one."""
    wanted = [n for n in names if n in TWINS]
    return {n: _compiled()[n] for n in wanted} if wanted else {}


@cache
def _compiled() -> dict:
    import numba
    import numpy as np

    # `contract` lets LLVM fuse a * b + c into one rounding (the loop then
    # takes 0.34 ms for 1024 x 256 in float64, not 0.60); the other fastmath
    # flags would let it reassociate away the rounding to an integer below
    _jit = numba.njit(nogil=True, cache=False, error_model="numpy", fastmath={"contract"})

    @numba.njit(inline="always", fastmath={"contract"})
    def _exp_nonpositive(x):
        """exp(x) for x <= 0: 0 below -708 (where it is below 1e-307).  No
        branch before the work: a select at the end, so that the loop
        vectorizes."""
        y = max(x, -708.0)
        k = (y * 1.4426950408889634 + 6755399441055744.0) - 6755399441055744.0  # round(y / log 2)
        r = (y - k * 0.6931471803691238) - k * 1.9082149292705877e-10
        p = 1.0 / 6227020800.0
        for c in (1.0 / 479001600.0, 1.0 / 39916800.0, 1.0 / 3628800.0, 1.0 / 362880.0, 1.0 / 40320.0,
                  1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0):
            p = p * r + c
        e = p * np.int64((np.int64(k) + 1023) << 52).view(np.float64)
        return e if x >= -708.0 else 0.0

    @_jit
    def _sigmoid_slope_loop(z, dy, out):
        for i in range(z.size):
            e = _exp_nonpositive(-abs(np.float64(z[i])))  # sigmoid' is even: e / (1 + e)**2
            q = 1.0 + e
            out[i] = dy[i] * (e / (q * q))

    def sigmoid_slope(z, dy, out=None):
        """dy * sigmoid'(z) as dy * e / (1 + e)**2, e = exp(-|z|), in one pass.
        `out` may be `z`, not `dy`."""
        if out is None:
            out = np.empty_like(z)
        if dy.shape != z.shape:
            dy = np.broadcast_to(dy, z.shape)
        if z.flags.c_contiguous and dy.flags.c_contiguous and out.flags.c_contiguous:
            _sigmoid_slope_loop(z.reshape(-1), dy.reshape(-1), out.reshape(-1))
        else:
            flat = np.empty(z.shape, z.dtype)
            _sigmoid_slope_loop(np.ascontiguousarray(z).reshape(-1), np.ascontiguousarray(dy).reshape(-1),
                                flat.reshape(-1))
            out[...] = flat
        return out

    return {"_sigmoid_slope": sigmoid_slope}
