"""Keep a long-running server's resident memory flat: a fixed glibc mmap threshold.

A server runs the model on batches of ever different shapes (how many texts arrive together,
how long the longest is). glibc's malloc serves large blocks with ``mmap`` and gives them back
on ``free``, but each time it frees one it raises its threshold (up to 32 MB), so from then on
blocks of that size come from the heap, where tensors of changing sizes leave holes that are
never given back: RSS climbs with every new mix of shapes (with the same shape every time it
stays flat either way). Fixing the threshold at glibc's initial 128 kB (``M_MMAP_THRESHOLD``)
turns that adjustment off and RSS stays flat; ``benchmarks/serve_load.py --scenario soak``
measures it. Tensors over 128 kB then cost an ``mmap`` and its page faults each.

Applied once per server process, before the model loads; skipped where the C library is not
glibc, or when ``MALLOC_MMAP_THRESHOLD_`` (glibc's own setting) is in the environment.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

log = logging.getLogger("nerkit.server")

M_MMAP_THRESHOLD = -3  # mallopt's parameter number in glibc's malloc.h
MMAP_THRESHOLD = 128 * 1024


def fix_mmap_threshold() -> bool:
    """Fix glibc's mmap threshold for this process; whether it was set here."""
    if "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False  # the user chose a value; glibc read it at start
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to do
        return False
    done = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    log.debug("glibc mmap threshold fixed at %d bytes: %s", MMAP_THRESHOLD, done)
    return done
