"""``nerkit data stats`` and ``nerkit data convert``: inspect and convert labelled files.

Both read every labelled format (CoNLL columns, JSON with character-offset spans, spaCy
DocBin; see :mod:`nerkit.conll.formats`); ``convert`` writes any of them, keeping documents.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from nerkit.cli.common import print_json
from nerkit.conll.documents import DOCUMENT_MODES
from nerkit.conll.formats import FORMATS


def run_stats(args: argparse.Namespace) -> int:
    from nerkit.conll.corpus import CORPORA, corpus_stats, resolve_corpus
    from nerkit.conll.formats import read_labelled

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
            labelled = read_labelled(path, fmt=args.format, tag_column=args.tag_column,
                                     documents=args.documents, language=args.language)
            stats = corpus_stats(labelled.sentences, tokenizer)
            stats["format"] = labelled.format
            stats["encoding"] = labelled.encoding
            stats["columns"] = labelled.n_columns
            stats["documents_mode"] = labelled.documents
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
    layout = (f"columns {stats['columns']}, encoding {stats['encoding']}"
              if stats.get("format", "conll") == "conll" else f"format {stats['format']}")
    print(f"  sentences {stats['sentences']}, tokens {stats['tokens']}, "
          f"documents {stats['documents']} ({stats.get('documents_mode', 'boundaries')}), "
          f"{layout}, scheme {stats['scheme']}")
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
    from nerkit.conll.documents import count_documents
    from nerkit.conll.formats import format_from_name, read_labelled, write_labelled
    from nerkit.conll.outputs import check_writable
    from nerkit.errors import ConfigError

    check_writable(args.output)  # before reading: a typo in the path costs nothing
    labelled = read_labelled(args.input, fmt=args.input_format, tag_column=args.tag_column,
                             documents=args.documents, language=args.language)
    fmt = args.format or format_from_name(args.output) or labelled.format
    if args.to is None and fmt == labelled.format == "conll" and args.documents == "boundaries":
        raise ConfigError("nothing to convert: give --to SCHEME, --documents, or an output in "
                          "another format (--format, or a .jsonl/.spacy name)")
    write_labelled(args.output, labelled.sentences, fmt, scheme=args.to,
                   tag_column=args.tag_column)
    documents = count_documents(labelled.sentences)
    what = f"{fmt}, {args.to}" if args.to else fmt
    print(f"wrote {args.output} ({len(labelled.sentences)} sentences, {documents} "
          f"document{'s' if documents != 1 else ''}, {what})")
    return 0


def _reading_options(parser: argparse.ArgumentParser, format_flag: str) -> None:
    parser.add_argument(format_flag, choices=FORMATS, dest=format_flag.lstrip("-").replace(
        "-", "_"), help="input format (default: from the name, checked against the content)")
    parser.add_argument("--documents", choices=DOCUMENT_MODES, default="boundaries",
                        help="how a file is cut into documents (default: its own boundaries)")
    parser.add_argument("--language", default="es",
                        help="word rules for texts with spans (default es; see nerkit.conll."
                             "words.languages())")


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
    _reading_options(stats, "--format")
    stats.set_defaults(func=run_stats)
    convert = data_commands.add_parser(
        "convert", help="convert a labelled file to another format or tag scheme")
    convert.add_argument("input")
    convert.add_argument("output")
    convert.add_argument("--to", choices=["iob1", "iob2", "bioes"],
                         help="tag scheme of a CoNLL output (default: the input's tags)")
    convert.add_argument("--format", choices=FORMATS,
                         help="output format (default: from the output name, else the input's)")
    convert.add_argument("--tag-column", type=int, default=-1)
    _reading_options(convert, "--input-format")
    convert.set_defaults(func=run_convert)

    def show_help(_: argparse.Namespace) -> int:
        data.print_help()
        return 2

    data.set_defaults(func=show_help)
