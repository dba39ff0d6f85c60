"""Compositional proofs: a claim proved one layer at a time.

Differentiating J through a whole network costs more with every layer.
The notes' own rule avoids that: the gradient flowing into a layer is the
adjoint of the layer above (`dJ/dx` of one layer is the `dY` of the layer
below).  So a claim is proved in two parts, each of a layer's size:

1. **Every step of the derived backward pass is right, locally.**  For a
   value `v` with adjoint step `dv = e`, the step must equal the gradient
   of `J_v = sum over the definitions c that use v of <G_c, def_c>` with
   respect to `v`, where `G_c` is the adjoint of `c` (an unknown of its own)
   and every forward value is an independent unknown.  That is the chain
   rule on the computation graph: if every local step holds, then the
   steps, inlined, are dJ/dA for every input A.  Each local step is proved
   in index form (`index`) and confirmed at size 2 by SymPy's own `diff`,
   independently.
2. **The claim equals the derived closed form.**  Bottom up, each
   subexpression of the claim that equals, in index form, the step of
   some adjoint `dv` (whose own subexpressions already stand for adjoints)
   is replaced by `dv`.  What remains must equal, in index form, the step
   of `dA`.  Every comparison is between forms of one layer's size.  The
   claim must also be defined wherever J is (its 1/u and log(u) taken from
   J's own).  A numeric evaluation at one point, with a bounded function in
   place of each generic one, confirms the equality independently.

Each equality is an identity for every size, so the conclusion is one:
the claim is dJ/dA for every size, wherever J is defined.  Where no
decomposition is found, the caller falls back to the whole-network proof.
"""
from __future__ import annotations

import functools
import random
from types import SimpleNamespace

import sympy

from . import expr as E
from . import index
from .decide import differs
from .explicit import Explicit, finite, is_zero
from .functions import real_value


class Composition:
    """The locally proved backward pass of one derivation, and the index
    forms of its steps, to match claims against."""

    def __init__(self, d, grads):
        self.d, self.grads = d, grads
        self.steps = dict(grads.steps)
        self.of = dict(grads.adjoint_of)  # step name -> value
        self.adjoint = {v: s for s, v in self.of.items()}
        self._local: dict = {}  # step name -> proved locally
        self._at = None  # the derivation at one numeric point, for `_confirm_claim`
        self._ctx = index.Context(d.forward)  # one context: argument forms computed once
        self.table: dict = {}  # (shape, canonical form) -> step name
        for name, e in grads.steps:
            if not isinstance(e, E.Var):  # `dx = da0`: the same form as da0's own
                self.table.setdefault((e.shape, self.form(e)), name)

    # ---- forms
    def form(self, e: E.Expr) -> tuple:
        """Canonical index form of entry (p, q) of `e`, forward values
        written out, adjoints as unknowns."""
        return index.index_form(e, self.d.forward, self._ctx)

    # ---- 1. the backward pass, one definition at a time
    def local_objective(self, value: str) -> E.Expr | None:
        """J_v = sum of <G_c, def_c> over the definitions c that use `value`
        and that J depends on."""
        d = self.d
        out = d.output.name
        terms = []
        for c, definition in d.forward.items():
            if value not in E.variables(definition):
                continue
            if c == out:
                g = d.upstream if d.upstream is not None else E.const(1)
            elif c in self.adjoint:
                g = E.Var(self.adjoint[c], definition.shape, "adjoint")
            else:
                continue  # J does not depend on c
            terms.append(E.sum_axis(E.mul(g, definition), None))
        return functools.reduce(E.add, terms) if terms else None

    def step_proved(self, step: str) -> bool:
        """Whether the step `step` of the backward pass is the gradient of
        its value's local objective: in index form, and at size 2 by SymPy."""
        if step not in self._local:
            self._local[step] = self._prove_step(step)
        return self._local[step]

    def _prove_step(self, step: str) -> bool:
        value = self.of.get(step)
        if value is None:
            return False
        e = self.steps[step]
        j = self.local_objective(value)
        if j is None:  # J does not depend on the value: its gradient is 0
            return index.index_form(e, {}) == ()
        ctx = index.Context({})
        p, q = index.free_indices(e.shape)
        true = index.canon(index.differentiate(index.entry(j, 0, 0, ctx), value, p, q, ctx))
        if index.difference(index.index_form(e, {}), true) != ():
            return False
        return self._confirm_step(value, e, j)

    def _confirm_step(self, value: str, e: E.Expr, j: E.Expr) -> bool:
        """SymPy's own diff of the local objective at size 2, every name an
        independent matrix of symbols."""
        names = {n.name: n for x in (e, j) for n in E.walk(x) if isinstance(n, E.Var)}
        if value not in names:
            names[value] = E.Var(value, e.shape)
        local = SimpleNamespace(inputs=names, upstream=None, forward={})  # what explicit evaluation needs
        ex = Explicit(local, {s: 2 for s in self.d.dims.values()})
        jv = ex.value(j)[0, 0]
        grad = ex.symbols[value].applyfunc(lambda s: sympy.diff(jv, s))
        return all(is_zero(x) for x in ex.value(e) - grad)

    # ---- 2. the claim against the closed form
    def proves(self, claim: E.Expr, wrt: str, conditions_hold) -> bool:
        """Whether `claim` is dJ/d`wrt` for every size, by the two parts
        above; `conditions_hold(claim)`: the claim is defined wherever J is."""
        target = self.adjoint.get(wrt)
        if target is None or not conditions_hold(claim):
            return False
        used: set = set()
        abstracted = self._abstract(claim, used)
        if not (isinstance(abstracted, E.Var) and abstracted.name == target):
            top = self.steps[target]
            if abstracted.shape != top.shape or \
                    index.difference(self.form(abstracted), self.form(top)) != ():
                return False
            used.add(target)
        needed = self._closure(used)
        if not all(self.step_proved(s) for s in needed):
            return False
        return self._confirm_claim(claim, wrt)

    def _abstract(self, e: E.Expr, used: set) -> E.Expr:
        """`e` with every subexpression that equals an adjoint's step, in
        index form, replaced by that adjoint (innermost first)."""
        kids = e.children()
        if kids:
            new = [self._abstract(c, used) for c in kids]
            if any(a is not b for a, b in zip(new, kids)):
                e = E.rebuild(e, new)
        if isinstance(e, (E.Var, E.Const)):
            return e
        try:
            name = self.table.get((e.shape, self.form(e)))
        except index.FormTooLarge:
            return e
        if name is None:
            return e
        used.add(name)
        return E.Var(name, e.shape, "adjoint")

    def _closure(self, names: set) -> set:
        """The steps `names` and every step their expressions use."""
        out, stack = set(), list(names)
        while stack:
            s = stack.pop()
            if s in out:
                continue
            out.add(s)
            stack.extend(v for v in E.variables(self.steps[s]) if v in self.steps)
        return out

    def _confirm_claim(self, claim: E.Expr, wrt: str, seed: int = 0) -> bool:
        """The claim and the derived closed form at one random point, every
        dim 2, each generic function a bounded smooth one, to 50 digits, each
        function evaluated as it comes: an independent check of the
        index-form comparisons (not a proof), linear in the network's size."""
        if self._at is None:
            ex = Explicit(self.d, {s: 2 for s in self.d.dims.values()})
            rng = random.Random(seed)
            point = {s: sympy.Rational(rng.randint(-12, 12), 8) for m in ex.symbols.values() for s in m}
            point = ex.respect(point, rng)  # data meets its facts: a symmetric S is symmetric
            self._at = ex.at(point, _bounded_value)  # forward values computed once for every claim
        return not differs(map(_number, self._at.value(claim)), map(_number, self._at.value(self.grads.closed[wrt])))


def _bounded(order: int, t):
    """A generic function's stand-in for the check above: sin(t) + t/3,
    bounded derivatives, so deep networks stay in range."""
    return sympy.diff(sympy.sin(t) + t / 3, t, order)


_T = sympy.Dummy("t", real=True)


# Bounded, so that a long-lived process keeps no ever-growing table: the table's
# functions times orders 0..4 are under a hundred entries, a file's generic names a few more.
@functools.lru_cache(maxsize=256)
def _bounded_form(fn: str, order: int):
    return real_value(fn, order, _T, _bounded)


def _bounded_value(fn: str, order: int, x):
    """fn^(order) at a number `x`, to 50 digits (nan where undefined)."""
    return _number(_bounded_form(fn, order).xreplace({_T: x}))


def _number(x):
    v = x if x.is_Rational else sympy.N(x, 50)
    return v if finite(v) else sympy.nan
