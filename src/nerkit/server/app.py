"""The HTTP API and web page: ``create_app(model_dir)`` returns a FastAPI app.

Endpoints:

- ``POST /v1/entities`` with ``{"text": "..."}`` answers ``{"entities": [...]}``; with
  ``{"texts": ["...", ...]}`` it answers ``{"results": [{"entities": [...]}, ...]}`` in input
  order. Entities are :meth:`nerkit.tagging.tagger.Entity.to_dict` dicts: character (Unicode code
  point, not UTF-16) offsets, end exclusive, so ``text[start:end] == entity["text"]``.
- ``GET /v1/model``: labels, entity types, encoder, window length, decoding, scores from
  ``eval_results.json`` and the server's limits.
- ``GET /healthz``: ``{"status": "ok"}`` plus counters showing how requests are batched.
- ``GET /``: a self-contained page (``static/``) to try the model and view CoNLL files.

Every limit answers 413 with a message naming the option that raises it, before the model
sees anything: the raw body size (checked while reading, before JSON parsing), texts per
request and characters per text. Requests from concurrent clients are merged into one model
call by :class:`~nerkit.server.batcher.MicroBatcher`, which runs the model on one thread.

FastAPI's ``/docs`` and ``/redoc`` pages load their scripts from a CDN, which offline machines
cannot reach, so they are off; the schema is still at ``/openapi.json``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nerkit._version import __version__
from nerkit.errors import ConfigError, ModelError, NerkitError
from nerkit.server.batcher import MicroBatcher
from nerkit.tagging.tagger import Tagger

#: Environment variables that carry the settings to worker processes (``--workers N``).
ENV_MODEL = "NERKIT_SERVE_MODEL"
ENV_OPTIONS = "NERKIT_SERVE_OPTIONS"

SCORE_KEYS = ("dev_f1", "test_f1", "best_dev_f1", "dev_per_type", "test_per_type")
STATIC_FILES = {"app.js": "text/javascript", "style.css": "text/css"}
# The page may only talk to this server and load its own files: no CDN, no fonts, no trackers.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
}


# ------------------------------------------------------------------ request and response shapes

class TagRequest(BaseModel):
    """Exactly one of ``text`` (one document) or ``texts`` (a batch, answered in order)."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(None, description="one text to tag")
    texts: list[str] | None = Field(None, description="several texts, answered in order")

    @model_validator(mode="after")
    def _exactly_one(self) -> TagRequest:
        if (self.text is None) == (self.texts is None):
            raise ValueError('give exactly one of "text" (a string) or "texts" (a list of strings)')
        return self

    @field_validator("text")
    @classmethod
    def _encodable_text(cls, value: str | None) -> str | None:
        if value is not None:
            _check_unicode(value)
        return value

    @field_validator("texts")
    @classmethod
    def _encodable_texts(cls, value: list[str] | None) -> list[str] | None:
        for text in value or ():
            _check_unicode(text)
        return value


def _check_unicode(text: str) -> None:
    """JSON may carry lone surrogates (``"\\ud800"``) that no UTF-8 answer can hold."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise ValueError(
            f"text has a lone surrogate {text[err.start]!r} at character {err.start}; "
            "send valid Unicode (pair the surrogates or drop them)"
        ) from None


class EntityOut(BaseModel):
    text: str = Field(description="the entity's text, exactly text[start:end]")
    label: str = Field(description="entity type, e.g. PER")
    start: int = Field(description="offset of the first character, in code points")
    end: int = Field(description="offset after the last character (exclusive), in code points")
    score: float = Field(description="mean probability of the chosen tags over its words")


class EntitiesOut(BaseModel):
    entities: list[EntityOut]


class BatchOut(BaseModel):
    results: list[EntitiesOut]


class SafeJSONResponse(JSONResponse):
    """JSON that any input can be echoed in. A validation error quotes the input, and Python's
    JSON parser accepts what no UTF-8 JSON answer can hold: lone surrogates (``"\\ud800"``)
    and ``NaN``/``Infinity``. Escaping non-ASCII and quoting non-finite numbers as strings
    keeps such a 422 from turning into a 500."""

    def render(self, content: Any) -> bytes:
        return json.dumps(_finite(content), ensure_ascii=True, allow_nan=False).encode("ascii")


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # registered for this type only
    return SafeJSONResponse({"detail": jsonable_encoder(exc.errors())}, status_code=422)


# ------------------------------------------------------------------ body size limit

class BodySizeLimit:
    """Answer 413 to request bodies over ``max_bytes`` without reading or parsing them.

    A declared ``Content-Length`` is refused at once; a chunked body is counted while it
    streams in, so a client cannot make the server buffer more than ``max_bytes``.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.message = (
            f"request body is larger than this server's limit of {max_bytes:,} bytes; send "
            "fewer or shorter texts per request, or start the server with --max-body-mb N "
            "(create_app(max_body_bytes=...)) to raise it"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"").strip()
        if declared.isdigit() and int(declared) > self.max_bytes:
            await JSONResponse({"detail": self.message}, status_code=413)(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # FastAPI re-raises HTTPExceptions met while reading the body.
                    raise HTTPException(413, self.message)
            return message

        await self.app(scope, limited_receive, send)


# ------------------------------------------------------------------ the app

def _positive(name: str, value: float, flag: str) -> None:
    if not value > 0:
        raise ConfigError(f"{name} must be positive, got {value!r}; set {flag} to a number > 0")


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


def _static(name: str) -> str:
    return resources.files("nerkit.server").joinpath("static", name).read_text(encoding="utf-8")


def create_app(
    model: str | os.PathLike[str] | Tagger,
    *,
    max_text_chars: int = 100_000,
    max_batch: int = 256,
    max_body_bytes: int = 10_000_000,
    batch_wait_ms: float = 5.0,
    batch_texts: int = 256,
    threads: int | None = None,
) -> FastAPI:
    """A FastAPI app serving ``model`` (a model folder, or a loaded :class:`Tagger`).

    ``max_text_chars`` (characters per text), ``max_batch`` (texts per request) and
    ``max_body_bytes`` (raw request size) bound what one request may ask. Concurrent
    requests arriving within ``batch_wait_ms`` of each other are tagged together, up to
    about ``batch_texts`` texts per model call. ``threads`` sets PyTorch's thread count when
    the model is loaded here.

    >>> app = create_app("my-model", max_text_chars=20_000)  # doctest: +SKIP
    >>> uvicorn.run(app, port=8000)                           # doctest: +SKIP
    """
    _positive("max_text_chars", max_text_chars, "--max-text-chars")
    _positive("max_batch", max_batch, "--max-batch")
    _positive("max_body_bytes", max_body_bytes, "--max-body-mb")
    if not batch_wait_ms >= 0:
        raise ConfigError(f"batch_wait_ms must be 0 or more, got {batch_wait_ms!r}")
    _positive("batch_texts", batch_texts, "create_app(batch_texts=N)")
    folder = None
    if isinstance(model, Tagger):
        tagger = model
    else:
        folder = Path(model)
        tagger = Tagger.load(folder, threads=threads)
    info = model_info(tagger, folder)
    info["limits"] = {
        "max_text_chars": max_text_chars,
        "max_batch": max_batch,
        "max_body_bytes": max_body_bytes,
    }

    def tag_many(texts: list[str]) -> list[list[dict[str, Any]]]:
        return [[e.to_dict() for e in entities] for entities in tagger.tag_many(texts)]

    batcher = MicroBatcher(tag_many, max_texts=batch_texts, max_wait=batch_wait_ms / 1000)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        batcher.start()
        try:
            yield
        finally:
            await batcher.stop()

    app = FastAPI(
        title="nerkit",
        version=__version__,
        description="Named entities in text, with character offsets.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.state.tagger = tagger
    app.state.batcher = batcher
    page = {name: _static(name) for name in ("index.html", *STATIC_FILES)}

    @app.post(
        "/v1/entities",
        response_model=EntitiesOut | BatchOut,
        responses={413: {"description": "too many texts, a text too long, or body too large"}},
    )
    async def entities(body: TagRequest) -> dict[str, Any]:
        """Entities in ``text``, or in each of ``texts`` (in input order)."""
        texts = [body.text] if body.text is not None else body.texts or []
        if len(texts) > max_batch:
            raise HTTPException(
                413,
                f"batch has {len(texts):,} texts, more than this server's limit of "
                f"{max_batch:,} per request; split it, or start the server with "
                "--max-batch N to raise the limit",
            )
        for i, text in enumerate(texts):
            if len(text) > max_text_chars:
                which = "text" if body.text is not None else f"texts[{i}]"
                raise HTTPException(
                    413,
                    f"{which} has {len(text):,} characters, more than this server's limit of "
                    f"{max_text_chars:,}; split it, or start the server with "
                    "--max-text-chars N to raise the limit",
                )
        if not texts:
            return {"results": []}
        try:
            results = await batcher.submit(texts)
        except NerkitError as err:
            raise HTTPException(422, str(err)) from err
        if body.text is not None:
            return {"entities": results[0]}
        return {"results": [{"entities": r} for r in results]}

    @app.get("/v1/model")
    async def model_endpoint() -> dict[str, Any]:
        """Labels, entity types, encoder, window length, decoding and saved scores."""
        return info

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        """Liveness, plus counters that show how requests are being merged into batches."""
        return {"status": "ok", "batching": batcher.stats.to_dict()}

    @app.get("/", include_in_schema=False)
    async def index() -> Response:
        return Response(page["index.html"], media_type="text/html", headers=PAGE_HEADERS)

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        if name not in STATIC_FILES:
            raise HTTPException(404, f"no static file {name!r}")
        return Response(page[name], media_type=STATIC_FILES[name], headers=PAGE_HEADERS)

    return app


def app_from_env() -> FastAPI:
    """The app for each worker process of ``nerkit serve --workers N`` (uvicorn factory mode).

    The parent process cannot hand a loaded model to its workers, so it puts the model folder
    in ``$NERKIT_SERVE_MODEL`` and the other options, as JSON, in ``$NERKIT_SERVE_OPTIONS``.
    """
    folder = os.environ.get(ENV_MODEL)
    if not folder:
        raise ConfigError(
            f"${ENV_MODEL} is not set; start workers with `nerkit serve --model DIR --workers N`"
        )
    options = json.loads(os.environ.get(ENV_OPTIONS) or "{}")
    return create_app(folder, **options)
