"""The HTTP API and web page: ``create_app(model_dir)`` returns a FastAPI app.

Endpoints (:mod:`nerkit.server.api`, :mod:`nerkit.server.page`):

- ``POST /v1/entities`` with ``{"text": "..."}`` answers ``{"entities": [...]}``; with
  ``{"texts": ["...", ...]}`` it answers ``{"results": [{"entities": [...]}, ...]}`` in input
  order. Entities are :meth:`nerkit.tagging.tagger.Entity.to_dict` dicts: character (Unicode code
  point, not UTF-16) offsets, end exclusive, so ``text[start:end] == entity["text"]``.
- ``GET /v1/model``: labels, entity types, encoder, window length, decoding, scores from
  ``eval_results.json`` and the server's limits.
- ``GET /healthz`` (ready or not, with batching counters), ``/healthz/live`` and
  ``/healthz/ready``; ``GET /metrics`` in the Prometheus format (:mod:`nerkit.server.metrics`).
- ``GET /``: a self-contained page (``static/``) to try the model and view CoNLL files.

Every limit answers 413 with a message naming the option that raises it, before the model
sees anything: the raw body size (checked while reading, before JSON parsing), texts per
request and characters per text. Requests from concurrent clients are merged into one model
call by :class:`~nerkit.server.batcher.MicroBatcher`, which runs the model on one thread and
answers 503 with ``Retry-After`` when its queue is full.

FastAPI's ``/docs`` and ``/redoc`` pages load their scripts from a CDN, which offline machines
cannot reach, so they are off; the schema is still at ``/openapi.json``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import FastAPI, Request, Response

from nerkit._version import __version__
from nerkit.errors import ConfigError
from nerkit.server.api import add_api_routes, json_response
from nerkit.server.middleware import BodySizeLimit, LoadShedder, RequestMetrics
from nerkit.server.page import add_page_routes
from nerkit.server.settings import ServeSettings
from nerkit.server.state import ServerState
from nerkit.server.validate import RequestProblem
from nerkit.tagging.tagger import Tagger

#: Environment variables that carry the settings to worker processes (``--workers N``).
ENV_MODEL = "NERKIT_SERVE_MODEL"
ENV_OPTIONS = "NERKIT_SERVE_OPTIONS"


def create_app(
    model: str | os.PathLike[str] | Tagger,
    settings: ServeSettings | None = None,
    *,
    background_load: bool = True,
    **options: Any,
) -> FastAPI:
    """A FastAPI app serving ``model`` (a model folder, or a loaded :class:`Tagger`).

    ``settings`` (or the same names as keyword ``options``: ``max_text_chars``,
    ``max_batch``, ``max_body_bytes``, ``batch_wait_ms``, ``batch_texts``, ``max_queue_wait``,
    ``request_timeout``, ``threads``; see :class:`ServeSettings`) bound requests, batching and
    waiting. The model loads when the app starts: in the background by default, so the server
    answers ``/healthz/live`` at once and 503 elsewhere until it is ready; with
    ``background_load=False`` the app's startup waits for it (and fails if it cannot load).

    >>> app = create_app("my-model", max_text_chars=20_000)  # doctest: +SKIP
    >>> uvicorn.run(app, port=8000)                           # doctest: +SKIP
    """
    settings = ServeSettings.from_options(
        {**(settings.to_dict() if settings else {}), **options}
    )
    state = ServerState(model, settings)
    app = FastAPI(
        title="nerkit",
        version=__version__,
        description="Named entities in text, with character offsets.",
        lifespan=_lifespan(state, background_load),
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(LoadShedder, batcher=state.batcher)
    app.add_middleware(RequestMetrics, metrics=state.metrics)  # outermost: sees every answer
    app.add_exception_handler(RequestProblem, _problem)
    app.state.server = state
    app.state.batcher = state.batcher
    add_api_routes(app, state)
    add_page_routes(app)
    return app


async def _problem(_: Request, exc: Exception) -> Response:
    """A :class:`RequestProblem` raised outside the API's own handling (a body over the size
    limit sent to another route)."""
    assert isinstance(exc, RequestProblem)  # registered for this type only
    return json_response({"detail": exc.detail}, exc.status)


def _lifespan(
    state: ServerState, background: bool
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state.batcher.start()
        loading = None
        if background:
            loading = asyncio.get_running_loop().create_task(state.load())
        else:
            await state.load(raise_errors=True)
        try:
            yield
        finally:
            if loading is not None and not loading.done():
                loading.cancel()
            await state.batcher.stop()
            await asyncio.to_thread(state.close)

    return lifespan


def app_from_env() -> FastAPI:
    """The app for each worker process of ``nerkit serve --workers N`` (uvicorn factory mode).

    The parent process cannot hand a loaded model to its workers, so it puts the model folder
    in ``$NERKIT_SERVE_MODEL`` and the settings, as JSON, in ``$NERKIT_SERVE_OPTIONS``. Each
    worker loads the model before it serves, so a folder that cannot load stops the server.
    """
    folder = os.environ.get(ENV_MODEL)
    if not folder:
        raise ConfigError(
            f"${ENV_MODEL} is not set; start workers with `nerkit serve --model DIR --workers N`"
        )
    options = json.loads(os.environ.get(ENV_OPTIONS) or "{}")
    return create_app(folder, background_load=False, **options)


__all__ = ["ENV_MODEL", "ENV_OPTIONS", "ServeSettings", "app_from_env", "create_app"]
