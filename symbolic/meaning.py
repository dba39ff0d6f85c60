"""The meaning of a step's LaTeX tree: its shape, its index form, its value.

`Meaning` gives each node of a `texparse` tree three readings, the same three
a claim gets in the core: its shape (`sh`, with the notes' conventions for
derivatives), the index form of its entry (p, q) for every size (`terms`,
built on `symbolic.index`), and its entries at explicit sizes (`value`, with
SymPy's own `diff` for every derivative).  `steps` compares them.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

from . import expr as E
from . import index as I
from . import texparse as T
from .explicit import Explicit
from .functions import sympy_function

LOSS = "J"


class StepShapeError(Exception):
    """Shapes that do not meet, with the LaTeX where."""


@dataclass
class Info:
    shape: tuple
    mode: str | None = None  # Bin dot: scalar/matmul/hadamard; Deriv: num-scalar/den-scalar/diag/jacobian
    diag: bool = False  # a Jacobian written as its diagonal
    sel: tuple | None = None  # Index / Deriv den: (Var, row, col), row/col an Ix or None (the whole axis)


def same_size(a, b) -> bool:
    return a is not None and b is not None and sympy.simplify(a - b) == 0


def shape_tex(shape) -> str:
    r, c = shape
    return f"{r} \\times {c}"


def shape_text(shape) -> str:
    r, c = shape
    return f"{r} x {c}"


def _ixs(f):
    if f[0] == "E":
        return (f[2], f[3])
    if f[0] == "F":
        return tuple(a for a in f[4] if a is not None)
    return (f[1], f[2])


def _product(xs, ys):
    return [I.Term(a.coeff * b.coeff, {**a.bound, **b.bound}, a.factors + b.factors) for a in xs for b in ys]


def _bind(terms, idx, size):
    if idx == 0:
        return terms
    for t in terms:
        t.bound[idx] = size
    return terms


def _terms_of(canonical) -> list:
    return [I.Term(c, dict(b), list(f)) for b, f, c in canonical]


class Meaning:
    """Shapes, index forms and explicit values of the trees of one step."""

    def __init__(self, d, notation: dict, text: str):
        self.d, self.notation, self.text = d, notation, text
        self.vars = dict(d.inputs)
        self.vars.update({n: E.Var(n, e.shape, "intermediate") for n, e in d.forward.items()})
        if d.upstream is not None:
            self.vars[d.upstream.name] = d.upstream
        self.info: dict = {}
        self.free: dict = {}  # free index var -> size

    def src(self, node) -> str:
        return T.source(self.text, node) or "?"

    def fail(self, message, node):
        raise StepShapeError(f"{message} (in `{self.src(node)}`)")

    def size(self, ix: T.Ix):
        return sympy.Integer(ix.value) if ix.kind == "num" else self.d.dims[ix.value]

    # ---- shapes
    def sh(self, n, env) -> Info:
        k = id(n)
        if k not in self.info:
            self.info[k] = self._sh(n, env)
        return self.info[k]

    def resolve(self, n):
        """A Name (through notation) -> its Var, or None."""
        while isinstance(n, T.Name) and n.name in self.notation:
            n = self.notation[n.name]
        if isinstance(n, T.Name) and n.name in self.vars:
            return self.vars[n.name]
        return None

    def selection(self, n, env):
        """For `W_{i,:}` and kin: (Var, row Ix or None, col Ix or None) and the shape."""
        var = self.resolve(n.base)
        if var is None:
            self.fail("only a named matrix takes indices", n)
        r, c = var.shape
        items = n.items
        if len(items) == 2:
            row, col = [None if x.kind == "colon" else x for x in items]
        else:
            x = items[0]
            if x.kind == "colon":
                self.fail("a lone `:` selects nothing", n)
            if r == 1 and c == 1:
                self.fail(f"`{var.name}` is a scalar; it has no entries", n)
            if c == 1:
                row, col = x, T.Ix("num", 1)
            elif r == 1:
                row, col = T.Ix("num", 1), x
            else:
                row, col = x, None  # one index on a matrix: its row (W_i = W_{i,:})
        for ix, size, axis in ((row, r, "rows"), (col, c, "columns")):
            if ix is None:
                continue
            if ix.kind == "dim":
                self.fail(f"`{ix.value}` as an index: only the last entry around dots may use a dim", n)
            if ix.kind == "num" and size.is_Integer and ix.value > size:
                self.fail(f"index {ix.value} beyond the {size} {axis} of `{var.name}`", n)
            if ix.kind == "var":
                if ix.value in env:
                    rng = env[ix.value]  # None: any value in range (a label's view)
                elif ix.value in self.free:
                    rng = self.free[ix.value]
                else:
                    rng = self.free[ix.value] = size
                if rng is not None and not same_size(rng, size):
                    self.fail(f"index `{index_name(ix.value)}` runs over 1..{rng} but indexes the {size} {axis} "
                              f"of `{var.name}`", n)
        shape = (E.ONE if row is not None else r, E.ONE if col is not None else c)
        return (var, row, col), shape

    def _sh(self, n, env) -> Info:
        t = type(n)
        if t is T.Num:
            return Info((E.ONE, E.ONE))
        if t is T.Name:
            if n.name == LOSS:
                return Info((E.ONE, E.ONE))
            if n.name in self.notation:
                return self.sh(self.notation[n.name], env)
            return Info(self.vars[n.name].shape)
        if t is T.Index:
            sel, shape = self.selection(n, env)
            return Info(shape, sel=sel)
        if t is T.Transpose:
            a = self.sh(n.a, env)
            return Info((a.shape[1], a.shape[0]))
        if t in (T.Power, T.Neg, T.Labelled):
            return Info(self.sh(n.a, env).shape, diag=self.sh(n.a, env).diag)
        if t is T.Call:
            return Info(self.sh(n.arg, env).shape)
        if t is T.Frac:
            a, b = self.sh(n.a, env), self.sh(n.b, env)
            if b.shape != (E.ONE, E.ONE):
                self.fail(f"a fraction needs a scalar below the bar, got {shape_text(b.shape)}", n)
            return Info(a.shape)
        if t is T.Bin:
            return self._sh_bin(n, env)
        if t is T.SumOver:
            if n.lo != T.Ix("num", 1):
                self.fail("a sum must start at 1", n)
            if n.hi.kind == "var":
                self.fail("a sum must end at a number or a dim", n)
            return Info(self.sh(n.body, {**env, n.var: self.size(n.hi)}).shape)
        if t is T.Inner:
            a, b = self.sh(n.a, env), self.sh(n.b, env)
            if not self.same(a.shape, b.shape):
                self.fail(f"`\\langle a, b \\rangle` needs two vectors of one shape, got {shape_text(a.shape)} "
                          f"and {shape_text(b.shape)}", n)
            return Info((E.ONE, E.ONE))
        if t is T.Pattern:
            return self._sh_pattern(n, env)
        if t is T.Grid:
            return self._sh_grid(n, env)
        if t is T.Deriv:
            return self._sh_deriv(n, env)
        self.fail(f"no meaning for {t.__name__}", n)

    def same(self, a, b) -> bool:
        return all(x is None or y is None or same_size(x, y) for x, y in zip(a, b))

    def _sh_bin(self, n, env) -> Info:
        a, b = self.sh(n.a, env), self.sh(n.b, env)
        sa, sb = a.shape, b.shape
        one = (E.ONE, E.ONE)
        if n.op in ("+", "-"):
            if not self.same(sa, sb):
                self.fail(f"`{n.op}` needs two sides of one shape, got {shape_text(sa)} and {shape_text(sb)}", n)
            return Info(tuple(x if x is not None else y for x, y in zip(sa, sb)))
        if None in sa or None in sb:
            if n.op == "odot" and self.same(sa, sb):
                return Info(tuple(x if x is not None else y for x, y in zip(sa, sb)), "same")
            self.fail("the length of a vector written with dots and no index is not determined here", n)
        if n.op == "odot":
            if sa == one or sb == one:
                return Info(sb if sa == one else sa, "scalar")
            if not self.same(sa, sb):
                self.fail(f"`\\odot` needs two sides of one shape, got {shape_text(sa)} and {shape_text(sb)}", n)
            return Info(sa, "same")
        if sa == one or sb == one:
            big = b if sa == one else a
            return Info(big.shape, "scalar", diag=big.diag)
        if same_size(sa[1], sb[0]):
            return Info((sa[0], sb[1]), "matmul")
        if (a.diag or b.diag) and self.same(sa, sb):
            return Info(sa, "hadamard", diag=a.diag and b.diag)
        self.fail(f"a product needs the inner sizes to agree, got {shape_text(sa)} times {shape_text(sb)}", n)

    def _sh_pattern(self, n, env) -> Info:
        env2 = dict(env)
        lengths = []
        for spec in (n.rows, n.cols):
            if spec is None:
                lengths.append(None)
                continue
            var, lo, hi = spec
            if hi is None:
                lengths.append(None)
                continue
            if lo != T.Ix("num", 1):
                self.fail("a vector written with dots must start at index 1", n)
            env2[var] = self.size(hi)
            lengths.append(env2[var])
        tshape = self.sh(n.template, env2).shape
        if n.rows is not None and n.cols is not None:
            if tshape != (E.ONE, E.ONE):
                self.fail(f"each entry of a matrix written with dots must be a scalar, got {shape_text(tshape)}", n)
            return Info(tuple(lengths))
        if n.rows is not None:
            if tshape[0] != 1:
                self.fail(f"each entry of a column must be a scalar or a row, got {shape_text(tshape)}", n)
            return Info((lengths[0], tshape[1]))
        if tshape[1] != 1:
            self.fail(f"each entry of a row must be a scalar or a column, got {shape_text(tshape)}", n)
        return Info((tshape[0], lengths[1]))

    def _sh_grid(self, n, env) -> Info:
        shapes = [[self.sh(x, env).shape for x in row] for row in n.rows]
        one = (E.ONE, E.ONE)
        if all(s == one for row in shapes for s in row):
            if len({len(r) for r in shapes}) != 1:
                self.fail("rows of different lengths", n)
            return Info((sympy.Integer(len(shapes)), sympy.Integer(len(shapes[0]))), "scalars")
        if all(len(r) == 1 and r[0][0] == 1 for r in shapes) and len({r[0][1] for r in shapes}) == 1:
            return Info((sympy.Integer(len(shapes)), shapes[0][0][1]), "rows")
        self.fail("a matrix written entry by entry takes scalars, or one row per line", n)

    def _sh_deriv(self, n, env) -> Info:
        num = self.sh(n.num, env)
        den = n.den
        if isinstance(den, T.Index):
            sel, dshape = self.selection(den, env)
        else:
            var = self.resolve(den)
            if var is None:
                self.fail("below the bar must stand a variable, an entry, a row or a column", n)
            sel, dshape = (var, None, None), var.shape
        one = (E.ONE, E.ONE)
        if num.shape == one:
            return Info(dshape, "num-scalar", sel=sel)
        if dshape == one:
            return Info(num.shape, "den-scalar", sel=sel)
        if num.shape[1] == 1 and dshape[1] == 1:
            info = Info((num.shape[0], dshape[0]), "jacobian", sel=sel)
            if same_size(num.shape[0], dshape[0]) and self.elementwise(n, info, env):
                return Info((num.shape[0], E.ONE), "diag", diag=True, sel=sel)
            return info
        self.fail(f"the derivative of a {shape_text(num.shape)} matrix by a {shape_text(dshape)} one "
                  "is not a matrix", n)

    def elementwise(self, n, info, env) -> bool:
        """Is d num_p / d den_q zero off the diagonal?"""
        names = {v: f"${v}" for v in {**self.free, **env}}
        ctx = I.Context(dict(self.d.forward))
        jac = I.canon(self.partial_terms(n, info, "$a", "$b", names, ctx))
        diag = I.rename(jac, {"$b": "$a"})
        again = I.canon(_product([I.Term(sympy.Integer(1), {}, [("D", "$a", "$b")])], _terms_of(diag)))
        return again == jac

    # ---- index form
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
        info = self.info[id(n)]
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
            r, c = self.info[id(n.a)].shape
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
            tr, tc = self.info[id(n.template)].shape
            return self.terms(n.template, p if tr != 1 else 0, q if tc != 1 else 0, env2, ctx)
        if t is T.Grid:
            out = []
            for a, row in enumerate(n.rows):
                for b, x in enumerate(row):
                    deltas = []
                    if r != 1:
                        deltas.append(("D", p, a))
                    if info.mode == "scalars" and c != 1:
                        deltas.append(("D", q, b))
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
        r, c = self.info[id(arg)].shape
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
            inner = self.info[id(n.a)].shape[1]
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
        if f[0] == "E" and f[1] == name:
            return I.entry(self.vars[name], f[2], f[3], ctx)
        if f[0] == "F":
            _, fn, order, key, args = f
            new = I.canon(self.inline(I.instantiate(key, (I.P, I.Q), ctx), name, ctx))
            used = {x for _, fs, _ in new for g in fs for x in _ixs(g)}
            pair = (args[0] if I.P in used else None, args[1] if I.Q in used else None)
            return I.function_terms(fn, order, I.intern(new), pair, ctx)
        return [I.Term(sympy.Integer(1), {}, [f])]

    # ---- explicit values
    def value(self, n, env, X, ex=None) -> sympy.Matrix:
        """Entry values of `n` at the sizes of `X`; `env`: index var -> int."""
        ex = ex or X.ex
        info = self.info[id(n)]
        t = type(n)
        if t is T.Num:
            return sympy.Matrix([[sympy.Rational(n.value.numerator, n.value.denominator)]])
        if t is T.Name:
            if n.name == LOSS:
                return sympy.Matrix([[ex.objective()]])
            if n.name in self.notation:
                return self.value(self.notation[n.name], env, X, ex)
            return ex.value(self.vars[n.name])
        if t is T.Index:
            var, row, col = info.sel
            m = ex.value(var)
            return m.extract(self.ex_range(row, env, m.rows), self.ex_range(col, env, m.cols))
        if t is T.Transpose:
            return self.value(n.a, env, X, ex).T
        if t is T.Labelled:
            return self.value(n.a, env, X, ex)
        if t is T.Neg:
            return -self.value(n.a, env, X, ex)
        if t is T.Power:
            return self.value(n.a, env, X, ex).applyfunc(lambda v: v ** n.p)
        if t is T.Call:
            f = sympy_function(self.function(n.fn), n.order)
            return self.value(n.arg, env, X, ex).applyfunc(f)
        if t is T.Frac:
            b = self.value(n.b, env, X, ex)[0, 0]
            return self.value(n.a, env, X, ex).applyfunc(lambda v: v / b)
        if t is T.Bin:
            a, b = self.value(n.a, env, X, ex), self.value(n.b, env, X, ex)
            if n.op in ("+", "-"):
                a, b = match_scalar(a, b), match_scalar(b, a)
                return a + b if n.op == "+" else a - b
            if a.shape == (1, 1) and b.shape != (1, 1):
                return a[0, 0] * b
            if b.shape == (1, 1) and a.shape != (1, 1):
                return b[0, 0] * a
            if info.mode == "matmul":
                return a * b
            return a.multiply_elementwise(b)
        if t is T.SumOver:
            total = None
            for k in range(X.size(self.size(n.hi))):
                v = self.value(n.body, {**env, n.var: k}, X, ex)
                total = v if total is None else total + v
            return total
        if t is T.Inner:
            a, b = self.value(n.a, env, X, ex), self.value(n.b, env, X, ex)
            return sympy.Matrix([[sum(x * y for x, y in zip(a, b))]])
        if t is T.Pattern:
            return self.pattern_value(n, env, X, ex)
        if t is T.Grid:
            return sympy.Matrix.vstack(*[sympy.Matrix.hstack(*[self.value(x, env, X, ex) for x in row])
                                         for row in n.rows])
        if t is T.Deriv:
            return self.partial_value(n, info, env, X, ex)
        raise StepShapeError(f"no explicit value for {t.__name__}")

    def ex_range(self, ix, env, size) -> list:
        if ix is None:
            return list(range(size))
        k = ix.value - 1 if ix.kind == "num" else env[ix.value]
        if size == 1:
            return [0]
        if not 0 <= k < size:
            raise StepShapeError(f"index {k + 1} out of range 1..{size}")
        return [k]

    def pattern_value(self, n, env, X, ex):
        rv = n.rows if n.rows is not None and n.rows[2] is not None else None
        cv = n.cols if n.cols is not None and n.cols[2] is not None else None
        if rv is None and cv is None:
            return self.value(n.template, env, X, ex)  # a constant entry: acts as a scalar
        if rv is not None and cv is not None:
            lr, lc = X.size(self.size(rv[2])), X.size(self.size(cv[2]))
            return sympy.Matrix(lr, lc, lambda i, j: self.value(n.template, {**env, rv[0]: i, cv[0]: j}, X, ex)[0, 0])
        var, _, hi = rv or cv
        blocks = [self.value(n.template, {**env, var: k}, X, ex) for k in range(X.size(self.size(hi)))]
        return sympy.Matrix.vstack(*blocks) if rv else sympy.Matrix.hstack(*blocks)

    def partial_value(self, n, info, env, X, ex):
        var, row, col = info.sel
        name = var.name
        freed = name in self.d.forward
        inner = X.freed(name) if freed else ex
        num = self.value(n.num, env, X, inner)
        s = inner.symbols[name]
        den = s.extract(self.ex_range(row, env, s.rows), self.ex_range(col, env, s.cols))
        mode = info.mode
        if mode == "num-scalar":
            out = den.applyfunc(lambda v: sympy.diff(num[0, 0], v))
        elif mode == "den-scalar":
            out = num.applyfunc(lambda v: sympy.diff(v, den[0, 0]))
        elif mode == "diag":
            out = sympy.Matrix(num.rows, 1, lambda i, _: sympy.diff(num[i, 0], den[i, 0]))
        else:
            out = sympy.Matrix(num.rows, den.rows, lambda i, j: sympy.diff(num[i, 0], den[j, 0]))
        if freed:
            true = ex.value(var)
            out = out.xreplace({s[i, j]: true[i, j] for i in range(s.rows) for j in range(s.cols)})
        return out


def match_scalar(a, b):
    """A 1 x 1 constant entry (a vector of ones written with dots) to `b`'s shape."""
    if a.shape == (1, 1) and b.shape != (1, 1):
        return sympy.Matrix(b.rows, b.cols, lambda i, j: a[0, 0])
    return a


def index_name(v: str) -> str:
    return v if not v.startswith("%") else "i"


class Sizes:
    """Explicit sizes for one check: the core's `Explicit`, plus copies in
    which an intermediate is a matrix of free symbols (for partials by it)."""

    def __init__(self, d, sizes):
        self.d, self.sizes = d, sizes
        self.ex = Explicit(d, sizes)
        self._freed = {}

    def size(self, s) -> int:
        return self.ex.size(s)

    def freed(self, name) -> Explicit:
        if name not in self._freed:
            ex = Explicit(self.d, self.sizes)
            ex.symbols[name] = ex.matrix_of_symbols(name, self.d.forward[name].shape)
            self._freed[name] = ex
        return self._freed[name]
