"""``nerkit train``: fine-tune an encoder on column files."""

from __future__ import annotations

import argparse
from typing import Any

from nerkit.cli.common import print_json


def run(args: argparse.Namespace) -> int:
    from nerkit.training.train import TrainConfig, train

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
        print_json(summary)
    else:
        print(f"model saved to {config.output_dir}: " +
              ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}"
                        for k, v in summary.items()))
    return 0


def register(commands: Any) -> None:
    """Add ``train`` to the ``nerkit`` parser."""
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
    train.set_defaults(func=run)
