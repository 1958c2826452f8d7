"""``nerkit predict``: tag texts given on the command line or a file."""

from __future__ import annotations

import argparse
from typing import Any

from nerkit.conll.documents import DOCUMENT_MODES
from nerkit.errors import NerkitError
from nerkit.tagging.file_formats import INPUT_FORMATS, OUTPUT_FORMATS


def run(args: argparse.Namespace) -> int:
    from nerkit.conll.outputs import check_writable
    from nerkit.tagging.files import predict_file, predict_texts
    from nerkit.tagging.tagger import Tagger

    if not args.input and not args.text:
        raise NerkitError("nothing to tag; give a text or --input FILE")
    if args.output:
        check_writable(args.output)  # before the model loads, not after the work
    elif args.output_format == "spacy":
        raise NerkitError("a spaCy DocBin is binary; give --output FILE.spacy")
    tagger = Tagger.load(args.model, decoding=args.decoding, batch_size=args.batch_size)
    if args.input:
        predict_file(tagger, args.input, args.format, args.output,
                     output_format=args.output_format, documents=args.documents,
                     model_version=str(args.model), progress=not args.quiet)
    else:
        predict_texts(tagger, args.text, args.output, output_format=args.output_format,
                      model_version=str(args.model))
    return 0


def register(commands: Any) -> None:
    """Add ``predict`` to the ``nerkit`` parser."""
    predict = commands.add_parser("predict", help="tag text or files")
    predict.add_argument("--model", required=True)
    predict.add_argument("text", nargs="*", help="texts to tag")
    predict.add_argument("--input", help="file to tag")
    predict.add_argument("--format", choices=INPUT_FORMATS,
                         help="input format (default: from the file name, checked against the "
                              "content; from the content when the name says nothing)")
    predict.add_argument("--output", help="output file (default stdout)")
    predict.add_argument("--output-format", choices=OUTPUT_FORMATS,
                         help="default: from the --output name (.jsonl, .conll, .spacy), else "
                              "jsonl for text and the input's format for words")
    predict.add_argument("--documents", choices=DOCUMENT_MODES, default="boundaries",
                         help="how a CoNLL or DocBin input is cut into documents, which a model "
                              "trained with context reads as context (default: the file's own "
                              "-DOCSTART- lines or Docs)")
    predict.add_argument("--batch-size", type=int,
                         help="windows per batch (default 32; 64 for OpenVINO models)")
    predict.add_argument("--decoding", choices=["viterbi", "argmax"])
    predict.add_argument("--quiet", action="store_true", help="no progress bar")
    predict.set_defaults(func=run)
