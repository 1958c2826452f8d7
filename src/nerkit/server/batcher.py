"""Merge texts from concurrent requests into one model call, run on one thread.

A transformer is much faster on one batch of 32 texts than on 32 batches of one, and PyTorch
is fastest when one thread owns the model. So every request puts a *job* (its texts and a
future) on an asyncio queue, and one collector task takes the first waiting job, keeps taking
jobs for at most ``max_wait`` seconds or until ``max_texts`` texts are gathered, runs
``tag_many`` over all of their texts in a single worker thread, and hands each job its own
slice of the results, in order. While the model runs, new requests queue up and form the next
batch, so under load batches grow by themselves and idle latency stays at ``max_wait``.

A job is never split, so one batch may exceed ``max_texts`` by the size of its last job. If the
merged call raises, each job is retried on its own, so only the request that fails gets the
error; the others still get their answers.

This module imports only the standard library.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

TagMany = Callable[[list[str]], list[Any]]


@dataclass
class BatchStats:
    """Counters that show whether requests are being merged (served by ``GET /healthz``)."""

    requests: int = 0
    texts: int = 0
    batches: int = 0
    largest_batch_requests: int = 0
    largest_batch_texts: int = 0
    failed_requests: int = 0

    def add(self, n_requests: int, n_texts: int) -> None:
        self.requests += n_requests
        self.texts += n_texts
        self.batches += 1
        self.largest_batch_requests = max(self.largest_batch_requests, n_requests)
        self.largest_batch_texts = max(self.largest_batch_texts, n_texts)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        mean = self.requests / self.batches if self.batches else 0.0
        data["mean_requests_per_batch"] = round(mean, 2)
        return data


@dataclass
class _Job:
    texts: Sequence[str]
    future: asyncio.Future[list[Any]] = field(repr=False)


class MicroBatcher:
    """Run ``tag_many`` over texts merged from concurrent callers of :meth:`submit`.

    ``tag_many`` gets a list of texts and must return one result per text, in order. Call
    :meth:`start` inside the running event loop before :meth:`submit`, and :meth:`stop` at
    shutdown (jobs still waiting then fail with ``RuntimeError``).

    >>> async def demo():
    ...     batcher = MicroBatcher(lambda texts: [t.upper() for t in texts])
    ...     batcher.start()
    ...     results = await asyncio.gather(batcher.submit(["a", "b"]), batcher.submit(["c"]))
    ...     await batcher.stop()
    ...     return results, batcher.stats.batches
    >>> asyncio.run(demo())
    ([['A', 'B'], ['C']], 1)
    """

    def __init__(self, tag_many: TagMany, *, max_texts: int = 256, max_wait: float = 0.005) -> None:
        self.tag_many = tag_many
        self.max_texts = max_texts
        self.max_wait = max_wait
        self.stats = BatchStats()
        self._queue: asyncio.Queue[_Job] | None = None
        self._task: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None

    def start(self) -> None:
        """Start the collector task in the running loop and the model thread."""
        self._queue = asyncio.Queue()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nerkit-model")
        self._task = asyncio.get_running_loop().create_task(self._collect())

    async def stop(self) -> None:
        """Stop collecting; fail the jobs still waiting so no caller hangs."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._queue is not None:
            while not self._queue.empty():
                _fail(self._queue.get_nowait(), RuntimeError("the server is shutting down"))
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        self._task = self._queue = self._executor = None

    async def submit(self, texts: Sequence[str]) -> list[Any]:
        """Results for ``texts`` (one per text, in order), computed in a merged batch."""
        if self._queue is None:
            raise RuntimeError("MicroBatcher.start() was not called; start it in the event loop")
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Job(texts, future))
        return await future

    async def _collect(self) -> None:
        assert self._queue is not None  # set by start(); not user input
        loop = asyncio.get_running_loop()
        while True:
            jobs = [await self._queue.get()]
            n_texts = len(jobs[0].texts)
            deadline = loop.time() + self.max_wait
            while n_texts < self.max_texts:
                if self._queue.empty():  # else take what is already waiting, even if late
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        break
                    try:
                        job = await asyncio.wait_for(self._queue.get(), remaining)
                    except asyncio.TimeoutError:
                        break
                else:
                    job = self._queue.get_nowait()
                jobs.append(job)
                n_texts += len(job.texts)
            try:
                await self._run([job for job in jobs if not job.future.done()])
            except asyncio.CancelledError:
                for job in jobs:
                    _fail(job, RuntimeError("the server is shutting down"))
                raise

    async def _run(self, jobs: list[_Job]) -> None:
        if not jobs:
            return
        texts = [text for job in jobs for text in job.texts]
        loop = asyncio.get_running_loop()
        try:
            results = await loop.run_in_executor(self._executor, self.tag_many, texts)
            if len(results) != len(texts):
                raise RuntimeError(
                    f"tag_many returned {len(results)} results for {len(texts)} texts"
                )
        except Exception as err:
            if len(jobs) > 1:  # find the culprit: the other requests should still succeed
                for job in jobs:
                    await self._run([job])
                return
            self.stats.failed_requests += 1
            _fail(jobs[0], err)
            return
        self.stats.add(len(jobs), len(texts))
        offset = 0
        for job in jobs:
            part = results[offset : offset + len(job.texts)]
            offset += len(job.texts)
            if not job.future.done():  # the caller may have gone away
                job.future.set_result(part)


def _fail(job: _Job, err: BaseException) -> None:
    if not job.future.done():
        job.future.set_exception(err)
