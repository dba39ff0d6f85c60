"""Deciding `left = right` at explicit sizes: the procedure claims and steps share.

A claim (`verify`) compares its closed form with SymPy's own gradient of J;
a step of the notes (`steps`) compares the two sides of a link.  Both are
decided here the same way, once the index form has had its say:

1. a spot check: every dim 2, values at sample points; a certain difference
   there overrules a proof by the index form (`spot_check`);
2. explicit sizes in the caller's order: at each, a point where the values
   certainly differ (or one side is undefined and the other is not) is a
   counterexample (`first_difference`); else an exact zero of the difference
   counts towards "proved for sizes up to N" (`explicit_check`);
3. everything within a time budget, the stage at which it stopped named
   (`within`).

What a comparison is, the caller says: `trials(sizes)` yields one `Trial`
per comparison at those sizes (a claim has one, a step one per value of its
free indices), each with the difference it found, if any.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

from .budget import OutOfTime, budget
from .explicit import differ, finite
from .index import FormTooLarge

SPOT_SIZE = 2  # every dim, for the spot check


@dataclass
class Difference:
    """A point where the two sides' values certainly differ."""
    point: dict  # entry symbol -> value
    left: object  # sympy.Matrix of values at the point
    right: object
    coeffs: tuple  # the stand-in polynomial for generic functions
    sizes: dict | None = None  # dim -> int, set by `explicit_check`
    indices: dict = field(default_factory=dict)  # a step's free index, as written -> its value (from 1)


@dataclass
class Trial:
    """One comparison at one assignment of sizes.

    `difference`: what the point search found; `undefined`: a side may be
    undefined where the other is not, so no exact zero can prove it;
    `zero()`: whether the difference is exactly zero (asked only when needed)."""
    difference: Difference | None
    zero: Callable[[], bool] | None
    undefined: bool = False


@dataclass
class Outcome:
    """What the explicit sizes decided: a `difference` (refuted), or the first
    `undecided` sizes (unknown; `undefined` says why), or neither (every size
    exact: proved up to N)."""
    difference: Difference | None = None
    undecided: dict | None = None
    undefined: bool = False

    @property
    def refuted(self) -> bool:
        return self.difference is not None

    @property
    def proved(self) -> bool:
        return self.difference is None and self.undecided is None


def differs(a, b) -> bool:
    """Whether two matrices of values certainly differ: an entry where one is
    undefined and the other not, or two finite entries that differ."""
    return any(finite(x) != finite(y) or (finite(x) and differ(x, y)) for x, y in zip(a, b))


def first_difference(points: Iterable, polys, values) -> Difference | None:
    """The first point (in order, each with each polynomial in `polys`) where
    `values(point, coeffs)` gives two matrices that certainly differ.
    `values` returns None where the point says nothing (J undefined, a
    kink): the next point is tried."""
    for point in points:
        for coeffs in polys:
            got = values(point, coeffs)
            if got is None:
                break
            a, b = got
            if differs(a, b):
                return Difference(point, a, b, coeffs)
    return None


def spot_check(dims: dict, trials) -> bool:
    """Every dim `SPOT_SIZE`: False only on a certain difference.  A second
    opinion on an index-form proof, not a proof, so no exact zero is asked."""
    return not any(t.difference is not None for t in trials({s: SPOT_SIZE for s in dims.values()}))


def explicit_check(size_order: Iterable, trials, stage: list | None = None) -> Outcome:
    """Every assignment of `size_order` in turn: the first difference found
    refutes; once one assignment is undecided, only a difference can still
    come.  `stage[0]` names the sizes being checked (for a budget's message)."""
    undecided, undefined = None, False
    for sizes in size_order:
        if stage is not None:
            stage[0] = f"checking explicit sizes {sizes_text(sizes)}"
        for t in trials(sizes):
            if t.difference is not None:
                t.difference.sizes = sizes
                return Outcome(t.difference)
            if undecided is not None:
                continue
            if t.undefined:
                undecided, undefined = sizes, True
            elif not t.zero():
                undecided = sizes
    return Outcome(None, undecided, undefined)


def sizes_text(sizes: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in sizes.items())


def within(seconds: float, decide: Callable, stage: list):
    """`decide()` within a budget of `seconds`: its result, or else the
    reason nothing was decided (a string), naming the stage it stopped in."""
    try:
        with budget(seconds):
            return decide(), None
    except OutOfTime:
        return None, f"nothing decided within the budget of {seconds:g} s (stopped while {stage[0]})"
    except (RecursionError, MemoryError, FormTooLarge):
        return None, f"the expression is too large or too deeply nested to decide (while {stage[0]})"
