"""``--ema-decay``: the moving average of the weights is what is evaluated, checkpointed, saved
and resumed."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from conftest import DATA
from safetensors.torch import load_file
from transformers import TrainerCallback

from nerkit.errors import ConfigError
from nerkit.training.averaging import WeightAverage, decay_at
from nerkit.training.config import TrainConfig
from nerkit.training.run_folder import TRAINING_WEIGHTS
from nerkit.training.train import train


def _control(evaluate: bool = False, save: bool = False) -> Any:
    return SimpleNamespace(should_evaluate=evaluate, should_save=save)


def test_average_follows_its_formula_and_swaps_exactly(tmp_path: Path) -> None:
    model = torch.nn.Linear(3, 2)
    frozen = torch.nn.Parameter(torch.zeros(1), requires_grad=False)
    model.register_parameter("frozen", frozen)
    average = WeightAverage(0.9)
    args = SimpleNamespace(output_dir=str(tmp_path), load_best_model_at_end=False,
                           should_save=True)
    state = SimpleNamespace(global_step=0, is_world_process_zero=True, best_model_checkpoint=None)
    average.on_train_begin(args, state, _control(), model=model)
    assert average.names == ["weight", "bias"], "only trained weights are averaged"
    after_each_step = []
    for step in range(1, 6):
        with torch.no_grad():
            for p in (model.weight, model.bias):
                p.add_(float(step))
        state.global_step = step
        average.on_optimizer_step(args, state, _control())
        average.on_step_end(args, state, _control())
        after_each_step.append([p.detach().clone() for p in (model.weight, model.bias)])
    # fewer than 1 / (1 - 0.9) = 10 steps: the plain mean of the weights after each step
    for i, got in enumerate(average.average):
        torch.testing.assert_close(got, torch.stack([w[i] for w in after_each_step]).mean(0))
    # then the moving average: from step 10 on, each step moves it by 1 - 0.9 towards the weights
    before = [a.clone() for a in average.average]
    for step in range(6, 12):
        with torch.no_grad():
            model.weight.mul_(-1.5)
        state.global_step = step
        average.on_optimizer_step(args, state, _control())
        average.on_step_end(args, state, _control())
        d = min(0.9, (step - 1) / step)
        before = [d * b + (1 - d) * p.detach() for b, p in zip(before, (model.weight,
                                                                       model.bias), strict=True)]
    assert decay_at(0.9, 11) == 0.9
    # a step fp16's loss scaler skipped (the weights did not move) is not an update
    updates = average.updates
    average.on_optimizer_step(args, state, _control(),
                              optimizer=SimpleNamespace(step_was_skipped=True))
    assert average.updates == updates
    for got, want in zip(average.average, before, strict=True):
        torch.testing.assert_close(got, want)
    # an evaluation followed by a checkpoint: the average is in the model for both
    (tmp_path / "checkpoint-12").mkdir()
    state.global_step = 12
    average.on_step_end(args, state, _control(evaluate=True, save=True))
    torch.testing.assert_close(model.weight.detach(), average.average[0])
    average.on_evaluate(args, state, _control(save=True))
    torch.testing.assert_close(model.weight.detach(), average.average[0])
    average.on_save(args, state, _control())
    saved = load_file(str(tmp_path / "checkpoint-12" / TRAINING_WEIGHTS))
    # the training weights are back in the model, and the checkpoint keeps them
    assert not torch.equal(model.weight.detach(), average.average[0])
    torch.testing.assert_close(saved["weight"], model.weight.detach())
    # without a best checkpoint to load back, the model ends with the average
    average.on_train_end(args, state, _control())
    torch.testing.assert_close(model.weight.detach(), average.average[0])


def test_decay_out_of_range_is_refused() -> None:
    with pytest.raises(ConfigError, match="ema_decay"):
        TrainConfig(model="m", output_dir="o", data="conll2002-es", ema_decay=1.0).check()
    with pytest.raises(ConfigError, match="ema_decay"):
        WeightAverage(0.0)


class _Stop(TrainerCallback):
    """Kill the run (an exception) after the given step, as a crash would."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        if state.global_step == self.step:
            raise KeyboardInterrupt


class _Seen(TrainerCallback):
    """The trained weights at the start of training and at each evaluation."""

    def __init__(self) -> None:
        self.at_begin: dict[str, torch.Tensor] = {}
        self.evaluated: list[dict[str, torch.Tensor]] = []

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None,
                       **kw: Any) -> None:
        self.at_begin = {n: p.detach().clone() for n, p in model.named_parameters()}

    def on_evaluate(self, args: Any, state: Any, control: Any, model: Any = None,
                    **kw: Any) -> None:
        self.evaluated.append({n: p.detach().clone() for n, p in model.named_parameters()})


def _config(encoder: Path, out: Path, **kw: Any) -> TrainConfig:
    return TrainConfig(
        model=str(encoder), output_dir=str(out), train=str(DATA / "tiny.train"),
        dev=str(DATA / "tiny.dev"), max_steps=6, save_steps=3, batch_size=2, max_length=16,
        learning_rate=1e-2, encoder_layers="all", keep_checkpoints=True, report_to="none", **kw,
    )


def test_training_evaluates_checkpoints_saves_and_resumes_the_average(
    tmp_path: Path, tiny_encoder: Path
) -> None:
    out = tmp_path / "ema"
    seen = _Seen()
    results = train(_config(tiny_encoder, out, ema_decay=0.5), callbacks=[seen])
    checkpoint = out / "checkpoints" / "checkpoint-6"
    averaged = load_file(str(checkpoint / "model.safetensors"))
    live = load_file(str(checkpoint / TRAINING_WEIGHTS))
    name = "classifier.weight"
    assert not torch.equal(averaged[name], live[name]), "the checkpoint holds the average"
    # what was scored at step 6 is what the checkpoint holds
    torch.testing.assert_close(seen.evaluated[-1][name], averaged[name])
    # the average leaves the optimizer's path alone: the training weights are a plain run's
    plain = tmp_path / "plain"
    train(_config(tiny_encoder, plain))
    plain_weights = load_file(str(plain / "checkpoints" / "checkpoint-6" / "model.safetensors"))
    for key, tensor in live.items():
        assert torch.equal(tensor, plain_weights[key]), key
    best = Path(results["best_checkpoint"]).name
    saved = load_file(str(out / "model.safetensors"))
    torch.testing.assert_close(
        saved[name], load_file(str(out / "checkpoints" / best / "model.safetensors"))[name])
    # a run killed after step 4 resumes from checkpoint-3 with its training weights and average
    killed = tmp_path / "killed"
    with pytest.raises(KeyboardInterrupt):
        train(_config(tiny_encoder, killed, ema_decay=0.5), callbacks=[_Stop(4)])
    # without --ema-decay the run would go on from the average: refused
    with pytest.raises(ConfigError, match="--ema-decay"):
        train(_config(tiny_encoder, killed, resume=True))
    resumed = _Seen()
    train(_config(tiny_encoder, killed, ema_decay=0.5, resume=True), callbacks=[resumed])
    three = killed / "checkpoints" / "checkpoint-3"
    torch.testing.assert_close(resumed.at_begin[name],
                               load_file(str(three / TRAINING_WEIGHTS))[name])


def test_a_checkpoint_without_its_training_weights_is_torn(tmp_path: Path) -> None:
    """A kill between the Trainer's state and the training weights: --resume takes the
    checkpoint before (the training weights are written last, under a temporary name)."""
    from nerkit.training.run_folder import checkpoint_problem, last_complete_checkpoint

    for step in (3, 6):
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        (folder / "trainer_state.json").write_text(json.dumps({"global_step": step}))
        for name in ("model.safetensors", "optimizer.pt", "scheduler.pt"):
            (folder / name).write_bytes(b"x")
    (tmp_path / "checkpoint-3" / TRAINING_WEIGHTS).write_bytes(b"x")
    assert checkpoint_problem(tmp_path / "checkpoint-6") is None
    assert checkpoint_problem(tmp_path / "checkpoint-6", averaged=True) == f"no {TRAINING_WEIGHTS}"
    assert last_complete_checkpoint(tmp_path, averaged=True) == tmp_path / "checkpoint-3"
    assert not (tmp_path / "checkpoint-6").exists()
