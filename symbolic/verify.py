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
4. anything else, or the budget spent, is `unknown`.

"proved" is only ever said of an exact identity; "refuted" only of an
exact (or, for transcendental activations, 50-digit) disagreement.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from . import expr as E
from . import index
from .budget import DEFAULT_BUDGET, OutOfTime, budget
from .compose import Composition
from .derivation import Claim, Derivation
from .derive import Gradients, derive
from .errors import ExprError
from .explicit import (POLY, POLYS, SIMPLE_POLYS, Explicit, at_a_kink, boundary_point, differ, evaluate, finite, is_zero,
                       integer_point, matrix_strings, poly_text, preferred_sizes, value_string, random_point, unmet)
from .mutate import KIND_NAMES, Edit, apply_edits, marked
from .status import STATUSES, Status, headline  # noqa: F401  (and from here)

PROVED, UP_TO, REFUTED, SHAPE, UNKNOWN = Status  # the five verdicts, by their short names


@dataclass
class Counterexample:
    """Sizes and a point where a claim and the true gradient differ."""
    sizes: dict  # dim name -> int
    point: dict  # name -> matrix of exact values, as strings
    function: str | None  # the stand-in for a generic function, "g(t) = ..."
    coefficients: list | None  # of that polynomial, constant term first
    claim_value: list  # matrix, strings
    true_value: list
    exact: bool  # rational arithmetic throughout (else 50 digits)
    first_difference: tuple | None = None  # (row, column), from 1: the first entry where they differ

    def to_dict(self):
        return {"sizes": self.sizes, "point": self.point, "function": self.function,
                "coefficients": self.coefficients, "claim_value": self.claim_value,
                "true_value": self.true_value, "exact": self.exact,
                "first_difference": list(self.first_difference) if self.first_difference else None}

    @classmethod
    def from_dict(cls, d: dict) -> "Counterexample":
        first = d.get("first_difference")
        return cls(d["sizes"], d["point"], d["function"], d["coefficients"], d["claim_value"], d["true_value"],
                   d["exact"], tuple(first) if first else None)

    def __repr__(self):
        sizes = ", ".join(f"{k}={v}" for k, v in self.sizes.items())
        return f"Counterexample({sizes}; claim {self.claim_value} != true {self.true_value})"


@dataclass
class Repair:
    """The edit of a wrong claim's text that makes it provable.

    `before` -> `after` is the piece that changes, `text` the repaired claim
    (the user's text with only that piece changed), `edits` the spans of
    the claim as written and their replacements; `proof` is `proved` (for
    every size) or `proved-up-to` (`sizes`); `tried` candidate edits were
    screened numerically, `survived` of them passed on to the proof."""
    kind: str
    before: str
    after: str
    text: str
    edits: tuple = ()
    original: str = ""
    note: str = ""
    proof: Status = PROVED
    sizes: int | None = None
    tried: int = 0
    survived: int = 0

    def describe(self) -> str:
        from .repair import what_changes  # imported here: NumPy (the repair's screen) only once a claim is wrong
        if self.kind == "two edits" or self.note:
            return f"{KIND_NAMES[self.kind]}: {self.note}"
        return f"{KIND_NAMES[self.kind]}: {what_changes(self.before, self.after)}"

    def marked(self) -> str:
        """The claim as written with the change marked: `[old -> new]`."""
        return marked(self.original, self.edits) if self.original else self.text

    def proof_text(self) -> str:
        return headline(self.proof, self.sizes)

    def search_text(self) -> str:
        return (f"{self.tried} candidate edits screened numerically, {self.survived} passed; "
                f"this one {self.proof_text()}")

    @property
    def span(self) -> dict | None:
        """The one span of the claim as written that changes (covering every edit)."""
        if not self.edits:
            return None
        start, end = min(e.start for e in self.edits), max(e.end for e in self.edits)
        inner = apply_edits(self.original[start:end], [Edit(e.start - start, e.end - start, e.replacement)
                                                        for e in self.edits])
        return {"start": start, "end": end, "replacement": inner}

    def to_dict(self):
        return {"kind": self.kind, "before": self.before, "after": self.after, "text": self.text,
                "description": self.describe(), "span": self.span,
                "edits": [e.to_dict() for e in self.edits], "marked": self.marked(),
                "proof": self.proof, "sizes": self.sizes, "tried": self.tried, "survived": self.survived,
                "original": self.original, "note": self.note}

    @classmethod
    def from_dict(cls, d: dict) -> "Repair":
        edits = tuple(Edit(e["start"], e["end"], e["replacement"]) for e in d.get("edits", ()))
        return cls(d["kind"], d["before"], d["after"], d["text"], edits, d.get("original", ""), d.get("note", ""),
                   proof=Status(d.get("proof", PROVED)), sizes=d.get("sizes"), tried=d.get("tried", 0),
                   survived=d.get("survived", 0))


@dataclass
class Verdict:
    """What is known of one claim."""
    path: str
    derivation: str
    wrt: str
    text: str
    status: Status
    detail: str
    derived: str  # the derived closed form, in file syntax
    sizes: int | None = None  # for proved-up-to
    counterexample: Counterexample | None = None
    repair: Repair | None = None
    seconds: float = 0.0
    derived_expr: E.Expr | None = field(default=None, repr=False, compare=False)
    claim_expr: E.Expr | None = field(default=None, repr=False, compare=False)

    @property
    def proved(self) -> bool:
        return self.status in (PROVED, UP_TO)

    def headline(self) -> str:
        return headline(self.status, self.sizes)

    def to_dict(self):
        return {"file": self.path, "derivation": self.derivation, "claim": self.wrt, "expr": self.text,
                "verdict": self.status, "detail": self.detail, "derived": self.derived,
                "sizes": self.sizes, "seconds": round(self.seconds, 4),
                "counterexample": self.counterexample.to_dict() if self.counterexample else None,
                "repair": self.repair.to_dict() if self.repair else None}

    @classmethod
    def from_dict(cls, d: dict) -> "Verdict":
        """The verdict `to_dict` gave (without the expressions, which it does not hold)."""
        ce, repair = d.get("counterexample"), d.get("repair")
        return cls(d["file"], d["derivation"], d["claim"], d["expr"], Status(d["verdict"]), d["detail"], d["derived"],
                   d.get("sizes"), Counterexample.from_dict(ce) if ce else None,
                   Repair.from_dict(repair) if repair else None, d.get("seconds", 0.0))

    def __repr__(self):
        return f"Verdict(dJ/d{self.wrt} = {self.text}: {self.headline()})"


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
                                    claim_expr=c.expr))
    return verdicts


def verify_claim(d: Derivation, claim: Claim, grads: Gradients, max_size: int, seconds: float,
                 repair: bool = True) -> Verdict:
    """The verdict on one claim; `repair`: look for a one-edit repair of a
    wrong claim.  Deciding and repairing share the one budget of `seconds`."""
    start = time.perf_counter()
    derived = grads.closed[claim.wrt]
    v = Verdict(str(d.path), d.name, claim.wrt, claim.text, UNKNOWN, "", derived_text(derived),
                derived_expr=derived, claim_expr=claim.expr)
    stage = ["proving for every size"]
    try:
        with budget(seconds):
            _decide(d, claim, v, max_size, stage, grads)
    except OutOfTime:
        v.status, v.detail = UNKNOWN, f"nothing decided within the budget of {seconds:g} s (stopped while {stage[0]})"
    except (RecursionError, MemoryError, index.FormTooLarge):
        v.status, v.detail = UNKNOWN, f"the expression is too large or too deeply nested to decide (while {stage[0]})"
    left = seconds - (time.perf_counter() - start)
    if repair and v.status in (REFUTED, SHAPE) and left > 0.05:
        try:
            with budget(left):
                v.repair = find_repair(d, claim, grads, max_size, left)
        except (OutOfTime, RecursionError, MemoryError, index.FormTooLarge):
            pass
    v.seconds = time.perf_counter() - start
    return v


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
        d.cache["domain"] = index.objective_conditions(d.forward, d.output, d.upstream)
    return all(index.implied(c, d.cache["domain"]) for c in index.expression_conditions(e, d.forward))


def _decide(d: Derivation, claim: Claim, v: Verdict, max_size: int, stage: list, grads=None):
    target = d.inputs[claim.wrt].shape
    if claim.expr is None:
        v.status, v.detail = SHAPE, claim.shape_error
        return
    if claim.expr.shape != target:
        v.status = SHAPE
        v.detail = (f"the claim has shape {E.fmt_shape(claim.expr.shape)}, but dJ/d{claim.wrt} "
                    f"has the shape of `{claim.wrt}`, {E.fmt_shape(target)}")
        return
    if grads is not None:
        stage[0] = "proving layer by layer"
        try:
            if composition(d, grads).proves(claim.expr, claim.wrt, lambda e: defined_where_j_is(d, e)):
                v.status = PROVED
                v.detail = ("index form, layer by layer: each step of the backward pass proved locally, "
                            "the claim their composition, for all dims")
                return
        except index.FormTooLarge:
            pass
        stage[0] = "proving for every size"
    try:
        every_size = proves_every_size(d, claim.expr, claim.wrt)
    except index.FormTooLarge:
        every_size = False  # explicit sizes may still decide it
    if every_size:
        stage[0] = "checking the proof at size 2"
        if _spot_check(d, claim):
            v.status, v.detail = PROVED, "index form: entry (p, q) of both sides agrees symbolically for all dims"
            return
    _explicit(d, claim, v, max_size, stage)


def proves_closed_form(d: Derivation, grads: Gradients, e: E.Expr, wrt: str) -> bool:
    """Whether `e` is dJ/d`wrt` for every size: layer by layer first, then
    through the whole network."""
    try:
        if composition(d, grads).proves(e, wrt, lambda x: defined_where_j_is(d, x)):
            return True
    except index.FormTooLarge:
        pass
    return proves_every_size(d, e, wrt)


def proves_every_size(d: Derivation, e: E.Expr, wrt: str) -> bool:
    """Whether `e` equals dJ/d`wrt` in index form, for every size, wherever
    J is defined: `e` must be defined there too (no 1/u or log(u) whose
    argument J does not already need nonzero or positive)."""
    key = ("index gradient", wrt)
    if key not in d.cache:
        d.cache[key] = index.gradient(d.forward, d.output, d.upstream, d.inputs[wrt])
    if not defined_where_j_is(d, e):
        return False
    return index.difference(index.index_form(e, d.forward), d.cache[key]) == ()


def _spot_check(d: Derivation, claim: Claim) -> bool:
    """Every dim 2, SymPy's own diff, at sample points (exact where it can
    be): False only on a certain difference.  A second opinion on the index
    form, not a proof, so no exact zero test is needed (and for rational
    forms, such as a mean BCE's, that test costs far more than the points)."""
    ex = Explicit(d, {s: 2 for s in d.dims.values()})
    return _find_difference(ex, claim, d, random.Random(0), tries=3) is None


def _find_difference(ex: Explicit, claim: Claim, d: Derivation, rng, tries: int = 2, points=()):
    """A point where J has a gradient and the claim is undefined or differs
    from it: (point, claim value, true value, polynomial), or None.

    The claim is evaluated at the point term by term, as NumPy would; a
    point where J is undefined, or where a function of J sits at a kink
    (relu at 0), says nothing and is skipped.  A generic function is tried
    as each stand-in polynomial in turn."""
    true, j = ex.gradient(claim.wrt), ex.objective()
    tried = [integer_point(ex, rng)] + [random_point(ex, rng) for _ in range(tries)] if tries else []
    for point in [p for p in tried if p is not None] + list(points):
        if at_a_kink([j], point):
            continue
        at = ex.at(point)
        for coeffs in SIMPLE_POLYS + POLYS if d.generic else (POLY,):
            if not finite(evaluate(at.objective(), {}, coeffs)):
                break  # J undefined here: no gradient to compare
            b = true.applyfunc(lambda x: evaluate(x, point, coeffs))
            if not all(finite(x) for x in b):
                break
            a = at.value(claim.expr).applyfunc(lambda x: evaluate(x, {}, coeffs))
            if not all(finite(x) for x in a) or any(differ(x, y) for x, y in zip(a, b)):
                return point, a, b, coeffs
    return None


def _explicit(d: Derivation, claim: Claim, v: Verdict, max_size: int, stage: list):
    rng = random.Random(1)
    undecided, undefined = [], False  # undefined: the first undecided size has a term J does not need
    for sizes in preferred_sizes(d.dims, max_size):
        stage[0] = f"checking explicit sizes {_sizes_text(sizes)}"
        ex = Explicit(d, sizes)
        found = _find_difference(ex, claim, d, rng)
        missing = unmet(ex.conditions(claim.expr), ex.conditions(ex.objective_expr()))
        if not found and missing:
            # where the claim may be undefined but the gradient is not
            points = [boundary_point(kind, u, random_point(ex, rng)) for kind, u in missing]
            found = _find_difference(ex, claim, d, rng, tries=0, points=[p for p in points if p])
        if found:
            point, a, b, coeffs = found
            v.status = REFUTED
            v.counterexample = _counterexample(d, ex, sizes, point, a, b, coeffs)
            v.detail = ("the claim is undefined at the point shown, where the true gradient is defined"
                        if not all(finite(x) for x in a) else
                        "the claim and the true gradient differ at the point shown")
            return
        if undecided:
            continue  # no proof up to N any more: only a counterexample can still come
        if missing:
            undecided.append(sizes)
            undefined = True
            continue
        diff = ex.value(claim.expr) - ex.gradient(claim.wrt)
        if not all(is_zero(x) for x in diff):
            undecided.append(sizes)
    if undecided:
        v.status = UNKNOWN
        why = "the claim has a term undefined where the gradient may be defined" if undefined else "no exact proof"
        v.detail = (f"no proof for every size, no counterexample, and {why} at sizes "
                    f"{_sizes_text(undecided[0])}")
        return
    v.status, v.sizes = UP_TO, max_size
    v.detail = (f"explicit matrices of symbols, every dim from 1 to {max_size}; "
                "the index form did not reach a proof for every size")


def _sizes_text(sizes: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in sizes.items())


def _counterexample(d, ex, sizes, point, a, b, coeffs) -> Counterexample:
    values = {}
    for name, m in ex.symbols.items():
        values[name] = [[value_string(point[m[i, j]]) for j in range(m.cols)] for i in range(m.rows)]
    exact = all(x.is_Rational for x in list(a) + list(b) if finite(x))
    fn = "; ".join(f"{g}(t) = {poly_text(coeffs)}" for g in d.generic) or None
    coefficients = list(coeffs) if d.generic else None
    first = next(((i + 1, j + 1) for i in range(a.rows) for j in range(a.cols)
                  if not finite(a[i, j]) or differ(a[i, j], b[i, j])), None)
    return Counterexample({str(k): v for k, v in sizes.items()}, values, fn, coefficients,
                          matrix_strings(a), matrix_strings(b), exact, first)


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
                       time.perf_counter() + seconds / 2)  # pairs of edits: at most half the time left
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
    factors = {}
    if d.upstream is not None:
        factors[d.upstream.name] = d.upstream.shape
    for name, e in d.forward.items():
        if isinstance(e, E.Apply) and e.order == 0 and isinstance(e.a, E.Var):
            fn = next((f for f, impl in d.functions.items() if (impl or f) == e.fn), e.fn)
            factors[f"{fn}'({e.a.name})"] = e.shape
    return names, factors
