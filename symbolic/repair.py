"""The likely mistake in a wrong claim: the edit of its text that makes it
provable.

1. Candidates: every one-edit variant of the claim as written
   (`mutate.single_edits`: transposes, operand order, `*` for `@`, `g` for
   `g'`, a missing derivative factor or upstream gradient, sums and their
   axes, signs), a constant factor where the claim is `c` times the
   gradient, each term of the derived form the claim lacks and each term
   it has too many; if none of them holds, two edits at once.
2. A numeric screen: each candidate against the derived gradient at a few
   floating-point points (distinct sizes, generic functions a quintic).
   It only discards: a survivor is not yet a repair.
3. Proof: the survivors, likeliest mistake first, go through the verifier
   itself; the first proved for every size (or, failing that, for every
   size up to N) is the repair, and says which.
"""
from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import sympy

from . import expr as E
from . import windows as W
from .budget import cpu_time
from .explicit import POLYS, poly_derivative
from .functions import ACTIVATIONS, real_value
from . import steptree as T
from .mutate import (KIND_NAMES, KINDS, Edit, Mutant, Scope, Source, _is_product, _need_outer, apply_edits, fit,
                     precedence, single_edits)
from .parse import ExprError, parse_tree
from .simplify import simplify

PAIR_SECONDS = 3.0  # at most this long on pairs of edits


# ---------------------------------------------------------------- numeric screen

_NUMPY = {sympy.exp: np.exp, sympy.log: np.log, sympy.tanh: np.tanh, sympy.cosh: np.cosh, sympy.sinh: np.sinh,
          sympy.sin: np.sin, sympy.cos: np.cos, sympy.erf: np.vectorize(math.erf, otypes=[np.float64]),
          sympy.erfc: np.vectorize(math.erfc, otypes=[np.float64]),
          sympy.Heaviside: lambda u: np.where(u > 0, 1.0, 0.0)}


def _numpy_value(x, t, v):
    """A SymPy expression in `t` evaluated on the array `v` (table functions
    written out; no code is generated)."""
    if x == t:
        return v
    if x.is_Number:
        return np.full_like(v, float(x))
    if x.is_Add:
        return sum(_numpy_value(a, t, v) for a in x.args)
    if x.is_Mul:
        return math.prod((_numpy_value(a, t, v) for a in x.args), start=np.ones_like(v))
    if x.is_Pow:
        return _numpy_value(x.args[0], t, v) ** float(x.args[1])
    if x.func in _NUMPY:
        return _NUMPY[x.func](_numpy_value(x.args[0], t, v))
    if isinstance(x, sympy.DiracDelta):
        return np.zeros_like(v)
    if isinstance(x, sympy.Max):
        return np.maximum(*(_numpy_value(a, t, v) for a in x.args))
    raise ValueError(f"no numeric value for {x.func}")


def _matrix_function(fn: str, a):
    if fn == "inv":
        return np.linalg.inv(a)
    sign, log = np.linalg.slogdet(a)
    if fn == "det":
        return np.array([[sign * np.exp(log)]])
    return np.array([[log if sign > 0 else np.nan]])


_FACTS = {  # fact (`derivation.FACTS`) -> random data of `a`'s shape that meets it
    "one-hot columns": lambda a, rng: np.eye(a.shape[0])[:, rng.integers(0, a.shape[0], a.shape[1])],
    "one-hot rows": lambda a, rng: np.eye(a.shape[1])[rng.integers(0, a.shape[1], a.shape[0])],
    "binary": lambda a, rng: rng.integers(0, 2, a.shape).astype(float),
    "symmetric": lambda a, rng: (a + a.T) / 2,
    "positive definite": lambda a, rng: a @ a.T + a.shape[0] * np.eye(a.shape[0]),
    "orthogonal": lambda a, rng: np.linalg.qr(a)[0],
    "negative": lambda a, rng: -np.abs(a),
    "positive": lambda a, rng: np.abs(a),
}


def _sizes(d) -> dict:
    """Distinct sizes from 2 up (a transpose shows), in the first order at
    which every convolution's length is positive."""
    dims = list(d.dims.values())
    lengths = W.size_conditions(list(d.forward.values()))
    for order in itertools.islice(itertools.permutations(range(2, 2 + len(dims))), 500):
        if W.fits(lengths, dict(zip(dims, order))):
            return dict(zip(dims, order))
    return {s: 2 + i for i, s in enumerate(dims)}


def _window(e, kids):
    """A node of `windows` at a point, in NumPy (the first arg max at a tie)."""
    if type(e) is W.Conv:
        a, b = kids[0][:, 0], kids[1][:, 0]
        out = np.correlate(a, b, mode="valid") if e.mode == "valid" else np.convolve(a, b)
        return out[:, None]
    a = kids[0]
    if type(e) is W.Flip:
        return a[::-1].copy()
    top = a.max(axis=e.axis, keepdims=True) if e.axis is not None else a.max().reshape(1, 1)
    if type(e) is W.Max:
        return top
    flat = a if e.axis != 1 else a.T
    mask = np.zeros_like(flat)
    if e.axis is None:
        mask.flat[np.argmax(a)] = 1
    else:
        mask[np.argmax(flat, axis=0), np.arange(flat.shape[1])] = 1
    return mask if e.axis != 1 else mask.T


_ARRAY_RULES = {  # node type -> its value from the node and its children's values, as NumPy arrays
    E.MatMul: lambda e, kids: kids[0] @ kids[1],
    E.Add: lambda e, kids: kids[0] + kids[1],
    E.Mul: lambda e, kids: kids[0] * kids[1],
    E.Scale: lambda e, kids: float(e.c) * kids[0],
    E.Transpose: lambda e, kids: kids[0].T,
    E.Pow: lambda e, kids: kids[0] ** e.p,
    E.Sum: lambda e, kids: kids[0].sum(keepdims=True) if e.axis is None else kids[0].sum(axis=e.axis, keepdims=True),
}


class Screen:
    """The derived gradient at a few points, and candidates against it."""

    COEFFS = POLYS[-1]  # a generic function as a quintic: g, g', g'' all differ

    def __init__(self, d, truth: E.Expr, seed: int = 0):
        self.d, self.truth = d, truth
        self.fns = {}
        rng = np.random.default_rng(seed)
        self.sizes = _sizes(d)
        values = dict(d.inputs)
        if d.upstream is not None:
            values[d.upstream.name] = d.upstream
        self.points, self.true = [], []
        for _ in range(8):
            env = {n: self._random(v.shape, rng) for n, v in values.items()}
            for name, fact in getattr(d, "facts", {}).items():
                env[name] = _FACTS.get(fact, _FACTS["positive"])(env[name], rng)
            memo = {}
            try:
                with np.errstate(all="ignore"):
                    t = self.value(truth, env, memo)
            except ValueError:
                continue
            if np.all(np.isfinite(t)):
                self.points.append((env, memo))
                self.true.append(t)
            if len(self.points) == 3:
                break

    def _size(self, s) -> int:
        return int(s.subs(self.sizes)) if isinstance(s, sympy.Expr) else int(s)

    def _random(self, shape, rng):
        r, c = self._size(shape[0]), self._size(shape[1])
        return rng.uniform(0.3, 1.4, size=(r, c)) * rng.choice([-1.0, 1.0], size=(r, c))

    def function(self, fn: str, order: int):
        key = (fn, order)
        if key not in self.fns:
            t = sympy.Dummy("t", real=True)
            poly = lambda k, u: poly_derivative(k, u, self.COEFFS)  # noqa: E731
            x = real_value(fn, order, t, poly)
            if x.has(sympy.DiracDelta):
                raise ValueError(f"{fn} has no derivative of order {order} as a function")
            self.fns[key] = lambda v, x=x, t=t: _numpy_value(x, t, v)
        return self.fns[key]

    def value(self, e: E.Expr, env: dict, memo: dict):
        key = id(e)
        if key in memo:
            return memo[key][1]
        t = type(e)
        if t is E.Var and e.role == "dim":  # a dim used as a value (`/ m`)
            v = np.array([[float(self._size(sympy.Symbol(e.name, integer=True, positive=True)))]])
        elif t is E.Var and e.role == "eye":
            v = np.eye(self._size(e.shape[0]))
        elif t is E.Var:
            v = env[e.name] if e.name in env else self.value(self.d.forward[e.name], env, memo)
        elif t is E.Const:
            v = np.array([[float(e.value)]])
        else:
            kids = [self.value(c, env, memo) for c in e.children()]
            if t in _ARRAY_RULES:
                v = _ARRAY_RULES[t](e, kids)
            elif t is E.Broadcast:
                v = np.broadcast_to(kids[0], (self._size(e.shape[0]), self._size(e.shape[1]))).copy()
            elif t is E.Apply:
                with np.errstate(all="ignore"):
                    v = self.function(e.fn, e.order)(kids[0])
            elif t is E.MatFn:
                try:
                    v = _matrix_function(e.fn, kids[0])
                except np.linalg.LinAlgError:
                    raise ValueError("singular") from None
            elif isinstance(e, W.NODES):
                v = _window(e, kids)
            else:
                raise ValueError(f"no numeric rule for {t.__name__}")
        memo[key] = (e, v)
        return v

    def values(self, e: E.Expr) -> list | None:
        if e.shape != self.truth.shape or not self.points:
            return None
        out = []
        with np.errstate(all="ignore"):
            for env, memo in self.points:
                try:
                    out.append(self.value(e, env, dict(memo)))
                except ValueError:
                    return None
        return out

    def passes(self, e: E.Expr) -> bool:
        vals = self.values(e)
        if vals is None:
            return False
        return all(np.all(np.isfinite(a)) and np.allclose(a, b, rtol=1e-7, atol=1e-9 * max(1.0, np.abs(b).max()))
                   for a, b in zip(vals, self.true))

    def factor(self, e: E.Expr, of: E.Expr | None = None) -> float | None:
        """c where e = c * `of` (default: the gradient) at every point."""
        vals = self.values(e)
        true = self.true if of is None else self.values(of)
        if vals is None or true is None:
            return None
        ratios = []
        for a, b in zip(vals, true):
            big = np.abs(b) > 1e-6 * max(1.0, np.abs(b).max())
            if not big.any() or not np.all(np.isfinite(a)):
                return None
            ratios.extend((a[big] / b[big]).ravel())
        c = float(np.median(ratios))
        return c if c != 0 and np.allclose(ratios, c, rtol=1e-8) else None

    def ratio(self, e: E.Expr, of: E.Expr | None = None) -> Fraction | None:
        """c where e = c * `of` (default: the gradient) at every point, for a
        simple rational c."""
        f = self.factor(e, of)
        c = None if f is None else Fraction(f).limit_denominator(64)
        if c is None or c in (0, 1) or not np.isclose(f, float(c), rtol=1e-8):
            return None
        return c

    def dim_factors(self, c: float) -> list:
        """The dims as values (`m`, `sqrt(d)`, `m * n`) whose value at the
        screen's sizes is `c` (the claim is that many times the gradient,
        -> "divide") or 1/c (-> "multiply")."""
        names = sorted(self.d.dims)
        size = {n: float(self._size(sympy.Symbol(n, integer=True, positive=True))) for n in names}
        found = [(size[n], n) for n in names] + [(size[n] ** 0.5, f"sqrt({n})") for n in names]
        found += [(size[a] * size[b], f"{a} * {b}") for k, a in enumerate(names) for b in names[k:]]
        out = []
        for value, text in found:
            for how, target in (("divide", value), ("multiply", 1 / value)):
                if np.isclose(c, target, rtol=1e-8):
                    out.append((how, text))
        return out


# ---------------------------------------------------------------- what the edits may use

def repair_scope(d, claim_expr=None) -> Scope:
    """Names and shapes in scope; the factors a claim may lack (the upstream
    gradient, the derivative of every function applied in the forward pass
    or in the claim, by the forward value's name where it has one:
    `s * (1 - s)` for `s = sigmoid(u)`); each named value's derivative."""
    parser = d.parser()
    names = {n: e.shape for n, e in parser.names.items()}
    shapes: dict = {}

    def shape_of(text):
        if text not in shapes:
            try:
                shapes[text] = parser.parse(text).shape
            except (ExprError, E.ShapeError):
                shapes[text] = None
        return shapes[text]

    scope = Scope(names, {}, {}, set(), shape_of, extended=True)
    if d.upstream is not None:
        scope.factors[d.upstream.name] = d.upstream.shape
    own = {impl or f: f for f, impl in d.functions.items()}
    by_value = {}
    for name, definition in d.forward.items():
        if isinstance(definition, E.Apply) and definition.order == 0:
            by_value.setdefault((definition.fn, definition.a), name)
    sources = list(d.forward.values()) + ([claim_expr] if claim_expr is not None else [])
    seen = set()
    for root in sources:
        for node in E.walk(root):
            if not isinstance(node, E.Apply) or node.fn in ("recip",) or (node.fn, node.order, node.a) in seen:
                continue
            seen.add((node.fn, node.order, node.a))
            fn = own.get(node.fn, node.fn)
            arg = E.text(node.a)
            called = f"{fn}{chr(39) * (node.order + 1)}({arg})"
            texts = [called]
            act = ACTIVATIONS.get(node.fn)
            if node.order == 0 and act is not None and act.prime is not None:
                prime = simplify(act.prime(node.a), d.forward)
                texts = [E.text(prime)]
                scope.derivative_texts.update(E.text(part) for part in E.walk(prime)
                                              if isinstance(part, (E.Add, E.Pow, E.Apply)))
            scope.derivative_texts.update(texts)
            scope.factors.setdefault(texts[0], node.a.shape)
            value = by_value.get((node.fn, node.a)) if node.order == 0 else None
            if value is not None:
                scope.derivatives[value] = [(t, precedence(parse_tree(t))) for t in texts]
    return scope


# ---------------------------------------------------------------- edits from the derived form

def _additive_terms(e: E.Expr, c=1):
    """(coefficient, term) of a sum, outermost constants folded."""
    if isinstance(e, E.Broadcast):
        e = e.a
    if isinstance(e, E.Scale):
        yield from _additive_terms(e.a, c * e.c)
    elif isinstance(e, E.Add):
        yield from _additive_terms(e.a, c)
        yield from _additive_terms(e.b, c)
    else:
        yield sympy.Rational(c), e


def _term_edits(src: Source, truth: E.Expr):
    """A term of the derived form added at the end; a term of the claim's
    own sum dropped."""
    terms = list(_additive_terms(truth))
    end = src.root.outer_end
    if len(terms) > 1:
        for c, term in terms:
            piece = E.text(E.scale(abs(c), term))
            yield "term", Edit(end, end, f" {'+' if c > 0 else '-'} {piece}"), \
                f"the claim lacks the term `{E.text(E.scale(c, term))}`"
    chain = _top_terms(src)
    if len(chain) > 1:
        for i, (sign, t) in enumerate(chain):
            note = f"the claim has the extra term `{'-' if sign < 0 else ''}{src.src(t)}`"
            if i == 0:
                yield "term", Edit(t.outer_start, chain[1][1].outer_start, "" if chain[1][0] > 0 else "-"), note
            else:
                yield "term", Edit(chain[i - 1][1].outer_end, t.outer_end, ""), note


def _constant_edits(src: Source, c: Fraction, n=None, note: str = ""):
    """Node `n` (default: the whole claim) is c times what it should be:
    its constants mended, or 1/c put in."""
    n = n or src.root
    k = 1 / c
    note = note or f"the claim is {_frac(c)} times the gradient"
    inside = [m for m in src.nodes if n.outer_start <= m.start and m.end <= n.outer_end]
    for m in inside:
        if type(m.tree) is T.Num:
            v = m.tree.value
            divisor = m.parent is not None and type(m.parent.tree) is T.Frac and m.parent.children[1] is m
            new = v / k if divisor else v * k
            if new.denominator == 1 and new > 0:
                yield "constant", Edit(m.start, m.end, str(new.numerator)), note
    body = src.src(n)
    product = _is_product(n.tree) or n.prec >= 3
    if abs(k.numerator) == 1 and k.denominator != 1:
        new = f"{'-' if k < 0 else ''}{fit(body, n.prec, 2 if k > 0 else 3)} / {k.denominator}"
    else:
        new = f"{k.numerator} * {body if product else fit(body, n.prec, 3)}"
        new += f" / {k.denominator}" if k.denominator != 1 else ""
    yield "constant", Edit(n.outer_start, n.outer_end, fit(new, 2, _need_outer(n))), note


def _dim_edit(src: Source, how: str, dim: str):
    """The claim divided or multiplied by a dim used as a value."""
    n = src.root
    body = src.src(n)
    shown = dim if " " not in dim else f"({dim})"
    product = _is_product(n.tree)
    op, note = ("/", f"the claim is `{dim}` times the gradient") if how == "divide" else \
        ("*", f"the claim lacks the factor `{dim}`")
    if product:  # `... @ K` -> `... @ K / sqrt(d)`: an insertion at the end
        return "constant", Edit(n.outer_end, n.outer_end, f" {op} {shown}"), note
    return "constant", Edit(n.outer_start, n.outer_end, f"{fit(body, n.prec, 3)} {op} {shown}"), note


def _top_terms(src: Source):
    """(sign, node) of the claim's own top-level sum."""
    chain, ops, top = [], [], src.root
    while _is_sum_node(top):
        chain.insert(0, top.children[1])
        ops.insert(0, -1 if top.tree.op == "-" else 1)
        top = top.children[0]
    return [(1, top)] + list(zip(ops, chain))


def _is_sum_node(n) -> bool:
    """A `+` or `-` of the claim's own top-level sum."""
    return type(n.tree) is T.Bin and n.tree.op in "+-" and (n.parent is None or not n.parenthesized)


def _frac(c: Fraction) -> str:
    return str(c.numerator) if c.denominator == 1 else f"{c.numerator}/{c.denominator}"


# ---------------------------------------------------------------- the search

class Search:
    """Candidates for one claim, screened, then proved in order."""

    def __init__(self, d, wrt: str, text: str, truth: E.Expr, claim_expr=None):
        self.d, self.wrt, self.text = d, wrt, text
        self.parser = d.parser()
        self.target = d.inputs[wrt].shape
        self.src = Source(text)
        self.scope = repair_scope(d, claim_expr)
        self.screen = Screen(d, truth)
        self.truth = truth
        self.tried = 0
        self.parsed: dict = {}

    def parse(self, text: str):
        if text not in self.parsed:
            try:
                self.parsed[text] = self.parser.parse(text)
            except (ExprError, E.ShapeError, RecursionError):
                self.parsed[text] = None
        return self.parsed[text]

    def singles(self, claim_expr) -> list:
        out = list(single_edits(self.src, self.scope))
        out += list(_term_edits(self.src, self.truth))
        if claim_expr is not None and claim_expr.shape == self.target:
            c = self.screen.ratio(claim_expr)
            if c is not None and c != -1:
                out += list(_constant_edits(self.src, c))
            f = self.screen.factor(claim_expr)
            for how, text in ([] if f is None else self.screen.dim_factors(f)):
                out.append(_dim_edit(self.src, how, text))
        terms = _top_terms(self.src)
        if len(terms) > 1:  # one term of the claim c times a term of the gradient
            for sign, node in terms:
                e = self.parse(self.src.src(node))
                if e is None or e.shape != self.target:
                    continue
                for k, term in _additive_terms(self.truth):
                    c = self.screen.ratio(E.scale(sign, e), E.broadcast(E.scale(k, term), self.target))
                    if c is not None and c != -1:
                        out += list(_constant_edits(self.src, c, node, f"the term `{self.src.src(node)}` is "
                                                                       f"{_frac(c)} times what it should be"))
        return out

    def survivors(self, candidates) -> list:
        """Mutants whose text parses to the right shape and agrees with the
        gradient at every screening point, likeliest first."""
        seen, out = set(), []
        for kind, edits, note in candidates:
            text = apply_edits(self.text, edits)
            if text in seen or text == self.text:
                continue
            seen.add(text)
            self.tried += 1
            e = self.parse(text)
            if e is None or e.shape != self.target or not self.screen.passes(e):
                continue
            before = "; ".join(self.text[x.start:x.end] for x in edits)
            after = "; ".join(x.replacement for x in edits)
            out.append(Mutant(kind, before, after, text, tuple(edits), note))
        return sorted(out, key=lambda m: (KINDS.index(m.kind), len(m.before) + len(m.after)))

    def pairs(self, singles, deadline: float):
        """Two edits: each single edit, then every edit of its result; the
        pair shown as one span of the claim as written."""
        for k1, e1, n1 in singles:
            first = e1.apply(self.text)
            if cpu_time() > deadline:
                return
            try:
                src = Source(first)
            except (ExprError, SyntaxError, ValueError):
                continue
            for k2, e2, n2 in single_edits(src, self.scope):
                if cpu_time() > deadline:
                    return
                note = "; ".join([_describe(k1, self.text, e1, n1), _describe(k2, first, e2, n2)])
                yield "two edits", _both(self.text, e1, e2, first), note


def _both(text: str, e1: Edit, e2: Edit, first: str) -> tuple:
    """Edit `e1` of `text`, then `e2` of the result, as edits of `text`:
    two where `e2` lies outside what `e1` wrote, else one span."""
    written = e1.start + len(e1.replacement)
    if e2.end <= e1.start and e2.start < e1.start:
        return (e2, e1)
    if e2.start >= written and e2.end > written:
        shift = len(e1.replacement) - (e1.end - e1.start)
        return (e1, Edit(e2.start - shift, e2.end - shift, e2.replacement))
    return (_one_span(text, e2.apply(first)),)


def _one_span(before: str, after: str) -> Edit:
    """The one edit that turns `before` into `after` (common ends kept)."""
    i = 0
    while i < min(len(before), len(after)) and before[i] == after[i]:
        i += 1
    j = 0
    while j < min(len(before), len(after)) - i and before[-1 - j] == after[-1 - j]:
        j += 1
    return Edit(i, len(before) - j, after[i:len(after) - j])


def _describe(kind: str, text: str, edit: Edit, note: str) -> str:
    before, after = text[edit.start:edit.end], edit.replacement
    return f"{KIND_NAMES[kind]}: {note or what_changes(before, after)}"


def what_changes(before: str, after: str) -> str:
    if before.strip() and after.strip():
        return f"`{before.strip()}` should be `{after.strip()}`"
    if after.strip():
        return f"`{after.strip()}` is missing"
    return f"`{before.strip()}` should not be there"


def search(d, wrt: str, text: str, truth: E.Expr, claim_expr, prove, deadline: float):
    """The likeliest proved repair: (Mutant, proof, tried, survived) or None.
    `prove(expr)` gives ("proved"|"proved-up-to", N) or None; `deadline`
    is on the clock budgets count (`budget.cpu_time`), so that the repair
    found does not depend on the machine's load."""
    s = Search(d, wrt, text, truth, claim_expr)
    singles = s.singles(claim_expr)
    found = s.survivors((k, (e,), n) for k, e, n in singles if cpu_time() < deadline)
    if not found:
        pair_deadline = min(deadline, cpu_time() + PAIR_SECONDS)
        found = s.survivors(s.pairs(singles, pair_deadline))
    for m in found:
        if cpu_time() > deadline:
            return None
        proof = prove(s.parse(m.text))
        if proof is not None:
            return m, proof, s.tried, len(found)
    return None
