"""``nerkit predict``: tag texts given on the command line or a file."""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Any

from nerkit.cli.common import positive_int
from nerkit.errors import ConfigError, NerkitError


def run(args: argparse.Namespace) -> int:
    if args.engine == "ray":
        return run_on_ray(args)
    from nerkit.modeling.progress import tagging_progress
    from nerkit.tagging.files import predict_file, predict_texts
    from nerkit.tagging.tagger import Tagger

    if not args.input and not args.text:
        raise NerkitError("nothing to tag; give a text or --input FILE")
    tagger = Tagger.load(args.model, decoding=args.decoding, batch_size=args.batch_size)
    if args.input:
        # a txt or jsonl file has a bar of its own, in lines; a CoNLL file is tagged in one
        # call, whose words this bar counts
        with tagging_progress() if args.format == "conll" else contextlib.nullcontext():
            predict_file(tagger, args.input, args.format, args.output, progress=not args.quiet)
    else:
        predict_texts(tagger, args.text, args.output)
    return 0


def run_on_ray(args: argparse.Namespace) -> int:
    """``--engine ray``: every file of the ``--input`` glob into a shard in ``--output``."""
    from nerkit.ray.shards import tag_files

    if not args.input or args.text or not args.output:
        raise ConfigError("--engine ray tags files: give --input 'DIR/*.jsonl' and --output DIR "
                          "(a folder for the shards), no texts on the command line")
    if args.format == "conll":
        raise ConfigError("--engine ray reads txt or jsonl files; tag CoNLL files without it")
    counts = tag_files(
        args.input, args.output, args.model, input_format=args.format,
        out_format=args.output_format, workers=args.workers, address=args.address,
        batch_size=args.ray_batch_size, progress=not args.quiet,
    )
    print(f"{args.output}: {counts['written']} shards written ({counts['rows']} documents), "
          f"{counts['skipped']} finished shards skipped", file=sys.stderr)
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
    scale.add_argument("--output-format", choices=["jsonl", "parquet"], default="jsonl",
                       help="shard format (default jsonl)")
    scale.add_argument("--ray-batch-size", type=positive_int, default=256, metavar="N",
                       help="documents per actor call (default 256)")
    predict.set_defaults(func=run)
