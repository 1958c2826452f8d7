"""``nerkit serve`` and ``nerkit render``, registered on the main parser by :func:`add_commands`.

This module is imported every time ``nerkit`` runs, so it imports only the standard library;
FastAPI, uvicorn and the model load inside the handlers, once a command is chosen.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from nerkit.errors import ModelError


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return number


def _positive_float(value: str) -> float:
    number = float(value)
    if not number > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {value}")
    return number


def cmd_serve(args: argparse.Namespace) -> int:
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
    folder = Path(args.model)
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


def cmd_render(args: argparse.Namespace) -> int:
    from nerkit.render import render_file
    from nerkit.tagger import Tagger

    tagger = Tagger.load(args.model, batch_size=args.batch_size)
    count = render_file(tagger, args.input, args.format, args.html)
    print(f"wrote {args.html} ({count} documents); open it in a browser")
    return 0


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``serve`` and ``render`` on the ``nerkit`` command's subparsers."""
    # fmt: off
    serve = subparsers.add_parser(
        "serve", help="HTTP API and web page for a trained model",
        description="Serve a model: POST /v1/entities, GET /v1/model, GET /healthz, a web "
                    "page at /, and the OpenAPI schema at /openapi.json.",
    )
    serve.add_argument("--model", required=True, metavar="DIR", help="trained model folder")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1: this machine only; "
                            "0.0.0.0 opens it to the network)")
    serve.add_argument("--port", type=int, default=8000, help="default 8000")
    serve.add_argument("--workers", type=_positive_int, default=1, metavar="N",
                       help="processes, each with its own copy of the model (default 1)")
    serve.add_argument("--threads", type=_positive_int, metavar="N",
                       help="PyTorch threads per worker (default: all cores / workers)")
    serve.add_argument("--max-text-chars", type=_positive_int, default=100_000, metavar="N",
                       help="longest text accepted, in characters (default 100000)")
    serve.add_argument("--max-batch", type=_positive_int, default=256, metavar="N",
                       help="most texts in one request (default 256)")
    serve.add_argument("--max-body-mb", type=_positive_float, default=10.0, metavar="MB",
                       help="largest request body, in MB (default 10)")
    serve.add_argument("--batch-wait-ms", type=float, default=5.0, metavar="MS",
                       help="how long a request waits for others to share its model call "
                            "(default 5)")
    serve.add_argument("--no-access-log", action="store_true", help="do not log each request")
    serve.set_defaults(func=cmd_serve)

    render = subparsers.add_parser(
        "render", help="tag a file and write an HTML page with highlighted entities",
    )
    render.add_argument("--model", required=True, metavar="DIR", help="trained model folder")
    render.add_argument("--input", required=True, metavar="FILE", help="file to tag")
    render.add_argument("--format", choices=["txt", "jsonl"], default="txt",
                        help="txt: one document per line; jsonl: {\"text\": ...} per line")
    render.add_argument("--html", required=True, metavar="OUT", help="HTML file to write")
    render.add_argument("--batch-size", type=_positive_int,
                        help="windows per batch (default 32; 64 for OpenVINO models)")
    render.set_defaults(func=cmd_render)
    # fmt: on
