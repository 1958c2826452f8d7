"""What nerkit adds to the Hugging Face Trainer: evaluation, learning rates, loss, data, timing.

The Trainer keeps the loop (devices, mixed precision, checkpoints, resume, accelerate/torchrun).
:class:`NerTrainer` changes four things: its evaluation is nerkit's dev entity F1 (a callable
given to it, see :class:`nerkit.training.scoring.DevScorer`), which picks the best checkpoint;
the new parts train at their own learning rate, the encoder layers optionally at decayed ones
(:func:`parameter_learning_rates`); a model with a CRF head (``model.crf``) trains on the CRF's
sequence loss, and with ``rdrop`` each batch runs twice under R-Drop's consistency loss
(:mod:`nerkit.training.consistency`); and each checkpoint records the training time so far
(:class:`ElapsedCallback`), so that a resumed run reports the time of all its sessions.

What the run shows goes to stderr, so that ``nerkit train --json`` prints nothing but its JSON
on stdout: the Trainer's bar (:class:`TrainingProgress`, without the Python-dict lines its
``on_log`` would write to stdout) and one log line per logging step and per evaluation
(:class:`LogCallback`, dev F1 in percent with two decimals, like every score nerkit prints).
The trackers (``--report-to``) are the Trainer's own integrations, TensorBoard writing into the
run's ``runs/`` folder (:func:`tracker_callbacks`).
On several processes the dev F1 is computed once, by rank 0, and sent to the others
(:mod:`nerkit.training.ranks`).
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from transformers import Trainer, TrainerCallback, TrainingArguments
from transformers.trainer_callback import PrinterCallback, ProgressCallback

from nerkit.modeling.encoding import Window
from nerkit.modeling.progress import progress_bar
from nerkit.training.config import TrainConfig, trackers
from nerkit.training.ranks import Ranks
from nerkit.training.reports import write_text

logger = logging.getLogger("nerkit")

# seconds of training before each checkpoint, in its folder, so that a resumed run reports
# the time of all its sessions, not only of the last one
ELAPSED_FILE = "nerkit_elapsed.json"

# the shortest interval between the checkpoints of a --max-steps run (see checkpoint_interval)
MIN_CHECKPOINT_STEPS = 10

_LAYER_INDEX = re.compile(r"\.layer\.(\d+)\.")


class WindowDataset:
    """A list of windows as the Trainer wants them (dicts of lists)."""

    def __init__(self, windows: Sequence[Window]) -> None:
        self.windows = windows

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, i: int) -> dict[str, list[int]]:
        w = self.windows[i]
        return {"input_ids": w.input_ids, "labels": w.labels}


def parameter_learning_rates(
    model: Any, lr: float, head_lr: float | None, layer_lr_decay: float = 1.0
) -> dict[str, float]:
    """The learning rate of every parameter: head, encoder layers (decayed downwards), embeddings.

    The new parts (the classifier, a CRF head's scores, a layer mix) train at ``head_lr``.
    With layer-wise decay ``d`` the top encoder layer trains at ``lr``, the one below at
    ``lr * d``, and so on; the embeddings at ``lr * d ** layers``: lower layers hold more
    general features and move less. Parameters outside the numbered layers and the embeddings
    (pooler, shared ALBERT layers) train at ``lr``.
    """
    layers = [int(m.group(1)) for n, _ in model.named_parameters()
              if (m := _LAYER_INDEX.search(n))]
    top = max(layers, default=-1)
    rates = {}
    for name, _ in model.named_parameters():
        if name.startswith(("classifier", "crf.", "layer_mix.")):
            rates[name] = head_lr if head_lr is not None else lr
        elif (m := _LAYER_INDEX.search(name)) is not None:
            rates[name] = lr * layer_lr_decay ** (top - int(m.group(1)))
        elif ".embeddings." in f".{name}":
            rates[name] = lr * layer_lr_decay ** (top + 1)
        else:
            rates[name] = lr
    return rates


class NerTrainer(Trainer):
    """Trainer whose evaluation is nerkit's dev entity F1, with a head learning rate, layer-wise
    decay and, for a model with a CRF head (``model.crf``), the CRF's sequence loss.

    ``dev_scorer`` is called with the model being trained and returns entity scores (micro
    ``f1``, ``precision``, ``recall``); the Trainer logs them as ``eval_f1``... and keeps the
    checkpoint with the best ``eval_f1``.
    """

    def __init__(
        self,
        *args: Any,
        dev_scorer: Callable[[Any], dict[str, Any]] | None,
        head_lr: float | None,
        layer_lr_decay: float = 1.0,
        rdrop: float = 0.0,
        **kw: Any,
    ) -> None:
        super().__init__(*args, **kw)
        self.dev_scorer = dev_scorer
        self.head_lr = head_lr
        self.layer_lr_decay = layer_lr_decay
        self.rdrop = rdrop
        # the Trainer's bar and printer write their log dicts to stdout; ours log to stderr
        self.remove_callback(ProgressCallback)
        self.remove_callback(PrinterCallback)
        self.add_callback(TrainingProgress())
        self.add_callback(LogCallback())

    def train(self, *args: Any, **kw: Any) -> Any:
        """The Trainer's loop, with log lines written above the progress bar, not through it;
        the bar is closed even when a callback stops the run with an exception (a pruned
        ``nerkit tune`` trial)."""
        from tqdm.contrib.logging import logging_redirect_tqdm

        with logging_redirect_tqdm():
            try:
                return super().train(*args, **kw)
            finally:
                for callback in self.callback_handler.callbacks:
                    if isinstance(callback, TrainingProgress):
                        callback.close()

    def compute_loss(
        self,
        model: Any,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: Any = None,
    ) -> Any:
        crf = getattr(self.accelerator.unwrap_model(model), "crf", None)
        if self.rdrop and model.training:
            from nerkit.training.consistency import rdrop_loss

            loss, outputs = rdrop_loss(model, inputs, self.rdrop, crf)
            return (loss, outputs) if return_outputs else loss
        if crf is None:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        from nerkit.modeling.crf import crf_loss

        labels = inputs["labels"]
        outputs = model(**{k: v for k, v in inputs.items() if k != "labels"})
        loss = crf_loss(crf, outputs.logits, labels)
        return (loss, outputs) if return_outputs else loss

    def create_optimizer(self, model: Any = None) -> Any:
        plain = self.head_lr is None and self.layer_lr_decay == 1.0
        if plain or self.optimizer is not None:
            return super().create_optimizer(model)
        model = self.model if model is None else model
        decay = set(self.get_decay_parameter_names(model))
        lr_of = parameter_learning_rates(
            model, self.args.learning_rate, self.head_lr, self.layer_lr_decay
        )
        groups: dict[tuple[float, bool], list[Any]] = {}
        for name, p in model.named_parameters():
            if p.requires_grad:
                groups.setdefault((lr_of[name], name in decay), []).append(p)
        params = [
            {"params": ps, "lr": lr, "weight_decay": self.args.weight_decay if decayed else 0.0}
            for (lr, decayed), ps in groups.items()
        ]
        # the optimizer class and settings the Trainer would pick itself (fused AdamW by
        # default, much faster on CPU than the per-tensor loop), with our groups
        optimizer_cls, kwargs = self.get_optimizer_cls_and_kwargs(self.args, model)
        self.optimizer = optimizer_cls(params, **kwargs)
        return self.optimizer

    def evaluate(
        self,
        eval_dataset: Any = None,
        ignore_keys: Any = None,
        metric_key_prefix: str = "eval",
    ) -> dict[str, float]:
        if self.dev_scorer is None:
            raise RuntimeError("NerTrainer.evaluate needs a dev_scorer")
        start = time.time()
        was_training = self.model.training
        self.model.eval()
        # Scored once, by rank 0, on every dev sentence; every rank gets the same scores, which
        # the Trainer needs on each rank to pick the same best checkpoint.
        ranks = Ranks.current()
        before = getattr(self.dev_scorer, "scored", 0)
        scores = ranks.on_main(self.dev_scorer, self.model)
        scored = sum(ranks.gather(getattr(self.dev_scorer, "scored", 0) - before))
        if was_training:
            self.model.train()
        metrics = {
            f"{metric_key_prefix}_f1": scores["micro"]["f1"],
            f"{metric_key_prefix}_precision": scores["micro"]["precision"],
            f"{metric_key_prefix}_recall": scores["micro"]["recall"],
            # sentences scored by all processes together: each dev sentence once
            f"{metric_key_prefix}_sentences": scored,
            f"{metric_key_prefix}_runtime": round(time.time() - start, 2),
        }
        self.log(metrics)
        self.control = self.callback_handler.on_evaluate(
            self.args, self.state, self.control, metrics
        )
        return metrics


def checkpoint_interval(config: TrainConfig) -> int | None:
    """Optimizer steps between checkpoints (and dev evaluations); None: one per epoch.

    With ``--max-steps`` a run saves every quarter of its steps, so that a killed run loses at
    most a quarter of its work, but not more often than every :data:`MIN_CHECKPOINT_STEPS`:
    a checkpoint and its dev evaluation cost more than redoing a few steps, and in a short run
    an early checkpoint that ties on dev F1 would be kept over the trained one. The Trainer
    also saves (and scores) the last step. ``--save-steps`` sets the interval.

    >>> [checkpoint_interval(TrainConfig(max_steps=n)) for n in (4, 12, 100, 2000)]
    [10, 10, 25, 500]
    >>> checkpoint_interval(TrainConfig()) is None
    True
    """
    if config.save_steps is not None:
        return config.save_steps
    if config.max_steps > 0:
        return max(MIN_CHECKPOINT_STEPS, math.ceil(config.max_steps / 4))
    return None


def cpu_processes() -> bool:
    """Several processes (torchrun, accelerate launch) on a machine without an accelerator.

    The Trainer then needs ``use_cpu`` to join its processes into one run (gloo); without it,
    each process would train on its own and write the same folder.
    """
    import torch

    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.accelerator.is_available()


def training_arguments(config: TrainConfig, checkpoints: Path, has_dev: bool) -> TrainingArguments:
    """The Trainer's settings for ``config``: evaluate and save once per epoch (or every
    :func:`checkpoint_interval` steps), keep the best checkpoint by dev F1 when there is a dev
    split. Creating them joins the processes of a ``torchrun`` run into one process group."""
    interval = checkpoint_interval(config)
    save = "steps" if interval else "epoch"
    return TrainingArguments(
        output_dir=str(checkpoints),
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.eval_batch_size,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.scheduler,
        warmup_steps=config.warmup_ratio,
        weight_decay=config.weight_decay,
        seed=config.seed,
        eval_strategy=save if has_dev else "no",
        save_strategy=save,
        eval_steps=interval if has_dev else None,
        save_steps=interval,
        save_total_limit=2,
        load_best_model_at_end=has_dev,
        metric_for_best_model="f1" if has_dev else None,
        greater_is_better=True if has_dev else None,
        logging_steps=config.logging_steps,
        # the trackers the Trainer builds itself; TensorBoard is added with its folder by
        # tracker_callbacks, so that its logs stay in the run's runs/ folder
        report_to=[t for t in trackers(config.report_to) if t != "tensorboard"] or "none",
        bf16=config.bf16,
        fp16=config.fp16,
        use_cpu=cpu_processes(),
        dataloader_num_workers=0,
        dataloader_pin_memory=_has_gpu(),  # on a CPU, pinning only warns
        remove_unused_columns=False,
        train_sampling_strategy=config.sampling,
        disable_tqdm=False,
    )


def _has_gpu() -> bool:
    import torch

    return torch.cuda.is_available()


def tracker_callbacks(config: TrainConfig, run_folder: Path) -> list[Any]:
    """The callbacks of the trackers that :func:`training_arguments` does not hand to the
    Trainer: TensorBoard, with its event files in ``run_folder/runs`` (the Trainer's own would
    write under the checkpoints, which are removed at the end)."""
    if "tensorboard" not in trackers(config.report_to):
        return []
    from torch.utils.tensorboard import SummaryWriter
    from transformers.integrations import TensorBoardCallback

    return [TensorBoardCallback(SummaryWriter(log_dir=str(run_folder / "runs")))]


class TrainingProgress(ProgressCallback):
    """The Trainer's progress bar on stderr, hidden by ``--quiet``, without the log lines that
    :class:`ProgressCallback` writes through it to stdout (:class:`LogCallback` logs them)."""

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.is_world_process_zero:
            self.training_bar = progress_bar(
                total=state.max_steps, desc="training", unit="step", leave=True
            )
        self.current_step = 0

    def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
        pass

    def close(self) -> None:
        """Close the bar if the run ended without ``on_train_end`` (an exception)."""
        if self.training_bar is not None:
            self.training_bar.close()
            self.training_bar = None


class LogCallback(TrainerCallback):
    """One log line (logger ``nerkit``, on stderr) for each of the Trainer's logs."""

    def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
        if state.is_world_process_zero and logs:
            logger.info("%s", log_line(logs, state.global_step, state.max_steps))


def log_line(logs: dict[str, Any], step: int, max_steps: int) -> str:
    """A Trainer log as one line: scores in percent with two decimals, like all of nerkit.

    >>> log_line({"eval_f1": 83.4969, "eval_precision": 84.0, "eval_recall": 83.0,
    ...           "eval_runtime": 12.3, "epoch": 1.0}, 100, 300)
    'epoch 1 (step 100/300): dev F1 83.50 (precision 84.00, recall 83.00; 12.3 s)'
    >>> log_line({"loss": 0.61234, "grad_norm": 2.5, "learning_rate": 9.5e-05, "epoch": 0.5},
    ...          50, 300)
    'epoch 0.50 (step 50/300): loss 0.6123, learning rate 9.50e-05, grad norm 2.50'
    """
    epoch = logs.get("epoch")
    where = f"step {step}/{max_steps}"
    if epoch is not None:  # a whole epoch as 1, a part of one as 0.50
        shown = f"{epoch:.0f}" if float(epoch).is_integer() else f"{epoch:.2f}"
        where = f"epoch {shown} ({where})"
    if "eval_f1" in logs:
        return (f"{where}: dev F1 {logs['eval_f1']:.2f} (precision "
                f"{logs.get('eval_precision', 0.0):.2f}, recall {logs.get('eval_recall', 0.0):.2f}"
                f"; {logs.get('eval_runtime', 0.0):.1f} s)")
    if "loss" in logs:
        parts = [f"loss {logs['loss']:.4f}"]
        if "learning_rate" in logs:
            parts.append(f"learning rate {logs['learning_rate']:.2e}")
        if "grad_norm" in logs:
            parts.append(f"grad norm {logs['grad_norm']:.2f}")
        return f"{where}: " + ", ".join(parts)
    if "train_runtime" in logs:
        return (f"{where}: training loop done in {logs['train_runtime']:.1f} s, mean loss "
                f"{logs.get('train_loss', float('nan')):.4f}")
    shown = {k: v for k, v in logs.items() if k not in ("epoch", "total_flos")}
    return f"{where}: " + ", ".join(
        f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in shown.items()
    )


class ElapsedCallback(TrainerCallback):
    """Writes the training time so far (``before`` plus this session's) into each checkpoint
    as it is saved (rank 0 only), for :func:`read_elapsed` to pick up on ``--resume``."""

    def __init__(self, started: float, before: float) -> None:
        self.started = started
        self.before = before

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if state.is_world_process_zero and folder.is_dir():
            seconds = self.before + time.time() - self.started
            write_text(folder / ELAPSED_FILE, json.dumps({"seconds": round(seconds, 1)}) + "\n")


def read_elapsed(checkpoint: str | Path | None) -> float:
    """Seconds spent up to ``checkpoint``, the one ``--resume`` continues (0 if unknown)."""
    if checkpoint is None:
        return 0.0
    path = Path(checkpoint) / ELAPSED_FILE
    if not path.exists():
        logger.warning("--resume: no %s in %s; train_seconds counts this session only",
                       ELAPSED_FILE, checkpoint)
        return 0.0
    try:
        return float(json.loads(path.read_text(encoding="utf-8"))["seconds"])
    except (OSError, ValueError, TypeError, KeyError) as err:
        logger.warning("%s: unreadable (%s); train_seconds counts this session only", path, err)
        return 0.0
