"""Generated code checked against the proved expressions before anyone gets it.

`confirm` runs a generated module's `forward` and `gradients` at random
points and compares them with the forward definitions and the closed forms
that `symbolic` proved, evaluated here straight from the expressions: no
rule-table rewriting, no shared subexpressions, no buffers reused in place,
and each function's values from its SymPy definition in
`symbolic.functions`, not from `numeric.stable`.  A module that disagrees,
fails, or cannot be checked at any point is refused with a
`GenerationError`.
"""
from __future__ import annotations

import itertools
import math
import types
from functools import cache

import numpy as np
import sympy

from symbolic import expr as E
from symbolic import windows as W
from symbolic.functions import ACTIVATIONS

from .quote import GenerationError

# Where the values of the two points come from: one with both signs, one
# positive (for `log` and other functions defined only there).
RANGES = [(-1.5, 1.5), (0.25, 1.5)]
TOLERANCE = 1e-9  # relative to the largest entry compared, and at least to 1


def confirm(d, grads, source: str) -> None:
    """Raise `GenerationError` unless the module text `source` computes
    `d`'s output and `grads.closed` at every point where those are finite,
    and there is at least one such point."""
    module = types.ModuleType("gradproof_unconfirmed")
    try:
        exec(compile(source, "<generated>", "exec"), module.__dict__)  # text printed by `module_source`
    except Exception as err:
        raise GenerationError(f"{d.path}: the generated module does not load ({type(err).__name__}: {err})") \
            from None
    rng = np.random.default_rng(20240611)
    sizes = _sizes(d)
    checked = 0
    for low, high in RANGES:
        args = {n: rng.uniform(low, high, _concrete(v.shape, sizes)) for n, v in d.inputs.items()}
        if d.upstream is not None:
            args[d.upstream.name] = rng.uniform(low, high, _concrete(d.upstream.shape, sizes))
        with np.errstate(all="ignore"):
            env = dict(args)
            for name, e in d.forward.items():
                env[name] = evaluate(e, env, sizes)
            want = {None: env[d.output.name]}  # None: the output; an input's name: its gradient
            want.update({n: evaluate(e, env, sizes) for n, e in grads.closed.items()})
            if not all(np.all(np.isfinite(w)) for w in want.values()):
                continue
            got = _run(d, module, args)
        for what, w in want.items():
            g = got[what]
            shown = "the output" if what is None else f"dJ/d{what}"
            at = f"at a random point (sizes {', '.join(f'{k}={v}' for k, v in sizes.items()) or 'fixed'})"
            if g.shape != w.shape:
                raise GenerationError(f"{d.path}: the generated NumPy code for {shown} disagrees with the proved "
                                      f"closed form {at}: it has shape {g.shape}, the closed form "
                                      f"{w.shape}; it is not handed out")
            scale = max(1.0, float(np.abs(w).max()))
            if not np.allclose(g, w, rtol=TOLERANCE, atol=TOLERANCE * scale):
                raise GenerationError(f"{d.path}: the generated NumPy code for {shown} disagrees with the proved "
                                      f"closed form {at}: by up to {float(np.max(np.abs(g - w))):.3g}, where "
                                      f"its entries are up to {float(np.abs(w).max()):.3g}; it is not handed out")
        checked += 1
    if not checked:
        raise GenerationError(f"{d.path}: the generated NumPy code could not be checked: at every point "
                              "tried, the output or a gradient is not finite; it is not handed out")


def _sizes(d) -> dict:
    """Distinct sizes from 2 up, so that a transpose shows: the first
    order of them at which every convolution's length is positive."""
    dims = list(d.dims.values())
    lengths = W.size_conditions(list(d.forward.values()))
    for order in itertools.islice(itertools.permutations(range(2, 2 + len(dims))), 500):
        sizes = dict(zip(dims, order))
        if W.fits(lengths, sizes):
            return sizes
    return {dim: 2 + i for i, dim in enumerate(dims)}


def _run(d, module, args) -> dict:
    try:
        out = {None: np.asarray(module.forward(**{n: args[n].copy() for n in d.inputs}))}
        grads = module.gradients(**{n: a.copy() for n, a in args.items()})
        out.update({n: np.asarray(grads[n]) for n in d.inputs})
    except Exception as err:
        raise GenerationError(f"{d.path}: the generated NumPy code fails at a random point "
                              f"({type(err).__name__}: {err}); it is not handed out") from None
    return out


def _concrete(shape, sizes) -> tuple:
    return tuple(int(s) if s.is_Integer else sizes[s] if s in sizes else int(s.subs(sizes)) for s in shape)


def evaluate(e: E.Expr, env: dict, sizes: dict) -> np.ndarray:
    """The value of `e`, node by node, with the values of `env` by name."""
    k = type(e)
    if k is E.Var:
        if e.role == "dim":
            return np.full((1, 1), float(sizes[sympy.Symbol(e.name, integer=True, positive=True)]))
        if e.role == "eye":
            n = e.shape[0]
            return np.eye(int(sizes[n]) if isinstance(n, sympy.Symbol) else int(n))
        return env[e.name]
    if k is E.Const:
        return np.full((1, 1), float(e.value))
    kids = [evaluate(c, env, sizes) for c in e.children()]
    if k is E.MatMul:
        return kids[0] @ kids[1]
    if k is E.Add:
        return kids[0] + kids[1]
    if k is E.Mul:
        return kids[0] * kids[1]
    if k is E.Scale:
        return float(e.c) * kids[0]
    if k is E.Transpose:
        return kids[0].T
    if k is E.Pow:
        return kids[0] ** int(e.p)
    if k is E.Apply:
        return scalar(e.fn, e.order)(kids[0])
    if k is E.MatFn:  # inv, det, logdet: NumPy's own, not the generated code's helpers
        if e.fn == "inv":
            return np.linalg.inv(kids[0])
        d = np.linalg.det(kids[0])
        return np.array([[d if e.fn == "det" else np.log(d) if d > 0 else np.nan]])
    if k is E.Broadcast:
        return np.broadcast_to(kids[0], _concrete(e.shape, sizes)).copy()
    if k is E.Sum:
        if e.axis is None:
            return kids[0].sum().reshape(1, 1)
        return kids[0].sum(axis=e.axis, keepdims=True)
    if k is W.Conv:
        a, b = kids[0][:, 0], kids[1][:, 0]
        if e.mode == "valid":
            return np.array([[a[i:i + len(b)] @ b] for i in range(len(a) - len(b) + 1)])
        return np.array([[sum(a[i] * b[t - i] for i in range(len(a)) if 0 <= t - i < len(b))]
                         for t in range(len(a) + len(b) - 1)])
    if k is W.Flip:
        return kids[0][::-1].copy()
    if k in (W.Max, W.MaxMask):
        a = kids[0]
        top = a.max(axis=e.axis, keepdims=True) if e.axis is not None else a.max().reshape(1, 1)
        if k is W.Max:
            return top
        mask = (a == top).astype(float)
        if (mask.sum(axis=e.axis) > 1).any():
            return np.full(a.shape, math.nan)  # a tie: no derivative there, not a point to check
        return mask
    raise NotImplementedError(f"no evaluation of `{k.__name__}`")


def _heaviside(t, *_):
    return 1.0 if t > 0 else 0.0 if t < 0 else math.nan  # no derivative at 0: not a point to check


def _dirac(t, *_):
    return 0.0 if t != 0 else math.nan


@cache
def scalar(fn: str, order: int):
    """fn^(order), elementwise on arrays, from the SymPy definition in
    `symbolic.functions.ACTIVATIONS`; `nan` where it has no real value."""
    t = sympy.Symbol("t", real=True)
    f = sympy.lambdify(t, sympy.diff(ACTIVATIONS[fn].sympy(t), t, order),
                       modules=[{"Heaviside": _heaviside, "DiracDelta": _dirac}, "math"])

    def safe(x):
        try:
            return float(f(float(x)))
        except (ValueError, OverflowError, ZeroDivisionError, TypeError):
            return math.nan
    return np.vectorize(safe, otypes=[float])
