"""Where a benchmark ran: CPU, machine and package versions, saved next to its figures.

Standard library only, so that ``hf_recipe.py`` (which must not import nerkit) can use it too.
"""

from __future__ import annotations

import os
import platform
import re
import shlex
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo (figures only compare on one CPU)."""
    cpuinfo = Path("/proc/cpuinfo")
    try:
        found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.M)
    except OSError:
        found = None
    return found.group(1).strip() if found else (platform.processor() or platform.machine())


def memory_gib() -> float | None:
    try:
        found = re.search(r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
    except OSError:
        return None
    return round(int(found.group(1)) / 2**20, 1) if found else None


def machine() -> dict[str, Any]:
    """CPU, logical CPUs, memory, platform and the load average when the benchmark started."""
    return {
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "memory_gib": memory_gib(),
        "platform": platform.platform(),
        "load_average_at_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


def versions(packages: Iterable[str]) -> dict[str, str]:
    """Python and the installed version of each package ("not installed" when absent)."""
    found = {"python": platform.python_version()}
    for name in packages:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def report_head(benchmark: str, script: str, argv: Sequence[str],
                packages: Iterable[str] = ("nerkit", "torch", "transformers")) -> dict[str, Any]:
    """The first keys of a benchmark's JSON report: what it measures, the command that makes
    it again (``python3 benchmarks/<script> <argv>``), when, where and with which versions."""
    return {
        "benchmark": benchmark,
        "command": shlex.join(["python3", f"benchmarks/{script}", *argv]),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": versions(packages),
    }
