"""Give the heap's free memory back to the system after model calls, so RSS levels off.

A server runs the model on batches of ever different shapes (how many texts arrive together,
how long the longest is). glibc's malloc keeps the memory those tensors leave free, and with
changing sizes it piles up in holes it does not return on its own, so RSS kept climbing call
after call. ``malloc_trim(0)`` after a call returns the free pages of every arena, and RSS
levels off at the model plus one call's working set; ``benchmarks/serve_load.py --scenario
soak`` measures it. Fixing glibc's mmap threshold instead (no heap for large tensors) also kept
RSS flat, but made every large tensor a fresh, page-faulted ``mmap`` and tagging clearly
slower, so it is not done.

Only the model's own process trims (:mod:`nerkit.server.model_process`), after the answer is
sent, at most once per :data:`TRIM_EVERY` seconds; where the C library is not glibc it is a
no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import time
from collections.abc import Callable

TRIM_EVERY = 1.0  # seconds


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim  # type: ignore[no-any-return]
    except (OSError, AttributeError):  # not glibc (musl, macOS)
        return None


class HeapTrimmer:
    """Calls glibc's ``malloc_trim(0)`` when :meth:`maybe_trim` is called and the last trim is
    at least ``every`` seconds old."""

    def __init__(self, every: float = TRIM_EVERY) -> None:
        self.every = every
        self.trim = _malloc_trim()
        self.last = 0.0

    def maybe_trim(self) -> bool:
        now = time.monotonic()
        if self.trim is None or now - self.last < self.every:
            return False
        self.trim(0)
        self.last = time.monotonic()
        return True
