"""Scratch arrays kept from one call of a generated function to the next.

A value that no result keeps (`Z` and `dZ` of a layer, in one buffer) is
computed into an array taken from the module's store and given back at
the end of the call, each a line of the generated function (a call would
cost more than the line at small sizes):

    Z = _np.matmul(W, X, out=_SCRATCH.pop((0, (k, m), W.dtype), None))
    ...
    _SCRATCH[0, (k, m), W.dtype] = Z
    if _len(_SCRATCH) > _KEEP:
        _forget_oldest()

(`out=None`, on a first call, allocates), so that a call at a size the module has seen before
allocates nothing but its results: no page faults for fresh memory, whatever
state the heap is in.  The store keeps the arrays of the last few shapes
only.  It is safe across threads: a call takes an array out (`dict.pop`),
so two calls at once never share one; the second allocates its own.

Each generated module that uses them has these functions' source, and a
store of its own (`_SCRATCH = {}`).
"""
from __future__ import annotations

import numpy as np

_np = np
_SCRATCH: dict = {}
_KEEP = 8  # arrays kept


def _forget_oldest():
    """Keep the last `_KEEP` arrays given back."""
    keys = list(_SCRATCH)
    for key in keys[:max(0, len(keys) - _KEEP)]:
        _SCRATCH.pop(key, None)
