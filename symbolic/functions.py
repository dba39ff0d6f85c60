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

from .expr import ONE, Expr, Var, apply, const, mul, power, scale, sub


@dataclass(frozen=True)
class Activation:
    name: str
    sympy: Callable  # t -> SymPy expression
    prime: Callable | None  # u: Expr -> Expr, the derivative at u
    formula: str  # for listings and reports
    kink: int | None = None  # where it is not differentiable: no counterexample there


def _sigmoid(t):
    return 1 / (1 + sympy.exp(-t))


ACTIVATIONS = {a.name: a for a in [
    # ---- activations
    Activation("sigmoid", _sigmoid,
               lambda u: mul(apply("sigmoid", u), sub(const(1), apply("sigmoid", u))),
               "1 / (1 + exp(-t))"),
    Activation("tanh", sympy.tanh, lambda u: sub(const(1), power(apply("tanh", u), 2)), "tanh(t)"),
    Activation("relu", lambda t: sympy.Max(0, t), lambda u: apply("step", u), "max(0, t)", kink=0),
    Activation("softplus", lambda t: sympy.log(1 + sympy.exp(t)), lambda u: apply("sigmoid", u),
               "log(1 + exp(t))"),
    Activation("identity", lambda t: t, None, "t"),
    # ---- elementary functions
    Activation("exp", sympy.exp, lambda u: apply("exp", u), "exp(t)"),
    Activation("log", sympy.log, lambda u: apply("recip", u), "log(t)"),
    Activation("recip", lambda t: 1 / t, lambda u: scale(-1, power(apply("recip", u), 2)), "1 / t"),
    Activation("step", sympy.Heaviside, None, "1 if t > 0 else 0", kink=0),
]}

# names a derivation file may use as `g = "<name>"` or call directly
CALLABLE = sorted(set(ACTIVATIONS) - {"recip"})

GENERIC = "elementwise"


# Functions whose derivative the derived forms write out by the rule above
# (exp' = exp, log' = 1/u); an activation's stays named (`sigmoid'(z)`), as
# in the notes, and the code generator reuses the forward value for it.
WRITTEN_OUT = {"exp", "log", "recip"}


def derivative(fn: str, u: Expr, order: int) -> Expr:
    """fn^(order)(u), written out by the table's rule for `WRITTEN_OUT`."""
    if order == 1 and fn in WRITTEN_OUT:
        return ACTIVATIONS[fn].prime(u)
    return apply(fn, u, order)


def prime(fn: str, u: Expr) -> Expr | None:
    """The derivative of table function `fn` at `u`, or None if `fn` is
    generic or has no usable derivative rule."""
    act = ACTIVATIONS.get(fn)
    return act.prime(u) if act is not None and act.prime is not None else None


# ---------------------------------------------------------------- SymPy side

_classes: dict = {}


def sympy_function(fn: str, order: int = 0):
    """An opaque SymPy function class for `fn^(order)`.  Its derivative is
    the table's rule (sigmoid' = sigmoid * (1 - sigmoid)) where there is
    one, else the class of order + 1, so `sympy.diff` keeps expressions
    polynomial in these atoms; `concretize` gives them their real values."""
    key = (fn, order)
    if key not in _classes:
        def fdiff(self, argindex=1):
            arg = self.args[0]
            if order == 0 and fn in ACTIVATIONS and ACTIVATIONS[fn].prime is not None:
                return scalar_form(ACTIVATIONS[fn].prime(Var("%u", (ONE, ONE))), arg)
            return sympy_function(fn, order + 1)(arg)
        _classes[key] = type(fn + "'" * order, (sympy.Function,),
                             {"fdiff": fdiff, "is_real": True, "gradproof": key})
    return _classes[key]


def sympy_apply(fn: str, order: int, arg):
    """fn^(order)(arg) in opaque atoms: a table function's derivatives are
    written by its rule in terms of the function itself."""
    act = ACTIVATIONS.get(fn)
    if order == 0 or act is None or act.prime is None:
        return sympy_function(fn, order)(arg)
    t = sympy.Dummy("t", real=True)
    d = scalar_form(act.prime(Var("%u", (ONE, ONE))), t)
    return sympy.diff(d, t, order - 1).subs(t, arg)


def scalar_form(e: Expr, arg):
    """An elementwise expression in the placeholder `%u`, as a SymPy scalar at `arg`."""
    from . import expr as E
    t = type(e)
    if t is E.Var:
        return arg
    if t is E.Const:
        return e.value
    if t is E.Broadcast:
        return scalar_form(e.a, arg)
    if t is E.Add:
        return scalar_form(e.a, arg) + scalar_form(e.b, arg)
    if t is E.Mul:
        return scalar_form(e.a, arg) * scalar_form(e.b, arg)
    if t is E.Scale:
        return e.c * scalar_form(e.a, arg)
    if t is E.Pow:
        return scalar_form(e.a, arg) ** e.p
    if t is E.Apply:
        return sympy_apply(e.fn, e.order, scalar_form(e.a, arg))
    raise TypeError(f"not elementwise: {t.__name__}")


def real_value(fn: str, order: int, arg, poly):
    """fn^(order)(arg) as a real SymPy expression: the table's definition,
    or for a generic function the polynomial `poly(order, t)`."""
    t = sympy.Dummy("t", real=True)
    if fn in ACTIVATIONS:
        return sympy.diff(ACTIVATIONS[fn].sympy(t), t, order).subs(t, arg)
    return poly(order, t).subs(t, arg)


def concretize(x, poly):
    """`x` with every opaque function replaced by its real value (inner
    applications first, so nested ones are replaced too)."""
    def opaque(n):
        return isinstance(n, sympy.Function) and hasattr(type(n), "gradproof")

    while True:
        found = [n for n in sympy.preorder_traversal(x) if opaque(n)]
        if not found:
            return x
        innermost = {n for n in found if not any(opaque(m) for m in n.args[0].atoms(sympy.Function))}
        x = x.xreplace({n: real_value(*type(n).gradproof, n.args[0], poly) for n in innermost})
