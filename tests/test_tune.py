"""``nerkit tune``: the search space, pruning, the study kept on disk, the results and the best
config, which ``nerkit train --config`` reruns."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import DATA

from nerkit.cli import main
from nerkit.errors import ConfigError
from nerkit.training.tune import (
    BEST_CONFIG,
    STUDY_FILE,
    PruningCallback,
    parse_search,
    read_tune_config,
    tune,
)

optuna = pytest.importorskip("optuna")

SEARCH = {
    "learning_rate": {"low": 1e-4, "high": 3e-3, "log": True},
    "context": {"low": 0, "high": 8, "step": 4},
    "encoder_layers": [1, "all"],
}


def tune_file(tmp_path: Path, tiny_encoder: Path) -> Path:
    """A tune config: the tiny model, two epochs (an evaluation each), three settings searched."""
    path = tmp_path / "tune.json"
    path.write_text(json.dumps({
        "model": str(tiny_encoder), "train": str(DATA / "tiny.train"),
        "dev": str(DATA / "tiny.dev"), "test": str(DATA / "tiny.test"), "epochs": 2,
        "batch_size": 2, "max_length": 16, "report_to": "none", "search": SEARCH,
    }))
    return path


class PruneTrialOne(optuna.pruners.BasePruner):
    """A pruning rule (a real Optuna pruner) that stops trial 1 at its first evaluation."""

    def prune(self, study: Any, trial: Any) -> bool:
        return trial.number == 1


def test_three_trials_best_config_trains(
    tmp_path: Path, tiny_encoder: Path, capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings, space = read_tune_config(tune_file(tmp_path, tiny_encoder))
    out = tmp_path / "study"
    result = tune(settings, space, out, trials=3, pruner=PruneTrialOne())
    states = [row["state"] for row in result.rows]
    assert states == ["complete", "pruned", "complete"]
    assert result.rows[1]["dev_f1"] is not None  # the F1 it was pruned at
    for row in result.rows:
        assert 1e-4 <= row["learning_rate"] <= 3e-3 and row["context"] in (0, 4, 8)
        assert row["encoder_layers"] in (1, "all")
    # only the best trial's model is kept
    best = result.best
    assert best is not None and best["state"] == "complete"
    kept = sorted(p.name for p in (out / "trials").iterdir())
    assert kept == [f"trial-{best['trial']:03d}"] and result.best_model == str(out / "trials" /
                                                                                 kept[0])
    assert (Path(result.best_model) / "model.safetensors").exists()
    # the table, as JSON and CSV
    saved = json.loads((out / "trials.json").read_text())
    assert saved["rows"] == json.loads(json.dumps(result.rows))
    with (out / "trials.csv").open(newline="") as f:
        table = list(csv.DictReader(f))
    assert [r["state"] for r in table] == states and "learning_rate" in table[0]
    # the best config is a train config with the best trial's settings
    best_config = json.loads((out / BEST_CONFIG).read_text())
    for name in SEARCH:
        drawn = best[name] if best[name] != "all" else None  # "all" is recorded as null
        assert best_config[name] == drawn, name
    assert best_config["output_dir"] == str(out / "best")
    assert best_config["extra"]["tune"]["trial"] == best["trial"]
    # ... and nerkit train reruns it: same settings, same training
    assert main(["train", "--config", str(out / BEST_CONFIG), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    recorded = json.loads((out / "best" / "training_args.json").read_text())["nerkit"]
    assert recorded == best_config
    assert summary["dev_f1"] == pytest.approx(best["dev_f1"])
    first = json.loads((Path(result.best_model) / "eval_results.json").read_text())
    again = json.loads((out / "best" / "eval_results.json").read_text())
    assert again["train_loss"] == pytest.approx(first["train_loss"], rel=1e-4)

    # a rerun continues the study: a trial left running is marked failed, one more is run
    study = optuna.load_study(study_name="nerkit-tune", storage=f"sqlite:///{out / STUDY_FILE}")
    study.ask()  # as an interrupted run leaves it
    code = main(["tune", "--config", str(tmp_path / "tune.json"), "--output-dir", str(out),
                 "--trials", "4", "--json", "--quiet"])
    out_text = capsys.readouterr().out
    assert code == 0
    rerun = json.loads(out_text)
    assert [row["state"] for row in rerun["rows"]] == [*states, "fail", rerun["rows"][4]["state"]]
    assert rerun["rows"][4]["state"] in ("complete", "pruned")
    assert rerun["rows"][:3] == saved["rows"]
    assert "trial 3 was left running by an interrupted run; marked failed" in caplog.text
    assert len(list((out / "trials").iterdir())) == 1


def test_pruning_callback_reports_each_evaluation_and_prunes() -> None:
    study = optuna.create_study(direction="maximize",
                                pruner=optuna.pruners.ThresholdPruner(lower=50.0))
    trial = study.ask()
    callback = PruningCallback(trial)
    callback.on_evaluate(None, None, None, metrics={"eval_f1": 60.0})
    with pytest.raises(optuna.TrialPruned, match="dev F1 40.00 at evaluation 2"):
        callback.on_evaluate(None, None, None, metrics={"eval_f1": 40.0})
    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    assert study.trials[0].intermediate_values == {1: 60.0, 2: 40.0}


def test_search_space_ranges_and_choices() -> None:
    space = parse_search(
        {"learning_rate": {"low": 1e-5, "high": 3e-4, "log": True}, "epochs": [2, 3],
         "context": {"low": 0, "high": 64, "step": 16}, "warmup_ratio": {"low": 0, "high": 0.2},
         "encoder_layers": [6, 8, "all"]}, "t.json")
    assert space["learning_rate"].log and not space["learning_rate"].integer
    assert space["context"].integer and space["context"].step == 16
    assert not space["warmup_ratio"].integer  # a float setting with integer bounds
    assert space["epochs"].choices == (2, 3)
    study = optuna.create_study()
    trial = study.ask()
    drawn = {name: param.suggest(trial) for name, param in space.items()}
    assert 1e-5 <= drawn["learning_rate"] <= 3e-4 and drawn["context"] % 16 == 0
    assert drawn["encoder_layers"] in (6, 8, "all")


@pytest.mark.parametrize(
    ("search", "message"),
    [
        ({}, '"search" must be an object'),
        ({"learning_rat": [1e-4]}, "search.learning_rat: not a setting that can be searched"),
        ({"output_dir": ["a", "b"]}, "search.output_dir: not a setting that can be searched"),
        ({"epochs": []}, "search.epochs: the list of values is empty"),
        ({"epochs": ["two"]}, 'epochs must be a number, not "two"'),
        ({"epochs": 3}, 'give a list of values or a range {"low": ..., "high": ...}'),
        ({"learning_rate": {"low": 3e-4, "high": 1e-5}}, "low (0.0003) must be below high"),
        ({"learning_rate": {"low": 0, "high": 1e-3, "log": True}}, "a log range needs low > 0"),
        ({"learning_rate": {"low": 1e-5, "high": 1e-3, "lg": True}}, "unknown keys lg"),
        ({"context": {"low": 0, "high": 32.5}}, "context takes whole numbers"),
        ({"scheduler": {"low": 0, "high": 1}}, "scheduler is not a number"),
        ({"crf": {"low": 0, "high": 1}}, "crf is not a number"),
    ],
)
def test_bad_search_spaces(search: dict, message: str) -> None:
    with pytest.raises(ConfigError, match="t.json: ") as error:
        parse_search(search, "t.json")
    assert message in str(error.value)


def test_tune_config_errors_are_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tiny_encoder: Path
) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"model": str(tiny_encoder), "train": str(DATA / "tiny.train")}))
    code = main(["tune", "--config", str(path), "--output-dir", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and 'no "search" object' in err, err
    path.write_text(json.dumps({"model": str(tiny_encoder), "train": str(DATA / "tiny.train"),
                                "search": {"epochs": [1, 2]}}))
    code = main(["tune", "--config", str(path), "--output-dir", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "no dev split" in err, err
    assert not (tmp_path / "o").exists()  # refused before anything was written
