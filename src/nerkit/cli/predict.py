"""``nerkit predict``: tag texts given on the command line or a file."""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Any

from nerkit.cli.common import positive_int
from nerkit.conll.documents import DOCUMENT_MODES
from nerkit.errors import ConfigError, NerkitError
from nerkit.tagging.file_formats import INPUT_FORMATS, OUTPUT_FORMATS


def run(args: argparse.Namespace) -> int:
    if args.engine == "ray":
        return run_on_ray(args)
    if args.output_format == "parquet":
        raise ConfigError("parquet output is for --engine ray shards; use jsonl here")
    from nerkit.modeling.progress import tagging_progress
    from nerkit.tagging.files import predict_file, predict_texts
    from nerkit.tagging.tagger import Tagger

    if not args.input and not args.text:
        raise NerkitError("nothing to tag; give a text or --input FILE")
    if args.output:  # refused before the model loads, not after all the tagging
        from nerkit.conll.outputs import check_output

        check_output(args.output, inputs=[args.input])
    elif args.output_format == "spacy":
        raise NerkitError("a spaCy DocBin is binary; give --output FILE.spacy")
    tagger = Tagger.load(args.model, decoding=args.decoding, batch_size=args.batch_size)
    if args.input:
        # a txt or jsonl file has a bar of its own, in lines; a CoNLL or DocBin file is tagged
        # in one call, whose words this bar counts
        words = args.format in ("conll", "spacy") or str(args.input).endswith(
            (".conll", ".spacy"))
        with tagging_progress() if words else contextlib.nullcontext():
            predict_file(tagger, args.input, args.format, args.output,
                         output_format=args.output_format, documents=args.documents,
                         model_version=str(args.model), progress=not args.quiet)
    else:
        predict_texts(tagger, args.text, args.output, output_format=args.output_format,
                      model_version=str(args.model))
    return 0


def run_on_ray(args: argparse.Namespace) -> int:
    """``--engine ray``: every file of the ``--input`` glob into a shard in ``--output``."""
    from nerkit.ray.shards import tag_files

    if not args.input or args.text or not args.output:
        raise ConfigError("--engine ray tags files: give --input 'DIR/*.jsonl' and --output DIR "
                          "(a folder for the shards), no texts on the command line")
    input_format = args.format or ray_input_format(args.input)
    if input_format not in ("txt", "jsonl"):
        raise ConfigError("--engine ray reads txt or jsonl files; tag other formats without it")
    if (args.output_format or "jsonl") not in ("jsonl", "parquet"):
        raise ConfigError("--engine ray writes jsonl or parquet shards (--output-format)")
    counts = tag_files(
        args.input, args.output, args.model, input_format=input_format,
        out_format=args.output_format or "jsonl", workers=args.workers, address=args.address,
        batch_size=args.ray_batch_size, progress=not args.quiet,
    )
    print(f"{args.output}: {counts['written']} shards written ({counts['rows']} documents), "
          f"{counts['skipped']} finished shards skipped", file=sys.stderr)
    return 0


def ray_input_format(pattern: str) -> str:
    """The format a glob's file names say (``*.jsonl``, ``*.txt``); else ask for ``--format``."""
    for fmt in ("jsonl", "txt"):
        if pattern.endswith(f".{fmt}"):
            return fmt
    raise ConfigError(f"{pattern}: the names do not say the format; pass --format jsonl or txt")


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
    predict.add_argument("--output-format", choices=(*OUTPUT_FORMATS, "parquet"),
                         help="default: from the --output name (.jsonl, .conll, .spacy), else "
                              "jsonl for text and the input's format for words; with --engine "
                              "ray: jsonl (default) or parquet shards")
    predict.add_argument("--documents", choices=DOCUMENT_MODES, default="boundaries",
                         help="how a CoNLL or DocBin input is cut into documents, which a model "
                              "trained with context reads as context (default: the file's own "
                              "-DOCSTART- lines or Docs)")
    predict.add_argument("--batch-size", type=int,
                         help="windows per batch (default 32; 64 for OpenVINO models)")
    predict.add_argument("--decoding", choices=["viterbi", "argmax"])
    scale = predict.add_argument_group(
        "corpus scale", "--engine ray: tag every file of an --input glob on Ray (local, or a "
        "cluster with --address) into one output shard per file in the --output folder; a "
        "rerun skips finished shards (needs nerkit[ray])")
    scale.add_argument("--engine", choices=["local", "ray"], default="local",
                       help="local (default): this process; ray: Ray Data actors")
    scale.add_argument("--workers", type=positive_int, metavar="N",
                       help="Ray actors, each with its own copy of the model (default: one per "
                       "CPU of the cluster)")
    scale.add_argument("--address", help="Ray cluster to join (e.g. auto); default: start Ray "
                       "on this machine")
    scale.add_argument("--ray-batch-size", type=positive_int, default=256, metavar="N",
                       help="documents per actor call (default 256)")
    predict.set_defaults(func=run)
