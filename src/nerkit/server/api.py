"""The JSON API: ``POST /v1/entities``, ``GET /v1/model``, health checks and ``/metrics``.

``POST /v1/entities`` does on the event loop only what the offline ``Tagger.tag_many`` path
does not: read the body, check it (:mod:`nerkit.server.validate`), queue its texts and join the
answer from JSON the model thread has already encoded. No pydantic model validates requests or
responses on the way; the pydantic classes here only describe the answers in ``/openapi.json``.

Answers: 200 with entities; 400 for a body that is not UTF-8 (or a bad ``X-Request-Timeout``);
413 over a limit; 422 for a body of the wrong shape; 503 with ``Retry-After`` while the model
loads, when the queue is full (``--max-queue-wait``), or when an accepted request was not
answered within ``--request-timeout`` (or the client's shorter ``X-Request-Timeout`` header). A
request whose client hangs up is dropped from the queue (counted as 499 in the metrics; no one
reads that answer).
"""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

from fastapi import FastAPI, Request, Response
from pydantic import BaseModel, Field

from nerkit.errors import NerkitError
from nerkit.server.batcher import Dropped, Job, Overloaded
from nerkit.server.state import ServerState
from nerkit.server.validate import RequestProblem, request_schema, texts_of

#: Status for a request whose client went away before its answer (nginx's convention).
CLIENT_GONE = 499
#: A client's own deadline for one request, in seconds (the server's limit still applies).
TIMEOUT_HEADER = "X-Request-Timeout"
JSON = "application/json"


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


class ErrorOut(BaseModel):
    detail: str


class ProblemOut(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationOut(BaseModel):
    detail: list[ProblemOut] = Field(description="at most 10 problems; the input is not quoted")


RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before trying again",
                               "schema": {"type": "integer"}}}
ENTITY_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": f"the body is not UTF-8, or {TIMEOUT_HEADER} is "
                                            "not a number of seconds > 0"},
    413: {"model": ErrorOut, "description": "too many texts, a text too long, or body too large"},
    422: {"model": ValidationOut, "description": 'not exactly one of "text" or "texts", or an '
                                                 "item that is not a string of valid Unicode"},
    503: {"model": ErrorOut, "headers": RETRY_AFTER,
          "description": "the model is loading, the queue is full, or the request timed out"},
}


def json_response(
    content: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(json.dumps(content).encode("ascii"), status, headers, media_type=JSON)


def unavailable(message: str, retry_after: int) -> Response:
    return json_response({"detail": message}, 503, {"Retry-After": str(retry_after)})


def not_ready(state: ServerState) -> Response:
    if state.status == "failed":
        return unavailable(f"the model could not be loaded: {state.error}", 60)
    return unavailable("the model is still loading; retry in a few seconds", 5)


def entities_body(results: list[bytes], single: bool) -> bytes:
    """The answer, joined from each text's JSON array of entities."""
    if single:
        return b'{"entities": ' + results[0] + b"}"
    return b'{"results": [' + b", ".join(b'{"entities": ' + r + b"}" for r in results) + b"]}"


async def wait_for_hangup(request: Request) -> None:
    """Return when the client closes its connection (the body has been read already)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def request_timeout(request: Request, state: ServerState) -> float:
    """The server's ``--request-timeout``, or the client's shorter ``X-Request-Timeout``."""
    limit = state.settings.request_timeout
    header = request.headers.get(TIMEOUT_HEADER)
    if header is None:
        return limit
    try:
        seconds = float(header)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise RequestProblem(400, f"{TIMEOUT_HEADER} must be a number of seconds > 0, got "
                                  f"{header[:40]!r}")
    return min(seconds, limit)


async def answer_or_hangup(
    request: Request, state: ServerState, job: Job, timeout: float
) -> list[bytes] | None:
    """The job's results, or ``None`` once the client has hung up (the job is then dropped)."""
    result = asyncio.ensure_future(state.batcher.result(job, timeout))
    hangup = asyncio.ensure_future(wait_for_hangup(request))
    try:
        await asyncio.wait({result, hangup}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        hangup.cancel()
        if not result.done():
            result.cancel()  # the batcher drops the job
    if not result.done():  # the client hung up first: let the cancellation run
        await asyncio.wait({result})
    if result.cancelled():
        return None
    return result.result()


async def tag(request: Request, state: ServerState) -> Response:
    """Entities in ``text``, or in each of ``texts`` (in input order)."""
    try:
        texts, single = texts_of(await request.body(), state.settings)
        timeout = request_timeout(request, state)
    except RequestProblem as err:
        return json_response({"detail": err.detail}, err.status)
    if not state.ready:
        return not_ready(state)
    if not texts:
        return Response(b'{"results": []}', media_type=JSON)
    try:
        results = await answer_or_hangup(request, state, state.batcher.enqueue(texts), timeout)
    except Overloaded as err:
        return unavailable(str(err), err.retry_after)
    except (TimeoutError, asyncio.TimeoutError):  # the same class from Python 3.11
        state.metrics.dropped.labels("timeout").inc()
        return unavailable(f"not answered within {timeout:g} s (the server's --request-timeout "
                           f"or the request's {TIMEOUT_HEADER}); send fewer or shorter texts, "
                           "or retry later", 1)
    except Dropped as err:
        return unavailable(str(err), 5)
    except NerkitError as err:
        return json_response({"detail": str(err)}, 422)
    if results is None:
        state.metrics.dropped.labels("disconnect").inc()
        return Response(status_code=CLIENT_GONE)
    state.metrics.texts.inc(len(texts))
    state.metrics.words.inc(sum(len(text.split()) for text in texts))
    return Response(entities_body(results, single), media_type=JSON)


def add_api_routes(app: FastAPI, state: ServerState) -> None:
    """Register the API's routes on ``app``."""

    @app.post(
        "/v1/entities",
        response_model=EntitiesOut | BatchOut,
        responses=ENTITY_RESPONSES,
        openapi_extra={
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": request_schema(state.settings)}}},
            "parameters": [{
                "in": "header", "name": TIMEOUT_HEADER, "required": False,
                "description": "seconds this client will wait; the work is dropped after "
                               "them (at most the server's --request-timeout)",
                "schema": {"type": "number", "exclusiveMinimum": 0},
            }],
        },
    )
    async def entities(request: Request) -> Response:
        """Entities in ``text``, or in each of ``texts`` (in input order)."""
        return await tag(request, state)

    @app.get("/v1/model", responses={503: {"model": ErrorOut, "headers": RETRY_AFTER}})
    async def model_endpoint() -> Response:
        """Labels, entity types, encoder, window length, decoding, saved scores and limits."""
        return json_response(state.info) if state.ready else not_ready(state)

    @app.get("/healthz", responses={503: {"description": "not ready (loading or failed)"}})
    async def healthz() -> Response:
        """Ready (200) or not (503), with counters that show how requests are batched."""
        return json_response(state.health(), 200 if state.ready else 503)

    @app.get("/healthz/live")
    async def live() -> dict[str, str]:
        """200 while the process serves HTTP, even before the model is loaded."""
        return {"status": "live"}

    @app.get("/healthz/ready", responses={503: {"description": "not ready (loading or failed)"}})
    async def ready() -> Response:
        """200 once the model is loaded and warmed up, 503 before (or if loading failed)."""
        body = {"ready": state.ready, "status": state.status}
        return json_response(body, 200 if state.ready else 503)

    @app.get("/metrics", response_class=Response,
             responses={200: {"content": {"text/plain": {}},
                              "description": "Prometheus text format"}})
    async def metrics() -> Response:
        """Counters, gauges and histograms in the Prometheus text format."""
        body, content_type = state.metrics.render()
        return Response(body, media_type=content_type)
