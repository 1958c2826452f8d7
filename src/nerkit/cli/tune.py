"""``nerkit tune``: search training settings with Optuna, by dev F1 (needs ``nerkit[tune]``).

The config file is a train config with a ``search`` object (see :mod:`nerkit.training.tune`);
the train setting flags override its settings, as for ``nerkit train``. The table of trials
goes to stdout (``--json``: the same as ``trials.json``), progress and logs to stderr.
"""

from __future__ import annotations

import argparse
import importlib.util
from dataclasses import fields
from typing import Any

from nerkit.cli.common import positive_int, print_json
from nerkit.cli.train import add_setting_flags
from nerkit.errors import ConfigError
from nerkit.training.config import TrainConfig


def run(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("optuna") is None:
        raise ConfigError("nerkit tune needs Optuna: pip install 'nerkit[tune]' (or optuna)")
    from nerkit.training.tune import format_table, read_tune_config, tune

    settings, space = read_tune_config(args.config)
    names = {f.name for f in fields(TrainConfig)}
    flags = {k: v for k, v in vars(args).items() if k in names and v is not None}
    output_dir = flags.pop("output_dir", None) or settings.pop("output_dir", None)
    if not output_dir:
        raise ConfigError("no output folder given; pass --output-dir (the study, the trials "
                          "and best_config.json go there)")
    result = tune({**settings, **flags}, space, output_dir, args.trials,
                  startup_trials=args.startup_trials)
    if args.json:
        print_json(result.as_dict())
        return 0
    print(format_table(result), end="")
    if result.best is None:
        print(f"no trial finished complete yet; the study is in {result.study}")
        return 0
    print(f"\nbest: trial {result.best['trial']}, dev F1 {result.best['dev_f1']:.2f} (entity "
          f"F1, percent); its model: {result.best_model}")
    print(f"rerun it: nerkit train --config {result.best_config}")
    return 0


def register(commands: Any) -> None:
    """Add ``tune`` to the ``nerkit`` parser."""
    tune = commands.add_parser(
        "tune", help="search training settings with Optuna (objective: dev F1)",
        description="Train one model per trial, with the settings of --config's \"search\" "
        "object drawn by Optuna, and keep the one with the best dev entity F1 (percent). A "
        "rerun with the same --output-dir continues the study. Writes trials.json, trials.csv "
        "and best_config.json (for nerkit train --config) in --output-dir.",
    )
    tune.add_argument("--config", metavar="FILE", required=True,
                      help='JSON file: train settings plus "search": {"learning_rate": {"low": '
                      '1e-5, "high": 3e-4, "log": true}, "epochs": [2, 3], ...}')
    tune.add_argument("--trials", type=positive_int, default=20, metavar="N",
                      help="finished trials the study should have; a rerun runs the missing "
                      "ones (default 20)")
    tune.add_argument("--startup-trials", type=positive_int, default=3, metavar="N",
                      help="trials that always run to the end before pruning starts: a trial "
                      "whose dev F1 after an epoch is below the median of earlier trials at "
                      "that epoch is stopped (default 3)")
    tune.add_argument("--json", action="store_true", help="print the results as JSON")
    add_setting_flags(tune)
    tune.set_defaults(func=run)
