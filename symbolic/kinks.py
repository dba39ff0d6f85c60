"""The algebra of `step` at its kink, for the index form.

With gradproof's `step(0) = 0` (so `relu' = step`), these hold everywhere,
at the kink too:

    step(u) step(u) = step(u),  relu(u) step(u) = relu(u),  u step(u) = relu(u),
    step(relu(u)) = step(u),    step(c u) = step(u) for a constant c > 0.

`index.entry` rewrites a product's factors and a step's argument by them
before writing entries, so that a claim written with `step(A1)` for
`A1 = relu(Z1)` meets the derived `step(Z1)`.  `ctx` is the index form's
`Context`: its `definitions` (the forward pass) and `key` (a canonical form
per argument, to tell two arguments equal).
"""
from __future__ import annotations

from . import expr as E

# With step(0) = 0 (relu' = step), these hold everywhere, at the kink too:
#   step(u) step(u) = step(u),  relu(u) step(u) = relu(u),  u step(u) = relu(u),
#   step(relu(u)) = step(u),  step(c u) = step(u) for a constant c > 0.

def mul_factors(e: E.Expr) -> list:
    """The factors of a chain of elementwise products of one shape."""
    out, stack = [], [e]
    while stack:
        x = stack.pop()
        if type(x) is E.Mul and x.a.shape == x.b.shape == e.shape:
            stack += [x.b, x.a]
        else:
            out.append(x)
    return out


def _defined(e: E.Expr, ctx) -> E.Expr:
    """`e` with a name of the forward pass replaced by its definition."""
    while type(e) is E.Var and e.name in ctx.definitions:
        e = ctx.definitions[e.name]
    return e


def _stepped(e: E.Expr, ctx):
    """The u of a factor step(u) (relu'(u) is step(u)), else None."""
    e = _defined(e, ctx)
    if type(e) is E.Apply and (e.fn, e.order) in (("step", 0), ("relu", 1)):
        return e.a
    return None


def absorb_steps(factors: list, ctx) -> list:
    """The factors of a product with each step(u) absorbed where the
    identities above allow: by another step(u), relu(u) or u."""
    factors = list(factors)
    n = 0
    while n < len(factors):
        u = _stepped(factors[n], ctx)
        if u is not None:
            key = ctx.key(u)
            for m, other in enumerate(factors):
                if m == n:
                    continue
                d = _defined(other, ctx)
                if _stepped(d, ctx) is not None and ctx.key(_stepped(d, ctx)) == key \
                        or type(d) is E.Apply and (d.fn, d.order) == ("relu", 0) and ctx.key(d.a) == key:
                    del factors[n]  # step(u) step(u), relu(u) step(u)
                    break
                if other.shape == u.shape and ctx.key(other) == key:
                    factors[m] = E.apply("relu", u)  # u step(u)
                    del factors[n]
                    break
            else:
                n += 1
            continue
        n += 1
    return factors


def step_argument(a: E.Expr, ctx) -> E.Expr:
    """An argument of step with relu(u), c u (c > 0) and u step(u) taken down to u."""
    while True:
        d = _defined(a, ctx)
        if type(d) is E.Apply and (d.fn, d.order) == ("relu", 0):
            a = d.a
        elif type(d) is E.Scale and d.c.is_positive:
            a = d.a
        elif type(d) is E.Mul:
            factors = absorb_steps(mul_factors(d), ctx)
            if len(factors) != 1 or factors[0] is d:
                return a
            a = factors[0]
        else:
            return a
