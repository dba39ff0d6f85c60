"""Identities the canonical form applies to a term (`index.canon`).

Each holds wherever both of its sides are defined, which is all an index
form claims: a claim is proved only where it is defined wherever J is
(`verify.defined_where_j_is`, read before any rewriting).
"""
from __future__ import annotations

import itertools

import sympy

from .forms import P, Q, Counter, Fn, Term, form, indices, instantiate, intern, product, rename_factor
from .functions import ACTIVATIONS

INVERSES = {("exp", "log"), ("log", "exp")}  # f(g(u)) = u
_FRESH = itertools.count()


def identity(t: Term) -> list | None:
    """`t` with one identity of the table functions applied, as Terms; None
    if none applies.  Each holds wherever both sides are defined, which is
    all the form claims (a claim is proved only where it is defined
    wherever J is, `verify.defined_where_j_is`, read before any rewriting):
    exp(log(u)) = u, log(exp(u)) = u, exp(-log(u)) = 1/u, exp(a u) exp(b u) = exp((a + b) u),
    the powers of one u > 0 written with sqrt(u), 1/sqrt(u), 1/u and u
    itself (`_roots`), and sum_b x_b / u = 1 for u = sum_k x_k
    (`_summed_denominator`)."""
    for n, f in enumerate(t.factors):
        if f.kind == "F" and f.order == 0:
            inner = _only_factor(f.key)
            rest = t.factors[:n] + t.factors[n + 1:]
            if inner is not None and (f.fn, inner.fn) in INVERSES:
                return product([Term(t.coeff, dict(t.bound), rest)], _argument(inner, f.args))
            inner = _only_factor(f.key, -1)
            if inner is not None and (f.fn, inner.fn) == ("exp", "log"):  # exp(-log(u)) = 1/u
                return [Term(t.coeff, dict(t.bound), rest + [Fn("recip", 0, inner.key, _inner_args(inner, f.args))])]
            reflect = ACTIVATIONS[f.fn].reflect if f.fn in ACTIVATIONS else None
            if reflect is not None and form(f.key) and form(f.key)[0][2].could_extract_minus_sign():
                return _reflected(t, rest, f, reflect)
            if f.fn == "exp":  # exp(u) exp(-u) = 1, exp(a u) exp(b u) = exp((a + b) u)
                exps = [g for g in rest if g.kind == "F" and (g.fn, g.order, g.args) == (f.fn, f.order, f.args)]
                other = next((g for g in exps if _negated(g.key, f.key)), None)
                if other is not None:
                    rest.remove(other)
                    return [Term(t.coeff, dict(t.bound), rest)]
                other = next((g for g in exps if _alike(g.key, f.key)), None)
                if other is not None:
                    rest.remove(other)
                    (b, fs, c), (_, _, d) = form(f.key)[0], form(other.key)[0]
                    merged = intern(((b, fs, sympy.expand(c + d)),))
                    return [Term(t.coeff, dict(t.bound), rest + [Fn("exp", 0, merged, f.args)])]
    return _roots(t) or _summed_denominator(t)


def _reflected(t: Term, rest: list, f, reflect) -> list:
    """`t` with its factor f(u), u leading with a minus sign, written
    c + s f(-u) + k u (`Activation.reflect`: sigmoid(u) = 1 - sigmoid(-u),
    tanh(u) = -tanh(-u), softplus(u) = softplus(-u) + u, ...)."""
    c, sign, k = reflect
    # still canonical: a form's order ignores its coefficients
    negated = intern(tuple((b, fs, -coeff) for b, fs, coeff in form(f.key)))
    out = [Term(t.coeff * sign, dict(t.bound), rest + [Fn(f.fn, 0, negated, f.args)])]
    if c:
        out.append(Term(t.coeff * c, dict(t.bound), list(rest)))
    if k:
        out += product([Term(t.coeff * k, dict(t.bound), list(rest))], instantiate(f.key, f.args, _Fresh))
    return out


def _alike(a, b) -> bool:
    """Whether the canonical forms `a` and `b` are one term each, the same
    but for its coefficient (2 u and -u), whose sum is not 0."""
    fa, fb = form(a), form(b)
    return len(fa) == len(fb) == 1 and fa[0][:2] == fb[0][:2] and fa[0][2] + fb[0][2] != 0


def _negated(a, b) -> bool:
    """Whether the canonical forms `a` and `b` are each other's negatives
    (a form's order does not depend on its coefficients)."""
    fa, fb = form(a), form(b)
    return len(fa) == len(fb) and bool(fa) and all(x[:2] == y[:2] and x[2] == -y[2] for x, y in zip(fa, fb))


def _summed_denominator(t: Term) -> list | None:
    """`t` with a sum over one of its bound indices b of the very terms of
    a denominator u that does not use b made 1: sum_b x_b / u = 1 for
    u = sum_k x_k (the entries of a softmax sum to 1).  None if none is."""
    for f in t.factors:
        if f.kind != "F" or f.fn != "recip" or f.order != 0:
            continue
        u = instantiate(f.key, f.args, _Fresh)
        if len(u) != 1 or len(u[0].bound) != 1:
            continue
        (k, size), = u[0].bound.items()
        for b, b_size in t.bound.items():
            if b_size != size or b in indices(f):
                continue
            over_b = [g for g in t.factors if b in indices(g)]
            if sorted((rename_factor(g, {b: k}) for g in over_b), key=repr) == sorted(u[0].factors, key=repr):
                rest = [g for g in t.factors if g not in over_b]
                rest.remove(f)
                return [Term(t.coeff / u[0].coeff, {x: s for x, s in t.bound.items() if x != b}, rest)]
    return None


def _roots(t: Term) -> list | None:
    """`t` with the powers of one u > 0 (sqrt(u), 1/sqrt(u), 1/u, and u
    where u is one factor) gathered into u**(e/2) and written one way; None
    if they already are.  Only where a sqrt of u stands, so that u > 0."""
    halves: dict = {}  # (u's key, its args) -> [the sqrt(u)s, the 1/sqrt(u)s]
    for f in t.factors:
        if f.kind == "F" and f.order == 0 and f.fn == "sqrt":
            halves.setdefault((f.key, f.args), ([], []))[0].append(f)
        elif f.kind == "F" and f.order == 0 and f.fn == "recip":
            inner = _only_factor(f.key)
            if inner is not None and inner.fn == "sqrt":
                halves.setdefault((inner.key, _inner_args(inner, f.args)), ([], []))[1].append(f)
    for (key, args), (roots, over_roots) in halves.items():
        root, over = Fn("sqrt", 0, key, args), Fn("recip", 0, key, args)
        u = instantiate(key, args, _Fresh)
        single = u[0].factors[0] if len(u) == 1 and u[0].coeff == 1 and not u[0].bound \
            and len(u[0].factors) == 1 else None
        c, d = (t.factors.count(single) if single else 0), t.factors.count(over)
        e = len(roots) - len(over_roots) + 2 * (c - d)
        # u**(e/2) as sqrt(u) u**(e // 2) or sqrt(u) (1/u)**((1 - e) // 2): never 1/sqrt(u), so that
        # a u that is a sum meets its 1/u where `divide_out` can see it
        ups, downs = (e // 2, 0) if e >= 0 else (0, (1 - e) // 2)
        if (len(roots), len(over_roots), c, d) == (e % 2, 0, ups, downs) and (single is not None or ups == 0):
            continue
        gone = {roots[0] if roots else None, over_roots[0] if over_roots else None, over, single}
        out = [Term(t.coeff, dict(t.bound), [f for f in t.factors if f not in gone] + [root] * (e % 2)
                    + [over] * downs)]
        for _ in range(ups):
            out = product(out, u if single is None else [Term(1, {}, [single])])
        return out
    return None


def _only_factor(key, coeff=1):
    """The one factor of a form that is a function of an entry at the form's
    own indices (`log(u)`, times `coeff`, nothing summed), else None."""
    f = form(key)
    if len(f) == 1 and not f[0][0] and f[0][2] == coeff and len(f[0][1]) == 1:
        g = f[0][1][0]
        if g.kind == "F" and g.order == 0 and all(a in (P, Q, None) for a in g.args):
            return g
    return None


def _inner_args(inner, args) -> tuple:
    """The arguments of a factor `inner` of a form, where the form is taken at `args`."""
    m = {P: args[0], Q: args[1]}
    return tuple(m[a] if a is not None else None for a in inner.args)


def _argument(inner, args) -> list:
    """The terms of the argument of `inner`, where its form is taken at `args`."""
    return instantiate(inner.key, _inner_args(inner, args), _Fresh)


class _Fresh:
    """Fresh bound indices for an argument written out in a term."""

    @staticmethod
    def fresh() -> str:
        return f"~i{next(_FRESH)}"


# ---------------------------------------------------------------- 1/u against u

def divide_out(items: list) -> list | None:
    """The terms with one quotient u * q / u = q done, as Terms; None if there
    is none.  Terms that share their bound indices and a factor 1/u (to the
    same power k) are summed as a polynomial in their other factors; where
    u**k divides that sum exactly, the terms become the quotient.  Failing
    that, such terms (together, then each alone) give up one of their
    factors 1/u where u divides the rest (`Z (1/Z)**2` is `1/Z`).  Exact wherever 1/u is defined, which
    is all the form ever claims: the conditions (`conditions`) are read
    before any cancellation."""
    groups: dict = {}
    for n, (bound, factors, coeff) in enumerate(items):
        for f in set(factors):
            if f.kind == "F" and f.fn == "recip" and f.order == 0:
                groups.setdefault((bound, f, factors.count(f)), []).append(n)
    ones = [((bound, r, 1), part, True) for (bound, r, k), members in groups.items() if k > 1
            for part in [members] + [[n] for n in members] * (len(members) > 1)]
    for (bound, r, k), members, one in [(key, members, False) for key, members in groups.items()] + ones:
        quotient = _quotient(items, members, bound, r, k, one)
        if quotient is not None:
            kept = [Term(c, dict(b), list(fs)) for n, (b, fs, c) in enumerate(items) if n not in members]
            return kept + quotient
    return None


def _quotient(items, members, bound, r, k, one: bool) -> list | None:
    """The terms `members` of `items` with their factor 1/u (`r`) to the
    power k taken out (only one of them, if `one`), divided by u**k, as
    Terms; None unless u**k divides them exactly."""
    u = instantiate(r.key, r.args, Counter())
    if any(t.bound for t in u):
        return None  # a sum in the denominator: not a polynomial in the factors
    atoms: dict = {}

    def poly(coeff, factors):
        out = coeff
        for f in factors:
            out = out * atoms.setdefault(f, sympy.Dummy("f"))
        return out

    def rest(factors):
        if one:
            n = factors.index(r)
            return list(factors[:n]) + list(factors[n + 1:])
        return [f for f in factors if f != r]
    numerator = sum(poly(items[n][2], rest(items[n][1])) for n in members)
    denominator = sympy.expand(sum(poly(t.coeff, t.factors) for t in u) ** k)
    if denominator == 0:
        return None  # 1/0: undefined, never cancelled
    gens = list(atoms.values())
    try:
        quotient, remainder = sympy.div(sympy.expand(numerator), denominator, *gens)
    except (sympy.PolynomialError, sympy.polys.polyerrors.PolificationFailed, ZeroDivisionError):
        return None
    if remainder != 0 or quotient == 0 and numerator != 0:
        return None
    back = {v: f for f, v in atoms.items()}
    out = []
    for monomial in sympy.Add.make_args(sympy.expand(quotient)):
        coeff, factors = sympy.Integer(1), []
        for part in sympy.Mul.make_args(monomial):
            base, power = part.as_base_exp()
            if base in back and power.is_Integer and power > 0:
                factors += [back[base]] * int(power)
            else:
                coeff = coeff * part
        if coeff.has(*gens):
            return None  # not a polynomial after all: leave the terms as they are
        out.append(Term(coeff, dict(bound), factors))
    return out
