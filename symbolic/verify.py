"""Verdicts on claims: the strongest statement each one reaches.

For a claim about dJ/dA the order of work is

1. shapes: a claim that cannot be formed, or has the wrong shape, is a
   `shape-error`;
2. index form: entry (p, q) of the claim against dJ/dA[p, q] differentiated
   in index form (`index.gradient`); a canonical difference of zero is a
   proof for every size, which an explicit check at one size confirms;
3. explicit sizes 1..N: the claim against SymPy's own `diff`; a concrete
   point where the values certainly differ is a counterexample (`refuted`);
   exact zero at every size is `proved-up-to` N;
4. the budget spent: the strongest verdict shown so far, `proved-up-to`
   the sizes completed (every size up to 2 is checked before any size 3),
   naming the stage that stopped; anything else is `unknown`.

"proved" is only ever said of an exact identity; "refuted" only of an
exact (or, for transcendental activations, 50-digit) disagreement.
"""
from __future__ import annotations

import random
import time

from . import domains
from . import expr as E
from . import index
from . import windows
from .budget import DEFAULT_BUDGET, OutOfTime, budget, cpu_time
from .compose import Composition
from .decide import (Difference, Trial, differs, explicit_check, first_difference, sizes_by_bound, sizes_text,
                     spot_check)
from .derivation import Claim, Derivation
from .derive import Gradients, derive
from .errors import ExprError
from .explicit import (POLY, POLYS, SIMPLE_POLYS, Explicit, at_a_kink, boundary_point, evaluate, finite, integer_point,
                       is_zero, matrix_strings, poly_text, random_point, unmet)
from .verdicts import (PROVED, REFUTED, SHAPE, STATUSES, UNKNOWN, UP_TO, Counterexample, Place, Repair,  # noqa: F401
                       Status, Verdict, headline)

def verify(d: Derivation, max_size: int | None = None, default_budget: float = DEFAULT_BUDGET,
           grads: Gradients | None = None) -> list:
    """Verdicts for every claim of `d`, in the file's order.

    The whole file runs within the sum of its claims' budgets: deriving
    the gradients comes out of it too, so a file whose backward pass alone
    outgrows the budget ends with every remaining claim `unknown`, saying
    which stage stopped."""
    claims = list(d.claims.values())
    seconds = [c.budget or default_budget for c in claims]
    verdicts, stage = [], "deriving the gradients"
    try:
        with budget(sum(seconds) or default_budget):
            grads = grads or derive(d)
            stage = "verifying the claims"
            for c, s in zip(claims, seconds):
                verdicts.append(verify_claim(d, c, grads, max_size or d.max_size, s))
    except (OutOfTime, RecursionError, MemoryError, index.FormTooLarge) as err:
        why = "did not finish within the file's budget" if isinstance(err, OutOfTime) else "outgrew its limits"
        for c in claims[len(verdicts):]:
            verdicts.append(Verdict(str(d.path), d.name, c.wrt, c.text, UNKNOWN,
                                    f"nothing decided: {stage} {why} ({sum(seconds):g} s)", "",
                                    stopped=stage, claim_expr=c.expr))
    return verdicts


def verify_claim(d: Derivation, claim: Claim, grads: Gradients, max_size: int, seconds: float,
                 repair: bool = True) -> Verdict:
    """The verdict on one claim; `repair`: look for a one-edit repair of a
    wrong claim.  Deciding and repairing share the one budget of `seconds`."""
    start, cpu_start = time.perf_counter(), cpu_time()
    derived = grads.closed[claim.wrt]
    v = Verdict(str(d.path), d.name, claim.wrt, claim.text, UNKNOWN, "", derived_text(derived),
                derived_expr=derived, claim_expr=claim.expr, name=claim.name)
    stage = ["proving for every size"]
    try:
        with budget(seconds):
            _decide(d, claim, v, max_size, stage, grads)
    except OutOfTime:
        _best_so_far(v, stage[0], seconds)
    except (RecursionError, MemoryError, index.FormTooLarge):
        _best_so_far(v, stage[0])
    left = seconds - (cpu_time() - cpu_start)
    if repair and v.status in (REFUTED, SHAPE) and left > 0.05:
        try:
            with budget(left):
                v.repair = find_repair(d, claim, grads, max_size, left)
        except (OutOfTime, RecursionError, MemoryError, index.FormTooLarge):
            pass
    v.seconds = time.perf_counter() - start
    return v


def _best_so_far(v: Verdict, stage: str, seconds: float | None = None):
    """The verdict of a claim whose check stopped in `stage`, when its
    budget of `seconds` ran out (None: when the expressions grew too
    large): proved up to the sizes completed (`v.sizes`, kept by
    `_explicit`), else unknown."""
    v.stopped = stage
    if v.status == REFUTED:
        return  # a counterexample too faint to see was found: it stands
    if seconds is None:
        why, hints = f"the expression grew too large or too deeply nested to decide while {stage}", []
    else:
        why, hints = f"the budget of {seconds:g} s ran out while {stage}", ["a larger `--budget` may decide more"]
    if v.sizes:
        hints.append(f"`--max-size {v.sizes}` stops at what was proved")
        v.status, v.detail = UP_TO, f"explicit matrices of symbols, every dim from 1 to {v.sizes}; then {why}"
    else:
        v.status, v.detail = UNKNOWN, f"nothing decided: {why}"
    if hints:
        v.detail += f" ({'; '.join(hints)})"


def derive_within(d: Derivation, seconds: float) -> Gradients | None:
    """`derive` under a budget; None if it does not finish."""
    try:
        with budget(seconds):
            return derive(d)
    except (OutOfTime, RecursionError, MemoryError):
        return None


MAX_PRINTED = 20000  # nodes: a derived form larger than this is described, not printed


def derived_text(e: E.Expr) -> str:
    """A derived form in file syntax, or a note of its size where printing it
    would write out a shared subexpression exponentially often."""
    sizes = {}

    def size(x):
        if id(x) not in sizes:
            sizes[id(x)] = 1 + sum(size(c) for c in x.children())
        return sizes[id(x)]
    n = size(e)
    if n > MAX_PRINTED:
        return f"(a form of {n:,} nodes written out: too large to print)"
    return E.text(e)


def composition(d: Derivation, grads: Gradients) -> Composition:
    """The derivation's locally proved backward pass (made once)."""
    c = d.cache.get("composition")
    if c is None or c.grads is not grads:
        c = d.cache["composition"] = Composition(d, grads)
    return c


def defined_where_j_is(d: Derivation, e: E.Expr) -> bool:
    """Whether every 1/u and log(u) of `e` (forward values written out) is
    one J itself needs, or has an argument positive by its form."""
    if "domain" not in d.cache:
        d.cache["domain"] = domains.objective_conditions(d.forward, d.output, d.upstream)
    return all(domains.implied(c, d.cache["domain"]) for c in domains.expression_conditions(e, d.forward))


def _decide(d: Derivation, claim: Claim, v: Verdict, max_size: int, stage: list, grads=None):
    target = d.inputs[claim.wrt].shape
    if claim.expr is None:
        v.status, v.detail = SHAPE, claim.shape_error
        return
    if claim.expr.shape != target:
        v.status, v.detail = SHAPE, (f"the claim has shape {E.fmt_shape(claim.expr.shape)}, but dJ/d{claim.wrt} "
                                     f"has the shape of `{claim.wrt}`, {E.fmt_shape(target)}")
        return
    if grads is not None:
        stage[0] = "proving layer by layer"
        if _layer_by_layer(d, grads, claim.expr, claim.wrt):
            v.status, v.detail = PROVED, ("index form, layer by layer: each step of the backward pass proved "
                                          "locally, the claim their composition, for all dims")
            return
        stage[0] = "proving for every size"
    try:
        every_size = proves_every_size(d, claim.expr, claim.wrt)
    except index.FormTooLarge:
        every_size = False  # explicit sizes may still decide it
    kinks = () if every_size else _off_kinks(d, claim)  # a proof everywhere has no kinks to except
    if every_size or kinks:
        stage[0] = "checking the proof at size 2"
        if _spot_check(d, claim):
            v.status, v.kinks = PROVED, kinks
            v.detail = "index form: entry (p, q) of both sides agrees symbolically for all dims"
            if kinks:
                v.detail += (", except where " + " or ".join(f"`{k} = 0`" for k in kinks) + ", a kink of `step` "
                             "(and `relu'`), where gradproof's step(0) = 0 and the claim's step(-u) = 1 - step(u) "
                             "differ")
            return
    _explicit(d, claim, v, max_size, stage)


def _off_kinks(d: Derivation, claim: Claim) -> tuple:
    """The texts of the u off whose zeros (kinks of step) the claim equals
    the gradient in index form for every size; () if it does not, or if it
    does everywhere."""
    key = ("index gradient", claim.wrt)
    if key not in d.cache or not defined_where_j_is(d, claim.expr):
        return ()
    try:
        diff = _difference(d, claim.expr, d.forward, d.cache[key])
    except index.FormTooLarge:
        return ()
    rest, kinks = domains.off_kinks(diff)
    if rest != () or not kinks:
        return ()
    return domains.kink_texts(kinks, [*d.forward.values(), claim.expr], d.forward)


def proves_closed_form(d: Derivation, grads: Gradients, e: E.Expr, wrt: str) -> bool:
    """Whether `e` is dJ/d`wrt` for every size: layer by layer first, then
    through the whole network."""
    return _layer_by_layer(d, grads, e, wrt) or proves_every_size(d, e, wrt)


def _layer_by_layer(d: Derivation, grads: Gradients, e: E.Expr, wrt: str) -> bool:
    """Whether `e` is dJ/d`wrt` by the locally proved backward pass (`compose`)."""
    try:
        return composition(d, grads).proves(e, wrt, lambda x: defined_where_j_is(d, x))
    except index.FormTooLarge:
        return False


def proves_every_size(d: Derivation, e: E.Expr, wrt: str) -> bool:
    """Whether `e` equals dJ/d`wrt` in index form, for every size, wherever
    J is defined: `e` must be defined there too (no 1/u or log(u) whose
    argument J does not already need nonzero or positive)."""
    if d.inputs[wrt].role == "symmetric":  # S_ij is S_ji in the index form: no derivative by S
        return _proves_for_any(d, e, wrt)
    key = ("index gradient", wrt)
    if key not in d.cache:
        d.cache[key] = index.gradient(d.forward, d.output, d.upstream, d.inputs[wrt])
    return defined_where_j_is(d, e) and _difference(d, e, d.forward, d.cache[key]) == ()


def _proves_for_any(d: Derivation, e: E.Expr, wrt: str) -> bool:
    """`proves_every_size` for a derived form of symmetric data `wrt` (never
    a claim): with `wrt` a matrix like any other, so that the form is proved
    the gradient for every value of it, symmetric or not."""
    plain = {wrt: E.Var(wrt, d.inputs[wrt].shape, "input")}
    forward = {n: E.substitute(x, plain) for n, x in d.forward.items()}
    e = E.substitute(e, plain)
    known = domains.objective_conditions(forward, d.output, d.upstream)
    if not all(domains.implied(c, known) for c in domains.expression_conditions(e, forward)):
        return False
    return _difference(d, e, forward, index.gradient(forward, d.output, d.upstream, plain[wrt])) == ()


def _difference(d: Derivation, e: E.Expr, forward: dict, true) -> tuple:
    """The canonical difference of `e`'s index form (forward values `forward`) and `true`, given the
    data's facts: () where they agree."""
    return domains.with_facts(index.difference(index.index_form(e, forward), true), d.facts)


def _spot_check(d: Derivation, claim: Claim) -> bool:
    """Every dim 2, SymPy's own diff, at sample points (exact where it can
    be): False only on a certain difference.  No exact zero test is needed
    (and for rational forms, such as a mean BCE's, it costs far more than
    the points)."""
    return spot_check(d.dims, lambda sizes: [Trial(_find_difference(Explicit(d, sizes), claim, d, random.Random(0),
                                                                    tries=3), None)])


def _trial(d: Derivation, claim: Claim, ex: Explicit, rng) -> Trial:
    """The claim against the true gradient at the sizes of `ex`: the point
    search, then (where the claim may be undefined but the gradient is not)
    the boundary points of its conditions."""
    found = _find_difference(ex, claim, d, rng)
    missing = unmet(ex.conditions(claim.expr), ex.conditions(ex.objective_expr()))
    if not found and missing:
        points = [boundary_point(kind, u, random_point(ex, rng)) for kind, u in missing]
        found = _find_difference(ex, claim, d, rng, tries=0, points=[p for p in points if p])
    return Trial(found, lambda: all(is_zero(x) for x in ex.given(ex.value(claim.expr) - ex.gradient(claim.wrt))),
                 undefined=bool(missing))


def _find_difference(ex: Explicit, claim: Claim, d: Derivation, rng, tries: int = 2, points=()):
    """A point where J has a gradient and the claim is undefined or differs
    from it (`decide.Difference`), or None.

    The claim is evaluated at the point term by term, as NumPy would; a
    point where J is undefined, or where a function of J sits at a kink
    (relu at 0), says nothing and is skipped.  A generic function is tried
    as each stand-in polynomial in turn."""
    true, j = ex.gradient(claim.wrt), ex.objective()
    tried = [integer_point(ex, rng)] + [random_point(ex, rng) for _ in range(tries)] if tries else []

    def values(point, coeffs):
        if at_a_kink([j], point):
            return None
        at = ex.at(point)
        if not finite(evaluate(at.objective(), {}, coeffs)):
            return None  # J undefined here: no gradient to compare
        b = true.applyfunc(lambda x: evaluate(x, point, coeffs))
        if not all(finite(x) for x in b):
            return None
        return at.value(claim.expr).applyfunc(lambda x: evaluate(x, {}, coeffs)), b
    return first_difference([p for p in tried if p is not None] + list(points),
                            SIMPLE_POLYS + POLYS if d.generic else (POLY,), values)


def _explicit(d: Derivation, claim: Claim, v: Verdict, max_size: int, stage: list):
    rng = random.Random(1)
    lengths = windows.size_conditions([*d.forward.values(), claim.expr])  # a convolution's, positive
    out = explicit_check(((n, s) for n, s in sizes_by_bound(d.dims, max_size) if windows.fits(lengths, s)),
                         lambda sizes: [_trial(d, claim, Explicit(d, sizes), rng)], stage,
                         proved_up_to=lambda n: setattr(v, "sizes", n),
                         refuted=lambda difference: _refute(d, v, difference))
    if out.refuted:
        _refute(d, v, out.difference)
    elif not out.proved:
        v.status = UP_TO if v.sizes else UNKNOWN
        why = "the claim has a term undefined where the gradient may be defined" if out.undefined \
            else "no exact proof"
        v.detail = f"no proof for every size, no counterexample, and {why} at sizes {sizes_text(out.undecided)}"
        if v.sizes:
            v.detail = f"explicit matrices of symbols, every dim from 1 to {v.sizes}; {v.detail}"
            v.stopped = f"checking explicit sizes {sizes_text(out.undecided)}"
    else:
        v.status, v.sizes = UP_TO, max_size
        v.detail = (f"explicit matrices of symbols, every dim from 1 to {max_size}; "
                    "the index form did not reach a proof for every size")


def _refute(d, v: Verdict, difference: Difference):
    v.status, v.sizes = REFUTED, None
    v.counterexample = counterexample(d, difference)
    v.detail = ("the claim is undefined at the point shown, where the true gradient is defined"
                if not all(finite(x) for x in difference.left) else
                "the claim and the true gradient differ at the point shown")


def counterexample(d, found: Difference) -> Counterexample:
    """The `Counterexample` a difference found at explicit sizes shows: the
    inputs' values at the point (an intermediate freed for a partial by it
    is not shown), both sides' values, the first entry where they differ."""
    ex, a, b, coeffs = Explicit(d, found.sizes), found.left, found.right, found.coeffs
    values = {name: matrix_strings(m.xreplace(found.point)) for name, m in ex.symbols.items()}
    exact = all(x.is_Rational for x in list(a) + list(b) if finite(x))
    fn = "; ".join(f"{g}(t) = {poly_text(coeffs)}" for g in d.generic) or None
    coefficients = list(coeffs) if d.generic else None
    first = next(((i + 1, j + 1) for i in range(a.rows) for j in range(a.cols) if differs([a[i, j]], [b[i, j]])), None)
    return Counterexample({str(k): v for k, v in found.sizes.items()}, values, fn, coefficients,
                          matrix_strings(a), matrix_strings(b), exact, first, dict(found.indices),
                          {g: list(coeffs) for g in d.generic})


def find_repair(d: Derivation, claim: Claim, grads: Gradients | None = None,
                max_size: int | None = None, seconds: float = DEFAULT_BUDGET) -> Repair | None:
    """The likeliest edit of the claim's text that gradproof proves (see
    `symbolic.repair`): for every size, or else for every size up to N."""
    from .repair import search  # imported here: NumPy (the repair's screen) only once a claim is wrong
    grads = grads or derive(d)
    target = d.inputs[claim.wrt].shape
    max_size = max_size or d.max_size

    def prove(e):
        if e is None or e.shape != target:
            return None
        v = Verdict(str(d.path), d.name, claim.wrt, "", UNKNOWN, "", "")
        try:
            _decide(d, Claim(claim.wrt, "", e), v, max_size, ["proving a repair"], grads)
        except (index.FormTooLarge, RecursionError):
            return None
        return (v.status, v.sizes) if v.proved else None
    try:
        found = search(d, claim.wrt, claim.text, grads.closed[claim.wrt], claim.expr, prove,
                       cpu_time() + seconds / 2)  # pairs of edits: at most half the time left, in CPU time
    except (ExprError, E.ShapeError):
        return None
    if found is None:
        return None
    m, (status, sizes), tried, survived = found
    return Repair(m.kind, m.before, m.after, m.text, m.edits, claim.text, m.note, status, sizes, tried, survived)


def scope(d: Derivation) -> tuple:
    """(names, factors) for `mutants`: the values in scope with their
    shapes, and the factors a claim may have left out (the upstream
    gradient and each function's derivative at each intermediate)."""
    names = {n: e.shape for n, e in d.parser().names.items() if e.role != "dim"}
    factors = {d.upstream.name: d.upstream.shape} if d.upstream is not None else {}
    for name, e in d.forward.items():
        if isinstance(e, E.Apply) and e.order == 0 and isinstance(e.a, E.Var):
            fn = next((f for f, impl in d.functions.items() if (impl or f) == e.fn), e.fn)
            factors[f"{fn}'({e.a.name})"] = e.shape
    return names, factors
