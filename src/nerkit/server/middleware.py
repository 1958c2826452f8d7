"""Plain ASGI middleware: load shedding, the request-body size limit and per-request metrics.

Both are written against ASGI directly rather than Starlette's ``BaseHTTPMiddleware``, which
would run every request through an extra task and memory stream.
"""

from __future__ import annotations

import json
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nerkit.server.batcher import MicroBatcher
from nerkit.server.metrics import ServerMetrics
from nerkit.server.validate import RequestProblem


class BodySizeLimit:
    """Answer 413 to request bodies over ``max_bytes`` without reading or parsing them.

    A declared ``Content-Length`` is refused at once; a chunked body is counted while it
    streams in (:class:`RequestProblem` from ``receive``), so a client cannot make the server
    buffer more than ``max_bytes``.
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
            await send_json(send, 413, {"detail": self.message})
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise RequestProblem(413, self.message)
            return message

        await self.app(scope, limited_receive, send)


async def send_json(
    send: Send, status: int, content: object, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps(content).encode("ascii")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode("ascii")),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


class LoadShedder:
    """Answer ``POST /v1/entities`` with 503 and ``Retry-After`` before reading it when the
    model's queue is over its wait limit.

    Under overload, clients that retry at once can send many times more requests than the model
    serves; each refusal must then cost as little as possible, or answering them takes the CPU
    the model needs. This one costs no routing, body read or JSON parsing. The batcher makes the
    same check again for requests that get past it (:meth:`MicroBatcher.enqueue`).
    """

    def __init__(self, app: ASGIApp, batcher: MicroBatcher, path: str = "/v1/entities") -> None:
        self.app = app
        self.batcher = batcher
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == self.path and scope["method"] == "POST":
            refusal = self.batcher.refusal()
            if refusal is not None:
                self.batcher.stats.rejected_requests += 1
                await send_json(send, 503, {"detail": str(refusal)},
                                [(b"retry-after", str(refusal.retry_after).encode("ascii"))])
                return
        await self.app(scope, receive, send)


class RequestMetrics:
    """Count every HTTP request by path and status, and time the API's, in ``metrics``.

    A request that raised counts as 500 (the answer the server sends for it); one whose client
    left before the answer counts with the status the handler chose (499 for a dropped job).
    """

    def __init__(self, app: ASGIApp, metrics: ServerMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self.metrics.observe_request(scope["path"], status, time.perf_counter() - started)
