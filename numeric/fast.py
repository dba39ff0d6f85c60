"""Compiled elementwise helpers (numba): an optional extra.

    pip install gradproof[fast]

`numeric.gradients` uses them where numba can be imported (`numba=False`
keeps NumPy's): the generated module's text stays the same (NumPy only,
as `gradproof export` writes it); the loaded module's helpers that have a
compiled twin here are replaced by it (`twins`).  Each twin takes the
same arguments and computes the same values to a few units in the last
place; the tests run both paths against each other.

`sigmoid_slope(z, dy, out, column, sums)`, the backward pass of a sigmoid
layer from `Z = W @ X` (the bias `column` added first, the row sums `db`
taken while each row is in cache), is one pass over the arrays where NumPy
makes six (`Z += b`, cosh, + 1, the division by dY, * 1/2, the sum), in
the input's own dtype: 0.36 to 0.38 ms for 262,144 entries in float64
against NumPy's 0.67 to 0.74, 0.14 ms in float32 against 0.27 (CPU
time, one core of the 2-core machine of the benchmarks).  Below `SMALL` entries the twin is the
NumPy helper itself: there numba's dispatch (about 1 us) costs more than
the work.  numba is imported, and the loop compiled (or read from numba's
cache on disk), at the first call above it, so that loading a module
stays as fast as without numba; that first call takes about 1 s, most of
it numba's own start.

The loop runs on the calling thread.  On both cores (`prange` over rows)
it takes half the time on an idle machine, but when other processes run,
its threads and the BLAS threads of the next product wait on each other,
and the calls were slower than with one thread; `python -m numeric.bench
--passes` prints both.  (And where numba has only its `workqueue`
threading layer, two threads running a parallel loop at once stop the
process; a generated module may be called from several threads.)

`exp` in the loop is a polynomial of numba's own code, not a call of the
C library's, so that the loop has no call in it and vectorizes (`_EXP`),
times 2**k from the bits of k.
"""
from __future__ import annotations

import importlib.util
import threading

import numpy as np

from . import stable

TWINS = ("_sigmoid_slope",)  # the helpers that have a compiled twin
SMALL = stable._QUIET_ABOVE  # at or below this many entries a twin is the NumPy helper


def available() -> bool:
    """Whether numba can be imported (without importing it: that takes a while)."""
    return importlib.util.find_spec("numba") is not None


def twins(names) -> dict:
    """{helper name: compiled twin} for the `names` a module uses that have one."""
    return {n: _TWINS[n] for n in names if n in TWINS}


# ---------------------------------------------------------------- the kernels

_lock = threading.Lock()
_kernels: dict = {}  # (dtype, parallel) -> compiled loop


def kernel(dtype, parallel: bool = False):
    """The compiled loop for float32 or float64 arrays, compiled at its first use."""
    key = (np.dtype(dtype), parallel)
    found = _kernels.get(key)
    if found is None:
        with _lock:
            found = _kernels.get(key)
            if found is None:
                found = _kernels[key] = _compile(np.dtype(dtype).type, parallel)
    return found


def _compile(f, parallel: bool):
    """The loop for dtype `f`: its constants are of that dtype (the loop
    computes in it), frozen in a closure that holds nothing but numbers,
    so that numba's cache on disk knows it again in the next process."""
    import numba

    global _row_sum
    if _row_sum is None:
        _row_sum = numba.njit(fastmath={"reassoc", "nsz", "contract"})(_row_sum_python)
    if f is np.float64:
        i, bits, bias, low, magic = np.int64, 52, 1023, -750.0, 6755399441055744.0
        ln2 = (0.6931471803691238, 1.9082149292705877e-10)  # log 2, high part exact in k * high
    else:
        i, bits, bias, low, magic = np.int32, 23, 127, -105.0, 12582912.0
        ln2 = (0.693145751953125, 1.428606765330187e-06)
    head, *tail = (f(c) for c in _EXP[np.dtype(f)])
    tail = tuple(tail)
    LOW, MAGIC, LOG2E = f(low), f(magic), f(1.4426950408889634)
    HIGH, LOW2 = f(ln2[0]), f(ln2[1])
    ONE, BIAS, BITS = f(1.0), i(bias + 64), i(bits)
    DOWN = f(2.0 ** -64)  # 2**k as 2**(k + 64) * 2**-64: subnormal values of exp too
    rows = numba.prange if parallel else range

    def sigmoid_slope_loop(z, c, dy, sums, summed):
        """z = dy * sigmoid'(z + c) in place, for z, dy (k x m) and c (k,):
        e / (1 + e)**2 with e = exp(-|z + c|) (sigmoid' is even); and, if
        `summed`, sums[r] = the sum of row r of the result, while the row is
        in cache.  In place because LLVM's vectorized loop checks that what
        it writes overlaps nothing it reads: writing `out` while reading `z`,
        the same array, would run the loop one entry at a time, four times
        slower."""
        for r in rows(z.shape[0]):
            cr = c[r]
            for j in range(z.shape[1]):
                x = -abs(z[r, j] + cr)
                # e = exp(x), subnormal numbers included: x is held at `LOW`,
                # whose exp rounds to 0 (2**k of it still a normal number before
                # the last factor, 2**-64); no branch, so that the loop
                # vectorizes, and a nan stays nan (max keeps it)
                y = max(x, LOW)
                k = (y * LOG2E + MAGIC) - MAGIC  # round(y / log 2)
                t = (y - k * HIGH) - k * LOW2
                p = head
                for a in tail:
                    p = p * t + a
                e = (p * i((i(k) + BIAS) << BITS).view(f)) * DOWN
                q = ONE + e
                z[r, j] = dy[r, j] * (e / (q * q))
            if summed:
                sums[r] = _row_sum(z[r])

    # `contract` lets LLVM fuse a * b + c into one rounding; the other fastmath
    # flags would let it reassociate away the rounding to an integer above
    options = dict(nogil=True, parallel=parallel, error_model="numpy", fastmath={"contract"})
    try:
        # a new process reads the machine code numba wrote to disk (0.05 s)
        # rather than compiling it again (0.4 to 1 s)
        return numba.njit(cache=True, **options)(sigmoid_slope_loop)
    except RuntimeError:  # nowhere to write numba's cache
        return numba.njit(**options)(sigmoid_slope_loop)


# exp(r) for |r| <= log(2)/2, highest power first: Chebyshev interpolants of
# degree 11 and 6 (`mpmath.chebyfit(mpmath.exp, [-log(2)/2, log(2)/2], n)`),
# errors below 3.2e-18 and 2e-9, a thirtieth of float64's and float32's half
# ulp; each degree less is 6% less time for the pass (the polynomial is most
# of its work), and Taylor's series needs degree 13 and 7 for the same
_EXP = {np.dtype(np.float64): (2.5110037605963777e-08, 2.763263963904103e-07, 2.755724091857897e-06,
                               2.4801485482328494e-05, 0.00019841269890047113, 0.0013888888952314775,
                               0.008333333333319601, 0.0416666666664881, 0.1666666666666668,
                               0.5000000000000019, 1.0, 1.0),
        np.dtype(np.float32): (0.0013941108433972674, 0.008375126398153335, 0.04166635289677516,
                               0.16666415514653277, 0.5000000047117757, 1.000000037716214, 1.0)}


def _row_sum_python(a):
    """The sum of a row, compiled with `reassoc`: LLVM then adds in vector
    lanes, not one entry after another (the pass over 1024 x 256 in float64
    takes 0.03 ms more with the sums, not 0.15).  A function of its own, not
    inlined by numba, so that the flag is on its additions only."""
    total = a[0]
    for j in range(1, a.shape[0]):
        total += a[j]
    return total


_row_sum = None  # compiled with the first loop; a global, so that no loop's closure holds it


# ---------------------------------------------------------------- the twins

def sigmoid_slope(z, dy, out=None, column=None, sums=False):
    """`stable.sigmoid_slope`, one compiled pass over the arrays: dy *
    sigmoid'(z + column), and with `sums=True` its sums along rows too.
    `out` may be `z`, not `dy`.  In one pass where the generated modules
    call it, in place on a C-contiguous `z` (`out` is `z`); otherwise on a
    copy (so are a `dy` or `column` that is not C-contiguous or that
    broadcasts)."""
    if z.size <= SMALL or z.ndim != 2 or z.dtype not in _FLOATS or dy.dtype != z.dtype:
        return _numpy_slope(z, dy, out, column, sums)
    k, m = z.shape
    c = np.zeros(k, z.dtype) if column is None else _contiguous(column, (k, 1)).reshape(k)
    dy = _contiguous(dy, (k, m))
    into = np.empty((k, 1), z.dtype) if sums else _NO_SUMS[z.dtype]
    loop = _kernels.get((z.dtype, False)) or kernel(z.dtype)
    work = z if out is z and z.flags.c_contiguous else np.array(z, order="C")  # the loop works in place
    loop(work, c, dy, into.reshape(-1), bool(sums))
    if out is not None and out is not work:
        out[...] = work
        work = out
    return (work, into) if sums else work


def _contiguous(a, shape):
    """`a` itself if it has `shape` and is C-contiguous, else a C-contiguous
    copy broadcast to `shape`."""
    if a.shape == shape and a.flags.c_contiguous:
        return a
    return np.array(np.broadcast_to(a, shape), order="C")


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_NO_SUMS = {d: np.zeros((1, 1), d) for d in _FLOATS}
_numpy_slope = stable.sigmoid_slope
_TWINS = {"_sigmoid_slope": sigmoid_slope}
