"""Weight averaging, several decays in one training run: dev F1 of each at each evaluation.

A moving average of the weights does not change the optimizer's path: the training weights of a
run with ``--ema-decay`` are those of the same run without it (on a CPU, to the bit). So one run
can measure several decays at once: ``nerkit train --ema-decay D`` keeps, scores and saves one
average; this script trains that run and keeps more averages beside it (``--decays``), each
scored on dev at every evaluation from ``--from-epoch`` on. The training weights themselves are
the run's without averaging, whose dev F1 is in its own run folder.

Dev scoring is forward passes on dev, outside the training budget (docs/compute-budget.md), and
costs wall time: about a minute per decay and evaluation on 2 CPU cores for conll2002-es.

Example::

    python3 benchmarks/averaging_sweep.py --output-dir models/es-ema-seed42 \\
        --train-args "--data conll2002-es --epochs 5 --seed 42 --ema-decay 0.998" \\
        --decays 0.99 0.995 0.999 --from-epoch 3 \\
        --json benchmarks/results/averaging-sweep-conll2002-es.json
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import compute
import env_info
from screening import dev_per_epoch
from transformers import TrainerCallback

from nerkit.cli import build_parser
from nerkit.cli.train import config_from_args
from nerkit.training.averaging import WeightAverage
from nerkit.training.data import prepare_data
from nerkit.training.scoring import DevScorer
from nerkit.training.train import train

HERE = Path(__file__).resolve().parent
logger = logging.getLogger("nerkit")


class MoreAverages(TrainerCallback):
    """More moving averages beside the run's, each scored on dev at each evaluation."""

    def __init__(self, decays: Sequence[float], scorer: DevScorer, from_epoch: float) -> None:
        self.averages = [WeightAverage(d) for d in decays]
        self.scorer = scorer
        self.from_epoch = from_epoch
        self.scores: list[dict[str, Any]] = []

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None,
                       **kw: Any) -> None:
        for average in self.averages:
            average.on_train_begin(args, state, control, model=model)

    def on_optimizer_step(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        for average in self.averages:
            average.update()

    def on_evaluate(self, args: Any, state: Any, control: Any, model: Any = None,
                    **kw: Any) -> None:
        if state.epoch is None or state.epoch + 1e-9 < self.from_epoch:
            return
        was_training = model.training
        model.eval()
        for average in self.averages:
            average.swap_in()
            f1 = self.scorer(model)["micro"]["f1"]
            average.swap_out()
            self.scores.append({"epoch": round(state.epoch, 2), "step": state.global_step,
                                "decay": average.decay, "dev_f1": round(f1, 2)})
            logger.info("epoch %.2f: dev F1 %.2f with the average of decay %g",
                        state.epoch, f1, average.decay)
        if was_training:
            model.train()


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--output-dir", required=True)
    p.add_argument("--train-args", required=True,
                   help="the nerkit train flags of the run, one string (--ema-decay included)")
    p.add_argument("--model", help="encoder folder (default: what build-e5-small prints last)")
    p.add_argument("--decays", type=float, nargs="+", default=[0.99, 0.995, 0.999])
    p.add_argument("--from-epoch", type=float, default=3.0)
    p.add_argument("--json", default=str(HERE / "results" / "averaging-sweep-conll2002-es.json"))
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    model = args.model or compute.default_model()
    flags = build_parser().parse_args(["train", "--model", model, "--output-dir",
                                       args.output_dir, *shlex.split(args.train_args)])
    config = config_from_args(flags)  # as nerkit train reads them: --config, checks
    config.check()
    if not config.ema_decay:
        raise SystemExit("averaging_sweep: --train-args needs --ema-decay D (the run's average)")
    data = prepare_data(config)
    scorer = DevScorer(data.splits.dev, data.tokenizer, data.labels, config)
    more = MoreAverages(args.decays, scorer, args.from_epoch)
    results = train(config, callbacks=[more])
    run_curve = dev_per_epoch(Path(args.output_dir))
    report = {
        **env_info.report_head("weight averaging: several decays along one training run, on dev",
                               "averaging_sweep.py", argv or sys.argv[1:]),
        "run": args.output_dir,
        "run_decay": config.ema_decay,
        "run_dev_f1_per_evaluation": run_curve,
        "run_dev_f1": results.get("dev_f1"),
        "run_test_f1": results.get("test_f1"),
        "more_decays": more.scores,
    }
    print(f"{'evaluation':<12}{'decay ' + format(config.ema_decay, 'g'):>14}"
          + "".join(f"{'decay ' + format(d, 'g'):>14}" for d in args.decays))
    for point in run_curve:
        others = {s["decay"]: s["dev_f1"] for s in more.scores if s["step"] == point["step"]}
        print(f"{'epoch ' + format(point['epoch'], 'g'):<12}{point['dev_f1']:>14.2f}"
              + "".join(f"{others[d]:>14.2f}" if d in others else f"{'-':>14}"
                        for d in args.decays))
    compute.save_report(args.json, report)
    return report


if __name__ == "__main__":
    main()
