"""Merge texts from concurrent requests into one model call, with a bounded queue.

A transformer is much faster on one batch of 32 texts than on 32 batches of one, and PyTorch
is fastest when one thread owns the model. So every request puts a *job* (its texts and a
future) in a queue, and one collector task takes the first waiting job, keeps taking jobs for at
most ``max_wait`` seconds or until ``max_texts`` texts are gathered, runs ``tag_many`` over all
of their texts in a single worker thread, and hands each job its own slice of the results, in
order. While the model runs, new requests queue up and form the next batch, so under load
batches grow by themselves and idle latency stays at ``max_wait``.

**Back-pressure.** A queue that grows without bound turns overload into ever longer waits for
everyone. The batcher keeps an estimate of the model's speed (seconds per unit of cost, a text's
characters plus a fixed part, averaged over recent calls) and, from the cost of the jobs waiting
and of the call in progress, the wait a new job would have before its model call starts. When
that wait is over ``max_queue_wait``, :meth:`MicroBatcher.enqueue` refuses the job at once with
:class:`Overloaded` (the server answers 503 with ``Retry-After``). An estimate can be short (the
machine got busier); a job that has waited longer than ``max_queue_wait`` when its turn comes
is refused then, unrun, so an answered request has waited at most ``max_queue_wait`` plus its
own model call. ``max_queued_texts`` is a hard cap for the time before the first call has given
an estimate.

**Dropped work.** A job whose caller stopped waiting (its client hung up, or its deadline
passed) is taken out of the queue and never reaches the model; one already in a model call has
its results discarded.

A job is never split, so one batch may exceed ``max_texts`` by the size of its last job. If the
merged call raises, each job is retried on its own, so only the request that fails gets the
error; the others still get their answers.

This module imports only the standard library.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

TagMany = Callable[[list[str]], list[Any]]
#: Called after each successful model call with (requests, texts, seconds).
BatchObserver = Callable[[int, int, float], None]

#: The cost of a text beyond its characters: special tokens, padding, decoding, entities.
TEXT_OVERHEAD = 50


def text_cost(text: str) -> int:
    """The model work a text asks for, in the unit the speed estimate is kept in."""
    return len(text) + TEXT_OVERHEAD


class Overloaded(Exception):
    """The queue is full: a new job would wait too long. Come back after ``retry_after`` s."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(f"{message}; retry after {retry_after} s")
        self.retry_after = retry_after


class Dropped(Exception):
    """The job was dropped before it was answered: its caller gave up, or the server stops."""


@dataclass
class BatchStats:
    """Counters that show whether requests are being merged (served by ``GET /healthz``)."""

    requests: int = 0
    texts: int = 0
    batches: int = 0
    largest_batch_requests: int = 0
    largest_batch_texts: int = 0
    failed_requests: int = 0
    rejected_requests: int = 0
    dropped_requests: int = 0

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


class SpeedEstimate:
    """Seconds per unit of cost, an exponentially weighted mean over model calls.

    Recent calls weigh most (the last one half), so the estimate follows a machine whose other
    load changes within a few calls.

    >>> speed = SpeedEstimate(weight=0.5)
    >>> speed.seconds(1000) is None
    True
    >>> speed.update(1000, 2.0); speed.update(1000, 1.0); speed.seconds(1000)
    1.5
    """

    def __init__(self, weight: float = 0.5) -> None:
        self.weight = weight
        self.per_unit: float | None = None

    def update(self, cost: int, seconds: float) -> None:
        if cost <= 0 or seconds <= 0:
            return
        sample = seconds / cost
        if self.per_unit is None:
            self.per_unit = sample
        else:
            self.per_unit += self.weight * (sample - self.per_unit)

    def seconds(self, cost: int) -> float | None:
        return None if self.per_unit is None else cost * self.per_unit


@dataclass(eq=False)
class Job:
    """Texts waiting for the model, and the future their results go to."""

    texts: Sequence[str]
    cost: int
    future: asyncio.Future[list[Any]] = field(repr=False)
    dropped: bool = False
    queued_at: float = field(default_factory=time.perf_counter)


class MicroBatcher:
    """Run ``tag_many`` over texts merged from concurrent callers of :meth:`submit`.

    ``tag_many`` gets a list of texts and must return one result per text, in order. Call
    :meth:`start` inside the running event loop before :meth:`submit`, and :meth:`stop` at
    shutdown (jobs still waiting then fail with :class:`Dropped`). ``max_queue_wait`` (seconds,
    ``None`` for no limit) and ``max_queued_texts`` bound the queue; ``observer`` is told about
    every model call (for metrics).

    >>> async def demo():
    ...     batcher = MicroBatcher(lambda texts: [t.upper() for t in texts])
    ...     batcher.start()
    ...     results = await asyncio.gather(batcher.submit(["a", "b"]), batcher.submit(["c"]))
    ...     await batcher.stop()
    ...     return results, batcher.stats.batches
    >>> asyncio.run(demo())
    ([['A', 'B'], ['C']], 1)
    """

    def __init__(
        self,
        tag_many: TagMany,
        *,
        max_texts: int = 256,
        max_wait: float = 0.005,
        max_queue_wait: float | None = None,
        max_queued_texts: int = 10_000,
        observer: BatchObserver | None = None,
    ) -> None:
        self.tag_many = tag_many
        self.max_texts = max_texts
        self.max_wait = max_wait
        self.max_queue_wait = max_queue_wait
        self.max_queued_texts = max_queued_texts
        self.observer = observer
        self.stats = BatchStats()
        self.speed = SpeedEstimate()
        self._queue: collections.deque[Job] = collections.deque()
        self._queued_cost = 0
        self._queued_texts = 0
        self._running_cost = 0
        self._running_texts = 0
        self._running_since = 0.0
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None

    # -------------------------------------------------------------- life cycle

    def start(self) -> None:
        """Start the collector task in the running loop and the model thread."""
        self._wakeup = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nerkit-model")
        self._task = asyncio.get_running_loop().create_task(self._collect())

    async def stop(self) -> None:
        """Stop collecting; fail the jobs still waiting so no caller hangs."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        while self._queue:
            _fail(self._queue.popleft(), Dropped("the server is shutting down"))
        self._queued_cost = self._queued_texts = 0
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        self._task = self._wakeup = self._executor = None

    # -------------------------------------------------------------- the queue

    @property
    def queued_requests(self) -> int:
        return len(self._queue)

    @property
    def queued_texts(self) -> int:
        return self._queued_texts

    @property
    def running_texts(self) -> int:
        """Texts in the model call now running (0 when the model is idle)."""
        return self._running_texts

    def expected_wait(self) -> float:
        """Seconds a job queued now would wait for its model call to start (0 if unknown).

        The speed is the estimate from past calls, or the speed the call in progress has
        shown so far if that is slower: when the machine gets busier, refusals start during
        the first slow call, not after it.
        """
        per_unit = self.speed.per_unit
        elapsed = time.perf_counter() - self._running_since
        if self._running_cost:
            per_unit = max(per_unit or 0.0, elapsed / self._running_cost)
        if per_unit is None:
            return 0.0
        running = max(0.0, self._running_cost * per_unit - elapsed) if self._running_cost else 0.0
        return self._queued_cost * per_unit + running

    def enqueue(self, texts: Sequence[str]) -> Job:
        """Queue ``texts`` or raise :class:`Overloaded`; await the job with :meth:`result`."""
        if self._wakeup is None:
            raise RuntimeError("MicroBatcher.start() was not called; start it in the event loop")
        self._admit(len(texts))
        cost = sum(text_cost(t) for t in texts)
        job = Job(texts, cost, asyncio.get_running_loop().create_future())
        self._queue.append(job)
        self._queued_cost += cost
        self._queued_texts += len(texts)
        self._wakeup.set()
        return job

    def refusal(self) -> Overloaded | None:
        """Why a new job would be refused now (its wait over ``max_queue_wait``), or ``None``."""
        limit = self.max_queue_wait
        if limit is None:
            return None
        wait = self.expected_wait()
        if wait <= limit:
            return None
        return Overloaded(
            f"the server is at capacity: a new request would wait about {wait:.1f} s for the "
            f"model, more than its limit of {limit:g} s (--max-queue-wait)",
            max(1, math.ceil(wait - limit)),
        )

    def _admit(self, n_texts: int) -> None:
        refused = self.refusal()
        if refused is None and self._queue and (
            self._queued_texts + n_texts > self.max_queued_texts
        ):
            refused = Overloaded(
                f"the server is at capacity: {self._queued_texts:,} texts are waiting for the "
                f"model, and its queue holds at most {self.max_queued_texts:,}",
                max(1, math.ceil(self.expected_wait())),
            )
        if refused is not None:
            self.stats.rejected_requests += 1
            raise refused

    async def result(self, job: Job, timeout: float | None = None) -> list[Any]:
        """The job's results; if the caller stops waiting (cancelled, or ``timeout`` seconds
        passed: :class:`TimeoutError`), the job is dropped so the model never runs it."""
        try:
            return await asyncio.wait_for(asyncio.shield(job.future), timeout)
        except (asyncio.CancelledError, asyncio.TimeoutError):
            self.drop(job)
            raise

    async def submit(self, texts: Sequence[str], timeout: float | None = None) -> list[Any]:
        """Results for ``texts`` (one per text, in order), computed in a merged batch."""
        return await self.result(self.enqueue(texts), timeout)

    def drop(self, job: Job) -> None:
        """Forget ``job``: out of the queue if it is still there, its results unwanted."""
        if job.dropped or job.future.done():
            return
        job.dropped = True
        self.stats.dropped_requests += 1
        job.future.cancel()
        with contextlib.suppress(ValueError):  # already taken into a batch
            self._queue.remove(job)
            self._queued_cost -= job.cost
            self._queued_texts -= len(job.texts)

    def _take(self) -> Job | None:
        while self._queue:
            job = self._queue.popleft()
            self._queued_cost -= job.cost
            self._queued_texts -= len(job.texts)
            if job.dropped:
                continue
            waited = time.perf_counter() - job.queued_at
            if self.max_queue_wait is not None and waited > self.max_queue_wait:
                # admitted on an estimate that proved short: the limit still holds
                self.stats.rejected_requests += 1
                _fail(job, Overloaded(
                    f"the server is at capacity: this request waited {waited:.1f} s for the "
                    f"model, more than its limit of {self.max_queue_wait:g} s "
                    "(--max-queue-wait)", max(1, math.ceil(self.expected_wait()))))
                continue
            return job
        return None

    # -------------------------------------------------------------- the collector

    async def _next_batch(self) -> list[Job]:
        assert self._wakeup is not None  # set by start(); not user input
        first = self._take()
        while first is None:
            self._wakeup.clear()
            await self._wakeup.wait()
            first = self._take()
        jobs, n_texts = [first], len(first.texts)
        deadline = time.perf_counter() + self.max_wait
        while n_texts < self.max_texts:
            job = self._take()  # take what is already waiting, even if late
            if job is None:
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    break
                self._wakeup.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), remaining)
                continue
            jobs.append(job)
            n_texts += len(job.texts)
        return jobs

    async def _collect(self) -> None:
        while True:
            jobs = await self._next_batch()
            try:
                await self._run([job for job in jobs if not job.future.done()])
            except asyncio.CancelledError:
                for job in jobs:
                    _fail(job, Dropped("the server is shutting down"))
                raise

    async def _run(self, jobs: list[Job]) -> None:
        if not jobs:
            return
        texts = [text for job in jobs for text in job.texts]
        loop = asyncio.get_running_loop()
        self._running_cost = sum(job.cost for job in jobs)
        self._running_texts = len(texts)
        self._running_since = started = time.perf_counter()
        try:
            results = await loop.run_in_executor(self._executor, self.tag_many, texts)
            if len(results) != len(texts):
                raise RuntimeError(
                    f"tag_many returned {len(results)} results for {len(texts)} texts"
                )
        except Exception as err:
            self._running_cost = self._running_texts = 0
            if len(jobs) > 1:  # find the culprit: the other requests should still succeed
                for job in jobs:
                    await self._run([job])
                return
            self.stats.failed_requests += 1
            _fail(jobs[0], err)
            return
        seconds = time.perf_counter() - started
        self.speed.update(self._running_cost, seconds)
        self._running_cost = self._running_texts = 0
        self.stats.add(len(jobs), len(texts))
        if self.observer is not None:
            self.observer(len(jobs), len(texts), seconds)
        offset = 0
        for job in jobs:
            part = results[offset : offset + len(job.texts)]
            offset += len(job.texts)
            if not job.future.done():  # the caller may have gone away
                job.future.set_result(part)


def _fail(job: Job, err: BaseException) -> None:
    if not job.future.done():
        job.future.set_exception(err)
