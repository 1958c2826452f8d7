"""Accuracy screening: candidate training recipes on dev, each against the defaults of its seed.

The accuracy work (docs/compute-budget.md) screens one change at a time on dev with one seed,
within the budget (no more training compute than the Hugging Face recipe's 3 epochs), before
spending seeds on it. This script collects finished runs into one table and one JSON:

- ``--reference``: an ``accuracy.py`` results file; its nerkit runs (today's defaults, one per
  seed) are the rows each candidate is compared with;
- ``--runs LABEL=FOLDER``: finished ``nerkit train`` folders, in the order to show them.

Each row gets dev and test F1 (overall and per type), its difference to the reference of the
same seed, the dev F1 after each evaluation, the settings in which it differs from that
reference, the ``nerkit train`` command that makes it, and its training compute counted by
``benchmarks/compute.py`` against the recipe's budget on ``--corpus`` (a run trained on a file
of its own, such as both CoNLL-2002 languages joined, is held to the budget of the corpus it is
scored on). Dev decides; test is shown, never used for a choice.

``--rescore`` scores every run afresh on ``--corpus``'s dev and test with ``nerkit evaluate``'s
code, instead of reading the scores its training wrote: for a run trained and selected on
another corpus (a joint es+nl model read on Dutch). Its dev F1 at each evaluation stays the one
its training saw.

``--keep FILE`` carries the rows of an earlier results file of this script over as it recorded
them (run folders do not outlive a machine): their gains are taken again against today's
reference of their seed, and their ``changed_from_reference`` is kept only while that reference
is the run it was worked out against.

Example::

    python3 benchmarks/screening.py --corpus conll2002-es \\
        --reference benchmarks/results/accuracy-conll2002-es.json \\
        --runs "5 epochs=models/es-epochs5-seed42" "5 epochs, EMA=models/es-ema-seed42" \\
        --json benchmarks/results/screening-conll2002-es.json
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import compute
import env_info
from accuracy import nerkit_run
from run_settings import SETTINGS_BEFORE

from nerkit.tagging.evaluate import evaluate_model
from nerkit.training.config import TrainConfig

HERE = Path(__file__).resolve().parent
# settings that do not change what is learned, or that the layer probe's count stands for
NEUTRAL = {"model", "output_dir", "overwrite", "resume", "report_to", "logging_steps",
           "keep_checkpoints", "eval_batch_size", "extra", "data_dir",
           "encoder_layers_chosen_by"}
ENCODER = '"$(python3 ../shared/models/build-e5-small | tail -1)"'


def dev_per_epoch(folder: Path) -> list[dict[str, float]]:
    """The dev F1 of every evaluation during training, as ``eval_results.json`` logged it."""
    results = json.loads((folder / "eval_results.json").read_text(encoding="utf-8"))
    return [{"epoch": round(e["epoch"], 2), "step": e["step"], "dev_f1": round(e["eval_f1"], 2)}
            for e in results.get("log_history", []) if "eval_f1" in e]


def changed(reference: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """The settings of a run that differ from its reference run's (what the row measures).

    A setting one of them does not record was added after that run was made: it reads as what
    it was then (``SETTINGS_BEFORE``: off), or, for a setting that changes nothing when left at
    its default, as that default.
    """
    defaults = {f.name: f.default for f in fields(TrainConfig)}
    ref = {**defaults, **SETTINGS_BEFORE, **reference}
    now = {**defaults, **SETTINGS_BEFORE, **settings}
    keys = sorted((set(ref) | set(now)) - NEUTRAL)
    return {k: now.get(k) for k in keys if ref.get(k) != now.get(k)}


def train_command(settings: dict[str, Any]) -> str:
    """The ``nerkit train`` command of a run: every setting that is not today's default."""
    defaults = {f.name: f.default for f in fields(TrainConfig)}
    if settings.get("encoder_layers_chosen_by") == "layer probe":
        settings = {**settings, "encoder_layers": "auto"}
    elif settings.get("encoder_layers") is None:
        settings = {**settings, "encoder_layers": "all"}
    words = ["nerkit", "train", "--model", ENCODER]
    only_in_a_file = []
    for key, value in settings.items():
        if key in NEUTRAL - {"output_dir"} or key not in defaults or value == defaults[key]:
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:  # every boolean setting is off by default: its flag turns it on
            words.append(flag)
        elif value is None:  # null (e.g. head_learning_rate): a config file's, not a flag's
            only_in_a_file.append(key)
        else:
            words += [flag, shlex.quote(str(value))]
    if only_in_a_file:
        nulls = json.dumps(dict.fromkeys(only_in_a_file))
        words.append(f"--config FILE  # FILE holds {nulls}")
    return " ".join(words)


def reference_runs(path: str) -> dict[int, dict[str, Any]]:
    """The nerkit runs of an ``accuracy.py`` results file, by seed."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return {run["seed"]: run for run in data["runs"] if run["system"] == "nerkit"}


def rescore(run: dict[str, Any], folder: Path, corpus: str, data_dir: str) -> dict[str, Any]:
    """The run with its dev and test scores replaced by fresh ones on ``corpus``."""
    run = {**run, "scored_on": f"{corpus} (nerkit evaluate, --rescore)"}
    for split in ("dev", "test"):
        results = evaluate_model(str(folder), corpus, split, data_dir=data_dir)
        run[f"{split}_f1"] = results["entity"]["micro"]["f1"]
        run[f"{split}_per_type"] = {t: s["f1"] for t, s in results["entity"]["per_type"].items()}
    return run


def row(label: str, folder: Path, reference: dict[int, dict[str, Any]], corpus: str,
        model: str, data_dir: str, scored_afresh: bool = False) -> dict[str, Any]:
    """One candidate run as a row of the table."""
    run = nerkit_run(folder, "screening")
    if scored_afresh:
        run = rescore(run, folder, corpus, data_dir)
    ref = reference.get(run["seed"])
    count = compute.run_file(str(folder), model, data_dir)
    budget = compute.recipe_budget(corpus, model, data_dir, run["seed"])
    row = {
        "label": label, "path": str(folder), "seed": run["seed"],
        "dev_f1": run.get("dev_f1"), "test_f1": run.get("test_f1"),
        "dev_per_type": run.get("dev_per_type"), "test_per_type": run.get("test_per_type"),
        "dev_f1_per_evaluation": dev_per_epoch(folder),
        "training_compute": count.high,
        "training_compute_ratio": round(count.high / budget.high, 4),
        "training_compute_detail": count.as_dict(),
        "train_seconds": run["train_seconds"],
        "command": train_command(run["settings"]),
    }
    if scored_afresh:
        row["scored_on"] = run["scored_on"]
    if ref is not None:
        row.update(reference_path=ref["path"],
                   changed_from_reference=changed(ref["settings"], run["settings"]),
                   dev_gain=_gain(run.get("dev_f1"), ref.get("dev_f1")),
                   test_gain=_gain(run.get("test_f1"), ref.get("test_f1")))
    return row


def kept_rows(path: str, corpus: str, reference: dict[int, dict[str, Any]]
              ) -> tuple[list[dict[str, Any]], list[str]]:
    """The rows of an earlier screening results file, against today's reference, and its
    notes (they explain those rows)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data.get("rows"), list) or data.get("corpus") is None:
        raise SystemExit(f"screening: --keep {path} is not a results file of this script")
    if data["corpus"] != corpus:
        raise SystemExit(f"screening: --keep {path} scored its runs on {data['corpus']}, "
                         f"not on --corpus {corpus}: keep them in a table of their own corpus")
    rows = []
    for recorded in data["rows"]:
        r = {**recorded, "source": recorded.get("source") or f"recorded in {path} "
             f"({data.get('date', 'undated')})"}
        ref = reference.get(r["seed"])
        if ref is None or ref.get("path") != r.get("reference_path"):
            r.pop("changed_from_reference", None)
        if ref is None:
            for key in ("reference_path", "dev_gain", "test_gain"):
                r.pop(key, None)
        else:
            r.update(reference_path=ref["path"], dev_gain=_gain(r.get("dev_f1"), ref.get("dev_f1")),
                     test_gain=_gain(r.get("test_f1"), ref.get("test_f1")))
        rows.append(r)
    return rows, list(data.get("notes", []))


def _gain(value: float | None, reference: float | None) -> float | None:
    return None if value is None or reference is None else round(value - reference, 2)


def _cell(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_table(rows: Sequence[dict[str, Any]], reference: dict[int, dict[str, Any]]) -> None:
    print(f"{'run':<34}{'seed':>5}{'compute':>9}{'dev F1':>8}{'(gain)':>8}{'test F1':>9}"
          f"{'(gain)':>8}  dev F1 at each evaluation")
    for seed, ref in sorted(reference.items()):
        ratio = _cell(ref.get("training_compute_ratio"), ".2f")
        print(f"{'reference: defaults':<34}{seed:>5}{ratio:>9}"
              f"{_cell(ref.get('dev_f1'), '.2f'):>8}{'':>8}{_cell(ref.get('test_f1'), '.2f'):>9}")
    for r in rows:
        curve = " ".join(f"{e['dev_f1']:.2f}" for e in r["dev_f1_per_evaluation"])
        print(f"{r['label']:<34}{r['seed']:>5}{r['training_compute_ratio']:>9.2f}"
              f"{_cell(r['dev_f1'], '.2f'):>8}{_cell(r.get('dev_gain'), '+.2f'):>8}"
              f"{_cell(r['test_f1'], '.2f'):>9}{_cell(r.get('test_gain'), '+.2f'):>8}  {curve}")
    print("compute: training compute (layer-pieces, upper bound) as a share of the recipe's "
          "3 epochs with the same seed; gains against the reference of the same seed")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--corpus", default="conll2002-es", choices=["conll2002-es", "conll2002-nl"],
                   help="the corpus whose dev and test the runs are scored on (its budget)")
    p.add_argument("--reference", required=True, help="accuracy.py results file")
    p.add_argument("--runs", nargs="+", default=[], metavar="LABEL=FOLDER")
    p.add_argument("--keep", metavar="FILE",
                   help="an earlier results file of this script: its rows, as recorded, "
                        "come first (it may be the --json file itself)")
    p.add_argument("--rescore", action="store_true",
                   help="score each run on --corpus's dev and test afresh (runs trained or "
                        "selected on other data) instead of reading its own scores")
    p.add_argument("--note", action="append", default=[], help="a note kept in the JSON")
    p.add_argument("--model", help="encoder folder (default: what build-e5-small prints last)")
    p.add_argument("--data-dir", default=compute.default_data_dir())
    p.add_argument("--json", default=str(HERE / "results" / "screening-conll2002-es.json"))
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    model = args.model or compute.default_model()
    reference = reference_runs(args.reference)
    if not args.runs and not args.keep:
        raise SystemExit("screening: nothing to show: give --runs, --keep or both")
    rows, notes = kept_rows(args.keep, args.corpus, reference) if args.keep else ([], [])
    for item in args.runs:
        label, _, path = item.partition("=")
        if not path or not (Path(path) / "eval_results.json").exists():
            raise SystemExit(f"screening: --runs wants LABEL=FOLDER of a finished run, "
                             f"got {item!r}")
        rows.append(row(label, Path(path), reference, args.corpus, model, args.data_dir,
                        scored_afresh=args.rescore))
    report = {
        **env_info.report_head(
            "accuracy screening (docs/compute-budget.md): one change at a time, on dev",
            "screening.py", argv or sys.argv[1:]),
        "corpus": args.corpus,
        "rule": "dev decides; test shown, never used for a choice; compute counted by "
                "benchmarks/compute.py (layer-pieces), budget = the recipe's 3 epochs, same seed",
        "reference": {seed: {k: ref.get(k) for k in ("path", "dev_f1", "test_f1",
                                                     "training_compute",
                                                     "training_compute_ratio")}
                      for seed, ref in sorted(reference.items())},
        "notes": notes + [n for n in args.note if n not in notes],
        "rows": rows,
    }
    print_table(rows, reference)
    compute.save_report(args.json, report)
    return report


if __name__ == "__main__":
    main()
