"""What a running server holds: its settings, the model (loading, ready or failed), the
micro-batcher that feeds the model, and the metrics.

The model loads in the background after the port is open, so that ``/healthz/live`` answers
at once while ``/healthz/ready`` (and the API) answer 503 until the model is loaded and has run
once. That first run on a few texts warms the runtime up and gives the batcher its first
estimate of the model's speed, which back-pressure needs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nerkit._version import __version__
from nerkit.errors import ModelError, NerkitError
from nerkit.server.batcher import MicroBatcher
from nerkit.server.metrics import ServerMetrics
from nerkit.server.settings import ServeSettings
from nerkit.tagging.tagger import Tagger

log = logging.getLogger("nerkit.server")

SCORE_KEYS = ("dev_f1", "test_f1", "best_dev_f1", "dev_per_type", "test_per_type")
# Short and long texts of several languages: enough for a first speed estimate.
WARMUP_TEXTS = [
    "El presidente Felipe González viajó ayer a Madrid para reunirse con la ONU.",
    "De minister van Buitenlandse Zaken sprak in Brussel met de Europese Commissie.",
    "Ana García.",
    "The company announced on Monday that its offices in Paris and Berlin would close. " * 4,
] * 4


def model_info(tagger: Tagger, folder: Path | None) -> dict[str, Any]:
    """What ``GET /v1/model`` shows: labels, settings and the scores saved at training."""
    scores = None
    path = folder / "eval_results.json" if folder is not None else None
    if path is not None and path.is_file():
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ModelError(
                f"{path}:{err.lineno}: not valid JSON ({err.msg}); fix or delete the file"
            ) from err
        scores = {k: saved[k] for k in SCORE_KEYS if k in saved}
    meta = tagger.meta
    return {
        "name": folder.name if folder is not None else None,
        "labels": list(tagger.labels.labels),
        "types": list(tagger.labels.types),
        "encoder": meta.encoder,
        "max_length": meta.max_length,
        "decoding": tagger.predictor.decoder.method,  # --decoding may override the saved one
        "scheme": meta.scheme,
        "language": meta.language,
        "scores": scores,
        "nerkit_version": __version__,
    }


class ServerState:
    """The model, its batcher and the metrics of one app.

    ``on_load_error`` is called with the one-line message when the model cannot be loaded (the
    CLI uses it to stop the server and exit with status 2).
    """

    def __init__(self, model: str | os.PathLike[str] | Tagger, settings: ServeSettings) -> None:
        self.settings = settings
        self.metrics = ServerMetrics()
        self.tagger: Tagger | None = model if isinstance(model, Tagger) else None
        self.folder: Path | None = None if isinstance(model, Tagger) else Path(model)
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
        """Each text's entities as a JSON array, encoded here on the model thread: the event
        loop then only joins bytes."""
        assert self.tagger is not None  # only called once loaded; not user input
        return [
            json.dumps([e.to_dict() for e in entities], ensure_ascii=False).encode("utf-8")
            for entities in self.tagger.tag_many(texts)
        ]

    async def load(self, *, raise_errors: bool = False) -> None:
        """Load the model (unless given loaded), read its info and run it once."""
        try:
            if self.tagger is None:
                assert self.folder is not None  # one of the two is set in __init__
                self.tagger = await asyncio.to_thread(
                    Tagger.load, self.folder, threads=self.settings.threads
                )
            self.info = model_info(self.tagger, self.folder)
            self.info["limits"] = self.settings.limits()
            await self.batcher.submit(WARMUP_TEXTS)
        except Exception as err:
            self.status = "failed"
            self.error = self._load_error(err)
            log.error("nerkit: error: %s", self.error)
            if raise_errors:
                raise
            if self.on_load_error is not None:
                self.on_load_error(self.error)
            return
        self.status = "ready"
        self.metrics.ready.set(1)
        log.info("nerkit: model ready: %s", self.folder or "a loaded Tagger")

    def _load_error(self, err: Exception) -> str:
        if isinstance(err, NerkitError):
            return str(err)
        first = str(err).splitlines()[0] if str(err) else ""
        return (f"{self.folder}: cannot load the model ({type(err).__name__}: {first}); "
                "check the folder or write it again")

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
