"""The processes of one training run: who writes, who waits, and how they agree.

Under ``torchrun --nproc_per_node N`` or ``accelerate launch`` every process runs the same
``nerkit train``; the Hugging Face Trainer shards the batches and averages the gradients. What
nerkit does around the Trainer (checking and preparing the output folder, the layer probe, the dev
F1, the reports, the final folder) happens once, on rank 0, and its result is sent to the other
ranks, which wait for it: :meth:`Ranks.on_main`. A bad setting found there is raised on every rank,
so no rank is left waiting for one that has stopped. In a single process every method is a plain
call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from nerkit.errors import NerkitError

logger = logging.getLogger("nerkit")

T = TypeVar("T")


@dataclass(frozen=True)
class Ranks:
    """This process's rank among ``size`` processes (rank 0 writes, the others wait)."""

    rank: int = 0
    size: int = 1

    @classmethod
    def current(cls) -> Ranks:
        """The ranks of the process group the Trainer's arguments set up (one process if none)."""
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            return cls(dist.get_rank(), dist.get_world_size())
        return cls()

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def broadcast(self, value: T) -> T:
        """Rank 0's ``value`` on every rank (any picklable object)."""
        if self.size == 1:
            return value
        import torch.distributed as dist

        box = [value if self.is_main else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]  # type: ignore[return-value]

    def gather(self, value: T) -> list[T]:
        """Every rank's ``value``, in rank order, on every rank."""
        if self.size == 1:
            return [value]
        import torch.distributed as dist

        values: list[Any] = [None] * self.size
        dist.all_gather_object(values, value)
        return values

    def barrier(self) -> None:
        """Wait until every rank has come here."""
        if self.size > 1:
            import torch.distributed as dist

            dist.barrier()

    def agree(self, what: str, value: Any) -> None:
        """Stop with an error if ``value`` (``what`` names it) differs between the ranks: what
        every rank builds for itself (the training windows) must come out the same."""
        values = self.gather(value)
        if any(v != values[0] for v in values):
            raise RuntimeError(f"the {what} differ between the processes of this run: {values}")

    def on_main(self, work: Callable[..., T], *args: Any) -> T:
        """``work(*args)`` run on rank 0 only; its result, or its error, on every rank.

        A :class:`~nerkit.errors.NerkitError` (a refused setting or folder) is raised as itself
        on every rank; any other failure of rank 0 stops the other ranks with a line naming it
        instead of leaving them waiting for rank 0 until the process group times out.
        """
        result: Any = None
        error: BaseException | None = None
        if self.is_main:
            try:
                result = work(*args)
            except Exception as err:  # noqa: BLE001 - sent to the other ranks, then raised
                error = err
        if self.size > 1:
            sent = error if error is None or isinstance(error, NerkitError) else RuntimeError(
                f"rank 0 failed: {type(error).__name__}: {error}"
            )
            result, received = self.broadcast((result, sent))
            if not self.is_main and received is not None:
                raise received
        if error is not None:
            raise error
        return result  # type: ignore[no-any-return]


def quiet_other_ranks(ranks: Ranks) -> None:
    """Leave nerkit's log to rank 0: the other ranks report errors only, so that each line of a
    run's log is written once, not once per process."""
    if not ranks.is_main:
        logger.setLevel(logging.ERROR)
