"""The verdicts: what is known of a claim or a step part, as data.

A `Verdict` (its `Status`, evidence, where a check stopped) with a
structured `Counterexample` (sizes, point, the generic functions'
stand-ins as data, both sides' values) and the `Repair` found for a wrong
claim or step; a step part's verdict has its `Place`.  `verify` and
`stepcheck` make them, the printers read their fields, and `to_dict` /
`from_dict` give the JSON of README's "JSON output" and back (the verdict
cache).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import expr as E
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
