"""Scalar functions applied elementwise: one table, one line a function.

Each entry gives the function as SymPy (for exact, explicit-size checks),
its derivative as a matrix expression in its argument `u` (for the derived
forms and the index-form proofs), its kink, domain and sign, and its LaTeX
spelling, to print (`texexpr`) and to read (`texparse`).  Its stable NumPy
code is the one thing kept apart, in `numeric.stable.FUNCTIONS` (symbolic
imports no NumPy), and `tests/test_function_tables.py` fails when a row
lacks it or any other spelling.  A generic function declared in
a derivation file (`g = "elementwise"`) has no entry: it stays opaque and
its derivatives are `g'`, `g''`, ...
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import sympy

from . import expr as E
from .expr import ONE, Expr, Var, add, apply, const, mul, power, scale, sub


@dataclass(frozen=True)
class Activation:
    name: str
    sympy: Callable  # t -> SymPy expression
    prime: Callable | None  # u: Expr -> Expr, the derivative at u
    formula: str  # for listings and reports
    kink: int | None = None  # where it is not differentiable: no counterexample there
    domain: str | None = None  # "nonzero" or "positive": where it is defined (None: everywhere)
    sign: str | None = None  # "+" positive everywhere, "0+" nonnegative, None: either sign
    # LaTeX: the head written before `(argument)`, or a template where `#` stands for the argument
    latex: str = ""
    reads: tuple = ()  # LaTeX commands that read as this function in the notes (`\sigma(z)`)
    # (c, s, k): f(u) = c + s f(-u) + k u for every u, so that f(-u) and f(u) meet in the index form
    reflect: tuple | None = None


def _sigmoid(t):
    return 1 / (1 + sympy.exp(-t))


def _normcdf(t):
    # (1 + erf(t / sqrt(2))) / 2, written (and kept: SymPy would make it 2 - erfc) without its cancellation
    return sympy.erfc(-t / sympy.sqrt(2), evaluate=False) / 2


ACTIVATIONS = {a.name: a for a in [
    # ---- activations
    Activation("sigmoid", _sigmoid,
               lambda u: mul(apply("sigmoid", u), sub(const(1), apply("sigmoid", u))),
               "1 / (1 + exp(-t))", sign="+", latex=r"\sigma", reads=("sigma",), reflect=(1, -1, 0)),
    Activation("tanh", sympy.tanh, lambda u: sub(const(1), power(apply("tanh", u), 2)), "tanh(t)",
               latex=r"\tanh", reads=("tanh",), reflect=(0, -1, 0)),
    Activation("relu", lambda t: sympy.Max(0, t), lambda u: apply("step", u), "max(0, t)", kink=0, sign="0+",
               latex=r"\operatorname{ReLU}"),
    Activation("softplus", lambda t: sympy.log(1 + sympy.exp(t)), lambda u: apply("sigmoid", u),
               "log(1 + exp(t))", sign="+", latex=r"\operatorname{softplus}", reflect=(0, 1, 1)),
    Activation("identity", lambda t: t, None, "t", latex=r"\operatorname{id}"),
    Activation("silu", lambda t: t / (1 + sympy.exp(-t)),
               lambda u: add(apply("sigmoid", u),
                             mul(u, mul(apply("sigmoid", u), sub(const(1), apply("sigmoid", u))))),
               "t / (1 + exp(-t))", latex=r"\operatorname{SiLU}", reflect=(0, 1, 1)),
    Activation("leaky_relu", lambda t: sympy.Piecewise((t, t > 0), (t / 100, True)),
               lambda u: add(const(sympy.Rational(1, 100)), scale(sympy.Rational(99, 100), apply("step", u))),
               "t if t > 0 else t / 100", kink=0, latex=r"\operatorname{LeakyReLU}"),
    Activation("gelu", lambda t: t * _normcdf(t),
               lambda u: add(apply("normcdf", u), mul(u, apply("normpdf", u))), "t * normcdf(t)",
               latex=r"\operatorname{GELU}", reflect=(0, 1, 1)),
    # ---- elementary functions
    Activation("exp", sympy.exp, lambda u: apply("exp", u), "exp(t)", sign="+", latex=r"\exp", reads=("exp",)),
    Activation("sin", sympy.sin, lambda u: apply("cos", u), "sin(t)", latex=r"\sin", reads=("sin",),
               reflect=(0, -1, 0)),
    Activation("cos", sympy.cos, lambda u: scale(-1, apply("sin", u)), "cos(t)", latex=r"\cos", reads=("cos",),
               reflect=(0, 1, 0)),
    # the standard normal's distribution function and density (GELU's parts)
    Activation("normcdf", _normcdf, lambda u: apply("normpdf", u), "erfc(-t / sqrt(2)) / 2", sign="+",
               latex=r"\Phi", reflect=(1, -1, 0)),
    Activation("normpdf", lambda t: sympy.exp(-t ** 2 / 2) / sympy.sqrt(2 * sympy.pi),
               lambda u: scale(-1, mul(u, apply("normpdf", u))), "exp(-t**2 / 2) / sqrt(2 pi)", sign="+",
               latex=r"\varphi", reflect=(0, 1, 0)),
    # sqrt(0) = 0, but its derivative there is not finite: where it is used, u > 0
    Activation("sqrt", sympy.sqrt, lambda u: scale(sympy.Rational(1, 2), apply("recip", apply("sqrt", u))),
               "sqrt(t)", domain="positive", sign="+", latex=r"\sqrt{#}"),
    Activation("log", sympy.log, lambda u: apply("recip", u), "log(t)", domain="positive",
               latex=r"\log", reads=("log",)),
    Activation("recip", lambda t: 1 / t, lambda u: scale(-1, power(apply("recip", u), 2)), "1 / t",
               domain="nonzero", latex=r"\frac{1}{#}"),
    # step(0) = 0, as in `numeric`: one definition everywhere
    Activation("step", lambda t: sympy.Heaviside(t, 0), None, "1 if t > 0 else 0", kink=0, sign="0+",
               latex=r"\operatorname{step}"),
]}

# LaTeX commands the notes may call a table function by: `\sigma(z)`, `\tanh(z)`
LATEX_CALLS = {command: a.name for a in ACTIVATIONS.values() for command in a.reads}

# names a derivation file may use as `g = "<name>"` or call directly
CALLABLE = sorted(set(ACTIVATIONS) - {"recip"})

GENERIC = "elementwise"

# What a closed form may call besides them: operations `parse` writes with
# the table's functions (or, for inv/det/logdet and the windows, with nodes
# of their own), by name -> arguments and a usage for messages.
REDUCTIONS = ("mean", "var", "softmax", "log_softmax", "logsumexp")
PIECEWISE = {"abs": 1, "sign": 1, "maximum": 2, "minimum": 2, "clip": 3}  # name -> arguments
PIECEWISE_USAGE = {"abs": "abs(z)", "sign": "sign(z)", "maximum": "maximum(z, 0)", "minimum": "minimum(z, Y)",
                   "clip": "clip(z, -1, 1)"}
LINEAR = {"eye": (1, "eye(n)"), "trace": (1, "trace(A)"), "diag": (1, "diag(v)"), "outer": (2, "outer(a, b)"),
          "matrix_power": (2, "matrix_power(A, 3)"),
          "inv": (1, "inv(A)"), "det": (1, "det(A)"), "logdet": (1, "logdet(A)")}  # name -> (arguments, usage)
WINDOWS = {"conv1d": (2, "conv1d(x, w)"), "convolve": (2, "convolve(dy, w)"),
           "conv1d_full": (2, "conv1d_full(dy, flip(w))"), "flip": (1, "flip(w)"),
           "max": (1, "max(Z, axis=0)"), "max_mask": (1, "max_mask(Z, axis=0)")}  # name -> (arguments, usage)
LIBRARY = frozenset({"sum", *REDUCTIONS, *PIECEWISE, *LINEAR, *WINDOWS})


# Functions whose derivative the derived forms write out by the rule above
# (exp' = exp, log' = 1/u); an activation's stays named (`sigmoid'(z)`), as
# in the notes, and the code generator reuses the forward value for it.
WRITTEN_OUT = {"exp", "log", "recip", "sqrt", "sin", "cos"}


def derivative(fn: str, u: Expr, order: int) -> Expr:
    """fn^(order)(u), written out by the table's rule for `WRITTEN_OUT`."""
    if order == 1 and fn in WRITTEN_OUT:
        return ACTIVATIONS[fn].prime(u)
    return apply(fn, u, order)


def domain(fn: str) -> str | None:
    """Where `fn` is defined: "nonzero", "positive", or None (everywhere;
    a generic function is taken to be defined and smooth everywhere)."""
    act = ACTIVATIONS.get(fn)
    return act.domain if act is not None else None


def scalar_value(fn: str, c):
    """A table function's value at a SymPy constant (1 / m for a dim m)."""
    return ACTIVATIONS[fn].sympy(c)


def sign(fn: str, order: int = 0) -> str | None:
    """"+" if fn^(order) is positive everywhere, "0+" if nonnegative, else None."""
    act = ACTIVATIONS.get(fn)
    return act.sign if act is not None and order == 0 else None


def undefined_at(fn: str, arg) -> bool:
    """Whether a SymPy number `arg` lies outside the domain of `fn`."""
    kind = domain(fn)
    if kind is None or not arg.is_number:
        return False
    if kind == "nonzero":
        return bool(arg.is_zero)
    return arg.is_real is False or bool(arg.is_nonpositive)


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

        def eval(cls, arg):
            # outside the domain the value is undefined, never an opaque atom
            # that `0 * f(0)` would silently cancel; so is any function of an
            # undefined value (`1 / sqrt(0)` where sqrt is taken for u > 0)
            if arg.has(sympy.nan, sympy.zoo) or undefined_at(fn, arg):
                return sympy.nan
            return None
        _classes[key] = type(fn + "'" * order, (sympy.Function,),
                             {"fdiff": fdiff, "eval": classmethod(eval), "is_real": True, "gradproof": key})
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
    its derivatives by the table's rule (so relu' is step, with step(0) = 0,
    wherever it is evaluated), or for a generic function the polynomial
    `poly(order, t)`."""
    t = sympy.Dummy("t", real=True)
    act = ACTIVATIONS.get(fn)
    if act is None:
        return poly(order, t).subs(t, arg)
    if order == 0:
        return act.sympy(arg)
    if act.prime is not None:
        return concretize(sympy_apply(fn, order, t), poly).subs(t, arg)
    return sympy.diff(act.sympy(t), t, order).subs(t, arg)


def concretize(x, poly):
    """`x` with every opaque function replaced by its real value (inner
    applications first, so nested ones are replaced too).  With `poly`
    None, generic functions stay opaque: their values at distinct
    arguments are independent unknowns, as a proof must take them."""
    def opaque(n):
        if not (isinstance(n, sympy.Function) and hasattr(type(n), "gradproof")):
            return False
        return poly is not None or type(n).gradproof[0] in ACTIVATIONS

    while True:
        found = [n for n in sympy.preorder_traversal(x) if opaque(n)]
        if not found:
            return x
        innermost = {n for n in found if not any(opaque(m) for m in n.args[0].atoms(sympy.Function))}
        x = x.xreplace({n: real_value(*type(n).gradproof, n.args[0], poly) for n in innermost})
