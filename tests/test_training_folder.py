"""The output folder of a training run: refused, emptied, continued or published, never lost."""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import pytest
from conftest import DATA

from nerkit.cli import main
from nerkit.errors import ConfigError
from nerkit.training import run_folder
from nerkit.training.config import TrainConfig
from nerkit.training.run_folder import (
    last_complete_checkpoint,
    open_run_folder,
    publish,
    run_settings,
)
from nerkit.training.train import train


def settings(out: Path, model: str = "encoder", **changes: object) -> TrainConfig:
    changes = {"max_steps": 2, **changes}
    config = TrainConfig(model=model, output_dir=str(out), train=str(DATA / "tiny.train"),
                         **changes)  # type: ignore[arg-type]
    config.check()
    return config


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_the_encoder_folder_is_never_the_output(tmp_path: Path) -> None:
    encoder = tmp_path / "enc"
    encoder.mkdir()
    (encoder / "config.json").write_text("{}")
    for out, message in ((encoder, "is the encoder folder"),
                         (encoder / "ft", "is inside the encoder folder"),
                         (tmp_path, "holds the encoder folder")):
        with pytest.raises(ConfigError, match=message):
            open_run_folder(settings(out, model=str(encoder), overwrite=True))
    with pytest.raises(ConfigError, match="holds the --train data"):
        open_run_folder(settings(DATA, overwrite=True))
    assert tree(encoder) == {"config.json": b"{}"}


def test_unwritable_output_is_one_line_before_anything_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The data file does not exist: the output folder is refused first."""
    afile = tmp_path / "file"
    afile.write_text("x")
    cases = [("/proc/nerkit-model", "cannot write there"),
             (str(afile / "model"), f"is under {afile}, which is a file"),
             (str(afile), "is a file, not a folder")]
    for out, message in cases:
        code = main(["train", "--model", "m", "--train", str(tmp_path / "missing.txt"),
                     "--output-dir", out])
        err = capsys.readouterr().err
        assert code == 2
        assert err.startswith("nerkit: error: --output-dir") and err.count("\n") == 1, err
        assert message in err


def test_a_finished_model_needs_overwrite_which_replaces_it_cleanly(
    tmp_path: Path, tiny_model: Path, tiny_encoder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "m"
    shutil.copytree(tiny_model, out)
    before = tree(out)
    config = TrainConfig(model=str(tiny_encoder), output_dir=str(out),
                         train=str(DATA / "tiny.train"), max_steps=1, batch_size=2,
                         max_length=16, encoder_layers="all")
    with pytest.raises(ConfigError, match="already holds a model; pass --overwrite"):
        train(config)
    assert tree(out) == before, "a refused run touches nothing"
    config.overwrite = True
    with caplog.at_level(logging.WARNING, logger="nerkit"):
        results = train(config)
    assert "--overwrite: removing the" in caplog.text
    names = {p.name for p in out.iterdir()}
    # trained without dev and test: no report of the older model is left beside the new one
    assert not names & {"dev_results.json", "dev_predictions.txt", "test_results.json",
                        "test_predictions.txt", "checkpoints"}
    assert "dev_f1" not in results
    assert json.loads((out / "training_args.json").read_text())["nerkit"]["max_steps"] == 1


def test_overwrite_only_replaces_nerkit_folders(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="already holds files \\(notes.txt\\)"):
        open_run_folder(settings(tmp_path))
    with pytest.raises(ConfigError, match="only replaces its own folders"):
        open_run_folder(settings(tmp_path, overwrite=True))
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_an_unfinished_run_of_the_same_settings_starts_over(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "m"
    open_run_folder(settings(out))
    (out / "runs").mkdir()
    (out / "runs" / "events").write_text("old")
    # leftovers of a killed run: its final folder half built, a report half written
    (out / ".saving-x1y2").mkdir()
    (out / ".saving-x1y2" / "model.safetensors").write_text("half")
    (out / ".eval_results.json.tmp").write_text("{")
    (out / "checkpoints" / ".run_settings.json.tmp").write_text("{")
    with caplog.at_level(logging.INFO, logger="nerkit"):
        folder = open_run_folder(settings(out))
    assert "removed what an interrupted run left" in caplog.text
    assert "unfinished run of these same settings without a checkpoint; starting it over" in (
        caplog.text)
    assert not folder.resume
    assert sorted(tree(out)) == ["checkpoints/run_settings.json"]
    with pytest.raises(ConfigError, match="unfinished run of other settings \\(max_steps 2 -> 3\\)"
                       ".*--resume to continue"):
        open_run_folder(settings(out, max_steps=3))
    assert json.loads((out / "checkpoints" / "run_settings.json").read_text()) == run_settings(
        settings(out))


def test_the_same_command_again_continues_an_unfinished_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A crashed run started again as it was (or restarted by torchrun) goes on from its last
    complete checkpoint; --overwrite starts it over; both flags at once are refused."""
    out = tmp_path / "m"
    open_run_folder(settings(out))
    checkpoint = fake_checkpoint(out / "checkpoints", 3)
    with caplog.at_level(logging.WARNING, logger="nerkit"):
        assert open_run_folder(settings(out)).checkpoint == str(checkpoint)
    assert "unfinished run of these same settings: continuing checkpoint-3" in caplog.text
    assert open_run_folder(settings(out, overwrite=True)).checkpoint is None
    assert not checkpoint.exists()
    with pytest.raises(ConfigError, match="pass one of them"):
        settings(out, overwrite=True, resume=True)


def fake_checkpoint(folder: Path, step: int, skip: str = "", state: str = "") -> Path:
    path = folder / f"checkpoint-{step}"
    path.mkdir(parents=True)
    for name in ("model.safetensors", "optimizer.pt", "scheduler.pt", "trainer_state.json"):
        if name != skip:
            (path / name).write_text("x")
    if skip != "trainer_state.json":
        (path / "trainer_state.json").write_text(state or json.dumps({"global_step": step}))
    return path


def test_the_newest_complete_checkpoint_is_continued(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    checkpoints = tmp_path / "checkpoints"
    complete = fake_checkpoint(checkpoints, 4)
    fake_checkpoint(checkpoints, 2)
    fake_checkpoint(checkpoints, 6, skip="optimizer.pt")
    fake_checkpoint(checkpoints, 8, state='{"global_st')
    fake_checkpoint(checkpoints, 10, skip="trainer_state.json")
    with caplog.at_level(logging.WARNING, logger="nerkit"):
        assert last_complete_checkpoint(checkpoints) == complete
    for step, problem in ((6, "no optimizer.pt"), (8, "trainer_state.json unreadable"),
                          (10, "no trainer_state.json")):
        assert f"checkpoint-{step} is incomplete ({problem})" in caplog.text
    assert sorted(p.name for p in checkpoints.iterdir()) == ["checkpoint-2", "checkpoint-4"]


def test_resume_skips_a_torn_checkpoint(
    tmp_path: Path, tiny_encoder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The reproduction of the issue: a kill while checkpoint-N was written left it without its
    trainer_state.json; --resume continues the one before."""
    out = tmp_path / "m"
    config = TrainConfig(model=str(tiny_encoder), output_dir=str(out),
                         train=str(DATA / "tiny.train"), dev=str(DATA / "tiny.dev"),
                         max_steps=4, save_steps=1, batch_size=2, max_length=16,
                         encoder_layers="all", keep_checkpoints=True)
    first = train(config)
    assert [e["step"] for e in first["log_history"] if "eval_f1" in e] == [1, 2, 3, 4]
    newest = out / "checkpoints" / "checkpoint-4"
    (newest / "trainer_state.json").unlink()
    kept = sorted(p.name for p in (out / "checkpoints").glob("checkpoint-*"))
    previous = kept[-2]
    config.max_steps, config.resume = 5, True
    with caplog.at_level(logging.INFO, logger="nerkit"):
        second = train(config)
    assert f"{newest} is incomplete (no {run_folder.TRAINER_STATE})" in caplog.text
    assert f"--resume: continuing {out / 'checkpoints' / previous}" in caplog.text
    assert max(e["step"] for e in second["log_history"]) == 5


def test_resume_without_a_checkpoint_never_replaces_a_finished_model(
    tmp_path: Path, tiny_model: Path, tiny_encoder: Path
) -> None:
    out = tmp_path / "m"
    shutil.copytree(tiny_model, out)
    with pytest.raises(ConfigError, match="holds a model and no checkpoint to continue"):
        open_run_folder(settings(out, model=str(tiny_encoder), resume=True))
    assert (out / "config.json").exists()


@pytest.mark.parametrize("kill_at", range(6))
def test_publish_never_leaves_a_folder_that_loads_half(
    tmp_path: Path, kill_at: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kill after any number of moves: either no config.json (nothing loads the folder) or the
    whole new model; an older model stops loading before any of its files is replaced."""
    target = tmp_path / "model"
    target.mkdir()
    for name in ("config.json", "model.safetensors", "nerkit.json", "dev_results.json"):
        (target / name).write_text("old")
    staging = target / ".saving-new"
    staging.mkdir()
    new = ("config.json", "model.safetensors", "nerkit.json", "tokenizer.json", "README.md")
    for name in new:
        (staging / name).write_text("new")
    moves = 0
    real_replace = os.replace

    def replace(src: object, dst: object) -> None:
        nonlocal moves
        if moves == kill_at:
            raise KeyboardInterrupt  # the kill
        moves += 1
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(run_folder.os, "replace", replace)
    try:
        publish(staging, target)
    except KeyboardInterrupt:
        assert kill_at < len(new)
    else:
        assert kill_at >= len(new)
    files = {p.name: p.read_text() for p in target.iterdir() if p.is_file()}
    assert "dev_results.json" not in files, "the older model's report is gone"
    if "config.json" in files:
        assert {files[n] for n in new} == {"new"} and not staging.exists()
