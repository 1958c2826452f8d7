"""What a running server holds: its settings, the model (loading, ready or failed), the
micro-batcher that feeds the model, and the metrics.

The model loads in the background after the port is open, so that ``/healthz/live`` answers
at once while ``/healthz/ready`` (and the API) answer 503 until the model is loaded and has run
once. That first run on a few texts warms the runtime up and gives the batcher its first
estimate of the model's speed, which back-pressure needs. A model folder runs in a process of
its own (:mod:`nerkit.server.model_process`); a :class:`Tagger` handed to ``create_app`` runs
on the batcher's thread.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nerkit.errors import NerkitError
from nerkit.server.batcher import Dropped, MicroBatcher
from nerkit.server.metrics import ServerMetrics
from nerkit.server.model_process import InlineModel, ModelCrashed, ModelProcess
from nerkit.server.settings import ServeSettings
from nerkit.tagging.tagger import Tagger

log = logging.getLogger("nerkit.server")

# Short and long texts of several languages: enough for a first speed estimate.
WARMUP_TEXTS = [
    "El presidente Felipe González viajó ayer a Madrid para reunirse con la ONU.",
    "De minister van Buitenlandse Zaken sprak in Brussel met de Europese Commissie.",
    "Ana García.",
    "The company announced on Monday that its offices in Paris and Berlin would close. " * 4,
] * 4


class ServerState:
    """The model, its batcher and the metrics of one app.

    ``on_load_error`` is called with the one-line message when the model cannot be loaded, or
    its process dies (the CLI uses it to stop the server and exit with status 2).
    """

    def __init__(self, model: str | os.PathLike[str] | Tagger, settings: ServeSettings) -> None:
        self.settings = settings
        self.metrics = ServerMetrics()
        self.folder: Path | None = None if isinstance(model, Tagger) else Path(model)
        self.runner: InlineModel | ModelProcess = (
            InlineModel(model) if isinstance(model, Tagger)
            else ModelProcess(Path(model), settings.threads)
        )
        self.info: dict[str, Any] = {}
        self.status = "loading"
        self.error: str | None = None
        self.on_load_error: Callable[[str], None] | None = None
        self.batcher = MicroBatcher(
            self._tag_many,
            max_texts=settings.batch_texts,
            max_wait=settings.batch_wait_ms / 1000,
            max_queue_wait=settings.max_queue_wait,
            max_queued_texts=settings.max_queued_texts,
            observer=self.metrics.observe_batch,
        )
        self.metrics.watch_queue(
            lambda: self.batcher.queued_requests,
            lambda: self.batcher.queued_texts,
            self.batcher.expected_wait,
            lambda: self.batcher.running_texts,
        )

    @property
    def ready(self) -> bool:
        return self.status == "ready"

    def _tag_many(self, texts: list[str]) -> list[bytes]:
        """Each text's entities as a JSON array, encoded by the model's side (on the batcher's
        thread): the event loop only joins bytes."""
        try:
            return self.runner.tag(texts)
        except ModelCrashed as err:
            self._failed(str(err))
            raise Dropped(str(err)) from err

    async def load(self, *, raise_errors: bool = False) -> None:
        """Load the model (unless given loaded), read its info and run it once."""
        try:
            self.info = await asyncio.to_thread(self.runner.start)
            self.info["limits"] = self.settings.limits()
            await self.batcher.submit(WARMUP_TEXTS)
        except Exception as err:
            if raise_errors:
                raise
            self._failed(str(err) if isinstance(err, NerkitError) else
                         f"{self.folder}: cannot load the model ({type(err).__name__}: {err})")
            return
        self.status = "ready"
        self.metrics.ready.set(1)
        log.info("nerkit: model ready: %s", self.folder or "a loaded Tagger")

    def _failed(self, message: str) -> None:
        if self.status == "failed":
            return
        self.status, self.error = "failed", message
        self.metrics.ready.set(0)
        log.error("nerkit: error: %s", message)
        if self.on_load_error is not None:
            self.on_load_error(message)

    def close(self) -> None:
        """Stop the model's process (after the batcher has stopped)."""
        self.runner.close()

    def health(self) -> dict[str, Any]:
        """What ``GET /healthz`` shows: readiness, and how requests are being batched."""
        data: dict[str, Any] = {"status": "ok" if self.ready else self.status,
                                "ready": self.ready}
        if self.error:
            data["error"] = self.error
        data["batching"] = self.batcher.stats.to_dict()
        data["queue"] = {"requests": self.batcher.queued_requests,
                         "texts": self.batcher.queued_texts,
                         "expected_wait_s": round(self.batcher.expected_wait(), 3)}
        return data
