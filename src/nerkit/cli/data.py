"""``nerkit data stats`` and ``nerkit data convert``: inspect and convert column files."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from nerkit.cli.common import print_json


def run_stats(args: argparse.Namespace) -> int:
    from nerkit.conll.corpus import CORPORA, corpus_stats, read_column_file, resolve_corpus

    tokenizer = None
    if args.model:
        from nerkit.modeling.folder import load_tokenizer

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
        print_json(reports)
    else:
        for path, stats in reports.items():
            print_stats(path, stats)
    return 0


def print_stats(path: str, stats: dict[str, Any]) -> None:
    """One file's statistics as a few lines of text."""
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


def run_convert(args: argparse.Namespace) -> int:
    from nerkit.conll.corpus import read_column_file, write_column_file
    from nerkit.conll.schemes import convert_tags

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


def register(commands: Any) -> None:
    """Add ``data`` and its subcommands to the ``nerkit`` parser."""
    data = commands.add_parser("data", help="inspect and convert column files")
    data_commands = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    stats = data_commands.add_parser("stats", help="sentences, tokens, entities, lengths")
    stats.add_argument("files", nargs="+", help="column files or corpus names (conll2002-es)")
    stats.add_argument("--model", help="tokenizer for the longest sentence in subwords")
    stats.add_argument("--tag-column", type=int, default=-1, help="0-based; default last")
    stats.add_argument("--data-dir", help="folder holding conll2002/ (else $NERKIT_DATA)")
    stats.add_argument("--json", action="store_true", help="print JSON")
    stats.set_defaults(func=run_stats)
    convert = data_commands.add_parser("convert", help="convert tags to another scheme")
    convert.add_argument("input")
    convert.add_argument("output")
    convert.add_argument("--to", required=True, choices=["iob1", "iob2", "bioes"])
    convert.add_argument("--tag-column", type=int, default=-1)
    convert.set_defaults(func=run_convert)

    def show_help(_: argparse.Namespace) -> int:
        data.print_help()
        return 2

    data.set_defaults(func=show_help)
