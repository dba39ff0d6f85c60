"""Time budgets that end a computation instead of letting it hang.

SymPy is pure Python, so a SIGALRM raised in the main thread interrupts it
between bytecodes.  Off the main thread no signal can be used; there the
budget is checked cooperatively with `check()` only.
"""
from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager


class OutOfTime(Exception):
    """The budget ran out."""


_deadline = [None]


def check():
    """Raise `OutOfTime` if the current budget is spent."""
    if _deadline[0] is not None and time.monotonic() > _deadline[0]:
        raise OutOfTime()


def remaining() -> float | None:
    return None if _deadline[0] is None else _deadline[0] - time.monotonic()


@contextmanager
def budget(seconds: float | None):
    """Run the body for at most `seconds` (None: no limit), then raise
    `OutOfTime` in it.  Nested budgets keep the earlier deadline."""
    if seconds is None:
        yield
        return
    outer = _deadline[0]
    end = time.monotonic() + seconds
    if outer is not None:
        end = min(end, outer)
    _deadline[0] = end
    use_signal = threading.current_thread() is threading.main_thread()
    previous = None
    if use_signal:
        def on_alarm(signum, frame):
            raise OutOfTime()
        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, max(end - time.monotonic(), 1e-3))
    try:
        yield
    finally:
        if use_signal:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        _deadline[0] = outer
        if use_signal and outer is not None:
            left = outer - time.monotonic()
            if left <= 0:
                raise OutOfTime()
            signal.setitimer(signal.ITIMER_REAL, left)
