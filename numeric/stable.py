"""Numerically stable NumPy spellings of the scalar functions, one table.

Each function takes a float32 or float64 array `z` and an optional `out`
(which may be `z` itself: every helper is safe in place) and keeps the
dtype.  None overflows, returns `nan` or `inf`, or warns for finite input
where the mathematical value is finite; in particular for |z| up to 1e4 in
float32 and float64.

The derivative of a function comes from `symbolic`'s rule table
(`sigmoid' = sigmoid * (1 - sigmoid)`), so the generated code reuses the
forward value; a function the rule table leaves without a derivative
names it here.  The generated modules copy the source of the helpers they
use, so an exported module needs nothing but NumPy.

Besides the table, two passes over a batch that NumPy spells slower than
it needs at large sizes: a column added along the rows (`with_column`)
and a sum along rows (`sum_along`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

# ---------------------------------------------------------------- activations

# An error state silencing an overflow costs about 1.5 us a call, a pass
# that caps the argument about 0.1 ns an entry: below this many entries
# the helpers cap, above it they let the overflow happen, silenced.
_QUIET_ABOVE = 4096

# Below it, where a call costs more than the work: the constants of the
# slope helper as 0-d arrays of the argument's dtype, which NumPy takes
# about 0.2 us faster than a Python float (cap, 1, 1/2; the cap is the
# largest argument whose cosh the dtype holds: the slope there is 0 to its
# precision).
_SMALL = {np.dtype(np.float64): tuple(np.array(c, np.float64) for c in (710.0, 1.0, 0.5)),
          np.dtype(np.float32): tuple(np.array(c, np.float32) for c in (89.0, 1.0, 0.5))}

def sigmoid(z, out=None):
    """1 / (1 + exp(-z)), never overflowing.

    float64: where exp(-z) overflows (z below -709) it is inf and the
    result 0, its value to float64's precision, with the overflow silenced
    (an error state costs no pass over the array; a cap would, cheaper
    below `_QUIET_ABOVE` entries).  float32:
    0.5 + 0.5 * tanh(z / 2), twice as fast in NumPy and within 6e-8 of the
    exact value (so, below z = -9, with less than float32's relative
    precision: use `log_sigmoid` for logs)."""
    if z.dtype == np.float32:
        out = np.multiply(z, 0.5, out=out)
        np.tanh(out, out=out)
        out *= 0.5
        out += 0.5
        return out
    out = np.negative(z, out=out)
    if out.size > _QUIET_ABOVE:
        with np.errstate(over="ignore"):
            np.exp(out, out=out)
    else:
        np.minimum(out, 709.0, out=out)
        np.exp(out, out=out)
    out += 1.0
    return np.reciprocal(out, out=out)


def sigmoid_slope(z, dy, out=None, column=None, sums=False):
    """dy * sigmoid'(z), as dy / (2 + 2 cosh(z)); of z + column, a column
    broadcast along the rows (the bias of a layer), if `column` is given;
    with `sums=True`, (that, its sums along rows) for a 2-D `z`.

    Four passes over z, against seven from z by way of s = sigmoid(z) and
    s * (1 - s) * dy, and accurate to the last digits for every z (s * (1 - s)
    loses them where s is near 1).  Where cosh(z) overflows (|z| above 710)
    the slope is 0, its value to the dtype's precision, with the overflow
    silenced (below `_QUIET_ABOVE` entries, |z| is capped at 710, or at
    89 in float32).  `out` may be `z`, not `dy`.  (The bias and the row
    sums are here, not the caller's, so that a compiled twin can do all of
    it in one pass.)"""
    if column is not None:
        if out is z:
            with_column(np.add, z, column)
        else:
            z = out = np.add(z, column, out=out)
    if z.size > _QUIET_ABOVE:
        with np.errstate(over="ignore"):
            out = np.cosh(z, out=out)
        out += 1.0
        np.divide(dy, out, out=out)
        out *= 0.5
    else:
        cap, one, half = _SMALL[z.dtype]
        out = np.abs(z, out=out)
        np.minimum(out, cap, out=out)
        np.cosh(out, out=out)
        out += one
        np.divide(dy, out, out=out)
        out *= half
    return (out, sum_along(out, 1)) if sums else out


def tanh(z, out=None):
    return np.tanh(z, out=out)


def relu(z, out=None):
    return np.maximum(z, 0.0, out=out)


def softplus(z, out=None):
    """log(1 + exp(z)) as max(z, 0) + log1p(exp(-|z|))."""
    positive = np.maximum(z, 0.0)
    out = np.abs(z, out=out)
    np.negative(out, out=out)
    np.exp(out, out=out)
    np.log1p(out, out=out)
    out += positive
    return out


def identity(z, out=None):
    if out is None:
        return z.copy()
    np.copyto(out, z)
    return out


def step(z, out=None):
    """1 where z > 0, else 0 (the derivative of relu)."""
    positive = np.greater(z, 0.0)
    if out is None:
        return positive.astype(z.dtype)
    np.copyto(out, positive)
    return out


def silu(z, out=None):
    """z * sigmoid(z), sigmoid as where(z >= 0, 1, e) / (1 + e) with
    e = exp(-|z|): no overflow, and relative precision where it is tiny."""
    e = np.abs(z)
    np.negative(e, out=e)
    np.exp(e, out=e)
    s = np.where(z >= 0, np.ones_like(e), e)
    e += 1.0
    s /= e
    return np.multiply(z, s, out=out)


def leaky_relu(z, out=None):
    """z where z > 0, else z / 100: max(z, 0) + min(z, 0) / 100, one rounding."""
    t = np.minimum(z, 0.0)
    t *= 0.01
    out = np.maximum(z, 0.0, out=out)
    out += t
    return out


# ---------------------------------------------------------------- elementary

def sqrt(z, out=None):
    return np.sqrt(z, out=out)


def exp(z, out=None):
    return np.exp(z, out=out)


def log(z, out=None):
    return np.log(z, out=out)


def recip(z, out=None):
    return np.reciprocal(z, out=out)


def sin(z, out=None):
    return np.sin(z, out=out)


def cos(z, out=None):
    return np.cos(z, out=out)


def normcdf(z, out=None):
    """The standard normal distribution function, erfc(-z / sqrt(2)) / 2,
    with erfc from a Chebyshev fit (28 terms; relative error about 1e-16
    for |z| < 8, 2e-13 far in the tails): NumPy has no erf."""
    fit = (-1.3026537197817094, 6.4196979235649026e-1, 1.9476473204185836e-2, -9.561514786808631e-3,
           -9.46595344482036e-4, 3.66839497852761e-4, 4.2523324806907e-5, -2.0278578112534e-5,
           -1.624290004647e-6, 1.303655835580e-6, 1.5626441722e-8, -8.5238095915e-8,
           6.529054439e-9, 5.059343495e-9, -9.91364156e-10, -2.27365122e-10,
           9.6467911e-11, 2.394038e-12, -6.886027e-12, 8.94487e-13,
           3.13092e-13, -1.12708e-13, 3.81e-16, 7.106e-15,
           -1.523e-15, -9.4e-17, 1.21e-16, -2.8e-17)
    w = np.asarray(z, dtype=np.float64)
    x = np.abs(w) * 0.7071067811865476
    t = 2.0 / (2.0 + x)
    ty = 4.0 * t - 2.0
    d, dd = np.zeros_like(x), np.zeros_like(x)
    for c in fit[:0:-1]:
        d, dd = ty * d - dd + c, d
    # x**2 = z**2 / 2 as square + error exactly (Dekker), so that exp(-x**2) keeps its digits in the tails
    with np.errstate(over="ignore", invalid="ignore"):
        split = 134217729.0 * w
        hi = split - (split - w)
        square = w * w
        error = np.where(np.isfinite(split), ((hi * hi - square) + 2.0 * hi * (w - hi)) + (w - hi) ** 2, 0.0)
    with np.errstate(under="ignore"):
        tail = 0.5 * t * np.exp(-0.5 * square) * np.exp(0.5 * (fit[0] + ty * d) - dd - 0.5 * error)  # erfc(x) / 2
    value = np.where(np.asarray(z) < 0, tail, 1.0 - tail)
    if out is None:
        return value.astype(np.result_type(z, np.float32), copy=False)
    np.copyto(out, value, casting="unsafe")
    return out


def normpdf(z, out=None):
    """The standard normal density, exp(-z**2 / 2) / sqrt(2 pi)."""
    out = np.square(z, out=out)
    out *= -0.5
    np.exp(out, out=out)
    out *= 0.3989422804014327
    return out


def gelu(z, out=None):
    """z * normcdf(z)."""
    cdf = normcdf(z)  # not into `out`, which may be `z` itself
    return np.multiply(z, cdf, out=out)


def zero(z, out=None):
    """0 everywhere: the derivative of a piecewise-constant function."""
    if out is None:
        return np.zeros_like(z)
    out.fill(0.0)
    return out


# ---------------------------------------------------------------- for losses

def log_sigmoid(z, out=None):
    """log(sigmoid(z)) = -softplus(-z), as min(z, 0) - log1p(exp(-|z|))."""
    negative = np.minimum(z, 0.0)
    out = np.abs(z, out=out)
    np.negative(out, out=out)
    np.exp(out, out=out)
    np.log1p(out, out=out)
    np.subtract(negative, out, out=out)
    return out


def log_softmax(z, axis=0):
    """z - log(sum(exp(z), axis)), shifted by the largest entry first."""
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def softmax(z, axis=0):
    """exp(z) / sum(exp(z), axis), shifted by the largest entry first."""
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


# ---------------------------------------------------------------- passes over a batch
# Not functions of the table: spellings of an elementwise update and of a
# sum that NumPy computes in more time than it needs at large sizes.  Below
# `_QUIET_ABOVE` entries each is NumPy's own spelling, one test away.

def with_column(ufunc, t, c):
    """t = ufunc(t, c) in place, for a column `c` (k x 1) broadcast along the
    rows of `t` (k x m): the bias of a layer over a batch, `Z += b`.

    NumPy copies `c`, broadcast, into a buffer of 8192 entries before it
    adds (a pass as costly as adding a whole array: 150 us for 2 MB in
    float64, against 55 for `Z += 1`); with the buffer one row long (m
    entries, a multiple of 16, 256 to 8192) it reads `c` as it is (70 to 90
    us, the more rows the more)."""
    if t.size > _QUIET_ABOVE and 256 <= t.shape[1] < 8192 and t.shape[1] % 16 == 0:
        size = np.setbufsize(t.shape[1])
        try:
            return ufunc(t, c, t)
        finally:
            np.setbufsize(size)
    return ufunc(t, c, t)  # `out` by position: a keyword costs more than the work at small sizes


def sum_along(a, axis):
    """a.sum(axis, keepdims=True).  Along rows (axis 1), above
    `_QUIET_ABOVE` entries, as a product with a column of ones: BLAS reads
    `a` once at memory speed, where NumPy's pairwise sum along each row
    takes 1.5 to 4 times as long (45 us against 70 to 120 for 2 MB in
    float64, 15 against 60 to 120 in float32)."""
    if a.size > _QUIET_ABOVE and axis == 1:
        return a @ np.ones((a.shape[1], 1), a.dtype)
    return a.sum(axis, keepdims=True)


# ---------------------------------------------------------------- functions of a square matrix
# `inv`, `det` and `logdet` of `symbolic.linalg`, each of a 2-D array, the
# result 2-D (det and logdet 1 x 1).  The determinant comes from the LU
# factors (`slogdet`): no overflow where the product of the pivots would.

def inv(a):
    """The inverse of a square matrix, by `solve` against the identity (an
    LU factorisation): `LinAlgError` where it is singular."""
    return np.linalg.solve(a, np.eye(a.shape[0], dtype=a.dtype))


def det(a):
    """det(a), 1 x 1, from `slogdet`."""
    sign, log = np.linalg.slogdet(a)
    return (sign * np.exp(log)).astype(a.dtype).reshape(1, 1)


def logdet(a):
    """log(det(a)), 1 x 1, from `slogdet`: `nan` where det(a) <= 0, as `log` there."""
    sign, log = np.linalg.slogdet(a)
    return np.where(sign > 0, log, np.nan).astype(a.dtype).reshape(1, 1)


MATRIX = {"inv": inv, "det": det, "logdet": logdet}


# ---------------------------------------------------------------- windows
# `symbolic.windows`: 1-D convolutions of columns and the max along an axis.

def conv_valid(x, w):
    """conv1d(x, w): the valid cross-correlation of the column x (n x 1) with
    the kernel w (k x 1), y[i] = sum_j x[i + j] w[j], as an (n - k + 1) x 1 column."""
    return np.correlate(x[:, 0], w[:, 0], mode="valid")[:, None]


def convolve(a, b):
    """The full convolution of two columns, c[t] = sum over i + j = t of a[i] b[j]."""
    return np.convolve(a[:, 0], b[:, 0])[:, None]


def flip(a):
    """A column upside down, as a new array."""
    return a[::-1].copy()


def max_along(a, axis):
    """a.max(axis, keepdims=True); axis None: the largest entry, 1 x 1."""
    if axis is None:
        return a.max().reshape(1, 1)
    return a.max(axis, keepdims=True)


def max_mask(a, axis):
    """1 at the first arg max along `axis` (None: of all entries), 0 elsewhere:
    where max(a, axis) takes its value, the gradient of a max goes."""
    out = np.zeros_like(a)
    if axis is None:
        out.flat[np.argmax(a)] = 1
    elif axis == 0:
        out[np.argmax(a, axis=0), np.arange(a.shape[1])] = 1
    else:
        out[np.arange(a.shape[0]), np.argmax(a, axis=1)] = 1
    return out


# ---------------------------------------------------------------- the table

RULE = "the rule table"  # the derivative comes from `symbolic.functions.prime`


@dataclass(frozen=True)
class Spelling:
    """How a scalar function of `symbolic.ACTIVATIONS` is computed in NumPy."""
    name: str
    numpy: Callable  # z, out=None -> array, stable
    derivative: Callable | str  # RULE, or a helper for a function the rule table leaves open
    # z, dy, out=None -> dy * fn'(z) from z, in fewer passes than the rule
    # table's form; used for `dy * fn'(z)` where fn(z) itself is not needed
    slope: Callable | None = None


FUNCTIONS = {s.name: s for s in [
    # ---- activations
    Spelling("sigmoid", sigmoid, RULE, sigmoid_slope),  # sigmoid * (1 - sigmoid), or from z
    Spelling("tanh", tanh, RULE),           # 1 - tanh**2
    Spelling("relu", relu, RULE),           # step
    Spelling("softplus", softplus, RULE),   # sigmoid
    Spelling("identity", identity, RULE),   # 1 (the IR drops identity before printing)
    # ---- elementary functions
    Spelling("exp", exp, RULE),
    Spelling("log", log, RULE),             # recip
    Spelling("recip", recip, RULE),         # -recip**2
    Spelling("step", step, zero),           # 0 away from the jump
    Spelling("silu", silu, RULE),           # sigmoid + u * sigmoid * (1 - sigmoid)
    Spelling("leaky_relu", leaky_relu, RULE),  # 1/100 + 99/100 * step
    Spelling("sqrt", sqrt, RULE),           # 1 / (2 * sqrt)
    Spelling("gelu", gelu, RULE),           # normcdf + u * normpdf
    Spelling("sin", sin, RULE),             # cos
    Spelling("cos", cos, RULE),             # -sin
    Spelling("normcdf", normcdf, RULE),     # normpdf
    Spelling("normpdf", normpdf, RULE),     # -u * normpdf
]}
