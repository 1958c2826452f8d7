"""Training on several processes: ``torchrun --nproc_per_node 2`` on CPU (gloo), and the rank
helpers that make rank 0 the only writer."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DATA

from nerkit.conll.corpus import read_column_file
from nerkit.errors import ConfigError
from nerkit.training.ranks import Ranks

SRC = Path(__file__).parents[1] / "src"
# the settings of the tiny_model fixture (trained in one process), on the command line
SETTINGS = ["--train", str(DATA / "tiny.train"), "--dev", str(DATA / "tiny.dev"),
            "--test", str(DATA / "tiny.test"), "--batch-size", "2", "--max-length", "16",
            "--lr", "1e-3"]


def torchrun(encoder: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node", "2", "-m", "nerkit.cli", "train", "--model", str(encoder),
               "--output-dir", str(out), *SETTINGS, *extra]
    return subprocess.run(command, env={**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1"},
                          capture_output=True, text=True, timeout=600)


def test_torchrun_two_cpu_processes(tmp_path: Path, tiny_encoder: Path, tiny_model: Path) -> None:
    from nerkit.tagging.tagger import Tagger

    out = tmp_path / "ddp"
    run = torchrun(tiny_encoder, out, "--max-steps", "4", "--save-steps", "1", "--keep-checkpoints")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "2 windows per process x 2 processes = 4 windows per optimizer step" in run.stderr
    assert run.stdout.count("model saved to") == 1, "rank 0 prints the summary"
    # the folder of one process, written once: one TensorBoard log, no leftovers
    names = {p.name for p in out.iterdir()}
    assert names - {"checkpoints"} == {p.name for p in tiny_model.iterdir()}
    assert len([p for p in (out / "runs").rglob("*") if p.is_file()]) == 1
    results = json.loads((out / "eval_results.json").read_text())
    assert (results["processes"], results["global_batch_size"]) == (2, 4)
    # each evaluation tagged every dev sentence once, all processes together
    dev = len(read_column_file(DATA / "tiny.dev").sentences)
    evaluations = [e for e in results["log_history"] if "eval_f1" in e]
    assert len(evaluations) == 4 and all(e["eval_sentences"] == dev for e in evaluations)
    # the processes agreed on the dev F1 that picks the best checkpoint
    assert results["best_dev_f1_by_process"] == [results["best_dev_f1"]] * 2
    # the batches were shared out: 4 steps of 4 windows read the 4 training windows 4 times,
    # where one process with the same per-device batch reads them twice
    single = json.loads((tiny_model / "eval_results.json").read_text())
    assert (results["log_history"][-1]["epoch"], single["log_history"][-1]["epoch"]) == (4, 2)
    assert Tagger.load(out).tag_tokens(["Ana", "vive", "en", "Madrid"])
    # a folder refused by rank 0 stops every rank with the same line (none waits for rank 0)
    refused = torchrun(tiny_encoder, out, "--max-steps", "6")
    assert refused.returncode != 0
    errors = [line for line in refused.stderr.splitlines() if line.startswith("nerkit: error:")]
    assert errors and "already holds a model" in errors[0], refused.stderr[-3000:]
    assert len(set(errors)) == 1, errors
    # each rank exits 2 with that line; torchrun stops the other ranks (SIGTERM) as soon as the
    # first one exits, so the slower rank may be reported as terminated instead. No traceback
    # runs through nerkit either way.
    codes = re.findall(r"exitcode\s+:\s*(-?\d+) \(pid", refused.stderr)
    assert "2" in codes and set(codes) <= {"2", "-15"}, refused.stderr[-3000:]
    assert str(SRC / "nerkit") not in refused.stderr
    # --resume works the same: the newest checkpoint, continued by both processes
    resumed = torchrun(tiny_encoder, out, "--max-steps", "6", "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"--resume: continuing {out / 'checkpoints' / 'checkpoint-4'}" in resumed.stderr
    results = json.loads((out / "eval_results.json").read_text())
    assert results["log_history"][-1]["step"] == 6
    assert results["train_sessions_seconds_before"] > 0
    assert not (out / "checkpoints").exists()


def refuse() -> None:
    raise ConfigError("refused")


def test_one_process_runs_everything_itself() -> None:
    ranks = Ranks()
    assert ranks.is_main and ranks.on_main(lambda a, b: a + b, 2, 3) == 5
    assert ranks.broadcast("x") == "x" and ranks.gather(7) == [7]
    ranks.agree("windows", "same")
    with pytest.raises(ConfigError, match="refused"):
        ranks.on_main(refuse)


def test_ranks_that_built_different_windows_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Ranks, "gather", lambda self, value: [value, "other"])
    with pytest.raises(RuntimeError, match="training windows differ between the processes"):
        Ranks(0, 2).agree("training windows", "mine")
