"""Waiting for a condition in tests that drive threads and subprocesses (no sleeps of fixed length)."""

import time


def wait_for(predicate, timeout: float = 10.0, *, every: float = 0.02) -> bool:
    """True as soon as ``predicate()`` is; False when ``timeout`` seconds pass first (checked once more at the end)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(every)
    return bool(predicate())
