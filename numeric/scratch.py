"""Scratch arrays kept from one call of a generated function to the next.

A value that no result keeps (`Z` and `dZ` of a layer, in one buffer) is
computed into an array taken from the module's store (`_scratch`) and given
back at the end of the call (`_SCRATCH[slot, shape, dtype] = array`, a line
of the generated function: a call would cost more than the line at small
sizes), so that a call at a size the module has seen before
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


def _scratch(slot, shape, dtype):
    """An array of `shape` and `dtype` to compute into: the one an earlier
    call gave back for this `slot` (the n-th scratch array of a call, given
    back by `_SCRATCH[slot, shape, dtype] = array`), else a new one; on a
    new one, the store forgets the oldest arrays beyond `_KEEP`."""
    a = _SCRATCH.pop((slot, shape, dtype), None)
    if a is not None:
        return a
    keys = list(_SCRATCH)
    for key in keys[:max(0, len(keys) + 1 - _KEEP)]:  # room for this one when it is given back
        _SCRATCH.pop(key, None)
    return _np.empty(shape, dtype)
