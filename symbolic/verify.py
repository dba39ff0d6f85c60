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
from dataclasses import dataclass, field

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
from .mutate import KIND_NAMES, Edit, apply_edits, marked
from .status import STATUSES, Status, headline  # noqa: F401  (and from here)

PROVED, UP_TO, REFUTED, SHAPE, UNKNOWN = Status  # the five verdicts, by their short names


@dataclass
class Counterexample:
    """Sizes and a point where a claim and the true gradient differ (for a
    step: where its left side, `claim_value`, and its right side differ)."""
    sizes: dict  # dim name -> int
    point: dict  # name -> matrix of exact values, as strings
    function: str | None  # the stand-in for a generic function, "g(t) = ..."
    coefficients: list | None  # of that polynomial, constant term first
    claim_value: list  # matrix, strings
    true_value: list
    exact: bool  # rational arithmetic throughout (else 50 digits)
    first_difference: tuple | None = None  # (row, column), from 1: the first entry where they differ
    indices: dict = field(default_factory=dict)  # a step's free index -> its value (from 1)
    functions: dict = field(default_factory=dict)  # each generic function -> its stand-in's coefficients

    def to_dict(self):
        return {"sizes": self.sizes, "point": self.point, "function": self.function,
                "coefficients": self.coefficients, "functions": self.functions, "claim_value": self.claim_value,
                "true_value": self.true_value, "exact": self.exact,
                "first_difference": list(self.first_difference) if self.first_difference else None}

    @classmethod
    def from_dict(cls, d: dict) -> "Counterexample":
        first = d.get("first_difference")
        return cls(d["sizes"], d["point"], d["function"], d["coefficients"], d["claim_value"], d["true_value"],
                   d["exact"], tuple(first) if first else None, functions=d.get("functions") or {})

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

    def describe_step(self) -> str:
        """A step's repair in one line: "`W_{i,:}` should be `W_{:,i}`"."""
        from .repair import what_changes
        return what_changes(self.before, self.after)

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


@dataclass(frozen=True)
class Place:
    """Where a step part stands: section and equation of the notes, the part
    (`link1`.., `label1`.., `ends`), its kind ("equality", "label" or "name":
    a label that names a value), the outcome its file expects, a reading note."""
    section: str
    eq: str
    part: str
    kind: str
    expected: str | None = None
    note: str = ""

    def __str__(self):
        return f"{self.section}.{self.eq}"

    def verdict_dict(self, v: "Verdict") -> dict:
        """A step part's verdict as JSON: the fields of README's "JSON output"."""
        c = v.counterexample.to_dict() if v.counterexample else None
        if c is not None:  # a step's two sides, by their place
            c["left_value"], c["right_value"] = c.pop("claim_value"), c.pop("true_value")
            c["indices"] = v.counterexample.indices
        return {"file": v.path, "section": self.section, "eq": self.eq, "part": self.part, "kind": self.kind,
                "text": v.text, "verdict": v.status, "detail": v.detail,
                "right": "; ".join(v.right) or None, "repair": v.repair.describe_step() if v.repair else None,
                "expected": self.expected, "ok": v.ok, "sizes": v.sizes, "seconds": round(v.seconds, 4),
                "counterexample": c, "right_forms": list(v.right),
                "repair_edit": v.repair.to_dict() if v.repair else None, "note": self.note}

    @staticmethod
    def verdict_from_dict(d: dict) -> "Verdict":
        place = Place(d["section"], d["eq"], d["part"], d["kind"], d.get("expected"), d.get("note", ""))
        c, repair = d.get("counterexample"), d.get("repair_edit")
        cx = None
        if c is not None:
            cx = Counterexample.from_dict({**c, "claim_value": c["left_value"], "true_value": c["right_value"],
                                           "coefficients": c.get("coefficients")})
            cx.indices = c["indices"]
        return Verdict(d["file"], "", d["part"], d["text"], d["verdict"], d["detail"], "", d.get("sizes"), cx,
                       Repair.from_dict(repair) if repair else None, d.get("seconds", 0.0), place=place,
                       right=tuple(d.get("right_forms", ())))


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
    stopped: str | None = None  # where a check stopped short: its budget, a size limit, a size undecided
    derived_expr: E.Expr | None = field(default=None, repr=False, compare=False)
    claim_expr: E.Expr | None = field(default=None, repr=False, compare=False)
    place: Place | None = None  # for a part of a step of the notes: where it stands
    right: tuple = ()  # for a step part that fails: the right forms, "written = true form"
    name: str | None = None  # of one of several candidate claims for one input (`[[claims]]`)
    kinks: tuple = ()  # proved except where each of these is 0 ("Z", "W @ x + b"): kinks of step

    @property
    def proved(self) -> bool:
        return self.status in (PROVED, UP_TO)

    @property
    def note(self) -> str:
        """How a step part's transcription was read; a claim has none (no such attribute)."""
        if self.place is None:
            raise AttributeError("a claim's verdict has no reading note")
        return self.place.note

    @property
    def ok(self) -> bool:
        """Proved, or (a step part) exactly the outcome its file expects."""
        expected = self.place.expected if self.place is not None else None
        return self.proved if expected is None else self.status == expected

    def headline(self) -> str:
        return headline(self.status, self.sizes, self.kinks)

    def to_dict(self):
        if self.place is not None:
            return self.place.verdict_dict(self)
        return {"file": self.path, "derivation": self.derivation, "claim": self.wrt, "expr": self.text,
                "verdict": self.status, "detail": self.detail, "derived": self.derived,
                "name": self.name, "sizes": self.sizes, "except_where": list(self.kinks) or None,
                "seconds": round(self.seconds, 4), "stopped": self.stopped,
                "counterexample": self.counterexample.to_dict() if self.counterexample else None,
                "repair": self.repair.to_dict() if self.repair else None}

    @classmethod
    def from_dict(cls, d: dict) -> "Verdict":
        """The verdict `to_dict` gave (without the expressions, which it does not hold)."""
        if "part" in d:
            return Place.verdict_from_dict(d)
        ce, repair = d.get("counterexample"), d.get("repair")
        return cls(d["file"], d["derivation"], d["claim"], d["expr"], Status(d["verdict"]), d["detail"], d["derived"],
                   d.get("sizes"), Counterexample.from_dict(ce) if ce else None,
                   Repair.from_dict(repair) if repair else None, d.get("seconds", 0.0), d.get("stopped"),
                   name=d.get("name"), kinks=tuple(d.get("except_where") or ()))

    def __repr__(self):
        if self.place is not None:
            return f"Verdict({self.place} {self.place.part}: {self.text}: {self.headline()})"
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
