"""``nerkit score``: conlleval on a file with gold and predicted tag columns."""

from __future__ import annotations

import argparse
from typing import Any

from nerkit.cli.common import print_json, print_results


def run(args: argparse.Namespace) -> int:
    from nerkit.tagging.evaluate import score_file

    results = score_file(args.file)
    if args.json:
        print_json(results)
    else:
        print_results(results)
    return 0


def register(commands: Any) -> None:
    """Add ``score`` to the ``nerkit`` parser."""
    score = commands.add_parser("score", help="conlleval: score gold/predicted tag columns")
    score.add_argument("file", help="column file; last two columns are gold and predicted")
    score.add_argument("--json", action="store_true")
    score.set_defaults(func=run)
