"""Ablation: what each part of nerkit adds, in dev (and test) entity F1.

Two kinds of rows:

- **prediction-time parts**, measured on one trained model with one forward pass per split:
  constrained Viterbi decoding against plain argmax, and windows against the recipe's
  truncation (words past the first ``max_length`` subwords of a sentence predicted ``O``, as the
  recipe's model never sees them). Both are exact for this model, no retraining involved. For
  a model trained with ``--context``, one more row: each sentence read alone, without its
  neighbours (what a user who tags isolated sentences gets from it).
- **training-time settings**, from finished runs (``--runs LABEL=PATH``, nerkit model folders or
  ``hf_recipe.py --json`` files) on the same encoder, corpus, epochs, batch and seed: the table
  shows each run's dev and test F1, its difference to the first run, and the settings in which
  it differs from the run before it. One 3-epoch run costs ~40 minutes on 2 CPU cores, so this
  table holds the runs that were affordable, not one run per setting. Each run also gets its
  training compute (``benchmarks/compute.py``), as a share of the recipe's 3 epochs.

Dev decides; test is shown, never used for a choice.

Example::

    python3 benchmarks/ablation.py --model benchmarks/runs/conll2002-es/nerkit-seed43 \\
        --runs "recipe lr 5e-5=benchmarks/runs/conll2002-es/hf-lr5e-5-seed42.json" \\
               "nerkit old defaults=/path/to/e5-es-full" "nerkit defaults=/path/to/run"
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import compute
import env_info
import numpy as np
from run_settings import SETTINGS_BEFORE, recorded_settings

from nerkit.conll.corpus import Sentence
from nerkit.conll.formats import load_split
from nerkit.conll.metrics import score
from nerkit.tagging.tagger import Tagger

HERE = Path(__file__).resolve().parent
# settings shown when two training runs differ (the rest is the shared budget)
SHOWN = ("learning_rate", "head_learning_rate", "warmup_ratio", "encoder_layers", "sampling",
         "max_length", "context", "context_dropout", "decoding", "crf", "layer_mix",
         "layer_lr_decay", "freeze_embeddings", "weight_decay", "scheduler", "checkpoint")


def truncated_words(tagger: Tagger, sentences: Sequence[Sentence]) -> list[int]:
    """Per sentence, how many leading words fit in one ``max_length`` input (the recipe's cut)."""
    encoder = tagger.predictor.encoder
    kept = []
    for pieces in encoder.word_pieces([list(s.words) for s in sentences]):
        used, n = 0, 0
        for word in pieces:
            used += len(word)
            if used > encoder.budget:
                break
            n += 1
        kept.append(n)
    return kept


def prediction_ablation(
    tagger: Tagger, sentences: Sequence[Sentence], batch_size: int
) -> dict[str, dict[str, Any]]:
    """Entity F1 of the four combinations of {Viterbi, argmax} x {windows, truncation}."""
    predictor = tagger.predictor
    words = [list(s.words) for s in sentences]
    log_probs = predictor.word_log_probs(words, batch_size, [s.doc_id for s in sentences])
    names = np.array(predictor.labels.labels, dtype=object)
    gold = [list(s.tags) for s in sentences]
    kept = truncated_words(tagger, sentences)
    viterbi = [names[row].tolist() for row in predictor.decoder.decode_batch(log_probs)]
    argmax = [names[row.argmax(1)].tolist() for row in log_probs]
    out: dict[str, dict[str, Any]] = {}
    for decoding, pred in (("viterbi", viterbi), ("argmax", argmax)):
        for context, cut in (("windows", False), ("truncation", True)):
            tags = pred
            if cut:
                tags = [p[:k] + ["O"] * (len(p) - k) for p, k in zip(pred, kept, strict=True)]
            out[f"{decoding}+{context}"] = score(gold, tags)["micro"]
    if predictor.encoder.context:
        # a model trained with --context, fed each sentence alone (as raw-text users may)
        alone = predictor.predict_tags(words, batch_size)
        out["viterbi+windows, no neighbours"] = score(gold, alone)["micro"]
    out["_truncation"] = {
        "sentences_cut": sum(k < len(s) for k, s in zip(kept, sentences, strict=True)),
        "words_cut": sum(len(s) - k for k, s in zip(kept, sentences, strict=True)),
    }
    return out


def read_run(path: str) -> dict[str, Any]:
    """dev/test F1 and settings of a nerkit model folder or an ``hf_recipe.py --json`` file."""
    p = Path(path)
    if p.is_dir():
        results = json.loads((p / "eval_results.json").read_text(encoding="utf-8"))
        # settings added after a run was made read as what they were then (off)
        config = recorded_settings(p)
        if config.get("encoder_layers") == "auto":
            config["encoder_layers"] = f"auto ({results.get('encoder_layers')})"
        elif config.get("encoder_layers") is None:
            config["encoder_layers"] = "all"
        config["max_length"] = f"{config.get('max_length')} (windows)"
        config["checkpoint"] = "best dev F1"
        return {"system": "nerkit", "dev_f1": results.get("dev_f1"),
                "test_f1": results.get("test_f1"), "seed": config.get("seed"),
                "train_seconds": results.get("train_seconds"),
                "settings": {k: config.get(k) for k in SHOWN}}
    data = json.loads(p.read_text(encoding="utf-8"))
    s = data["settings"]
    return {"system": "hf-recipe", "dev_f1": data["dev"]["full_gold"]["f1"],
            "test_f1": data["test"]["full_gold"]["f1"], "seed": s["seed"],
            "train_seconds": data.get("train_seconds"),
            # the recipe has none of the options nerkit added later (SETTINGS_BEFORE: off)
            "settings": {**SETTINGS_BEFORE, "learning_rate": s["lr"], "head_learning_rate": None,
                         "warmup_ratio": 0.0, "encoder_layers": "all", "sampling": "random",
                         "max_length": f"{s['max_length']} (truncation)", "decoding": "argmax",
                         "freeze_embeddings": False, "weight_decay": 0.0,
                         "scheduler": "linear", "checkpoint": "last"}}


def _cell(value: float | None, width: int, spec: str = ".2f") -> str:
    """A right-aligned figure, or a dash for a split the run did not score (no --test)."""
    return f"{'-' if value is None else format(value, spec):>{width}}"


def _diff(before: dict[str, Any] | None, now: dict[str, Any]) -> str:
    if before is None:
        return "(reference)"
    keys = sorted(set(before) | set(now))
    changed = [f"{k}={now.get(k)}" for k in keys if before.get(k) != now.get(k)]
    return ", ".join(changed) or "same settings"


def resolve_data(data: str | None, model: str | None) -> str | None:
    """The corpus to score ``model`` on: ``data`` if given, else the one it was trained on.

    A default corpus would score a Dutch model on Spanish without a word of warning.
    """
    if data or not model:
        return data
    args_file = Path(model) / "training_args.json"
    trained_on = None
    if args_file.exists():
        trained_on = json.loads(args_file.read_text(encoding="utf-8"))["nerkit"].get("data")
    if not trained_on:
        raise SystemExit(
            f"ablation: {model} was not trained on a named corpus (or has no "
            "training_args.json); pass --data with a corpus name or column file"
        )
    return str(trained_on)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", help="trained nerkit model folder for the prediction-time rows")
    p.add_argument("--data", help="corpus name or column file (default: the corpus that "
                   "--model was trained on)")
    p.add_argument("--data-dir", default=None, help="folder holding conll2002/ ($NERKIT_DATA)")
    p.add_argument("--splits", nargs="+", default=["dev", "test"])
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--runs", nargs="*", default=[], metavar="LABEL=PATH",
                   help="finished training runs, in the order to compare them")
    p.add_argument("--json", default=str(HERE / "results" / "ablation-conll2002-es.json"))
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    args.data = resolve_data(args.data, args.model)
    report: dict[str, Any] = {
        "command": shlex.join(["python3", "benchmarks/ablation.py", *(argv or sys.argv[1:])]),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": env_info.machine(),
        "versions": env_info.versions(("nerkit", "torch", "transformers")),
        "model": args.model,
        "data": args.data,
    }
    if args.model:
        tagger = Tagger.load(args.model)
        rows = {}
        for split in args.splits:
            rows[split] = prediction_ablation(
                tagger, load_split(args.data, split, args.data_dir), args.batch_size
            )
        report["prediction"] = rows
        print(f"prediction-time parts, one model ({args.model}), entity F1:")
        print(f"{'decoding + context':<31}" + "".join(f"{s:>16}" for s in args.splits))
        keys = ["viterbi+windows", "argmax+windows", "viterbi+truncation", "argmax+truncation"]
        if tagger.predictor.encoder.context:
            keys.append("viterbi+windows, no neighbours")
        for key in keys:
            cells = []
            for split in args.splits:
                f1 = rows[split][key]["f1"]
                delta = f1 - rows[split]["viterbi+windows"]["f1"]
                cells.append(f"{f1:6.2f}" + (f" ({delta:+.2f})" if delta else ""))
            print(f"{key:<31}" + "".join(f"{c:>16}" for c in cells))
        for split in args.splits:
            cut = rows[split]["_truncation"]
            print(f"  {split}: truncation at {tagger.predictor.encoder.max_length} subwords cuts "
                  f"{cut['sentences_cut']} sentences, {cut['words_cut']} words")
    if args.runs:
        runs = []
        for item in args.runs:
            label, _, path = item.partition("=")
            if not path:
                raise SystemExit(f"ablation: --runs wants LABEL=PATH, got {item!r}")
            runs.append({"label": label, "path": path, **read_run(path),
                         # the budget rule's count (benchmarks/compute.py)
                         **compute.run_columns(path, args.data_dir or compute.default_data_dir())})
        report["training"] = runs
        first = runs[0]
        print("\ntraining-time settings, finished runs (same encoder, corpus, epochs, batch); "
              "compute: training compute as a share of the recipe's 3 epochs with the same seed "
              "(benchmarks/compute.py; '-' where it cannot be counted):")
        width = max(28, *(len(run["label"]) + 2 for run in runs))
        print(f"{'run':<{width}}{'seed':>5}{'dev F1':>9}{'test F1':>9}{'dev vs first':>14}"
              f"{'compute':>9}  changed from the row above")
        before = None
        for run in runs:
            dev, test, dev0 = run["dev_f1"], run["test_f1"], first["dev_f1"]
            delta = _cell(None if dev is None or dev0 is None else dev - dev0, 14, "+.2f")
            print(f"{run['label']:<{width}}{run['seed']:>5}{_cell(dev, 9)}{_cell(test, 9)}"
                  f"{delta}{_cell(run['training_compute_ratio'], 9)}  "
                  f"{_diff(before, run['settings'])}")
            before = run["settings"]
    compute.save_report(args.json, report)
    return report


if __name__ == "__main__":
    main()
