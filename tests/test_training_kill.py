"""kill -9 of ``nerkit train`` at chosen moments: the folder resumes and finishes, or is refused
with one line; a folder that loads always predicts what the model being saved predicted.

Three runs of the tiny model go side by side, each killed with SIGKILL when its folder shows
its moment: during the steps (a checkpoint complete, the next not begun), during a checkpoint
write (a checkpoint folder without its ``trainer_state.json``, which the Trainer writes last) and
during the final save (the finished folder being built beside the target). Then each folder is
checked and the same command is run again with ``--resume``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from conftest import DATA

from nerkit.conll.corpus import read_column_file
from nerkit.errors import NerkitError
from nerkit.training.run_folder import checkpoint_step, leftovers

SRC = Path(__file__).parents[1] / "src"
# 12 steps of one window: checkpoints (and dev scores) at steps 3, 6, 9 and 12
SETTINGS = ["--train", str(DATA / "tiny.train"), "--dev", str(DATA / "tiny.dev"),
            "--test", str(DATA / "tiny.test"), "--max-steps", "12", "--save-steps", "3",
            "--batch-size", "1",
            "--max-length", "32", "--context", "8", "--encoder-layers", "all", "--lr", "1e-3"]


def _exists(path: Path) -> bool:
    return path.exists()


def _torn_checkpoint(out: Path) -> bool:
    return any(checkpoint_step(p) >= 6 and not (p / "trainer_state.json").exists()
               for p in (out / "checkpoints").glob("checkpoint-*"))


def _final_save(out: Path) -> bool:
    return any(p.name.startswith(".saving-") for p in out.iterdir())


MOMENTS: dict[str, Callable[[Path], bool]] = {
    "steps": lambda out: _exists(out / "checkpoints" / "checkpoint-3" / "trainer_state.json"),
    "checkpoint write": _torn_checkpoint,
    "final save": _final_save,
}


def command(encoder: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "nerkit.cli", "train", "--model", str(encoder),
            "--output-dir", str(out), *SETTINGS, *extra]


def environment() -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1"}


def seen(moment: Callable[[Path], bool], out: Path) -> bool:
    try:
        return moment(out)
    except OSError:  # a file went while we looked
        return False


def kill_at_moments(encoder: Path, root: Path) -> dict[str, tuple[Path, str]]:
    """Start one run per moment; SIGKILL each when its folder shows it. Returns each folder and
    what happened: ``killed``, or ``finished`` when the run ended before its moment was seen."""
    runs = {}
    for name in MOMENTS:
        out = root / name.replace(" ", "-")
        runs[name] = (out, subprocess.Popen(command(encoder, out), env=environment(),
                                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
    outcome: dict[str, tuple[Path, str]] = {}
    deadline = time.monotonic() + 300
    while len(outcome) < len(runs) and time.monotonic() < deadline:
        for name, (out, process) in runs.items():
            if name in outcome:
                continue
            if process.poll() is not None:
                assert process.returncode == 0, process.stderr.read().decode()  # type: ignore
                outcome[name] = (out, "finished")
            elif seen(MOMENTS[name], out):
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
                outcome[name] = (out, "killed")
        time.sleep(0.001)
    for _, process in runs.values():
        if process.poll() is None:
            process.kill()
            process.wait()
        assert process.stderr is not None
        process.stderr.close()
    assert len(outcome) == len(runs), "a run neither finished nor reached its moment"
    return outcome


def check_loads_whole(out: Path) -> bool:
    """False when no tool loads the folder; when it loads, its predictions on dev are those the
    model being saved wrote into dev_predictions.txt."""
    from nerkit.tagging.evaluate import evaluate_sentences
    from nerkit.tagging.tagger import Tagger

    try:
        tagger = Tagger.load(out)
    except NerkitError:
        return False
    dev = read_column_file(DATA / "tiny.dev").sentences
    written = [list(s.tags) for s in read_column_file(out / "dev_predictions.txt").sentences]
    _, predicted = evaluate_sentences(tagger.predictor, dev)
    assert predicted == written, f"{out} loads but predicts otherwise than the model saved"
    return True


def test_kill_9_then_resume(tmp_path: Path, tiny_encoder: Path) -> None:
    outcome = kill_at_moments(tiny_encoder, tmp_path)
    loaded = {name: check_loads_whole(out) for name, (out, _) in outcome.items()}
    resumed = {name: subprocess.Popen(command(tiny_encoder, out, "--resume"), env=environment(),
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for name, (out, _) in outcome.items()}
    for name, process in resumed.items():
        out = outcome[name][0]
        _, err = process.communicate(timeout=300)
        notes = [line for line in err.splitlines()
                 if any(k in line for k in ("incomplete", "continuing", "interrupted", "error"))]
        print(name, outcome[name][1], "loaded" if loaded[name] else "not loadable",
              "-> exit", process.returncode, notes)
        if process.returncode == 2:  # refused: one clear line, and the folder is a whole model
            lines = err.strip().splitlines()
            assert lines[-1].startswith("nerkit: error:") and "Traceback" not in err, err
            assert check_loads_whole(out), err
            continue
        assert process.returncode == 0, f"{name}: {err[-3000:]}"
        assert check_loads_whole(out), name
        assert not leftovers(out) and not (out / "checkpoints").exists(), name
