"""``nerkit render``: an HTML page with the entities of a file highlighted.

With ``--model`` the texts are tagged; without it the file's own entities are drawn: saved
predictions (``jsonl`` with ``entities``) or CoNLL columns (gold, or gold vs predicted).
"""

from __future__ import annotations

import argparse
from typing import Any

from nerkit.cli.common import positive_int
from nerkit.errors import ConfigError


def run(args: argparse.Namespace) -> int:
    from nerkit.conll.outputs import check_output
    from nerkit.server import render_files

    check_output(args.html, inputs=[args.input])  # before any tagging, not after it
    if args.format == "conll":
        if args.model:
            raise ConfigError(
                "render --format conll draws the file's own tag columns and takes no --model; "
                "to tag a CoNLL file, run `nerkit evaluate` or `nerkit predict --format conll` "
                "first and render its output"
            )
        summary = render_files.render_conll(
            args.input, args.html, columns=args.columns, errors_only=args.errors_only
        )
        print(f"wrote {args.html} ({summary}); open it in a browser")
        return 0
    if args.model is None:
        if args.format == "txt":
            raise ConfigError("render --format txt tags the texts and needs --model; use "
                              "--format jsonl for saved predictions or conll for tag columns")
        count = render_files.render_saved(args.input, args.html)
        print(f"wrote {args.html} ({count} documents, saved entities); open it in a browser")
        return 0
    from nerkit.modeling.progress import tagging_progress
    from nerkit.tagging.tagger import Tagger

    tagger = Tagger.load(args.model, batch_size=args.batch_size)
    with tagging_progress():
        count = render_files.render_file(tagger, args.input, args.format, args.html)
    print(f"wrote {args.html} ({count} documents); open it in a browser")
    return 0


def register(commands: Any) -> None:
    """Add ``render`` to the ``nerkit`` parser."""
    # fmt: off
    render = commands.add_parser(
        "render", help="write an HTML page with the entities of a file highlighted",
        description="Tag texts with --model, or draw a file's own entities without one: "
                    "saved predictions (jsonl) or CoNLL tag columns, gold vs predicted when "
                    "the file has both.",
    )
    render.add_argument("--model", metavar="DIR",
                        help="trained model folder: tag the texts (txt, jsonl); without it, "
                             "jsonl entities or conll tags are drawn as saved")
    render.add_argument("--input", required=True, metavar="FILE", help="file to draw")
    render.add_argument("--format", choices=["txt", "jsonl", "conll"], default="txt",
                        help="txt: one document per line; jsonl: {\"text\": ..., "
                             "\"entities\": [...]} per line; conll: word first, tags last")
    render.add_argument("--columns", choices=["auto", "gold", "gold-pred"], default="auto",
                        help="conll: last column gold, or last two gold and predicted "
                             "(default: gold-pred when both look like tags of the same types)")
    render.add_argument("--errors-only", action="store_true",
                        help="conll gold vs predicted: only sentences with a difference")
    render.add_argument("--html", required=True, metavar="OUT", help="HTML file to write")
    render.add_argument("--batch-size", type=positive_int,
                        help="windows per batch (default 32; 64 for OpenVINO models)")
    render.set_defaults(func=run)
    # fmt: on
