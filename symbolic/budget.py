"""Time budgets that end a computation instead of letting it hang.

A budget counts the CPU time of the thread doing the work (its POSIX
thread CPU clock, `time.pthread_getcpuclockid`), not wall-clock time, so
the same file gets the same verdict on a busy machine as on an idle one.
Where a thread's clock cannot be read, the process's CPU time
(`time.process_time`) counts instead.  Work that is blocked rather than
computing uses no CPU time, so a wall-clock ceiling of `CEILING` times
the budget plus `CEILING_SLACK` seconds still ends it: never a hang.

SymPy is pure Python, so an exception raised asynchronously in a thread
interrupts it between bytecodes.  One watchdog thread keeps the budgets
of every thread (the main thread, a worker thread, a caller of the
Python API) and raises `OutOfTime` in the thread whose budget is spent,
again every `REPEAT` seconds until its budget ends, so code that
swallows an exception cannot outlive its budget.

`OutOfTime` derives from `BaseException`, so that a library's broad
`except Exception` does not swallow it.  Nested budgets keep the earlier
end, in CPU time and in wall-clock time alike.
"""
from __future__ import annotations

import ctypes
import functools
import os
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass


DEFAULT_BUDGET = 20.0  # seconds a claim (or a step part) gets unless its file or the command line says otherwise
MAX_BUDGET = 86_400.0  # seconds: a day, the most any budget may be


class OutOfTime(BaseException):
    """The budget ran out."""


DEFAULT_BUDGET = 20.0  # seconds for each claim and each step part, unless a file or an option sets one
REPEAT = 0.05  # seconds between two interruptions of an expired budget
CEILING = 10.0  # a budget of s seconds of CPU time also ends after CEILING * s + CEILING_SLACK s of wall-clock time
CEILING_SLACK = 5.0


def thread_clock(ident: int | None = None) -> Callable[[], float]:
    """The CPU clock of thread `ident` (default: the current one), in
    seconds; the process's CPU time where a thread's clock cannot be read."""
    try:
        clock = time.pthread_getcpuclockid(threading.get_ident() if ident is None else ident)
        time.clock_gettime(clock)
    except (AttributeError, OSError):
        return time.process_time
    return functools.partial(time.clock_gettime, clock)


def cpu_time() -> float:
    """CPU seconds the current thread has used, as budgets count them."""
    return thread_clock()()


@dataclass
class _Budget:
    ident: int  # the thread the budget interrupts
    clock: Callable[[], float]  # that thread's CPU clock
    cpu_end: float  # on `clock`
    wall_end: float  # on time.monotonic(): the ceiling
    fired: bool = False
    again: float = 0.0  # monotonic time of the next interruption, once fired

    def spent(self, now: float) -> bool:
        return self.fired or now >= self.wall_end or self.clock() >= self.cpu_end

    def wait(self, now: float) -> float:
        """Wall-clock seconds before this budget can be spent: a thread uses
        at most one CPU second a second, a process one a second per core."""
        if self.fired:
            return self.again - now
        per_second = 1 if self.clock is not time.process_time else os.cpu_count() or 1
        return min(self.wall_end - now, (self.cpu_end - self.clock()) / per_second)


_lock = threading.Lock()
_wake = threading.Condition(_lock)
_active: dict = {}  # token -> _Budget
_local = threading.local()
_watchdog: list = []


def _raise_in(ident: int, exc) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(exc) if exc else None)


def _watch():
    with _lock:
        while True:
            now = time.monotonic()
            # a thread's clock is read only while the thread runs: a finished
            # thread's cannot be read (a budget left open in a generator
            # that outlives its thread)
            alive = {t.ident for t in threading.enumerate()}
            watched = [b for b in _active.values() if b.ident in alive]
            for b in watched:
                if (b.again <= now) if b.fired else b.spent(now):
                    _raise_in(b.ident, OutOfTime)
                    b.fired, b.again = True, now + REPEAT
            nearest = min((b.wait(now) for b in watched), default=None)
            _wake.wait(None if nearest is None else max(nearest, 0.001))


def _start_watchdog():
    if not _watchdog:
        t = threading.Thread(target=_watch, name="gradproof-budget", daemon=True)
        t.start()
        _watchdog.append(t)


def _after_fork():
    """A forked worker has no watchdog and none of its parent's budgets."""
    global _lock, _wake
    _lock = threading.Lock()
    _wake = threading.Condition(_lock)
    _active.clear()
    _watchdog.clear()
    _local.__dict__.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def _stack() -> list:
    """The current thread's budgets, innermost last."""
    if not hasattr(_local, "stack"):
        _local.stack = []
    return _local.stack


def check():
    """Raise `OutOfTime` if the current thread's budget is spent."""
    left = remaining()
    if left is not None and left <= 0:
        raise OutOfTime()


def remaining() -> float | None:
    """CPU seconds left in the current thread's budget (None: no budget);
    0 once its wall-clock ceiling has passed."""
    stack = _stack()
    if not stack:
        return None
    b = stack[-1]
    return 0.0 if time.monotonic() >= b.wall_end else max(b.cpu_end - b.clock(), 0.0)


@contextmanager
def budget(seconds: float | None):
    """Run the body for at most `seconds` of the current thread's CPU time
    (None: no limit), and at most `CEILING * seconds + CEILING_SLACK`
    seconds of wall-clock time, then raise `OutOfTime` in it, in whatever
    thread it runs."""
    if seconds is None:
        yield
        return
    stack = _stack()
    threading.current_thread()  # a thread Python did not start is known to `threading.enumerate` from now on
    ident = threading.get_ident()
    clock = stack[-1].clock if stack else thread_clock(ident)
    b = _Budget(ident, clock, clock() + seconds, time.monotonic() + CEILING * seconds + CEILING_SLACK)
    if stack:
        b.cpu_end, b.wall_end = min(b.cpu_end, stack[-1].cpu_end), min(b.wall_end, stack[-1].wall_end)
    token = object()
    with _lock:
        _start_watchdog()
        _active[token] = b
        _wake.notify()
    stack.append(b)
    try:
        yield
    finally:
        stack.pop()
        with _lock:
            del _active[token]
            if b.fired:
                # an interruption sent but not yet delivered must not escape the block
                _raise_in(ident, None)
                now = time.monotonic()
                for outer in stack:
                    if outer.spent(now):
                        outer.fired, outer.again = True, now  # re-sent at once for a spent outer budget
                _wake.notify()
    if stack and stack[-1].spent(time.monotonic()):
        raise OutOfTime()
