"""The ``nerkit`` command: one thin function per command over the library.

Every command parses its arguments and calls one library function. A :class:`NerkitError`
(bad input, missing file, unknown label...) is printed as one line on stderr with exit status
2; ``--verbose`` shows the traceback as well.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nerkit import __version__
from nerkit.errors import NerkitError

DOCS = "Documentation: README.md in the nerkit repository."


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


# ------------------------------------------------------------------ data

def cmd_data_stats(args: argparse.Namespace) -> int:
    from nerkit.corpus import CORPORA, corpus_stats, read_column_file, resolve_corpus

    tokenizer = None
    if args.model:
        from nerkit.model import load_tokenizer

        tokenizer = load_tokenizer(args.model)
    reports = {}
    for name in args.files:
        paths = (
            [resolve_corpus(name, split, args.data_dir) for split in ("train", "dev", "test")]
            if name in CORPORA
            else [Path(name)]
        )
        for path in paths:
            column_file = read_column_file(path, tag_column=args.tag_column)
            stats = corpus_stats(column_file.sentences, tokenizer)
            stats["encoding"] = column_file.encoding
            stats["columns"] = column_file.n_columns
            reports[str(path)] = stats
    if args.json:
        _print_json(reports)
        return 0
    for path, stats in reports.items():
        print(f"{path}")
        print(f"  sentences {stats['sentences']}, tokens {stats['tokens']}, "
              f"documents {stats['documents']}, columns {stats['columns']}, "
              f"encoding {stats['encoding']}, scheme {stats['scheme']}")
        per_type = ", ".join(f"{k} {v}" for k, v in stats["entities_per_type"].items())
        print(f"  entities {stats['entities']} ({per_type})")
        line = f"  longest sentence {stats['longest_sentence_words']} words"
        if "longest_sentence_subwords" in stats:
            line += f", {stats['longest_sentence_subwords']} subwords"
        print(line + f" ({stats['longest_sentence_line']})")
        if stats["ill_formed"]:
            print(f"  ill-formed IOB2 tags: {stats['ill_formed']}, e.g.")
            for example in stats["ill_formed_examples"]:
                print(f"    {example}")
    return 0


def cmd_data_convert(args: argparse.Namespace) -> int:
    from nerkit.corpus import read_column_file, write_column_file
    from nerkit.schemes import convert_tags

    column_file = read_column_file(args.input, tag_column=args.tag_column)
    write_column_file(
        args.output,
        (
            [(*row[:-1], tag) for row, tag in zip(s.columns, convert_tags(s.tags, args.to),
                                                  strict=True)]
            for s in column_file.sentences
        ),
    )
    print(f"wrote {args.output} ({len(column_file.sentences)} sentences, {args.to})")
    return 0


# ------------------------------------------------------------------ train / evaluate / score

def cmd_train(args: argparse.Namespace) -> int:
    from nerkit.train import TrainConfig, train

    flags = {
        k: v
        for k, v in vars(args).items()
        if k in TrainConfig.__dataclass_fields__ and v is not None
    }
    config = (TrainConfig.from_file(args.config, **flags) if args.config
              else TrainConfig.from_settings(flags))
    results = train(config)
    summary = {k: results[k] for k in ("best_dev_f1", "dev_f1", "test_f1", "train_seconds")
               if k in results}
    if args.json:
        _print_json(summary)
    else:
        print(f"model saved to {config.output_dir}: " +
              ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}"
                        for k, v in summary.items()))
    return 0


def _print_results(results: dict[str, Any]) -> None:
    from nerkit.metrics import format_confusion, format_report, format_token_report

    print(format_report(results["entity"]))
    print()
    print(format_token_report(results["token"]))
    print()
    print(format_confusion(results["confusion"]))


def cmd_evaluate(args: argparse.Namespace) -> int:
    from nerkit.evaluate import evaluate_model

    results = evaluate_model(
        args.model, args.data, args.split, data_dir=args.data_dir,
        batch_size=args.batch_size, decoding=args.decoding,
    )
    if args.json:
        _print_json(results)
    else:
        _print_results(results)
        print(f"\nwrote {Path(args.model) / (args.split + '_predictions.txt')} and "
              f"{args.split}_results.json")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from nerkit.evaluate import score_file

    results = score_file(args.file)
    if args.json:
        _print_json(results)
    else:
        _print_results(results)
    return 0


# ------------------------------------------------------------------ predict

def cmd_predict(args: argparse.Namespace) -> int:
    from nerkit.predict_files import predict_file, predict_texts
    from nerkit.tagger import Tagger

    tagger = Tagger.load(args.model, decoding=args.decoding, batch_size=args.batch_size)
    if args.input:
        predict_file(tagger, args.input, args.format, args.output, progress=not args.quiet)
    elif args.text:
        predict_texts(tagger, args.text, args.output)
    else:
        raise NerkitError("nothing to tag; give a text or --input FILE")
    return 0


# ------------------------------------------------------------------ parser

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nerkit",
        description="Named-entity recognition with transformer encoders.",
        epilog=DOCS,
    )
    parser.add_argument("--version", action="version", version=f"nerkit {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show tracebacks and logs")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    data = commands.add_parser("data", help="inspect and convert column files")
    data_commands = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    stats = data_commands.add_parser("stats", help="sentences, tokens, entities, lengths")
    stats.add_argument("files", nargs="+", help="column files or corpus names (conll2002-es)")
    stats.add_argument("--model", help="tokenizer for the longest sentence in subwords")
    stats.add_argument("--tag-column", type=int, default=-1, help="0-based; default last")
    stats.add_argument("--data-dir", help="folder holding conll2002/ (else $NERKIT_DATA)")
    stats.add_argument("--json", action="store_true", help="print JSON")
    stats.set_defaults(func=cmd_data_stats)
    convert = data_commands.add_parser("convert", help="convert tags to another scheme")
    convert.add_argument("input")
    convert.add_argument("output")
    convert.add_argument("--to", required=True, choices=["iob1", "iob2", "bioes"])
    convert.add_argument("--tag-column", type=int, default=-1)
    convert.set_defaults(func=cmd_data_convert)
    data.set_defaults(func=lambda a: _help(data))

    train = commands.add_parser("train", help="fine-tune an encoder on column files")
    train.add_argument("--model", help="encoder: local folder or hub id")
    train.add_argument("--data", help="corpus name: conll2002-es, conll2002-nl")
    train.add_argument("--train", help="training column file (instead of --data)")
    train.add_argument("--dev", help="dev column file (best checkpoint by its entity F1)")
    train.add_argument("--test", help="test column file (scored once at the end)")
    train.add_argument("--data-dir", help="folder holding conll2002/ (else $NERKIT_DATA)")
    train.add_argument("--output-dir", help="where the model folder is written")
    train.add_argument("--config", help="JSON file with settings; flags override it")
    train.add_argument("--max-length", type=int, help="subwords per window (default 128)")
    train.add_argument("--batch-size", type=int, help="default 32")
    train.add_argument("--epochs", type=float, help="default 3")
    train.add_argument("--learning-rate", "--lr", type=float, help="encoder's (default 1e-4)")
    train.add_argument("--head-learning-rate", type=float,
                       help="for the new classifier head (default 1e-3)")
    train.add_argument("--warmup-ratio", type=float, help="share of steps warming up (0.1)")
    train.add_argument("--layer-lr-decay", type=float,
                       help="layer-wise lr decay: each lower encoder layer's rate times this "
                       "(default 1: off; 0.8-0.95 are usual)")
    train.add_argument("--weight-decay", type=float)
    train.add_argument("--scheduler", help="linear, cosine, constant... (default linear)")
    train.add_argument("--sampling", choices=["random", "group_by_length"],
                       help="batch order; group_by_length (default) pads far less")
    train.add_argument("--freeze-embeddings", action="store_true", default=None,
                       help="do not train the word-embedding matrix (faster on big vocabularies)")
    train.add_argument("--encoder-layers", metavar="auto|all|N",
                       help="encoder layers to keep: auto (default) picks them with a linear "
                       "probe on training sentences; all; or the first N")
    train.add_argument("--seed", type=int, help="default 42")
    train.add_argument("--max-steps", type=int, help="stop after N optimizer steps")
    train.add_argument("--limit-train", type=int, help="use the first N training sentences")
    train.add_argument("--early-stopping", type=int, help="stop after N evaluations w/o gain")
    train.add_argument("--decoding", choices=["viterbi", "argmax"], help="default viterbi")
    train.add_argument("--crf", action="store_true", default=None,
                       help="add a CRF head: learned label-transition scores, trained jointly "
                       "and used by Viterbi")
    train.add_argument("--context", type=int, metavar="N",
                       help="read up to N subword pieces of the neighbouring sentences of the "
                       "same document on each side (default 32; 0: none)")
    train.add_argument("--context-dropout", type=float, metavar="P",
                       help="with --context: train on this share of the sentences without their "
                       "neighbours, so that the model also tags a sentence given alone "
                       "(default 0.5)")
    train.add_argument("--layer-mix", action="store_true", default=None,
                       help="tag from a learned mix of all hidden layers kept, not the top one "
                       "(the folder then needs trust_remote_code=True outside nerkit)")
    train.add_argument("--resume", action="store_true", default=None,
                       help="continue from the last checkpoint in --output-dir")
    train.add_argument("--bf16", action="store_true", default=None, help="bf16 mixed precision")
    train.add_argument("--fp16", action="store_true", default=None, help="fp16 (GPU)")
    train.add_argument("--keep-checkpoints", action="store_true", default=None)
    train.add_argument("--json", action="store_true", help="print the summary as JSON")
    train.set_defaults(func=cmd_train)

    evaluate = commands.add_parser("evaluate", help="score a trained model on a corpus split")
    evaluate.add_argument("--model", required=True, help="trained model folder")
    evaluate.add_argument("--data", required=True, help="corpus name or column file")
    evaluate.add_argument("--split", default="test", choices=["train", "dev", "test"])
    evaluate.add_argument("--data-dir")
    evaluate.add_argument("--batch-size", type=int, default=32)
    evaluate.add_argument("--decoding", choices=["viterbi", "argmax"])
    evaluate.add_argument("--json", action="store_true", help="print results as JSON")
    evaluate.set_defaults(func=cmd_evaluate)

    score = commands.add_parser("score", help="conlleval: score gold/predicted tag columns")
    score.add_argument("file", help="column file; last two columns are gold and predicted")
    score.add_argument("--json", action="store_true")
    score.set_defaults(func=cmd_score)

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
    predict.set_defaults(func=cmd_predict)

    # --- commands defined beside their modules (each add_commands imports nothing heavy) ---
    from nerkit.server.commands import add_commands as add_server_commands

    add_server_commands(commands)
    from nerkit.export import add_commands as add_export_commands

    add_export_commands(commands)
    return parser


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose or args.command == "train" else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not args.command:
        parser.print_help()
        return 2
    if not args.verbose:
        # library chatter (weight-loading bars and reports) would bury our one-line messages;
        # training keeps its own progress bar
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        if "transformers" in sys.modules:  # imported already (embedded use): too late for env
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            hf_logging.set_verbosity_error()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            return int(args.func(args) or 0)
    except NerkitError as err:
        if args.verbose:
            raise
        print(f"nerkit: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nerkit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
