"""``nerkit serve``: the HTTP API and web page for a trained model.

FastAPI, uvicorn and the model load inside :func:`run`, once the command is chosen, so that
``nerkit --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from nerkit.cli.common import positive_float, positive_int
from nerkit.errors import ModelError
from nerkit.modeling.hub import resolve_model


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from nerkit.server.app import ENV_MODEL, ENV_OPTIONS, create_app

    options: dict[str, Any] = {
        "max_text_chars": args.max_text_chars,
        "max_batch": args.max_batch,
        "max_body_bytes": int(args.max_body_mb * 1_000_000),
        "batch_wait_ms": args.batch_wait_ms,
        "threads": args.threads,
    }
    run: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "access_log": not args.no_access_log,
        "log_level": "info",
    }
    if args.workers == 1:
        app = create_app(args.model, **options)  # a bad model fails here, before the port opens
        print(f"nerkit: serving {args.model}: page http://{args.host}:{args.port}/ , API "
              "POST /v1/entities, schema /openapi.json", file=sys.stderr)
        uvicorn.run(app, **run)
        return 0
    # Each worker process loads its own copy of the model (uvicorn factory mode); check the
    # folder first so a typo is one error line, not every worker crashing in turn.
    folder = resolve_model(args.model)  # a hub id: fetched once here, not by every worker
    if not (folder / "config.json").is_file():
        raise ModelError(f"{args.model}: no model folder with a config.json here; check the path")
    if options["threads"] is None:  # share the cores instead of every worker taking them all
        options["threads"] = max(1, (os.cpu_count() or 1) // args.workers)
    os.environ[ENV_MODEL] = str(folder.resolve())
    os.environ[ENV_OPTIONS] = json.dumps(options)
    print(f"nerkit: serving {args.model} with {args.workers} workers, PyTorch threads per "
          f"worker: {options['threads']}, at http://{args.host}:{args.port}/", file=sys.stderr)
    uvicorn.run("nerkit.server.app:app_from_env", factory=True, workers=args.workers, **run)
    return 0



def register(commands: Any) -> None:
    """Add ``serve`` to the ``nerkit`` parser."""
    # fmt: off
    serve = commands.add_parser(
        "serve", help="HTTP API and web page for a trained model",
        description="Serve a model: POST /v1/entities, GET /v1/model, GET /healthz, a web "
                    "page at /, and the OpenAPI schema at /openapi.json.",
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
    serve.add_argument("--no-access-log", action="store_true", help="do not log each request")
    serve.set_defaults(func=run)
    # fmt: on
