"""``nerkit serve``: the HTTP API and web page for a trained model.

FastAPI, uvicorn and the model load inside :func:`run`, once the command is chosen, so that
``nerkit --help`` stays fast. The port opens at once and the model loads behind it
(``/healthz/live`` answers, ``/healthz/ready`` says when the model is in); a model that cannot
load stops the server with one error line and exit status 2. SIGTERM stops accepting
connections, lets the requests in flight finish (at most ``--drain-timeout`` seconds) and
exits with status 0.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from nerkit.cli.common import positive_float, positive_int
from nerkit.errors import ModelError


def check_folder(model: str) -> Path:
    """The model folder (a hub id fetched once here, not by every worker), checked first so
    that a typo is one error line, not every worker crashing in turn."""
    from nerkit.modeling.hub import resolve_model

    folder = resolve_model(model)
    if not folder.exists():
        raise ModelError(f"{model}: model folder not found; check the path")
    if not (folder / "config.json").is_file():
        raise ModelError(f"{model}: no model folder with a config.json here; check the path")
    return folder


def run(args: argparse.Namespace) -> int:
    from nerkit.server.settings import ServeSettings

    folder = check_folder(args.model)
    settings = ServeSettings(
        max_text_chars=args.max_text_chars,
        max_batch=args.max_batch,
        max_body_bytes=int(args.max_body_mb * 1_000_000),
        batch_wait_ms=args.batch_wait_ms,
        batch_texts=args.batch_texts,
        max_queue_wait=args.max_queue_wait,
        request_timeout=args.request_timeout,
        threads=args.threads,
    )
    config: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "access_log": not args.no_access_log,
        "log_level": "info",
        "timeout_graceful_shutdown": args.drain_timeout,
    }
    # uvicorn handles SIGTERM (stop accepting, drain), then restores the handler it found and
    # raises the signal again; this handler makes that last step a normal exit with status 0.
    stopping: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda sig, _frame: stopping.append(sig))
    try:
        if args.workers == 1:
            return serve_one(folder, settings, config, stopping)
        serve_workers(folder, settings, config, args.workers)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)


def serve_one(folder: Path, settings: Any, config: dict[str, Any], stopping: list[int]) -> int:
    """One process: the model loads behind the open port; a load error stops the server."""
    import uvicorn

    from nerkit.server.app import create_app

    app = create_app(folder, settings)
    failed: list[str] = []

    def stop_on_load_error(message: str) -> None:
        failed.append(message)
        signal.raise_signal(signal.SIGTERM)

    app.state.server.on_load_error = stop_on_load_error
    print(f"nerkit: serving {folder} at http://{config['host']}:{config['port']}/ (loading the "
          "model; /healthz/ready says when it is in): API POST /v1/entities, schema "
          "/openapi.json, metrics /metrics", file=sys.stderr)
    server = uvicorn.Server(uvicorn.Config(app, **config))
    if not stopping:
        server.run()
    if failed:
        raise ModelError(failed[0])
    return 0


def serve_workers(folder: Path, settings: Any, config: dict[str, Any], workers: int) -> None:
    """Several processes, each loading its own copy of the model (uvicorn factory mode)."""
    import uvicorn

    from nerkit.server.app import ENV_MODEL, ENV_OPTIONS

    options = settings.to_dict()
    if options["threads"] is None:  # share the cores instead of every worker taking them all
        options["threads"] = max(1, (os.cpu_count() or 1) // workers)
    os.environ[ENV_MODEL] = str(folder.resolve())
    os.environ[ENV_OPTIONS] = json.dumps(options)
    print(f"nerkit: serving {folder} with {workers} workers, PyTorch threads per worker: "
          f"{options['threads']}, at http://{config['host']}:{config['port']}/", file=sys.stderr)
    uvicorn.run("nerkit.server.app:app_from_env", factory=True, workers=workers, **config)


def register(commands: Any) -> None:
    """Add ``serve`` to the ``nerkit`` parser."""
    # fmt: off
    serve = commands.add_parser(
        "serve", help="HTTP API and web page for a trained model",
        description="Serve a model: POST /v1/entities, GET /v1/model, GET /healthz "
                    "(/healthz/live, /healthz/ready), GET /metrics (Prometheus), a web page "
                    "at /, and the OpenAPI schema at /openapi.json.",
    )
    serve.add_argument("--model", required=True, metavar="DIR", help="trained model folder")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1: this machine only; "
                            "0.0.0.0 opens it to the network)")
    serve.add_argument("--port", type=int, default=8000, help="default 8000")
    serve.add_argument("--workers", type=positive_int, default=1, metavar="N",
                       help="processes, each with its own copy of the model (default 1)")
    serve.add_argument("--threads", type=positive_int, metavar="N",
                       help="PyTorch threads per worker (default: all cores / workers)")
    serve.add_argument("--max-text-chars", type=positive_int, default=100_000, metavar="N",
                       help="longest text accepted, in characters (default 100000)")
    serve.add_argument("--max-batch", type=positive_int, default=256, metavar="N",
                       help="most texts in one request (default 256)")
    serve.add_argument("--max-body-mb", type=positive_float, default=10.0, metavar="MB",
                       help="largest request body, in MB (default 10)")
    serve.add_argument("--batch-wait-ms", type=float, default=5.0, metavar="MS",
                       help="how long a request waits for others to share its model call "
                            "(default 5)")
    serve.add_argument("--batch-texts", type=positive_int, default=64, metavar="N",
                       help="texts merged into one model call, about (default 64)")
    serve.add_argument("--max-queue-wait", type=positive_float, default=2.0, metavar="S",
                       help="answer 503 with Retry-After at once when a new request would wait "
                            "longer than this for the model (default 2 seconds)")
    serve.add_argument("--request-timeout", type=positive_float, default=60.0, metavar="S",
                       help="answer 503 and drop the work of a request not answered in this "
                            "time (default 60 seconds)")
    serve.add_argument("--drain-timeout", type=positive_float, default=30.0, metavar="S",
                       help="on SIGTERM, how long requests in flight may take to finish "
                            "(default 30 seconds)")
    serve.add_argument("--no-access-log", action="store_true", help="do not log each request")
    serve.set_defaults(func=run)
    # fmt: on
