"""``nerkit train``: fine-tune an encoder on column files.

Every setting flag is built from a :class:`~nerkit.training.config.TrainConfig` field: its
name, its type, its help text and its default, so the flags and their help cannot drift from
the settings. Only ``--config``, ``--print-config`` and ``--json`` are the command's own.

``--config`` takes a file of settings or a run's ``training_args.json``, and
``--print-config`` prints the settings a command line amounts to (defaults, then the file,
then the flags) in the form ``--config`` reads back, so any run can be recorded and rerun.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import MISSING, Field, asdict, fields
from typing import Any

from nerkit.cli.common import print_json
from nerkit.training.config import TrainConfig, field_types


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The settings of a command line: ``--config`` file first, the flags given win."""
    names = {f.name for f in fields(TrainConfig)}
    flags = {k: v for k, v in vars(args).items() if k in names and v is not None}
    if args.config:
        return TrainConfig.from_file(args.config, **flags)
    return TrainConfig.from_settings(flags, "command line")


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    if args.print_config:
        print_json(asdict(config))
        return 0
    from nerkit.training.train import train

    results = train(config)
    if os.environ.get("RANK", "0") != "0":
        return 0  # under torchrun / accelerate launch, rank 0 prints the summary
    summary = {k: results[k] for k in ("best_dev_f1", "dev_f1", "test_f1", "train_seconds")
               if k in results}
    if args.json:
        print_json(summary)
    else:
        print(f"model saved to {config.output_dir}: {summary_text(summary)}")
    return 0


def summary_text(summary: dict[str, Any]) -> str:
    """The run's scores as one line: entity F1 in percent, two decimals (the dev F1 is the
    saved model's, the best checkpoint's).

    >>> summary_text({"dev_f1": 83.4969, "test_f1": 80.1, "train_seconds": 61.0})
    'dev F1 83.50, test F1 80.10 (entity F1, percent); trained in 61.0 s'
    >>> summary_text({"best_dev_f1": None, "train_seconds": 5.0})
    'no dev or test split: no F1; trained in 5.0 s'
    """
    scores = [f"{split} F1 {summary[f'{split}_f1']:.2f}" for split in ("dev", "test")
              if summary.get(f"{split}_f1") is not None]
    text = ", ".join(scores) + " (entity F1, percent)" if scores else "no dev or test split: no F1"
    return f"{text}; trained in {summary.get('train_seconds', 0.0):.1f} s"


def default_text(setting: Field[Any]) -> str:
    """How the help shows a field's default: `` (default X)``, or nothing for a setting that
    has none (its help says what happens without it).

    >>> [default_text(f) for f in fields(TrainConfig) if f.name in ("model", "epochs", "crf")]
    ['', ' (default 5)', ' (default off)']
    """
    value = setting.default
    if value is MISSING or value is None or value == "":
        return ""
    if isinstance(value, bool):
        return f" (default {'on' if value else 'off'})"
    if isinstance(value, float):
        return f" (default {value:g})"
    return f" (default {value})"


def add_setting_flags(parser: argparse.ArgumentParser) -> None:
    """One ``--flag`` per :class:`TrainConfig` field that has one (``metadata["flag"]``).

    Every flag defaults to None, so that a flag not given leaves the value of ``--config`` (or
    the dataclass default) in place; booleans only switch on (``store_true``).
    """
    accepted = field_types()
    for setting in fields(TrainConfig):
        flag = setting.metadata.get("flag")
        if flag is None:  # config file only
            continue
        names = [f"--{setting.name.replace('_', '-')}", *flag.get("aliases", ())]
        help_text = (setting.metadata["help"] + default_text(setting)).replace("%", "%%")
        kinds = [k for k in accepted[setting.name] if k is not type(None)]
        if kinds == [bool]:
            parser.add_argument(*names, action="store_true", default=None, help=help_text)
            continue
        # one number type is parsed here; anything else (``auto|all|N``) by the config itself
        kind = kinds[0] if len(kinds) == 1 else str
        parser.add_argument(*names, type=kind, choices=flag.get("choices"),
                            metavar=flag.get("metavar"), help=help_text)


def register(commands: Any) -> None:
    """Add ``train`` to the ``nerkit`` parser."""
    train = commands.add_parser(
        "train", help="fine-tune an encoder on column files",
        description="Fine-tune an encoder for NER. Settings come from the flags below, a "
        "--config JSON file (the flags win) and the defaults shown. Scores are entity F1 in "
        "percent (0-100), like conlleval's. Progress and logs go to stderr, the summary to "
        "stdout.",
    )
    train.add_argument("--config", metavar="FILE",
                       help="JSON file with settings (the names below, with underscores), or a "
                       "run's training_args.json to rerun it; flags override it")
    train.add_argument("--print-config", action="store_true",
                       help="print the effective settings (defaults, --config, flags) as JSON, "
                       "in the form --config reads, and exit without training")
    add_setting_flags(train)
    train.add_argument("--json", action="store_true",
                       help="print the summary as JSON: dev_f1, test_f1, best_dev_f1 (percent), "
                       "train_seconds")
    train.set_defaults(func=run)
