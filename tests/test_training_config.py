"""TrainConfig: the settings, their checks, config files, and the ``nerkit train`` flags and
help that are built from its fields."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import asdict, fields, replace
from pathlib import Path

import pytest
from conftest import DATA

from nerkit.cli import build_parser, main
from nerkit.cli.train import config_from_args, default_text
from nerkit.errors import ConfigError
from nerkit.training.config import DECODINGS, TrainConfig

SRC = Path(__file__).parents[1] / "src"

# every flag `nerkit train` had before its flags were generated from TrainConfig
FLAGS_BEFORE = [
    "--model", "--data", "--train", "--dev", "--test", "--data-dir", "--output-dir", "--config",
    "--max-length", "--batch-size", "--epochs", "--learning-rate", "--lr", "--head-learning-rate",
    "--warmup-ratio", "--layer-lr-decay", "--weight-decay", "--scheduler", "--sampling",
    "--freeze-embeddings", "--encoder-layers", "--seed", "--max-steps", "--limit-train",
    "--early-stopping", "--decoding", "--crf", "--context", "--context-dropout", "--layer-mix",
    "--resume", "--bf16", "--fp16", "--keep-checkpoints", "--json",
]
BASE = ["--model", "m", "--output-dir", "o"]


def train_parser() -> argparse.ArgumentParser:
    commands = next(a for a in build_parser()._actions if a.dest == "command")
    return commands.choices["train"]


def test_every_setting_has_its_flag_and_every_old_flag_stays() -> None:
    actions = {a.dest: a for a in train_parser()._actions}
    names = {f.name for f in fields(TrainConfig)}
    # `extra` holds free-form notes: a config-file setting, not a flag
    assert names - set(actions) == {"extra"}
    assert set(actions) - names == {"help", "config", "print_config", "json", "quiet"}
    options = {o for a in actions.values() for o in a.option_strings}
    assert set(FLAGS_BEFORE) <= options
    assert actions["learning_rate"].option_strings == ["--learning-rate", "--lr"]
    assert list(actions["sampling"].choices) == ["random", "group_by_length"]
    assert list(actions["decoding"].choices) == ["viterbi", "argmax"]


def test_help_prints_the_defaults_of_train_config(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--help"])
    assert exit_info.value.code == 0
    printed = " ".join(capsys.readouterr().out.split())
    actions = {a.dest: a for a in train_parser()._actions}
    shown = 0
    for setting in fields(TrainConfig):
        if setting.name not in actions:
            continue
        expected = default_text(setting)
        help_text = actions[setting.name].help.replace("%%", "%")
        assert help_text.endswith(expected), setting.name
        assert " ".join(help_text.split()) in printed, setting.name
        shown += bool(expected)
    assert shown >= 25
    for text in ("passes over the training data (default 5)",
                 "the encoder's peak learning rate (default 0.0001)",
                 "(default group_by_length)", "(default auto)", "(default 32)", "(default off)"):
        assert text in printed


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([*BASE, "--data", "conll2002-es"], {"data": "conll2002-es"}),
        ([*BASE, "--train", "a", "--dev", "b", "--test", "c", "--data-dir", "d", "--max-length",
          "64", "--batch-size", "8", "--epochs", "2.5"],
         {"train": "a", "dev": "b", "test": "c", "data_dir": "d", "max_length": 64,
          "batch_size": 8, "epochs": 2.5}),
        ([*BASE, "--data", "conll2002-nl", "--lr", "3e-5", "--head-learning-rate", "1e-2",
          "--warmup-ratio", "0.2", "--layer-lr-decay", "0.9", "--weight-decay", "0.01",
          "--scheduler", "cosine", "--sampling", "random"],
         {"data": "conll2002-nl", "learning_rate": 3e-5, "head_learning_rate": 1e-2,
          "warmup_ratio": 0.2, "layer_lr_decay": 0.9, "weight_decay": 0.01,
          "scheduler": "cosine", "sampling": "random"}),
        ([*BASE, "--data", "conll2002-es", "--learning-rate", "5e-5", "--freeze-embeddings",
          "--encoder-layers", "all", "--seed", "7", "--max-steps", "10", "--limit-train", "100",
          "--early-stopping", "2"],
         {"data": "conll2002-es", "learning_rate": 5e-5, "freeze_embeddings": True,
          "encoder_layers": "all", "seed": 7, "max_steps": 10, "limit_train": 100,
          "early_stopping": 2}),
        ([*BASE, "--data", "conll2002-es", "--decoding", "argmax", "--crf", "--context", "0",
          "--layer-mix", "--resume", "--bf16", "--fp16", "--keep-checkpoints"],
         {"data": "conll2002-es", "decoding": "argmax", "crf": True, "context": 0,
          "context_dropout": 0.0, "layer_mix": True, "resume": True, "bf16": True,
          "fp16": True, "keep_checkpoints": True}),
        ([*BASE, "--data", "conll2002-es", "--encoder-layers", "6", "--context", "16",
          "--context-dropout", "0.25", "--eval-batch-size", "16", "--logging-steps", "5"],
         {"data": "conll2002-es", "encoder_layers": "6", "context": 16, "context_dropout": 0.25,
          "eval_batch_size": 16, "logging_steps": 5}),
    ],
)
def test_command_lines_give_the_same_config_as_before(argv: list[str], expected: dict) -> None:
    """What each command line gave before the flags were generated (checked against the old
    parser when they were): the flags given, TrainConfig's defaults for the rest."""
    config = config_from_args(build_parser().parse_args(["train", *argv]))
    assert asdict(config) == asdict(TrainConfig(model="m", output_dir="o", **expected))


def test_flags_override_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"learning_rate": 3e-4, "epochs": 1, "crf": True}))
    args = build_parser().parse_args(["train", *BASE, "--config", str(path), "--lr", "2e-5"])
    config = config_from_args(args)
    assert (config.learning_rate, config.epochs, config.crf) == (2e-5, 1, True)
    assert config.batch_size == TrainConfig.batch_size  # neither file nor flag: the default


def test_train_help_imports_neither_torch_nor_transformers() -> None:
    code = (
        "import sys\n"
        "from nerkit.cli import main\n"
        "try:\n    main(['train', '--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'transformers', "
        "'numpy'})\n"
        "print('HEAVY', heavy)\n"
    )
    paths = [str(SRC), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True).stdout
    assert "--learning-rate" in out
    assert out.strip().endswith("HEAVY []")


def test_decodings_match_the_decoder() -> None:
    from nerkit.tagging.decode import DECODINGS as DECODER_DECODINGS

    assert DECODINGS == DECODER_DECODINGS


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"model": ""}, "no model given"),
        ({"train": None}, "no data given"),
        ({"data": "conll2099", "train": None}, "unknown corpus"),
        ({"batch_size": 0}, "batch_size must be at least 1"),
        ({"learning_rate": -1.0}, "learning_rate must be positive"),
        ({"sampling": "shuffled"}, "sampling must be"),
        ({"context": -2}, "context must be 0 or more"),
        ({"context": 8, "context_dropout": 1.0}, "context_dropout must be in"),
        ({"decoding": "beam"}, "decoding must be viterbi or argmax"),
    ],
)
def test_bad_settings(tmp_path: Path, changes: dict, message: str) -> None:
    base = {"model": "x", "output_dir": str(tmp_path), "train": str(DATA / "tiny.train")}
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**{**base, **changes}).check()


def test_context_defaults_and_context_off(tmp_path: Path) -> None:
    """Context 32 with dropout 0.5 by default; context 0 turns both off, but a dropout share
    asked for with context 0 (flag or config file) is a contradiction and refused."""
    base = {"model": "x", "output_dir": str(tmp_path), "train": str(DATA / "tiny.train")}
    assert (TrainConfig(**base).context, TrainConfig(**base).context_dropout) == (32, 0.5)
    off = TrainConfig.from_settings({**base, "context": 0})
    assert (off.context, off.context_dropout) == (0, 0.0)
    with pytest.raises(ConfigError, match="context_dropout needs context"):
        TrainConfig.from_settings({**base, "context": 0, "context_dropout": 0.3})
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"context": 0, "context_dropout": 0.3}))
    with pytest.raises(ConfigError, match="context_dropout needs context"):
        TrainConfig.from_file(path)
    assert TrainConfig.from_file(path, context=16).context_dropout == 0.3


def test_config_file(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"learning_rate": 1e-4, "epochs": 1}))
    config = TrainConfig.from_file(path, learning_rate=3e-5)
    assert (config.learning_rate, config.epochs) == (3e-5, 1)
    path.write_text(json.dumps({"learning_rat": 1e-4}))
    with pytest.raises(ConfigError, match="unknown settings learning_rat"):
        TrainConfig.from_file(path)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"epochs": "three"}, 'epochs must be a number, not "three"'),
        ({"crf": 1}, "crf must be true or false, not 1"),
        ({"batch_size": 8.5}, "batch_size must be an integer, not 8.5"),
        ({"context": True}, "context must be an integer, not true"),
        ({"head_learning_rate": "fast"}, "head_learning_rate must be a number or null"),
        ([1, 2], "expected a JSON object of settings, found list"),
    ],
)
def test_config_file_values_of_the_wrong_type(
    tmp_path: Path, settings: object, message: str
) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps(settings))
    with pytest.raises(ConfigError, match="c.json: ") as error:
        TrainConfig.from_file(path)
    assert message in str(error.value)


def test_config_file_error_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"epochs": "three"}))
    code = main(["train", *BASE, "--train", str(DATA / "tiny.train"), "--config", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "epochs must be a number" in err, err
    assert TrainConfig.from_file(path, epochs=2.0).epochs == 2.0  # a flag replaces the value


def print_config(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    """What ``nerkit train ... --print-config`` prints, parsed: it must be JSON alone."""
    assert main(["train", *argv, "--print-config"]) == 0
    out = capsys.readouterr().out
    return json.loads(out)


def test_print_config_is_defaults_then_file_then_flags(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"epochs": 5, "learning_rate": 3e-4, "crf": True}))
    printed = print_config(capsys, *BASE, "--data", "conll2002-es", "--config", str(path),
                           "--lr", "2e-5")
    expected = TrainConfig(model="m", output_dir="o", data="conll2002-es", epochs=5,
                           learning_rate=2e-5, crf=True)
    assert printed == asdict(expected)
    assert list(printed) == [f.name for f in fields(TrainConfig)]  # every setting, in order


def test_printed_config_round_trips(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """What --print-config prints, given back to --config, gives the same settings (and
    prints the same text again)."""
    first = print_config(capsys, *BASE, "--train", "t.conll", "--dev", "d.conll", "--context",
                         "0", "--encoder-layers", "6", "--head-learning-rate", "2e-3",
                         "--report-to", "none", "--epochs", "2.5")
    path = tmp_path / "printed.json"
    path.write_text(json.dumps(first))
    assert print_config(capsys, "--config", str(path)) == first
    config = TrainConfig.from_file(path)
    assert config == TrainConfig.from_settings(first)
    assert (config.context, config.context_dropout, config.encoder_layers) == (0, 0.0, "6")


def test_recorded_run_round_trips(tiny_model: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A run's training_args.json is accepted back by --config and gives the TrainConfig the
    run was trained with (its "nerkit" part; the Trainer's part is derived and ignored)."""
    recorded = tiny_model / "training_args.json"
    settings = json.loads(recorded.read_text())["nerkit"]
    config = TrainConfig.from_file(recorded)
    assert config == TrainConfig(**settings)
    assert asdict(config) == settings
    assert print_config(capsys, "--config", str(recorded)) == settings
    # a flag still wins over the recorded value
    assert TrainConfig.from_file(recorded, epochs=7.0).epochs == 7.0


def test_recorded_file_with_other_keys_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"nerkit": {"epochs": 2}, "transformers": {}, "note": 1}))
    with pytest.raises(ConfigError, match="unknown settings nerkit, note, transformers"):
        TrainConfig.from_file(path)


@pytest.mark.parametrize(
    ("report_to", "message"),
    [
        ("tensorbord", "unknown tracker 'tensorbord'; choose from tensorboard, mlflow, wandb"),
        ("none,tensorboard", "none means no tracker"),
        ("", "report_to is empty"),
    ],
)
def test_bad_trackers(tmp_path: Path, report_to: str, message: str) -> None:
    base = {"model": "x", "output_dir": str(tmp_path), "train": str(DATA / "tiny.train")}
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**base, report_to=report_to).check()


def test_a_tracker_without_its_package_is_refused_before_training(tmp_path: Path) -> None:
    import importlib.util

    base = {"model": "x", "output_dir": str(tmp_path), "train": str(DATA / "tiny.train")}
    for name in ("mlflow", "wandb"):
        config = TrainConfig(**base, report_to=f"tensorboard,{name}")
        if importlib.util.find_spec(name) is None:
            with pytest.raises(ConfigError, match=f"needs the {name} package: pip install"):
                config.check()
        else:
            config.check()


def test_report_to_reaches_the_trainer(tmp_path: Path) -> None:
    """TensorBoard is nerkit's own callback, writing into DIR/runs; the other trackers go to
    the Trainer's report_to; none: no tracker at all."""
    from transformers.integrations import TensorBoardCallback

    from nerkit.training.trainer import tracker_callbacks, training_arguments

    config = TrainConfig(model="m", output_dir="o", data="conll2002-es")
    args = training_arguments(config, tmp_path / "checkpoints", has_dev=True)
    assert args.report_to == []
    (callback,) = tracker_callbacks(config, tmp_path)
    assert isinstance(callback, TensorBoardCallback)
    assert Path(callback.tb_writer.log_dir) == tmp_path / "runs"
    callback.tb_writer.close()
    both = TrainConfig(model="m", output_dir="o", data="conll2002-es",
                       report_to="tensorboard, mlflow")
    assert training_arguments(both, tmp_path, has_dev=True).report_to == ["mlflow"]
    assert training_arguments(replace(config, report_to="wandb"), tmp_path, True).report_to == [
        "wandb"]
    none = replace(config, report_to="none")
    assert training_arguments(none, tmp_path, has_dev=True).report_to == []
    assert tracker_callbacks(none, tmp_path) == []
