"""The index form of a step tree's entry (p, q), for every size.

Methods of `semantics.Meaning`: `terms` reads each node as the index form
of `symbolic.index` (the form claims are proved in), with the notes'
conventions for derivatives (`partial_terms`: the index form's own chain
rule, an intermediate put back in after).
"""
from __future__ import annotations

import sympy

from . import index as I
from . import steptree as T

LOSS = "J"


class StepShapeError(Exception):
    """Shapes that do not meet, with the LaTeX where."""


# the index form's own helpers: products of sums of terms (within its size limits), bound indices
_product, _bind, _ixs = I.product, I.bind, I.indices


def _terms_of(canonical) -> list:
    return [I.Term(c, dict(b), list(f)) for b, f, c in canonical]


class IndexForm:
    """Mixin of `semantics.Meaning`: the index form of each node."""

    def ix(self, ix: T.Ix | None, env, default):
        if ix is None:
            return default
        if ix.kind == "num":
            return ix.value - 1
        if ix.kind == "var":
            if ix.value in env:
                return env[ix.value]
            return "@" + ix.value
        raise StepShapeError(f"`{ix.value}` cannot stand as an index here")

    def terms(self, n, p, q, env, ctx) -> list:
        """Terms of entry (p, q) of `n`; `env`: index var -> index."""
        info = self.info(n)
        r, c = info.shape
        p = 0 if r == 1 else p
        q = 0 if c == 1 else q
        t = type(n)
        if t is T.Num:
            return [I.Term(sympy.Rational(n.value.numerator, n.value.denominator))]
        if t is T.Name:
            if n.name == LOSS:
                return I.entry(I.objective(self.d.output, self.d.upstream), 0, 0, ctx)
            if n.name in self.notation:
                return self.terms(self.notation[n.name], p, q, env, ctx)
            return I.entry(self.vars[n.name], p, q, ctx)
        if t is T.Index:
            var, row, col = info.sel
            return I.entry(var, self.ix(row, env, p), self.ix(col, env, q), ctx)
        if t is T.Transpose:
            return self.terms(n.a, q, p, env, ctx)
        if t is T.Labelled:
            return self.terms(n.a, p, q, env, ctx)
        if t is T.Neg:
            return [I.Term(-x.coeff, x.bound, x.factors) for x in self.terms(n.a, p, q, env, ctx)]
        if t is T.Power:
            out = self.terms(n.a, p, q, env, ctx)
            for _ in range(n.p - 1):
                out = _product(out, self.terms(n.a, p, q, env, ctx))
            return out
        if t is T.Apply:
            return I.entry(self.closed(n), p, q, ctx)
        if t is T.Call:
            return self.fn_terms(self.function(n.fn), n.order, n.arg, p, q, env, ctx)
        if t is T.Frac:
            return _product(self.terms(n.a, p, q, env, ctx), self.fn_terms("recip", 0, n.b, 0, 0, env, ctx))
        if t is T.Bin:
            return self.bin_terms(n, info, p, q, env, ctx)
        if t is T.SumOver:
            size = self.size(n.hi)
            k = 0 if size == 1 else ctx.fresh()
            return _bind(self.terms(n.body, p, q, {**env, n.var: k}, ctx), k, size)
        if t is T.Inner:
            r, c = self.info(n.a).shape
            u = 0 if r == 1 else ctx.fresh()
            v = 0 if c == 1 else ctx.fresh()
            out = _product(self.terms(n.a, u, v, env, ctx), self.terms(n.b, u, v, env, ctx))
            return _bind(_bind(out, u, r), v, c)
        if t is T.Pattern:
            env2 = dict(env)
            if n.rows is not None and n.rows[2] is not None:
                env2[n.rows[0]] = p
            if n.cols is not None and n.cols[2] is not None:
                env2[n.cols[0]] = q
            tr, tc = self.info(n.template).shape
            return self.terms(n.template, p if tr != 1 else 0, q if tc != 1 else 0, env2, ctx)
        if t is T.Grid:
            out = []
            for a, row in enumerate(n.rows):
                for b, x in enumerate(row):
                    deltas = []
                    if r != 1:
                        deltas.append(I.Delta(p, a))
                    if info.mode == "scalars" and c != 1:
                        deltas.append(I.Delta(q, b))
                    inner = self.terms(x, 0, q if info.mode == "rows" else 0, env, ctx)
                    out.extend(_product([I.Term(sympy.Integer(1), {}, deltas)], inner))
            return out
        if t is T.Deriv:
            if info.mode == "diag":
                return self.partial_terms(n, info, p, p, env, ctx)
            return self.partial_terms(n, info, p, q, env, ctx)
        raise StepShapeError(f"no index form for {t.__name__}")

    def function(self, fn):
        if fn in self.d.functions:
            return self.d.functions[fn] or fn
        return fn

    def fn_terms(self, fn, order, arg, p, q, env, ctx) -> list:
        """fn^(order) of entry (p, q) of `arg`, with the indices that are not
        the entry's own moved into the key's free slots so that equal
        entries meet whatever their index names."""
        r, c = self.info(arg).shape
        key = I.canon(self.terms(arg, I.P, I.Q, env, ctx))
        slots = [s for s, size in ((I.P, r), (I.Q, c)) if size == 1]
        foreign = []
        for _, factors, _ in key:
            for f in factors:
                for x in _ixs(f):
                    if isinstance(x, str) and x not in (I.P, I.Q) and not x.startswith("#") and x not in foreign:
                        foreign.append(x)
        args = {I.P: p if r != 1 else None, I.Q: q if c != 1 else None}
        if foreign and len(foreign) <= len(slots):
            m = dict(zip(foreign, slots))
            key = I.rename(key, m)
            args.update({s: x for x, s in m.items()})
        used = {x for _, fs, _ in key for f in fs for x in _ixs(f)}
        pair = (args[I.P] if I.P in used else None, args[I.Q] if I.Q in used else None)
        return I.function_terms(fn, order, I.intern(key), pair, ctx)

    def bin_terms(self, n, info, p, q, env, ctx) -> list:
        if n.op in ("+", "-"):
            b = self.terms(n.b, p, q, env, ctx)
            if n.op == "-":
                b = [I.Term(-x.coeff, x.bound, x.factors) for x in b]
            return self.terms(n.a, p, q, env, ctx) + b
        if info.mode == "matmul":
            inner = self.info(n.a).shape[1]
            k = 0 if inner == 1 else ctx.fresh()
            return _bind(_product(self.terms(n.a, p, k, env, ctx), self.terms(n.b, k, q, env, ctx)), k, inner)
        return _product(self.terms(n.a, p, q, env, ctx), self.terms(n.b, p, q, env, ctx))

    def partial_terms(self, n, info, p, q, env, ctx) -> list:
        """d num / d den at entry (p, q) by the index form's chain rule;
        for a Jacobian, (p, q) are the num's and the den's entry."""
        var, row, col = info.sel
        name = var.name
        sub = I.Context({k: v for k, v in self.d.forward.items() if k != name})
        sub.counter = ctx.counter

        def at(a, b):
            rr, cc = var.shape
            a, b = self.ix(row, env, a), self.ix(col, env, b)
            return (0 if rr == 1 else a, 0 if cc == 1 else b)

        mode = info.mode
        if mode == "num-scalar":
            num, (a, b) = self.terms(n.num, 0, 0, env, sub), at(p, q)
        elif mode == "den-scalar":
            num, (a, b) = self.terms(n.num, p, q, env, sub), at(0, 0)
        else:  # diag, jacobian: column vectors
            num, (a, b) = self.terms(n.num, p, 0, env, sub), at(q, 0)
        raw = I.differentiate(num, name, a, b, sub)
        if name in self.d.forward:
            raw = self.inline(raw, name, ctx)
        return raw

    def inline(self, terms, name, ctx) -> list:
        """Put the definition of the intermediate `name` back in."""
        out = []
        for t in terms:
            acc = [I.Term(t.coeff, dict(t.bound), [])]
            for f in t.factors:
                acc = _product(acc, self.inline_factor(f, name, ctx))
            out.extend(acc)
        return out

    def inline_factor(self, f, name, ctx) -> list:
        if f.kind == "E" and f.name == name:
            return I.entry(self.vars[name], f.i, f.j, ctx)
        if f.kind == "F":
            new = I.canon(self.inline(I.instantiate(f.key, (I.P, I.Q), ctx), name, ctx))
            used = {x for _, fs, _ in new for g in fs for x in _ixs(g)}
            pair = (f.args[0] if I.P in used else None, f.args[1] if I.Q in used else None)
            return I.function_terms(f.fn, f.order, I.intern(new), pair, ctx)
        return [I.Term(sympy.Integer(1), {}, [f])]


def fold_fixed(form: tuple) -> tuple:
    """One spelling for a function taken at a fixed entry: `g'(z_1)` is
    written with the fixed index inside the argument's form, never as an
    argument (the index form's differentiation gives the latter)."""
    out = []
    for bound, factors, coeff in form:
        out.append(I.Term(coeff, dict(bound), [_fold_factor(f) for f in factors]))
    return I.canon(out)


def _fold_factor(f):
    if f.kind != "F":
        return f
    args = f.args
    sub = {I.P: args[0] if isinstance(args[0], int) else I.P, I.Q: args[1] if isinstance(args[1], int) else I.Q}
    inner = I.rename(I.form(f.key), sub)
    new_args = tuple(None if isinstance(a, int) else a for a in args)
    return I.Fn(f.fn, f.order, I.intern(fold_fixed(inner)), new_args)
