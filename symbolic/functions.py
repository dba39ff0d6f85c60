"""Scalar functions applied elementwise: one table, one line a function.

Each entry gives the function as SymPy (for exact, explicit-size checks)
and its derivative as a matrix expression in its argument `u` (for the
derived forms and the index-form proofs).  A generic function declared in
a derivation file (`g = "elementwise"`) has no entry: it stays opaque and
its derivatives are `g'`, `g''`, ...
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import sympy

from .expr import Expr, apply, const, mul, power, scale, sub


@dataclass(frozen=True)
class Activation:
    name: str
    sympy: Callable  # t -> SymPy expression
    prime: Callable | None  # u: Expr -> Expr, the derivative at u
    formula: str  # for listings and reports


def _sigmoid(t):
    return 1 / (1 + sympy.exp(-t))


ACTIVATIONS = {a.name: a for a in [
    # ---- activations
    Activation("sigmoid", _sigmoid,
               lambda u: mul(apply("sigmoid", u), sub(const(1), apply("sigmoid", u))),
               "1 / (1 + exp(-t))"),
    Activation("tanh", sympy.tanh, lambda u: sub(const(1), power(apply("tanh", u), 2)), "tanh(t)"),
    Activation("relu", lambda t: sympy.Max(0, t), lambda u: apply("step", u), "max(0, t)"),
    Activation("softplus", lambda t: sympy.log(1 + sympy.exp(t)), lambda u: apply("sigmoid", u),
               "log(1 + exp(t))"),
    Activation("identity", lambda t: t, None, "t"),
    # ---- elementary functions
    Activation("exp", sympy.exp, lambda u: apply("exp", u), "exp(t)"),
    Activation("log", sympy.log, lambda u: apply("recip", u), "log(t)"),
    Activation("recip", lambda t: 1 / t, lambda u: scale(-1, power(apply("recip", u), 2)), "1 / t"),
    Activation("step", sympy.Heaviside, None, "1 if t > 0 else 0"),
]}

# names a derivation file may use as `g = "<name>"` or call directly
CALLABLE = sorted(set(ACTIVATIONS) - {"recip"})

GENERIC = "elementwise"


def prime(fn: str, u: Expr) -> Expr | None:
    """The derivative of table function `fn` at `u`, or None if `fn` is
    generic or has no usable derivative rule."""
    act = ACTIVATIONS.get(fn)
    return act.prime(u) if act is not None and act.prime is not None else None


# ---------------------------------------------------------------- SymPy side

_generic_classes: dict = {}


def generic_function(name: str, order: int = 0):
    """A SymPy function class for the `order`-th derivative of a generic
    `name`; differentiating it gives the class of order + 1."""
    key = (name, order)
    if key not in _generic_classes:
        def fdiff(self, argindex=1):
            return generic_function(name, order + 1)(self.args[0])
        _generic_classes[key] = type(name + "'" * order, (sympy.Function,),
                                     {"fdiff": fdiff, "is_real": True})
    return _generic_classes[key]


def sympy_apply(fn: str, order: int, arg, generic: bool):
    """`fn^(order)(arg)` as a SymPy scalar expression."""
    if generic:
        return generic_function(fn, order)(arg)
    act = ACTIVATIONS[fn]
    if order == 0:
        return act.sympy(arg)
    t = sympy.Dummy("t", real=True)
    return sympy.diff(act.sympy(t), t, order).subs(t, arg)
