"""Time budgets that end a computation instead of letting it hang.

SymPy is pure Python, so an exception raised asynchronously in a thread
interrupts it between bytecodes.  One watchdog thread keeps the deadlines
of every budget in every thread (the main thread, a worker thread, a
caller of the Python API) and raises `OutOfTime` in the thread whose
deadline has passed, again every `REPEAT` seconds until its budget ends,
so code that swallows an exception cannot outlive its budget.

`OutOfTime` derives from `BaseException`, so that a library's broad
`except Exception` does not swallow it.  Nested budgets keep the earlier
deadline.
"""
from __future__ import annotations

import ctypes
import threading
import time
from contextlib import contextmanager


DEFAULT_BUDGET = 20.0  # seconds a claim (or a step part) gets unless its file or the command line says otherwise
MAX_BUDGET = 86_400.0  # seconds: a day, the most any budget may be


class OutOfTime(BaseException):
    """The budget ran out."""


REPEAT = 0.05  # seconds between two interruptions of an expired budget

_lock = threading.Lock()
_wake = threading.Condition(_lock)
_active: dict = {}  # token -> [thread ident, deadline, fired]
_local = threading.local()
_watchdog: list = []


def _raise_in(ident: int, exc) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(exc) if exc else None)


def _watch():
    with _lock:
        while True:
            now = time.monotonic()
            for entry in _active.values():
                if entry[1] <= now:
                    _raise_in(entry[0], OutOfTime)
                    entry[2] = True
                    entry[1] = now + REPEAT
            nearest = min((e[1] for e in _active.values()), default=None)
            _wake.wait(None if nearest is None else max(nearest - time.monotonic(), 0.001))


def _start_watchdog():
    if not _watchdog:
        t = threading.Thread(target=_watch, name="gradproof-budget", daemon=True)
        t.start()
        _watchdog.append(t)


def _deadlines() -> list:
    if not hasattr(_local, "deadlines"):
        _local.deadlines = []
    return _local.deadlines


def check():
    """Raise `OutOfTime` if the current thread's budget is spent."""
    left = remaining()
    if left is not None and left <= 0:
        raise OutOfTime()


def remaining() -> float | None:
    """Seconds left in the current thread's budget (None: no budget)."""
    stack = _deadlines()
    return None if not stack else stack[-1] - time.monotonic()


@contextmanager
def budget(seconds: float | None):
    """Run the body for at most `seconds` (None: no limit), then raise
    `OutOfTime` in it, in whatever thread it runs."""
    if seconds is None:
        yield
        return
    stack = _deadlines()
    end = time.monotonic() + seconds
    if stack:
        end = min(end, stack[-1])
    token = object()
    ident = threading.get_ident()
    with _lock:
        _start_watchdog()
        _active[token] = [ident, end, False]
        _wake.notify()
    stack.append(end)
    try:
        yield
    finally:
        stack.pop()
        with _lock:
            fired = _active.pop(token)[2]
            if fired:
                # an interruption sent but not yet delivered must not escape the block
                _raise_in(ident, None)
                outer = [e for e in _active.values() if e[0] == ident and e[1] <= time.monotonic()]
                for e in outer:
                    e[1] = time.monotonic()  # re-sent at once for an expired outer budget
                _wake.notify()
    if stack and stack[-1] <= time.monotonic():
        raise OutOfTime()
