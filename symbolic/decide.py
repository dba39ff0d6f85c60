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
from .explicit import differ, finite, preferred_sizes
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


def sizes_by_bound(dims: dict, max_size: int):
    """(N, sizes): every assignment of dims up to 2 (every dim 2 first),
    then those up to 3, ...: in `preferred_sizes`' order within each N, so
    that the sizes checked when a budget ends are every size up to some N."""
    for bound in range(min(2, max_size), max_size + 1):
        for sizes in preferred_sizes(dims, bound):
            if bound <= 2 or max(sizes.values(), default=0) == bound:
                yield bound, sizes


def faint(a, b) -> bool:
    """Whether two matrices of finite values differ by less than a thousandth
    of their size (at least 1): a difference a reader cannot see (a layer
    normalised over two entries, whose gradient is about its `eps`)."""
    if not all(finite(x) for x in list(a) + list(b)):
        return False
    size = max([1.0] + [abs(float(x)) for x in list(a) + list(b)])
    return max(abs(float(x - y)) for x, y in zip(a, b)) < 1e-3 * size


def explicit_check(size_order: Iterable, trials, stage: list | None = None,
                   proved_up_to: Callable | None = None, refuted: Callable | None = None) -> Outcome:
    """Every `(N, sizes)` of `size_order` in turn (N: the bound the sizes
    belong to, or None): the first clear difference refutes; a faint one is
    held while a clearer one is sought at other sizes, and refutes at the end
    if none comes.  Once one assignment is undecided, only a difference can
    still come.  `stage[0]` names the sizes being checked; so that a check cut
    short by its budget keeps the best so far, `proved_up_to(N)` is called
    when every size of bound N has an exact zero, `refuted(difference)` when a
    faint difference is first held."""
    undecided, undefined, held, current = None, False, None, None
    for bound, sizes in size_order:
        if bound != current:
            if current is not None and undecided is None and held is None and proved_up_to is not None:
                proved_up_to(current)
            current = bound
        if stage is not None:
            stage[0] = (f"searching for a counterexample at sizes {sizes_text(sizes)}" if undecided or held else
                        f"checking explicit sizes {sizes_text(sizes)}")
        for t in trials(sizes):
            if t.difference is not None:
                t.difference.sizes = sizes
                if not faint(t.difference.left, t.difference.right):
                    return Outcome(t.difference)
                if held is None:
                    held = t.difference
                    if refuted is not None:
                        refuted(held)
                continue
            if undecided is not None or held is not None:
                continue
            if t.undefined:
                undecided, undefined = sizes, True
            elif not t.zero():
                undecided = sizes
    if held is not None:
        return Outcome(held)
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
