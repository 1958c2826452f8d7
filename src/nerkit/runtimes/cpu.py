"""How many threads a runtime uses on a CPU.

Every runtime defaults to one thread per physical core: hyper-threads share the vector units
that the matrix products saturate, so a second thread per core only contends for them. A count
the user gives is checked here, once, for all runtimes.
"""

from __future__ import annotations

import os
from pathlib import Path

from nerkit.errors import ConfigError

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def check_threads(threads: int | None) -> int | None:
    """``threads`` unchanged when it is None (the default) or at least 1; else a ConfigError."""
    if threads is not None and threads < 1:
        raise ConfigError(
            f"threads must be at least 1, got {threads}; leave it unset for one per physical core"
        )
    return threads


def usable_cpus() -> list[int]:
    """Logical CPUs this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def physical_cores() -> int:
    """Physical cores among the CPUs this process may use (hyper-threads counted once).

    Reads the Linux CPU topology; elsewhere, or if it is unreadable, every logical CPU counts.
    """
    cpus = usable_cpus()
    cores: set[tuple[str, str]] = set()
    for cpu in cpus:
        topology = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
        try:
            package = (topology / "physical_package_id").read_text().strip()
            core = (topology / "core_id").read_text().strip()
        except OSError:
            return len(cpus)
        cores.add((package, core))
    return max(1, len(cores))


def configure_torch_threads(threads: int | None = None) -> int:
    """Set PyTorch's intra-op threads: ``threads`` if given, else one per physical core.

    Without ``threads`` the count is only changed while it is still PyTorch's own default (one
    per logical CPU) and no ``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` is set, so a choice the
    user made elsewhere is kept. Returns the count in effect.
    """
    import torch

    threads = check_threads(threads)
    if threads is not None:
        torch.set_num_threads(threads)
    elif not any(os.environ.get(v) for v in THREAD_VARIABLES):
        cores = physical_cores()
        if torch.get_num_threads() == len(usable_cpus()) and cores < torch.get_num_threads():
            torch.set_num_threads(cores)
    return torch.get_num_threads()
