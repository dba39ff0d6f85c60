"""The index form of `windows`' nodes: convolutions, flips, the max.

`index` calls these with itself as `ix` (its `Term`, `entry`, `canon`,
...), so that this module imports nothing of it and no import runs in a
circle.  Factors beside `index`'s 'E', 'F' and 'D':

    ('T', t, a, b)   the bracket [t = a + b] (a, b sorted): a convolution
    ('R', L, a, b)   the bracket [a + b = L - 1]: a flip of a column of L

A max is a function factor ('F', ("max", axis, rows, cols), 0, key, args)
of its argument's form, taken at the index it keeps (args (None, j) for
axis 0); its derivative is the arg-max indicator ("argmax", ...) at both
indices, whose own derivative is 0 (away from ties, where the max has no
derivative and J no gradient).  A shift by a max, `exp(Z - max(Z,
axis=0))`, is split so that the plain softmax's form comes out
(`shifted`, `shift_terms`, `cancel_exps`): every rewrite is an identity.
"""
from __future__ import annotations

import itertools

import sympy

from . import windows as W


def window_entry(e, i, j, ctx, ix) -> list:
    """Entry (i, j) of a node of `windows`: conv1d's entry i is a sum over u
    (the signal's index) and v (the kernel's) with [u = i + v]; convolve's
    a sum with [i = u + v]; a flip's entry i a sum over u with [u + i = L - 1]."""
    t = type(e)
    one = lambda factor: [ix.Term(sympy.Integer(1), {}, [factor])]  # noqa: E731
    if t is W.Conv:
        la, lb = e.a.shape[0], e.b.shape[0]
        u = 0 if la == 1 else ctx.fresh()
        v = 0 if lb == 1 else ctx.fresh()
        bracket = ("T", u) + ix.pair(i, v) if e.mode == "valid" else ("T", i) + ix.pair(u, v)
        terms = ix.product(ix.product(ix.entry(e.a, u, 0, ctx), ix.entry(e.b, v, 0, ctx)), one(bracket))
        return ix.bind(ix.bind(terms, u, la), v, lb)
    if t is W.Flip:
        size = e.a.shape[0]
        u = ctx.fresh()
        terms = ix.product(ix.entry(e.a, u, 0, ctx), one(("R", size) + ix.pair(u, i)))
        return ix.bind(terms, u, size)
    r, c = e.a.shape
    key = ctx.key(e.a)
    if t is W.Max:
        args = {0: (None, j), 1: (i, None), None: (None, None)}[e.axis]
        return one(("F", ("max", e.axis, r, c), 0, key, args))
    return one(("F", ("argmax", e.axis, r, c), 0, key, (i, j)))


def max_derivative(f, name, p, q, ctx, ix) -> list:
    """d max/d name[p, q]: the sum, over the entries the max is taken of,
    of the arg-max indicator times the entry's derivative (away from ties,
    where the max is the one largest entry); the indicator's is 0."""
    _, (kind, axis, r, c), _, key, args = f
    if kind == "argmax":
        return []
    u = ctx.fresh() if axis in (0, None) and r != 1 else args[0] if axis == 1 else 0
    v = ctx.fresh() if axis in (1, None) and c != 1 else args[1] if axis == 0 else 0
    inner = ix.differentiate(ix.instantiate(key, (u, v), ctx), name, p, q, ctx)
    if not inner:
        return []
    out = ix.product([ix.Term(sympy.Integer(1), {}, [("F", ("argmax", axis, r, c), 0, key, (u, v))])], inner)
    if axis in (0, None):
        out = ix.bind(out, u, r)
    if axis in (1, None):
        out = ix.bind(out, v, c)
    return out


# ---------------------------------------------------------------- a shift by a max

def _has_max(factors) -> bool:
    return any(x[0] == "F" and isinstance(x[1], tuple) and x[1][0] == "max" for x in factors)


def _exp_of_max(x, ix) -> bool:
    """Whether the factor `x` is exp(u) of a u with a max among its factors."""
    return x[0] == "F" and x[1] == "exp" and x[2] == 0 and any(_has_max(fs) for _, fs, _ in ix.form(x[3]))


def shifted(f, ix) -> bool:
    """exp(u + v) with a max in v, or 1/(c X) with c = exp(v) outside X's sums:
    a shift by a max, which `shift_terms` splits."""
    if len(f) > 1 and any(_has_max(fs) for _, fs, _ in f):
        return True
    if len(f) == 1 and f[0][0]:
        bound = {b for b, _ in f[0][0]}
        return any(_exp_of_max(x, ix) and not set(ix.indices(x)) & bound for x in f[0][1])
    return False


def shift_terms(fn, f, args, ctx, ix) -> list:
    """exp(u + v) = exp(u) exp(v), each term with a max split off; and
    1/(exp(v) X) = exp(-v) (1/X) for an exp(v) that no index summed in X
    uses (exp(v) > 0, so both sides are defined where X != 0).  Identities,
    so that `exp(Z - M) / sum(exp(Z - M), axis=0)` meets the plain softmax
    once `exp(M) exp(-M)` cancels (`cancel_exps`)."""
    def sub(items):
        inner = ctx.intern(ix.canon([ix._term(x) for x in items]))
        return inner, ix.args_of(inner, *args)
    if fn == "exp":
        rest = [x for x in f if not _has_max(x[1])]
        out = [ix.Term(sympy.Integer(1))]
        for part in [[x] for x in f if _has_max(x[1])] + ([rest] if rest else []):
            out = ix.product(out, ix.function_terms("exp", 0, *sub(part), ctx))
        return out
    (bound, factors, coeff), = f
    names = {b for b, _ in bound}
    outside = [x for x in factors if _exp_of_max(x, ix) and not set(ix.indices(x)) & names]
    kept = list(factors)
    for x in outside:
        kept.remove(x)
    out = ix.function_terms("recip", 0, *sub([(bound, tuple(kept), coeff)]), ctx)
    for x in outside:
        negated = ctx.intern(ix.canon([ix.Term(-c, dict(b), list(fs)) for b, fs, c in ix.form(x[3])]))
        at = tuple(args[0] if a == ix.P else args[1] if a == ix.Q else a for a in x[4])
        out = ix.product(out, [ix.Term(sympy.Integer(1), {}, [("F", "exp", 0, negated, at)])])
    return out


def cancel_exps(t, ix):
    """The term `t` with each pair exp(u) exp(-u) of a u with a max dropped (their product is 1)."""
    exps = [n for n, x in enumerate(t.factors) if _exp_of_max(x, ix)]
    for a, b in itertools.combinations(exps, 2):
        fa, fb = t.factors[a], t.factors[b]
        counter = ix.Counter()
        if ix.canon(ix.instantiate(fa[3], fa[4], counter) + ix.instantiate(fb[3], fb[4], counter)) == ():
            rest = [x for n, x in enumerate(t.factors) if n not in (a, b)]
            return cancel_exps(ix.Term(t.coeff, t.bound, rest), ix)
    return t


def identities(t, ix):
    """The term `t` with the identities of its max factors applied:
    exp(u) exp(-u) = 1 (`cancel_exps`); an arg-max indicator times itself
    is itself; and the sum of an indicator over the whole axis it is the
    arg max along, an index no other factor uses, is 1 (one first arg max
    in every column, row or matrix, ties or not)."""
    t = cancel_exps(t, ix)
    if not any(x[0] == "F" and isinstance(x[1], tuple) and x[1][0] == "argmax" for x in t.factors):
        return t
    factors, bound = [], dict(t.bound)
    for x in t.factors:
        if not (x[0] == "F" and isinstance(x[1], tuple) and x[1][0] == "argmax"):
            factors.append(x)
        elif x not in factors:  # 0 and 1 are their own squares
            factors.append(x)
    for x in list(factors):
        if not (x[0] == "F" and isinstance(x[1], tuple) and x[1][0] == "argmax"):
            continue
        _, (_, axis, r, c), _, _, (u, v) = x
        summed = {0: [(u, r)], 1: [(v, c)], None: [(u, r), (v, c)]}[axis]
        used = {i for g in factors if g is not x for i in ix.indices(g)}
        if len({i for i, _ in summed}) == len(summed) \
                and all(i in bound and bound[i] == size and i not in used for i, size in summed):
            factors.remove(x)
            for i, _ in summed:
                del bound[i]
    return ix.Term(t.coeff, bound, factors)
