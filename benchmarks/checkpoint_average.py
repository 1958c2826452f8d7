"""Checkpoint averaging: the mean of a run's last checkpoints, scored on dev beside the run.

Averaging the weights of the last few checkpoints of one run (as in machine translation, Vaswani
et al. 2017) smooths the end of the optimizer's path at no training cost: the checkpoints are
on disk during training (nerkit keeps the best and the last; ``--keep-checkpoints`` keeps them
after it), so the measure is a few dev passes. An exponential moving average (``--ema-decay``,
``averaging_sweep.py``) does the same along every step; this is its coarse, free cousin.

The script averages the checkpoints' weights uniformly, puts them into the run's saved model
(its tokenizer, labels, context and decoding kept, so the average is tagged exactly as the run
is), saves that as a model folder of its own and scores it with ``nerkit evaluate``'s code on
dev, beside the run's own model scored the same way. Test is read only with ``--test`` (dev for
every choice, test once per final configuration).

Example::

    NERKIT_DATA=../shared/data python3 benchmarks/checkpoint_average.py \\
        --run models/es-epochs5-seed42 --data conll2002-es --out models/es-epochs5-seed42-avg \\
        --json benchmarks/results/checkpoint-average-conll2002-es.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import compute
import env_info

from nerkit.modeling.folder import load_classifier, save_classifier
from nerkit.tagging.evaluate import evaluate_model
from nerkit.training.run_folder import CHECKPOINTS, TRAINER_STATE, checkpoint_folders

HERE = Path(__file__).resolve().parent
WEIGHTS = "model.safetensors"


def checkpoints(folder: Path, last: int) -> list[Path]:
    """The last ``last`` checkpoints with weights in ``folder``, oldest first."""
    found = [p for p in checkpoint_folders(folder) if (p / WEIGHTS).is_file()]
    if len(found) < 2:
        raise SystemExit(f"checkpoint_average: {folder}: {len(found)} checkpoint(s) with "
                         "weights; averaging needs two or more (train with --keep-checkpoints, "
                         "or give --checkpoint-dir)")
    return found[-last:]


def checkpoint_epoch(folder: Path) -> float | None:
    """The epoch the Trainer recorded in a checkpoint (None if it did not)."""
    state = folder / TRAINER_STATE
    if not state.is_file():
        return None
    return json.loads(state.read_text(encoding="utf-8")).get("epoch")


def average_weights(folders: Sequence[Path]) -> dict[str, Any]:
    """The uniform mean of the checkpoints' floating-point tensors (others: the last one's)."""
    from safetensors.torch import load_file

    total: dict[str, Any] = {}
    for folder in folders:
        weights = load_file(str(folder / WEIGHTS))
        for name, tensor in weights.items():
            if not tensor.is_floating_point():
                total[name] = tensor
            elif name in total:
                total[name] += tensor.double()
            else:
                total[name] = tensor.double()
    return {name: (t / len(folders)).float() if t.is_floating_point() else t
            for name, t in total.items()}


def averaged_model(run: Path, folders: Sequence[Path], out: Path) -> Path:
    """Save the run's model with the checkpoints' mean weights as the model folder ``out``."""
    model, tokenizer, _, meta = load_classifier(run)
    if meta.crf is not None:
        raise SystemExit("checkpoint_average: a run with --crf keeps its transition scores in "
                         "nerkit.json, which this script does not average; use a run without it")
    mean = average_weights(folders)
    missing, unexpected = model.load_state_dict(mean, strict=False)
    tied = {k for k in missing if k.endswith("position_ids")}
    if set(missing) - tied or unexpected:
        raise SystemExit(f"checkpoint_average: the checkpoints do not hold {run}'s model "
                         f"(missing {sorted(set(missing) - tied)[:3]}, "
                         f"unexpected {sorted(unexpected)[:3]})")
    save_classifier(out, model, tokenizer, meta)
    return out


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--run", required=True, help="a trained model folder with its checkpoints/")
    p.add_argument("--checkpoint-dir",
                   help="where the checkpoint-N folders are (default: the run's checkpoints/)")
    p.add_argument("--data", required=True, help="the corpus the run was trained on")
    p.add_argument("--data-dir", help="default: $NERKIT_DATA or ../shared/data")
    p.add_argument("--last", type=int, default=2, help="average the last N checkpoints")
    p.add_argument("--out", required=True, help="model folder for the average")
    p.add_argument("--test", action="store_true", help="also score both on test")
    p.add_argument("--json",
                   default=str(HERE / "results" / "checkpoint-average-conll2002-es.json"))
    return p.parse_args(argv)


def _f1(model: Path, args: argparse.Namespace, split: str) -> float:
    results = evaluate_model(model, args.data, split, data_dir=args.data_dir)
    return round(results["entity"]["micro"]["f1"], 2)  # already in percent


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    if args.last < 2:
        raise SystemExit("checkpoint_average: --last must be 2 or more")
    args.data_dir = args.data_dir or compute.default_data_dir()
    run, out = Path(args.run), Path(args.out)
    folders = checkpoints(Path(args.checkpoint_dir or run / CHECKPOINTS), args.last)
    averaged_model(run, folders, out)
    splits = ["dev", "test"] if args.test else ["dev"]
    scores = {split: {"run": _f1(run, args, split), "average": _f1(out, args, split)}
              for split in splits}
    report = {
        **env_info.report_head(
            "checkpoint averaging: the mean of a run's last checkpoints against the run",
            "checkpoint_average.py", sys.argv[1:] if argv is None else argv),
        "run": str(run),
        "data": args.data,
        "checkpoints": [{"folder": f.name, "epoch": checkpoint_epoch(f)} for f in folders],
        "f1": scores,
    }
    print(f"averaged {', '.join(f.name for f in folders)} of {run}")
    for split, pair in scores.items():
        print(f"{split}: run {pair['run']:.2f}, average {pair['average']:.2f} "
              f"({pair['average'] - pair['run']:+.2f})")
    compute.save_report(args.json, report)
    return report


if __name__ == "__main__":
    main()
