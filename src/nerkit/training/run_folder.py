"""The output folder of a training run: what may be written there, and what is continued.

A run never destroys what the user did not ask to lose, and a kill at any moment leaves a folder
that the next run either continues or refuses with a clear line:

- ``--output-dir`` may not be the encoder folder, lie inside it, or hold it or the training data;
  it must be a folder this process can write (checked before any data or model is loaded);
- a non-empty folder is only reused when it is an unfinished run of the same settings (continued
  from its last complete checkpoint, as after a crash or a ``torchrun`` restart; started over
  when it has none), with ``--resume`` (continued, even with changed settings) or with
  ``--overwrite`` (emptied first, ``config.json`` first so that a half-emptied folder never loads
  as a model);
- leftovers of a killed run (``.saving-*`` folders, ``*.tmp`` files) are removed, and so is a
  checkpoint torn by a kill during its write; ``--resume`` continues the newest complete one;
- the finished model folder is built beside the target and moved in with ``config.json`` last
  (:func:`publish`): without it no tool loads the folder, so a folder that loads is whole.

The settings of the run are recorded in ``checkpoints/run_settings.json`` when it starts.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from nerkit.errors import ConfigError
from nerkit.training.config import TrainConfig

logger = logging.getLogger("nerkit")

CHECKPOINTS = "checkpoints"
RUN_FILE = "run_settings.json"
# written last by the Trainer into each checkpoint: its presence means the rest was written
# the training weights of a run with --ema-decay, beside the averaged ones in a checkpoint's
# model file (nerkit.training.averaging writes it): the optimizer's state belongs to them
TRAINING_WEIGHTS = "nerkit_training_weights.safetensors"
TRAINER_STATE = "trainer_state.json"
WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
           "pytorch_model.bin.index.json")
# the file without which nothing loads a folder as a model: removed first, published last
MODEL_CONFIG = "config.json"
# reports a finished run writes beside its model (a later run that writes fewer removes these)
REPORTS = ("dev_results.json", "dev_predictions.txt", "test_results.json", "test_predictions.txt")
# names that mark a folder as a model or a run, which --overwrite may empty
MODEL_MARKS = (MODEL_CONFIG, "nerkit.json", CHECKPOINTS, "runs", "eval_results.json",
               "training_args.json", *WEIGHTS)
# settings that change nothing a run computes
NEUTRAL = ("resume", "overwrite", "keep_checkpoints", "logging_steps")


@dataclass(frozen=True)
class RunFolder:
    """The output folder of a run and, on ``--resume``, the checkpoint it continues."""

    path: Path
    checkpoint: str | None = None  # the newest complete checkpoint, continued on --resume

    @property
    def resume(self) -> bool:
        return self.checkpoint is not None

    @property
    def checkpoints(self) -> Path:
        return self.path / CHECKPOINTS


def open_run_folder(config: TrainConfig) -> RunFolder:
    """Check ``config.output_dir`` and make it ready for the run (see the module docstring)."""
    path = Path(config.output_dir)
    check_not_an_input(config, path)
    check_writable(path)
    remove_leftovers(path)
    settings = run_settings(config)
    checkpoint = None
    same_run = recorded_settings(path) == settings and not (path / MODEL_CONFIG).exists()
    if config.resume or (same_run and not config.overwrite):
        # what the checkpoints hold depends on the settings they were trained with
        before = recorded_settings(path) or {}
        checkpoint = last_complete_checkpoint(path / CHECKPOINTS,
                                               averaged=bool(before.get("ema_decay")))
        check_averaging(checkpoint, config)
        if checkpoint is None and config.resume:
            logger.warning("--resume: no complete checkpoint in %s; starting from scratch",
                           path / CHECKPOINTS)
        elif checkpoint is not None and config.resume:
            warn_changed_settings(path, settings)
        elif checkpoint is not None:
            # the same command run again after a crash (or a torchrun restart): go on
            logger.warning("%s holds an unfinished run of these same settings: continuing %s "
                           "(--overwrite starts it over)", path, checkpoint.name)
    if checkpoint is None:
        make_room(path, config, settings)
    write_run_settings(path, settings)
    return RunFolder(path, str(checkpoint) if checkpoint else None)


def check_not_an_input(config: TrainConfig, path: Path) -> None:
    """Refuse an output folder that is the encoder folder, lies inside it, or holds an input."""
    out = path.expanduser().resolve()
    model = Path(config.model).expanduser()
    if config.model and model.exists():
        encoder = model.resolve()
        if out == encoder or encoder in out.parents:
            raise ConfigError(
                f"--output-dir {path} is {'the' if out == encoder else 'inside the'} encoder "
                f"folder {config.model}: training would overwrite the encoder; choose another "
                "folder"
            )
        if out in encoder.parents:
            raise ConfigError(f"--output-dir {path} holds the encoder folder {config.model}; "
                              "choose a folder of its own for the trained model")
    for name in ("train", "dev", "test", "data_dir"):
        given = getattr(config, name)
        if given and Path(given).exists():
            data = Path(given).expanduser().resolve()
            if out == data or out in data.parents:
                raise ConfigError(f"--output-dir {path} holds the --{name.replace('_', '-')} "
                                  f"data {given}; choose a folder of its own for the model")


def check_writable(path: Path) -> None:
    """Create ``path`` if needed and write a file in it, or refuse with a one-line error."""
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        where = "is" if existing == path else f"is under {existing}, which is"
        raise ConfigError(f"--output-dir {path} {where} a file, not a folder; "
                          "choose a folder path")
    try:
        path.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=".write-test-", suffix=".tmp", dir=path)
        os.close(handle)
        os.unlink(probe)
    except OSError as err:
        raise ConfigError(f"--output-dir {path}: cannot write there ({err.strerror or err}); "
                          "choose a folder you can write to") from None


def leftovers(folder: Path) -> list[Path]:
    """What killed runs leave in ``folder``: the hidden ``.saving-*`` folders and ``.*.tmp``
    files and folders nerkit writes before a rename (nothing a user names so is touched)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name.startswith(".")
                  and (p.name.startswith(".saving-") or p.name.endswith(".tmp")))


def remove_leftovers(path: Path) -> None:
    """Remove the leftovers of killed runs from the folder and its checkpoints folder."""
    found = leftovers(path) + leftovers(path / CHECKPOINTS)
    for item in found:
        remove(item)
    if found:
        logger.info("removed what an interrupted run left in %s: %s", path,
                    ", ".join(str(p.relative_to(path)) for p in found))


def remove(item: Path) -> None:
    """Delete a file or a folder (a missing one is fine)."""
    if item.is_dir() and not item.is_symlink():
        shutil.rmtree(item, ignore_errors=True)
    else:
        item.unlink(missing_ok=True)


def discard(item: Path) -> None:
    """Delete a folder by first renaming it to a ``.tmp`` name (one atomic step), so that a kill
    while deleting leaves a leftover the next run removes, not a half folder under its name."""
    if not item.exists():
        return
    hidden = Path(tempfile.mkdtemp(prefix=f".{item.name}-", suffix=".tmp", dir=item.parent))
    os.replace(item, hidden / item.name)
    shutil.rmtree(hidden, ignore_errors=True)


def checkpoint_problem(folder: Path, averaged: bool = False) -> str | None:
    """Why a checkpoint folder cannot be continued (a kill during its write), or None.

    ``averaged``: the run keeps a moving average of its weights (``--ema-decay``), so its
    checkpoints hold the average as their model and need the training weights beside it.
    """
    state = folder / TRAINER_STATE
    if not state.is_file():
        return f"no {TRAINER_STATE}"
    try:
        json.loads(state.read_text(encoding="utf-8"))["global_step"]
    except (OSError, ValueError, KeyError, TypeError):
        return f"{TRAINER_STATE} unreadable"
    if not any((folder / name).is_file() for name in WEIGHTS):
        return "no model weights"
    for name in ("optimizer.pt", "scheduler.pt", *([TRAINING_WEIGHTS] if averaged else [])):
        if not (folder / name).is_file():
            return f"no {name}"
    return None


def check_averaging(checkpoint: Path | None, config: TrainConfig) -> None:
    """Refuse to resume a run trained with ``--ema-decay`` without it: its checkpoints hold the
    average as their model, which the optimizer's state does not belong to."""
    if checkpoint is not None and (checkpoint / TRAINING_WEIGHTS).exists() and not config.ema_decay:
        raise ConfigError(
            f"{checkpoint} was trained with --ema-decay (its model is the moving average); "
            "resume it with the same --ema-decay, or start over with --overwrite"
        )


def checkpoint_step(folder: Path) -> int:
    """The step number in a ``checkpoint-N`` folder name (-1 for another name)."""
    number = folder.name.removeprefix("checkpoint-")
    return int(number) if number.isdigit() else -1


def checkpoint_folders(checkpoints: Path) -> list[Path]:
    """The ``checkpoint-N`` folders in ``checkpoints``, oldest (lowest N) first."""
    return sorted((p for p in checkpoints.glob("checkpoint-*")
                   if p.is_dir() and checkpoint_step(p) >= 0), key=checkpoint_step)


def last_complete_checkpoint(checkpoints: Path, averaged: bool = False) -> Path | None:
    """The newest complete ``checkpoint-N`` folder; torn ones are named and removed
    (``averaged``: see :func:`checkpoint_problem`)."""
    if not checkpoints.is_dir():
        return None
    complete = None
    for folder in checkpoint_folders(checkpoints):
        problem = checkpoint_problem(folder, averaged)
        if problem is None:
            complete = folder
            continue
        logger.warning("%s is incomplete (%s): a run was killed while writing or deleting it; "
                       "skipped and removed", folder, problem)
        discard(folder)
    return complete


def run_settings(config: TrainConfig) -> dict[str, Any]:
    """The settings that make two runs the same run, as JSON values."""
    settings = json.loads(json.dumps(asdict(config), default=str))
    for name in NEUTRAL:
        settings.pop(name, None)
    return settings


def recorded_settings(path: Path) -> dict[str, Any] | None:
    """The settings recorded by the run that started in ``path``, or None."""
    try:
        return json.loads((path / CHECKPOINTS / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def changed(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """``name old -> new`` for each setting that differs."""
    return [f"{k} {old.get(k)!r} -> {new.get(k)!r}" for k in sorted(set(old) | set(new))
            if old.get(k) != new.get(k)]


def warn_changed_settings(path: Path, settings: dict[str, Any]) -> None:
    """On --resume, say which settings differ from those the run started with."""
    old = recorded_settings(path)
    if old is not None and (diff := changed(old, settings)):
        logger.warning("--resume: settings changed since the run started: %s", "; ".join(diff))


def make_room(path: Path, config: TrainConfig, settings: dict[str, Any]) -> None:
    """Empty a non-empty output folder when that is what the user asked for, else refuse."""
    contents = sorted(p.name for p in path.iterdir())
    if not contents:
        return
    finished = (path / MODEL_CONFIG).exists()
    old = recorded_settings(path)
    if not finished and old == settings:
        logger.warning("%s holds an unfinished run of these same settings%s; starting it over",
                       path, "" if config.overwrite else " without a checkpoint")
    elif not config.overwrite:
        if finished:
            what = "a model" + (" and no checkpoint to continue" if config.resume else "")
        elif old is not None:
            what = f"an unfinished run of other settings ({'; '.join(changed(old, settings)[:3])})"
        else:
            what = f"files ({listing(contents)})"
        resume = ", --resume to continue its last checkpoint" if old is not None else ""
        raise ConfigError(f"--output-dir {path} already holds {what}; pass --overwrite to "
                          f"replace it{resume}, or choose another folder")
    elif not any(name in MODEL_MARKS for name in contents):
        raise ConfigError(
            f"--overwrite: {path} holds files that are not a model or a training run "
            f"({listing(contents)}); nerkit only replaces its own folders; choose an empty or "
            "new --output-dir"
        )
    else:
        logger.warning("--overwrite: removing the %d entries of %s (%s) before training",
                       len(contents), path, "a model" if finished else "a training run")
    empty_folder(path)


def listing(names: list[str]) -> str:
    """The first few names of a folder's contents, for a message."""
    return ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")


def empty_folder(path: Path) -> None:
    """Remove everything in ``path``: ``config.json`` first (the folder stops loading as a model
    at once), ``nerkit.json`` last (a half-emptied folder is still known as nerkit's)."""
    order = {MODEL_CONFIG: 0, "nerkit.json": 2}
    for item in sorted(path.iterdir(), key=lambda p: order.get(p.name, 1)):
        remove(item)


def write_run_settings(path: Path, settings: dict[str, Any]) -> None:
    """Record the settings of the run starting in ``path`` (atomically)."""
    checkpoints = path / CHECKPOINTS
    checkpoints.mkdir(parents=True, exist_ok=True)
    tmp = checkpoints / f".{RUN_FILE}.tmp"
    tmp.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, checkpoints / RUN_FILE)


def publish(staging: Path, target: Path) -> None:
    """Move the finished model folder ``staging`` into ``target``, ``config.json`` last.

    An older model in ``target`` (a resumed run that had finished before) stops loading first:
    its ``config.json`` goes, then its reports that the new run does not write; a kill at any
    point leaves either a folder without ``config.json``, which nothing loads and ``--resume``
    finishes, or the whole new model.
    """
    (target / MODEL_CONFIG).unlink(missing_ok=True)
    for name in REPORTS:
        if not (staging / name).exists():
            (target / name).unlink(missing_ok=True)
    for item in sorted(staging.iterdir(), key=lambda p: p.name == MODEL_CONFIG):
        destination = target / item.name
        if destination.is_dir() and not destination.is_symlink():
            shutil.rmtree(destination)
        os.replace(item, destination)
    staging.rmdir()
