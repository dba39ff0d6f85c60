"""What is known of a claim or a step part: one `Status`, and its words.

`Status` is a `str` enum, so a status compares equal to its name in JSON
(`Status.PROVED == "proved"`) and is written there as that name.  No heavy
imports: the terminal printer reads statuses of cached verdicts with it.
"""
from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    PROVED = "proved"  # for every size, in index form
    UP_TO = "proved-up-to"  # exactly, for every size up to N
    REFUTED = "refuted"  # a counterexample
    SHAPE = "shape-error"  # the claim cannot be formed, or has the wrong shape
    UNKNOWN = "unknown"  # nothing decided within the budget

    @property
    def proved(self) -> bool:
        return self in (Status.PROVED, Status.UP_TO)


STATUSES = tuple(Status)


def headline(status, sizes: int | None = None, kinks=()) -> str:
    """A verdict in words: "proved for sizes up to 3", "proved for every
    size, except where Z = 0" (`kinks`: the u of the kinks left out)."""
    status = Status(status)
    if status is Status.UP_TO:
        return f"proved for sizes up to {sizes}"
    if kinks:
        return _WORDS[status] + ", except where " + " or ".join(f"{k} = 0" for k in kinks)
    return _WORDS[status]


_WORDS = {Status.PROVED: "proved for every size", Status.REFUTED: "refuted", Status.SHAPE: "shape error",
          Status.UNKNOWN: "unknown"}
