"""Index form: entry (p, q) of a matrix expression, for every size at once.

An entry is a sum of terms, each a coefficient (a polynomial in the dims)
times a sum over bound indices of a product of factors (`forms`: an input's
entry, a function of an entry, a delta, a matrix function's entry, the
windows' brackets).

An index over a size-1 axis is the constant 0, so shapes of size one need
no special case.  `canon` puts a sum of terms in a canonical form: deltas
eliminated against bound indices, unused bound indices turned into dim
factors, bound indices renamed canonically, like terms collected.  Two
expressions whose canonical forms are identical are equal for every value
of every dim: each step is an identity.  The converse does not hold, so a
difference that does not cancel proves nothing either way.

`gradient` differentiates J entry by entry (chain and product rules on the
factors), independently of the matrix-level rule table in `derive`.

A function factor refers to its argument's canonical form through a `Form`,
which holds that form: there is no table of forms for the life of the
process.  A `Context` (the definitions of one derivation) remembers the
form of each argument it has seen and hands out one `Form` per form.
"""
from __future__ import annotations

import itertools

import sympy

from . import expr as E
from .errors import FormTooLarge
from .forms import (MAX_FACTORS, MAX_TERMS, Conv, Counter, Delta, Entry, Flip, Fn, Form, Mat, P, Q, Term,  # noqa: F401
                    args_of, bind, form, indices, instantiate, intern, pair, product, rename_factor, uses)
from .functions import ACTIVATIONS, domain, prime, scalar_value
from .identities import divide_out, identity
from .kinks import absorb_steps, mul_factors, step_argument
from . import windows as W


class Context:
    """Definitions to inline (name -> Expr), a supply of fresh indices, and
    the forms of the arguments seen so far (made once each, for the life
    of this context: one derivation's check)."""

    def __init__(self, definitions: dict):
        self.definitions = definitions
        self.counter = itertools.count()
        self.keys: dict = {}  # id(argument) -> (argument, the `Form` of its canonical form)
        self.forms: dict = {}  # canonical form -> its one `Form` in this context
        self.symmetric: dict = {}  # Form -> whether entry (p, q) and (q, p) have one form

    def key(self, a: E.Expr) -> Form:
        """The `Form` of entry (%P, %Q) of `a`, computed once per argument."""
        found = self.keys.get(id(a))
        if found is None:
            found = self.keys[id(a)] = (a, self.intern(canon(entry(a, P, Q, self))))
        return found[1]

    def intern(self, items: tuple) -> Form:
        """The one `Form` of `items` in this context."""
        found = self.forms.get(items)
        if found is None:
            found = self.forms[items] = Form(items)
        return found

    def fresh(self) -> str:
        return f"~{next(self.counter)}"

    def is_symmetric(self, key: Form) -> bool:
        """Whether the matrix of form `key` equals its transpose, by its form."""
        found = self.symmetric.get(key)
        if found is None:
            found = self.symmetric[key] = rename(form(key), {P: Q, Q: P}) == form(key)
        return found


def _ix(i, size):
    return 0 if size == 1 else i


def entry(e: E.Expr, i, j, ctx: Context) -> list:
    """Terms of entry (i, j) of `e`, intermediates inlined."""
    r, c = e.shape
    i, j = _ix(i, r), _ix(j, c)
    t = type(e)
    if t is E.Var:
        if e.name in ctx.definitions:
            return entry(ctx.definitions[e.name], i, j, ctx)
        if e.role == "eye":  # the identity: a delta
            return [Term(sympy.Integer(1), {}, [Delta(i, j)])]
        if e.role == "dim":  # a dim used as a value: a coefficient, a symbol for every size
            return [Term(sympy.Symbol(e.name, integer=True, positive=True))]
        if e.role == "symmetric":  # S_ij = S_ji: its two indices kept sorted
            return [Term(sympy.Integer(1), {}, [Entry(e.name, *pair(i, j), "sym")])]
        return [Term(sympy.Integer(1), {}, [Entry(e.name, i, j)])]
    if t is E.MatFn:
        key = ctx.key(e.a)
        return [Term(sympy.Integer(1), {}, [matrix_factor(e.fn, key, e.a.shape[0], i, j, ctx)])]
    if t is E.Const:
        return [Term(e.value)]
    if t is E.MatMul:
        inner = e.a.shape[1]
        k = 0 if inner == 1 else ctx.fresh()
        return bind(product(entry(e.a, i, k, ctx), entry(e.b, k, j, ctx)), k, inner)
    if t is E.Add:
        out = entry(e.a, i, j, ctx) + entry(e.b, i, j, ctx)
        if len(out) > MAX_TERMS:
            raise FormTooLarge(f"an index form of more than {MAX_TERMS:,} terms")
        return out
    if t is E.Mul:
        factors = absorb_steps(mul_factors(e), ctx)
        out = entry(factors[0], i, j, ctx)
        for f in factors[1:]:
            out = product(out, entry(f, i, j, ctx))
        return out
    if t is E.Scale:
        return [Term(e.c * x.coeff, x.bound, x.factors) for x in entry(e.a, i, j, ctx)]
    if t is E.Transpose:
        return entry(e.a, j, i, ctx)
    if t is E.Pow:
        out = entry(e.a, i, j, ctx)
        for _ in range(e.p - 1):
            out = product(out, entry(e.a, i, j, ctx))
        return out
    if t is E.Broadcast:
        return entry(e.a, i, j, ctx)
    if t is E.Sum:
        ra, ca = e.a.shape
        ki = ctx.fresh() if e.axis in (0, None) and ra != 1 else i
        kj = ctx.fresh() if e.axis in (1, None) and ca != 1 else j
        terms = entry(e.a, ki, kj, ctx)
        if ki != i:
            bind(terms, ki, ra)
        if kj != j:
            bind(terms, kj, ca)
        return terms
    if t is E.Apply:
        if e.fn == "step" and e.order == 0:
            e = E.apply("step", step_argument(e.a, ctx))
        return function_terms(e.fn, e.order, ctx.key(e.a), args_of(ctx.key(e.a), i, j), ctx)
    if isinstance(e, W.NODES):
        return window_entry(e, i, j, ctx)
    raise TypeError(f"index form: no rule for {t.__name__}")


def matrix_factor(fn: str, key: Form, n, i, j, ctx) -> tuple:
    """The factor of entry (i, j) of fn(A), A of the form `key` and size n x n
    (for det and logdet, a scalar, i = j = 0); an inverse of a symmetric A
    is symmetric, and keeps its indices sorted."""
    if fn != "inv":
        return Mat(fn, key, n, 0, 0, False)
    if ctx.is_symmetric(key):
        return Mat(fn, key, n, *pair(i, j), True)
    return Mat(fn, key, n, i, j, False)


def function_terms(fn, order, key, args, ctx) -> list:
    """Terms of fn^(order) at the entry `key` taken at `args`.  A table
    function's first derivative is rewritten by its rule (sigmoid' =
    sigmoid - sigmoid**2, ...), so forms written either way meet.  A table
    function of a nonzero constant (1 / m, for a dim m) is a coefficient."""
    f = form(key)
    if fn in ("exp", "recip") and order == 0 and shifted(f):
        return shift_terms(fn, f, args, ctx)
    if fn in ACTIVATIONS and order == 0 and len(f) == 1 and not f[0][0] and not f[0][1] \
            and f[0][2].is_zero is False and (domain(fn) != "positive" or f[0][2].is_positive):
        return [Term(scalar_value(fn, f[0][2]))]
    if fn == "exp" and order == 0 and len(f) > 1:  # exp(a + b) = exp(a) exp(b)
        out = [Term(sympy.Integer(1))]
        for part in f:
            one = ctx.intern(canon([Term(part[2], dict(part[0]), list(part[1]))]))
            out = product(out, function_terms("exp", 0, one, args_of(one, *args), ctx))
        return out
    if fn == "recip" and order == 0 and len(f) == 1 and not f[0][0] and f[0][2].is_zero is False \
            and (len(f[0][1]) > 1 or f[0][2] != 1):
        out = [Term(1 / f[0][2])]  # 1 / (c a b) = (1/c) (1/a) (1/b): one canonical form for a quotient
        for x in f[0][1]:
            inner = ctx.intern(canon([Term(sympy.Integer(1), {}, [x])]))
            out = product(out, function_terms("recip", 0, inner, args_of(inner, *args), ctx))
        return out
    if order == 1 and fn in ACTIVATIONS:
        u = E.Var("%u", (E.ONE, E.ONE), "key")
        d = prime(fn, u)
        if d is not None:
            sub = Context({})
            sub.counter, sub.forms = ctx.counter, ctx.forms
            return _rewrite(d, key, args, sub)
    return [Term(sympy.Integer(1), {}, [Fn(fn, order, key, args)])]


def _rewrite(d: E.Expr, key, args, ctx) -> list:
    """Entry terms of an elementwise expression `d` in the placeholder `%u`."""
    t = type(d)
    if t is E.Var:
        return instantiate(key, args, ctx)
    if t is E.Apply:
        if isinstance(d.a, E.Var):  # an index the argument does not use is no argument of the factor
            return function_terms(d.fn, d.order, key, args_of(key, *args), ctx)
        inner = ctx.intern(canon(_rewrite(d.a, key, (P, Q), ctx)))
        return function_terms(d.fn, d.order, inner, args_of(inner, *args), ctx)
    if t is E.Const:
        return [Term(d.value)]
    if t is E.Broadcast:
        return _rewrite(d.a, key, args, ctx)
    if t is E.Add:
        return _rewrite(d.a, key, args, ctx) + _rewrite(d.b, key, args, ctx)
    if t is E.Mul:
        return product(_rewrite(d.a, key, args, ctx), _rewrite(d.b, key, args, ctx))
    if t is E.Scale:
        return [Term(d.c * x.coeff, x.bound, x.factors) for x in _rewrite(d.a, key, args, ctx)]
    if t is E.Pow:
        out = _rewrite(d.a, key, args, ctx)
        for _ in range(d.p - 1):
            out = product(out, _rewrite(d.a, key, args, ctx))
        return out
    raise TypeError(f"derivative rule: no index form for {t.__name__}")


def rename(form: tuple, mapping: dict) -> tuple:
    """A canonical form with its free indices renamed by `mapping` (for
    example the placeholders %P, %Q set to actual indices), canonical again."""
    return canon([Term(c, dict(b), [rename_factor(f, mapping) for f in fs]) for b, fs, c in form])


# ---------------------------------------------------------------- canonical form

def _eliminate_deltas(t: Term) -> Term | None:
    """Sum out deltas that meet a bound index; None if the term vanishes."""
    while True:
        for n, f in enumerate(t.factors):
            if f.kind != "D":
                continue
            a, b = f.i, f.j
            if a == b:
                t.factors = t.factors[:n] + t.factors[n + 1:]
                break
            if a in t.bound or b in t.bound:
                gone, keep = (a, b) if a in t.bound else (b, a)
                del t.bound[gone]
                rest = t.factors[:n] + t.factors[n + 1:]
                t.factors = [rename_factor(g, {gone: keep}) for g in rest]
                break
            if isinstance(a, int) and isinstance(b, int):
                return None  # two distinct fixed indices
        else:
            return t


def _canonical_term(t: Term):
    used = set()
    for f in t.factors:
        used.update(indices(f))
    coeff = t.coeff
    for b, size in list(t.bound.items()):
        if b not in used:
            coeff = coeff * size
            del t.bound[b]
    names = list(t.bound)
    best = None
    perms = itertools.permutations(range(len(names))) if len(names) <= 6 else [range(len(names))]
    for perm in perms:
        m = {names[k]: f"#{perm[k]}" for k in range(len(names))}
        printed = sorted((repr(g), g) for g in (rename_factor(f, m) for f in t.factors))
        bound = tuple(sorted((m[b], t.bound[b]) for b in names))
        texts = ", ".join(x for x, _ in printed) + "," * (len(printed) == 1)  # each factor printed once
        r = f"({tuple((b, _dim_text(s)) for b, s in bound)!r}, ({texts}))"  # repr((bound's texts, factors))
        if best is None or r < best[0]:
            best = (r, (bound, tuple(g for _, g in printed)))
    return best[1], coeff


def _dim_text(size) -> str:
    """A size as text (a dim's name, a number), without SymPy's printer."""
    if isinstance(size, sympy.Symbol):
        return size.name
    return str(int(size)) if isinstance(size, (int, sympy.Integer)) else str(size)


def _sort_key(item) -> str:
    bound, factors = item[0], item[1]
    return repr((tuple((b, _dim_text(s)) for b, s in bound), factors))


def canon(terms: list) -> tuple:
    """Canonical form of a sum of terms: a sorted tuple of
    (bound, factors, coefficient)."""
    collected: dict = {}
    pending = list(terms)
    while pending:
        t = pending.pop()
        t = _eliminate_deltas(Term(t.coeff, dict(t.bound), list(t.factors)))
        if t is None or t.coeff == 0:
            continue
        rewritten = identity(t)
        if rewritten is not None:
            pending += rewritten
            continue
        t = window_identities(t)
        shape, coeff = _canonical_term(t)
        collected[shape] = collected.get(shape, 0) + coeff
    out = []
    for (bound, factors), coeff in collected.items():
        coeff = sympy.expand(coeff)
        if coeff != 0:
            out.append((bound, factors, coeff))
    if any(f.kind == "F" and f.fn == "recip" for _, factors, _ in out for f in factors):
        divided = divide_out(out)
        if divided is not None:
            return canon(divided)
    return tuple(sorted(out, key=_sort_key))


# ---------------------------------------------------------------- differentiation

def differentiate(terms: list, name: str, p, q, ctx: Context) -> list:
    """d(terms)/d name[p, q] by the product and chain rules."""
    out = []
    for t in terms:
        for n, f in enumerate(t.factors):
            d = _factor_derivative(f, name, p, q, ctx)
            if not d:
                continue
            rest = Term(t.coeff, dict(t.bound), t.factors[:n] + t.factors[n + 1:])
            out.extend(product([rest], d))
    return out


def _factor_derivative(f, name, p, q, ctx) -> list:
    if f.kind == "E":
        if f.name != name:
            return []
        return [Term(sympy.Integer(1), {}, [Delta(f.i, p), Delta(f.j, q)])]
    if f.kind == "F" and isinstance(f.fn, tuple):
        return max_derivative(f, name, p, q, ctx)
    if f.kind == "F":
        inner = differentiate(instantiate(f.key, f.args, ctx), name, p, q, ctx)
        if not inner:
            return []
        return product(function_terms(f.fn, f.order + 1, f.key, f.args, ctx), inner)
    if f.kind == "M":
        return _matrix_derivative(f, name, p, q, ctx)
    return []


def _matrix_derivative(f, name, p, q, ctx) -> list:
    """d/d name[p, q] of an `M` factor, through dA_kl: d inv_ij = -inv_ik dA_kl inv_lj,
    d det = det inv_lk dA_kl, d logdet = inv_lk dA_kl."""
    fn, key, n, i, j = f.fn, f.key, f.n, f.i, f.j
    k, l = (0, 0) if n == 1 else (ctx.fresh(), ctx.fresh())
    inner = differentiate(instantiate(key, (k, l), ctx), name, p, q, ctx)
    if not inner:
        return []
    bound = {} if n == 1 else {k: n, l: n}
    if fn == "inv":
        term = Term(sympy.Integer(-1), bound, [matrix_factor("inv", key, n, i, k, ctx),
                                               matrix_factor("inv", key, n, l, j, ctx)])
    else:
        own = [f] if fn == "det" else []
        term = Term(sympy.Integer(1), bound, own + [matrix_factor("inv", key, n, l, k, ctx)])
    return product([term], inner)


def free_indices(shape):
    return (_ix("p", shape[0]), _ix("q", shape[1]))


def objective(output: E.Var, upstream: E.Var | None) -> E.Expr:
    """J = <upstream, output>, or the 1 x 1 output itself."""
    if upstream is None:
        return output
    return E.sum_axis(E.mul(upstream, output), None)


def gradient(forward: dict, output: E.Var, upstream, wrt: E.Var) -> tuple:
    """Canonical index form of dJ/d wrt[p, q]."""
    ctx = Context(forward)
    j = entry(objective(output, upstream), 0, 0, ctx)
    p, q = free_indices(wrt.shape)
    return canon(differentiate(j, wrt.name, p, q, ctx))


def index_form(e: E.Expr, forward: dict, ctx: Context | None = None) -> tuple:
    """Canonical index form of entry (p, q) of `e`; `ctx` (for `forward`)
    may be shared between calls, so that argument forms are made once."""
    p, q = free_indices(e.shape)
    return canon(entry(e, p, q, ctx or Context(forward)))


def difference(a: tuple, b: tuple) -> tuple:
    """Canonical form of a - b (both canonical)."""
    terms = [_term(x) for x in a] + [_term(x, -1) for x in b]
    return canon(terms)


def _term(x, sign=1):
    bound, factors, coeff = x
    return Term(sign * coeff, dict(bound), list(factors))

# ---------------------------------------------------------------- windows (`symbolic.windows`)
# Convolutions, flips and the max.  Factors beside entries, functions, deltas and matrix functions:
#     Conv(t, a, b)    the bracket [t = a + b] (a, b sorted): a convolution
#     Flip(L, a, b)    the bracket [a + b = L - 1]: a flip of a column of L
# A max is a function factor Fn(("max", axis, rows, cols), 0, key, args) of its argument's
# form, taken at the index it keeps (args (None, j) for axis 0); its derivative is the arg-max
# indicator ("argmax", ...) at both indices, whose own derivative is 0 (away from ties, where the
# max has no derivative and J no gradient).  A shift by a max, `exp(Z - max(Z, axis=0))`, is
# split so that the plain softmax's form comes out (`shifted`, `shift_terms`, `cancel_exps`):
# every rewrite is an identity.

def window_entry(e, i, j, ctx) -> list:
    """Entry (i, j) of a node of `windows`: conv1d's entry i is a sum over u
    (the signal's index) and v (the kernel's) with [u = i + v]; convolve's
    a sum with [i = u + v]; a flip's entry i a sum over u with [u + i = L - 1]."""
    t = type(e)
    one = lambda factor: [Term(sympy.Integer(1), {}, [factor])]  # noqa: E731
    if t is W.Conv:
        la, lb = e.a.shape[0], e.b.shape[0]
        u = 0 if la == 1 else ctx.fresh()
        v = 0 if lb == 1 else ctx.fresh()
        bracket = Conv(u, *pair(i, v)) if e.mode == "valid" else Conv(i, *pair(u, v))
        terms = product(product(entry(e.a, u, 0, ctx), entry(e.b, v, 0, ctx)), one(bracket))
        return bind(bind(terms, u, la), v, lb)
    if t is W.Flip:
        size = e.a.shape[0]
        u = ctx.fresh()
        terms = product(entry(e.a, u, 0, ctx), one(Flip(size, *pair(u, i))))
        return bind(terms, u, size)
    r, c = e.a.shape
    key = ctx.key(e.a)
    if t is W.Max:
        args = {0: (None, j), 1: (i, None), None: (None, None)}[e.axis]
        return one(Fn(("max", e.axis, r, c), 0, key, args))
    return one(Fn(("argmax", e.axis, r, c), 0, key, (i, j)))


def max_derivative(f, name, p, q, ctx) -> list:
    """d max/d name[p, q]: the sum, over the entries the max is taken of,
    of the arg-max indicator times the entry's derivative (away from ties,
    where the max is the one largest entry); the indicator's is 0."""
    (kind, axis, r, c), key, args = f.fn, f.key, f.args
    if kind == "argmax":
        return []
    u = ctx.fresh() if axis in (0, None) and r != 1 else args[0] if axis == 1 else 0
    v = ctx.fresh() if axis in (1, None) and c != 1 else args[1] if axis == 0 else 0
    inner = differentiate(instantiate(key, (u, v), ctx), name, p, q, ctx)
    if not inner:
        return []
    out = product([Term(sympy.Integer(1), {}, [Fn(("argmax", axis, r, c), 0, key, (u, v))])], inner)
    if axis in (0, None):
        out = bind(out, u, r)
    if axis in (1, None):
        out = bind(out, v, c)
    return out


# ---------------------------------------------------------------- a shift by a max

def _max_kind(x):
    """"max" or "argmax" for a factor of a max (`window_entry`), else None."""
    return x.fn[0] if x.kind == "F" and isinstance(x.fn, tuple) else None


def _has_max(factors) -> bool:
    return any(_max_kind(x) == "max" for x in factors)


def _exp_of_max(x) -> bool:
    """Whether the factor `x` is exp(u) of a u with a max among its factors."""
    return x.kind == "F" and x.fn == "exp" and x.order == 0 and any(_has_max(fs) for _, fs, _ in form(x.key))


def shifted(f) -> bool:
    """exp(u + v) with a max in v, or 1/(c X) with c = exp(v) outside X's sums:
    a shift by a max, which `shift_terms` splits."""
    if len(f) > 1 and any(_has_max(fs) for _, fs, _ in f):
        return True
    if len(f) == 1 and f[0][0]:
        bound = {b for b, _ in f[0][0]}
        return any(_exp_of_max(x) and not set(indices(x)) & bound for x in f[0][1])
    return False


def shift_terms(fn, f, args, ctx) -> list:
    """exp(u + v) = exp(u) exp(v), each term with a max split off; and
    1/(exp(v) X) = exp(-v) (1/X) for an exp(v) that no index summed in X
    uses (exp(v) > 0, so both sides are defined where X != 0).  Identities,
    so that `exp(Z - M) / sum(exp(Z - M), axis=0)` meets the plain softmax
    once `exp(M) exp(-M)` cancels (`cancel_exps`)."""
    def sub(items):
        inner = ctx.intern(canon([_term(x) for x in items]))
        return inner, args_of(inner, *args)
    if fn == "exp":
        rest = [x for x in f if not _has_max(x[1])]
        out = [Term(sympy.Integer(1))]
        for part in [[x] for x in f if _has_max(x[1])] + ([rest] if rest else []):
            out = product(out, function_terms("exp", 0, *sub(part), ctx))
        return out
    (bound, factors, coeff), = f
    names = {b for b, _ in bound}
    outside = [x for x in factors if _exp_of_max(x) and not set(indices(x)) & names]
    kept = list(factors)
    for x in outside:
        kept.remove(x)
    out = function_terms("recip", 0, *sub([(bound, tuple(kept), coeff)]), ctx)
    for x in outside:
        negated = ctx.intern(canon([Term(-c, dict(b), list(fs)) for b, fs, c in form(x.key)]))
        at = tuple(args[0] if a == P else args[1] if a == Q else a for a in x.args)
        out = product(out, [Term(sympy.Integer(1), {}, [Fn("exp", 0, negated, at)])])
    return out


def cancel_exps(t):
    """The term `t` with each pair exp(u) exp(-u) of a u with a max dropped (their product is 1)."""
    exps = [n for n, x in enumerate(t.factors) if _exp_of_max(x)]
    for a, b in itertools.combinations(exps, 2):
        fa, fb = t.factors[a], t.factors[b]
        counter = Counter()
        if canon(instantiate(fa.key, fa.args, counter) + instantiate(fb.key, fb.args, counter)) == ():
            rest = [x for n, x in enumerate(t.factors) if n not in (a, b)]
            return cancel_exps(Term(t.coeff, t.bound, rest))
    return t


def window_identities(t):
    """The term `t` with the identities of its max factors applied:
    exp(u) exp(-u) = 1 (`cancel_exps`); an arg-max indicator times itself
    is itself; and the sum of an indicator over the whole axis it is the
    arg max along, an index no other factor uses, is 1 (one first arg max
    in every column, row or matrix, ties or not)."""
    t = cancel_exps(t)
    if not any(_max_kind(x) == "argmax" for x in t.factors):
        return t
    factors, bound = [], dict(t.bound)
    for x in t.factors:
        if _max_kind(x) != "argmax":
            factors.append(x)
        elif x not in factors:  # 0 and 1 are their own squares
            factors.append(x)
    for x in list(factors):
        if _max_kind(x) != "argmax":
            continue
        (_, axis, r, c), (u, v) = x.fn, x.args
        summed = {0: [(u, r)], 1: [(v, c)], None: [(u, r), (v, c)]}[axis]
        used = {i for g in factors if g is not x for i in indices(g)}
        if len({i for i, _ in summed}) == len(summed) \
                and all(i in bound and bound[i] == size and i not in used for i, size in summed):
            factors.remove(x)
            for i, _ in summed:
                del bound[i]
    return Term(t.coeff, bound, factors)
