"""``nerkit render``: tag a file and write an HTML page with the entities highlighted."""

from __future__ import annotations

import argparse
from typing import Any

from nerkit.cli.common import positive_int


def run(args: argparse.Namespace) -> int:
    from nerkit.modeling.progress import tagging_progress
    from nerkit.server.render import render_file
    from nerkit.tagging.tagger import Tagger

    tagger = Tagger.load(args.model, batch_size=args.batch_size)
    with tagging_progress():
        count = render_file(tagger, args.input, args.format, args.html)
    print(f"wrote {args.html} ({count} documents); open it in a browser")
    return 0


def register(commands: Any) -> None:
    """Add ``render`` to the ``nerkit`` parser."""
    # fmt: off
    render = commands.add_parser(
        "render", help="tag a file and write an HTML page with highlighted entities",
    )
    render.add_argument("--model", required=True, metavar="DIR", help="trained model folder")
    render.add_argument("--input", required=True, metavar="FILE", help="file to tag")
    render.add_argument("--format", choices=["txt", "jsonl"], default="txt",
                        help="txt: one document per line; jsonl: {\"text\": ...} per line")
    render.add_argument("--html", required=True, metavar="OUT", help="HTML file to write")
    render.add_argument("--batch-size", type=positive_int,
                        help="windows per batch (default 32; 64 for OpenVINO models)")
    render.set_defaults(func=run)
    # fmt: on
