"""Scratch arrays kept from one call of a generated function to the next.

A value that no result keeps (`Z` and `dZ` of a layer, in one buffer) is
computed into an array taken from the module's store and given back at the
end of the call, so that a call at a size the module has seen before
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
    call gave back for this `slot` (the n-th scratch array of a call),
    else a new one."""
    a = _SCRATCH.pop((slot, shape, dtype), None)
    return _np.empty(shape, dtype) if a is None else a


def _give_back(*arrays):
    """Keep `arrays`, slots 0, 1, ..., for the next call; forget the oldest
    beyond `_KEEP`."""
    for slot, a in enumerate(arrays):
        _SCRATCH[slot, a.shape, a.dtype] = a
    while len(_SCRATCH) > _KEEP:
        _SCRATCH.pop(next(iter(_SCRATCH), None), None)
