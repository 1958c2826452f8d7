"""``nerkit predict``: tag texts given on the command line or a file."""

from __future__ import annotations

import argparse
from typing import Any

from nerkit.errors import NerkitError


def run(args: argparse.Namespace) -> int:
    from nerkit.tagging.files import predict_file, predict_texts
    from nerkit.tagging.tagger import Tagger

    if not args.input and not args.text:
        raise NerkitError("nothing to tag; give a text or --input FILE")
    if args.output:  # refused before the model loads, not after all the tagging
        from nerkit.conll.outputs import check_output

        check_output(args.output, inputs=[args.input])
    tagger = Tagger.load(args.model, decoding=args.decoding, batch_size=args.batch_size)
    if args.input:
        predict_file(tagger, args.input, args.format, args.output, progress=not args.quiet)
    else:
        predict_texts(tagger, args.text, args.output)
    return 0


def register(commands: Any) -> None:
    """Add ``predict`` to the ``nerkit`` parser."""
    predict = commands.add_parser("predict", help="tag text or files")
    predict.add_argument("--model", required=True)
    predict.add_argument("text", nargs="*", help="texts to tag")
    predict.add_argument("--input", help="file to tag")
    predict.add_argument("--format", choices=["txt", "jsonl", "conll"], default="txt")
    predict.add_argument("--output", help="output file (default stdout)")
    predict.add_argument("--batch-size", type=int,
                         help="windows per batch (default 32; 64 for OpenVINO models)")
    predict.add_argument("--decoding", choices=["viterbi", "argmax"])
    predict.add_argument("--quiet", action="store_true", help="no progress bar")
    predict.set_defaults(func=run)
