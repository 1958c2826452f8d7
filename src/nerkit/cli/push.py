"""``nerkit push``: publish a trained model folder to a hub repository, with its model card."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def run(args: argparse.Namespace) -> int:
    from nerkit.training.model_card import CardOptions
    from nerkit.training.publish import push

    options = CardOptions(
        repo_id=args.repo, license=args.license, license_name=args.license_name,
        license_link=args.license_link, base_model=args.base_model,
        datasets=tuple(args.dataset or ()),
    )
    pushed = push(args.model, options, private=args.private, message=args.message,
                  dry_run=args.dry_run)
    for note in pushed.notes:
        print(f"nerkit: note: {note}", file=sys.stderr)
    if args.dry_run:
        print(pushed.card)
        print(f"nerkit: dry run: would upload {len(pushed.files)} files to {pushed.repo_id}: "
              f"{', '.join(pushed.files)}", file=sys.stderr)
    else:
        print(f"nerkit: pushed {args.model} to {pushed.repo_id} ({len(pushed.files)} files): "
              f"{pushed.commit_url}", file=sys.stderr)
    return 0


def register(commands: Any) -> None:
    """Add ``push`` to the ``nerkit`` parser."""
    push = commands.add_parser(
        "push", help="publish a trained model to the Hugging Face hub with its model card",
        description="Upload the model files of a trained folder and a model card (language, "
        "license, base model, datasets, scores) to a hub repository, created if needed. "
        "Reports, predictions and logs stay local. Log in first (`hf auth login` or HF_TOKEN).",
    )
    push.add_argument("--model", required=True, metavar="DIR", help="trained model folder")
    push.add_argument("--repo", required=True, metavar="ORG/NAME", help="hub repository id")
    push.add_argument("--license", required=True, metavar="ID",
                      help="a hub license id: apache-2.0, mit, cc-by-4.0, ... or other")
    push.add_argument("--license-name", metavar="NAME", help="with --license other: its name")
    push.add_argument("--license-link", metavar="URL", help="with --license other: its text")
    push.add_argument("--base-model", metavar="ORG/NAME",
                      help="hub id of the encoder, when it was trained from a local folder")
    push.add_argument("--dataset", action="append", metavar="ORG/NAME",
                      help="hub dataset the data came from (repeatable); the test scores are "
                      "reported on the first")
    push.add_argument("--private", action="store_true", help="create the repository private")
    push.add_argument("--message", metavar="TEXT", help="commit message")
    push.add_argument("--dry-run", action="store_true",
                      help="check and stage everything, print the card, upload nothing")
    push.set_defaults(func=run)
