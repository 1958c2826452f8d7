"""Hyperparameter search (``nerkit tune``): Optuna trials of ``nerkit train``, by dev F1.

A tune config is a train config (see :class:`~nerkit.training.config.TrainConfig`) plus a
``search`` object: for each setting searched, a list of values to choose from, or a range::

    {"model": "...", "data": "conll2002-es", "encoder_layers": "all",
     "search": {"learning_rate": {"low": 1e-5, "high": 3e-4, "log": true},
                "head_learning_rate": {"low": 1e-4, "high": 3e-3, "log": true},
                "warmup_ratio": {"low": 0.0, "high": 0.2},
                "epochs": [2, 3], "context": [0, 32], "encoder_layers": [6, 8, "all"]}}

A range is searched in integers for a setting that takes integers (``context``), else in real
numbers; ``"log": true`` searches it on a log scale, ``"step"`` in steps. The settings not
searched keep the config's values (or the flags', or the defaults); every trial uses the same
seed, so trials differ by their settings only.

Each trial is an ordinary training run into ``OUT/trials/trial-NNN``; its objective is the dev
entity F1 of the model it saves (percent), the F1 ``nerkit evaluate`` reports for it. Each
evaluation's dev F1 is reported to the trial, and a pruner stops a trial that is doing worse
than the others at the same evaluation (the CLI's: Optuna's median pruner, once
``startup_trials`` trials have finished), from the first epoch on. Only the best trial's model
folder is kept; the folders of the others are removed as soon as they are beaten or pruned.

The study lives in ``OUT/study.db`` (SQLite), so a rerun continues it: ``trials`` is the number
of finished (complete or pruned) trials the study should have, and a trial left running by an
interrupted run is marked failed. Written in ``OUT`` after every trial: ``trials.json`` and
``trials.csv`` (one row per trial: state, dev and test F1, seconds, settings tried) and
``best_config.json``, the best trial's settings as ``nerkit train --config`` reads them
(``output_dir``: ``OUT/best``).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from nerkit.errors import ConfigError
from nerkit.training.config import TrainConfig, field_types, read_settings
from nerkit.training.reports import write_json, write_text

logger = logging.getLogger("nerkit")

STUDY_FILE = "study.db"
STUDY_NAME = "nerkit-tune"
TRIALS_FOLDER = "trials"
BEST_CONFIG = "best_config.json"
# settings a search may not vary: where a trial writes, and how a run is resumed or kept
NOT_SEARCHED = ("output_dir", "resume", "keep_checkpoints", "extra")
# the results table's columns before those of the settings searched
FIXED_COLUMNS = ("trial", "state", "dev_f1", "test_f1", "seconds")


@dataclass(frozen=True)
class Param:
    """One searched setting: ``choices``, or a range ``low``..``high`` (``integer``: in whole
    numbers; ``log``: on a log scale; ``step``: in steps)."""

    name: str
    choices: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    integer: bool = False

    def suggest(self, trial: Any) -> Any:
        """The value an Optuna trial draws for this setting."""
        if self.choices is not None:
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.integer:
            return trial.suggest_int(self.name, int(self.low or 0), int(self.high or 0),
                                     step=int(self.step or 1), log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, step=self.step, log=self.log)


def parse_search(search: Any, where: str) -> dict[str, Param]:
    """The ``search`` object of a tune config, checked: known settings, values of their type,
    ranges that are ranges. ``where`` names the file in messages."""
    if not isinstance(search, dict) or not search:
        raise ConfigError(f'{where}: "search" must be an object of settings to search, e.g. '
                          '{"learning_rate": {"low": 1e-5, "high": 3e-4, "log": true}}')
    types = field_types()
    space = {}
    for name, spec in search.items():
        if name not in types or name in NOT_SEARCHED:
            searchable = sorted(set(types) - set(NOT_SEARCHED))
            raise ConfigError(f"{where}: search.{name}: not a setting that can be searched; "
                              f"choose from {', '.join(searchable)}")
        space[name] = parse_param(name, spec, types[name], f"{where}: search.{name}")
    return space


def parse_param(name: str, spec: Any, kinds: tuple[type, ...], where: str) -> Param:
    """One entry of ``search``: a list of values, or ``{"low", "high"[, "log"][, "step"]}``."""
    from nerkit.training.config import check_types

    if isinstance(spec, list):
        if not spec:
            raise ConfigError(f"{where}: the list of values is empty")
        for value in spec:
            check_types({name: value}, where)
        return Param(name, choices=tuple(spec))
    if not isinstance(spec, dict) or not {"low", "high"} <= set(spec):
        raise ConfigError(f'{where}: give a list of values or a range {{"low": ..., "high": '
                          f"...}}, not {json.dumps(spec)}")
    unknown = sorted(set(spec) - {"low", "high", "log", "step"})
    if unknown:
        raise ConfigError(f"{where}: unknown keys {', '.join(unknown)}; a range has low, high, "
                          "log and step")
    low, high, step, log = spec["low"], spec["high"], spec.get("step"), spec.get("log", False)
    numbers = [v for v in (low, high, step) if v is not None]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in numbers):
        raise ConfigError(f"{where}: low, high and step must be numbers")
    if not isinstance(log, bool):
        raise ConfigError(f"{where}: log must be true or false")
    integer = float not in kinds and int in kinds
    if float not in kinds and not integer:
        raise ConfigError(f"{where}: {name} is not a number; give a list of values")
    if integer and not all(isinstance(v, int) for v in numbers):
        raise ConfigError(f"{where}: {name} takes whole numbers; low, high and step must be too")
    if not low < high:
        raise ConfigError(f"{where}: low ({low}) must be below high ({high})")
    if log and (low <= 0 or step is not None):
        raise ConfigError(f"{where}: a log range needs low > 0 and no step")
    return Param(name, low=low, high=high, log=log, step=step, integer=integer)


def read_tune_config(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, Param]]:
    """A tune config file: its training settings and its search space."""
    settings = read_settings(path, sections=("search",))
    if "search" not in settings:
        raise ConfigError(f'{path}: no "search" object: say which settings to search, e.g. '
                          '"search": {"learning_rate": {"low": 1e-5, "high": 3e-4, "log": true}}')
    space = parse_search(settings.pop("search"), str(path))
    return settings, space


class PruningCallback(TrainerCallback):
    """Reports each evaluation's dev F1 to an Optuna trial (step = evaluation number, from 1)
    and stops the run with :class:`optuna.TrialPruned` when the pruner says so."""

    def __init__(self, trial: Any) -> None:
        self.trial = trial
        self.evaluations = 0

    def on_evaluate(self, args: Any, state: Any, control: Any, metrics: Any = None,
                    **kwargs: Any) -> None:
        import optuna

        if not metrics or "eval_f1" not in metrics:
            return
        self.evaluations += 1
        f1 = float(metrics["eval_f1"])
        self.trial.report(f1, self.evaluations)
        if self.trial.should_prune():
            raise optuna.TrialPruned(
                f"trial {self.trial.number}: dev F1 {f1:.2f} at evaluation {self.evaluations} "
                "is below the other trials'; pruned"
            )


@dataclass(frozen=True)
class TuneResult:
    """What a study holds after :func:`tune`: one row per trial, the best, where things are."""

    rows: list[dict[str, Any]]
    best: dict[str, Any] | None
    best_model: str | None
    best_config: str | None
    study: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def tune(
    settings: dict[str, Any],
    space: dict[str, Param],
    output_dir: str | os.PathLike[str],
    trials: int,
    *,
    startup_trials: int = 3,
    pruner: Any = None,
) -> TuneResult:
    """Run (or continue) the study in ``output_dir`` until it has ``trials`` finished trials.

    ``settings`` are the training settings every trial starts from (``output_dir`` excepted);
    ``space`` comes from :func:`parse_search`. ``pruner`` defaults to Optuna's median pruner
    after ``startup_trials`` finished trials.
    """
    import optuna
    from optuna.trial import TrialState

    out = Path(output_dir)
    base = base_config(settings, out)
    out.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = open_study(out, base.seed, pruner or optuna.pruners.MedianPruner(
        n_startup_trials=startup_trials, n_warmup_steps=0))
    finished = [t for t in study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    remaining = max(0, trials - len(finished))
    logger.info("tune: %d trials finished in %s, %d to run", len(finished), out / STUDY_FILE,
                remaining)

    def objective(trial: Any) -> float:
        return run_trial(trial, settings, space, out)

    def after_trial(study: Any, trial: Any) -> None:
        keep_best_model(study, out)
        write_results(study, out, base)
        logger.info("%s", trial_line(study, trial, trials))

    if remaining:
        study.optimize(objective, n_trials=remaining, callbacks=[after_trial], gc_after_trial=True)
    keep_best_model(study, out)
    return write_results(study, out, base)


def base_config(settings: dict[str, Any], out: Path) -> TrainConfig:
    """The trials' common settings, checked once before any trial starts."""
    config = TrainConfig.from_settings({**settings, "output_dir": str(out / "best")}, "settings")
    config.check()
    if config.data is None and config.dev is None:
        raise ConfigError("tune picks settings by dev F1, and there is no dev split; give "
                          "--dev FILE (or --data with a corpus name)")
    return config


def open_study(out: Path, seed: int, pruner: Any) -> Any:
    """The study stored in ``out/study.db``, created or continued; trials left running by an
    interrupted run are marked failed (this process is the only one using the study)."""
    import optuna
    from optuna.trial import TrialState

    study = optuna.create_study(
        storage=f"sqlite:///{(out / STUDY_FILE).resolve()}", study_name=STUDY_NAME,
        direction="maximize", load_if_exists=True, pruner=pruner,
    )
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        logger.warning("tune: trial %d was left running by an interrupted run; marked failed",
                       trial.number)
        study.tell(trial.number, state=TrialState.FAIL)
    # seeded, and shifted by the trials already run, so a rerun draws new settings
    study.sampler = optuna.samplers.TPESampler(seed=seed + len(study.trials))
    return study


def run_trial(trial: Any, settings: dict[str, Any], space: dict[str, Param], out: Path) -> float:
    """Train one trial's settings into its own folder; its objective is the saved model's dev F1."""
    from nerkit.training.train import train

    drawn = {name: param.suggest(trial) for name, param in space.items()}
    folder = out / TRIALS_FOLDER / f"trial-{trial.number:03d}"
    trial_settings = {**settings, **drawn, "output_dir": str(folder), "resume": False}
    if not trial_settings.get("context", TrainConfig.context):
        trial_settings.pop("context_dropout", None)  # no context: nothing to drop
    config = TrainConfig.from_settings(trial_settings, f"trial {trial.number}")
    config.check()
    trial.set_user_attr("settings", json.loads(json.dumps(asdict(config), default=str)))
    trial.set_user_attr("folder", str(folder))
    results = train(config, callbacks=[PruningCallback(trial)])
    trial.set_user_attr("test_f1", results.get("test_f1"))
    trial.set_user_attr("seconds", results.get("train_seconds"))
    return float(results["dev_f1"])


def keep_best_model(study: Any, out: Path) -> None:
    """Remove every trial folder but the best complete trial's."""
    best = best_trial(study)
    keep = best.user_attrs.get("folder") if best is not None else None
    trials_dir = out / TRIALS_FOLDER
    if not trials_dir.is_dir():
        return
    for folder in trials_dir.iterdir():
        if folder.is_dir() and str(folder) != keep:
            shutil.rmtree(folder, ignore_errors=True)


def best_trial(study: Any) -> Any:
    """The complete trial with the highest dev F1 (the first of equals), or None."""
    from optuna.trial import TrialState

    complete = [t for t in study.trials if t.state == TrialState.COMPLETE and t.value is not None]
    return max(complete, key=lambda t: t.value, default=None)


def trial_row(trial: Any) -> dict[str, Any]:
    """One trial as a row of the results table; a pruned trial's dev F1 is its last report."""
    value = trial.value
    if value is None and trial.intermediate_values:
        value = trial.intermediate_values[max(trial.intermediate_values)]
    duration = trial.duration.total_seconds() if trial.duration is not None else None
    return {
        "trial": trial.number,
        "state": trial.state.name.lower(),
        "dev_f1": value,
        "test_f1": trial.user_attrs.get("test_f1"),
        "seconds": round(duration, 1) if duration is not None else None,
        **trial.params,
    }


def write_results(study: Any, out: Path, base: TrainConfig) -> TuneResult:
    """Write ``trials.json``, ``trials.csv`` and ``best_config.json``; return what they hold."""
    rows = [trial_row(t) for t in study.trials]
    best = best_trial(study)
    best_config = best_model = None
    if best is not None:
        settings = dict(best.user_attrs["settings"])
        settings["output_dir"] = base.output_dir
        settings["extra"] = {**settings.get("extra", {}), "tune": {
            "study": str(out / STUDY_FILE), "trial": best.number, "dev_f1": best.value}}
        best_config = str(out / BEST_CONFIG)
        write_json(Path(best_config), settings)
        best_model = best.user_attrs.get("folder")
    result = TuneResult(rows, trial_row(best) if best is not None else None, best_model,
                        best_config, str(out / STUDY_FILE))
    write_json(out / "trials.json", result.as_dict())
    write_text(out / "trials.csv", rows_csv(rows))
    return result


def rows_csv(rows: list[dict[str, Any]]) -> str:
    """The results table as CSV: the fixed columns, then every searched setting's.

    >>> print(rows_csv([{"trial": 0, "state": "complete", "dev_f1": 81.5, "epochs": 3}]), end="")
    trial,state,dev_f1,epochs
    0,complete,81.5,3
    """
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    text = io.StringIO()
    writer = csv.DictWriter(text, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue()


def format_table(result: TuneResult) -> str:
    """The results table as text: F1 in percent with two decimals, best trial marked ``*``."""
    if not result.rows:
        return "no trials yet\n"
    params = sorted({k for row in result.rows for k in row} - set(FIXED_COLUMNS))
    head = ["", "trial", "state", "dev F1", "test F1", "seconds", *params]
    best = result.best["trial"] if result.best else None
    lines = [head]
    for row in result.rows:
        lines.append(["*" if row["trial"] == best else "", str(row["trial"]), row["state"],
                      _number(row["dev_f1"], ".2f"), _number(row["test_f1"], ".2f"),
                      _number(row["seconds"], ".1f"),
                      *(_number(row.get(p), ".3g") for p in params)])
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    return "".join(
        "  ".join(cell.rjust(w) for cell, w in zip(line, widths, strict=True)).rstrip() + "\n"
        for line in lines
    )


def _number(value: Any, spec: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and not math.isnan(value):
        return format(value, spec)
    return str(value)


def trial_line(study: Any, trial: Any, trials: int) -> str:
    """A log line for a finished trial: its state, dev F1 and settings, and the best so far."""
    row = trial_row(trial)
    best = best_trial(study)
    drawn = ", ".join(f"{k} {_number(v, '.3g')}" for k, v in trial.params.items())
    score = f"dev F1 {_number(row['dev_f1'], '.2f')}"
    leader = f"best {best.value:.2f} (trial {best.number})" if best is not None else "no best yet"
    return f"tune: trial {trial.number} ({len(study.trials)}/{trials}) {row['state']}: {score}; " \
           f"{leader}; {drawn}"
