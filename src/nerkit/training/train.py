"""Fine-tune an encoder for NER with the Hugging Face Trainer, in four stages.

:func:`train` reads as its stages, each returning what it builds:
:func:`~nerkit.training.data.prepare_data` (splits, labels, training windows: nothing
truncated) -> :func:`build_model` (the classifier, its encoder cut to the layers kept, an
optional layer mix and CRF head) -> :func:`fit` (the Trainer's loop, the best checkpoint picked
by dev entity F1 with the same windowed, constrained decoding as ``nerkit evaluate``) ->
:func:`finish` (the model folder and the reports written next to it).
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import (
    DataCollatorForTokenClassification,
    EarlyStoppingCallback,
    TrainingArguments,
    set_seed,
)

from nerkit.errors import ConfigError
from nerkit.modeling.folder import ModelMeta, new_classifier, register_layer_mix, save_classifier
from nerkit.modeling.hub import hub_id_of
from nerkit.modeling.layer_probe import ProbeResult, encoder_layer_count, probe_layers
from nerkit.runtimes.cpu import configure_torch_threads
from nerkit.training.config import TrainConfig
from nerkit.training.data import TrainingData, prepare_data
from nerkit.training.language import LanguageChoice, choose_language
from nerkit.training.model_card import library_versions, write_model_card
from nerkit.training.reports import score_splits, write_json, write_text
from nerkit.training.scoring import DevScorer, crf_scores, training_predictor
from nerkit.training.trainer import (
    ElapsedCallback,
    NerTrainer,
    WindowDataset,
    read_elapsed,
    tracker_callbacks,
    training_arguments,
)

# TrainConfig is re-exported: ``from nerkit.training.train import TrainConfig, train``
__all__ = ["TrainConfig", "train"]

logger = logging.getLogger("nerkit")

# the layer probe's result, next to the checkpoints, so --resume does not probe again
PROBE_FILE = "layer_probe.json"


@dataclass(frozen=True)
class RunFolder:
    """The output folder of a run, and whether a checkpoint in it is continued (``--resume``)."""

    path: Path
    resume: bool

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @classmethod
    def open(cls, config: TrainConfig) -> RunFolder:
        """Create ``config.output_dir``; resume only if asked and a checkpoint is there."""
        path = Path(config.output_dir)
        path.mkdir(parents=True, exist_ok=True)
        resume = config.resume and any((path / "checkpoints").glob("checkpoint-*"))
        if config.resume and not resume:
            logger.warning("--resume: no checkpoint in %s; starting from scratch",
                           path / "checkpoints")
        return cls(path, resume)


@dataclass(frozen=True)
class BuiltModel:
    """What :func:`build_model` builds: the model to train and the layer probe's result."""

    model: Any
    probe: ProbeResult | None


@dataclass(frozen=True)
class Fitted:
    """What :func:`fit` leaves: the best model (in eval mode) and how training went."""

    model: Any
    state: Any  # the Trainer's state: best checkpoint and metric, log history
    args: TrainingArguments
    train_loss: float
    seconds: float  # all sessions of a resumed run
    seconds_before: float  # sessions before this one (0 unless resumed)


def train(config: TrainConfig, callbacks: Sequence[Any] = ()) -> dict[str, Any]:
    """Train, keep the best checkpoint by dev F1, save the model folder and its reports.

    ``callbacks``: more Trainer callbacks (``nerkit tune`` prunes trials with one). Returns the
    results written to ``eval_results.json``.
    """
    config.check()
    started = time.time()
    set_seed(config.seed)
    data = prepare_data(config)
    language = choose_language(config, data.splits)  # stated in the log before training
    folder = RunFolder.open(config)
    built = build_model(config, data, folder)
    fitted = fit(config, data, built, folder, started, callbacks)
    return finish(config, data, built, fitted, folder, language)


def build_model(config: TrainConfig, data: TrainingData, folder: RunFolder) -> BuiltModel:
    """A new classifier on the encoder, cut to the layers kept, with the optional parts."""
    model, _ = new_classifier(config.model, data.labels, tokenizer=data.tokenizer)
    if config.freeze_embeddings:
        # The word-embedding matrix of a large-vocabulary encoder (250k pieces for XLM-R
        # vocabularies) dominates the optimizer's work and memory; most rows never occur in
        # the training data, so freezing it costs little accuracy.
        model.get_input_embeddings().weight.requires_grad_(False)
    # the thread count tagging uses (one per physical core), for the probe and the training loop
    configure_torch_threads()
    probe = cut_encoder(config, model, data, folder)
    if config.layer_mix:
        from nerkit.modeling.layer_mix import wrap_with_layer_mix

        # after the layer cut: the mix is over the hidden states of the layers kept
        register_layer_mix()
        model = wrap_with_layer_mix(model)
    if config.crf:
        from nerkit.modeling.crf import ChainCRF

        # a submodule of the model, so the Trainer moves, optimizes, checkpoints and resumes it
        model.crf = ChainCRF(data.labels.labels)
    return BuiltModel(model, probe)


def cut_encoder(
    config: TrainConfig, model: Any, data: TrainingData, folder: RunFolder
) -> ProbeResult | None:
    """Keep the encoder layers ``config.encoder_layers`` asks for; returns the layer probe's
    result when ``auto`` let the probe choose (None otherwise, or when the layers cannot be cut).
    """
    if isinstance(config.encoder_layers, int):
        keep_encoder_layers(model, config.encoder_layers)
    if config.encoder_layers != "auto":
        return None
    probe_file = folder.checkpoints / PROBE_FILE
    # on --resume the checkpoints were trained with the layers chosen then; the probe is
    # deterministic, so reading its result back gives the same choice without the wait
    probe = read_probe(probe_file) if folder.resume else None
    if probe is None:
        probe = probe_layers(model, data.windows, len(data.labels), data.labels.id("O"))
        if probe is not None:
            probe_file.parent.mkdir(parents=True, exist_ok=True)
            write_text(probe_file, json.dumps(probe.as_dict()) + "\n")
    if probe is None:
        logger.info("layer probe: this encoder's layers cannot be cut; keeping all")
        return None
    logger.info("%s", probe.summary())
    if probe.layers < probe.total_layers:
        keep_encoder_layers(model, probe.layers)
    return probe


def keep_encoder_layers(model: Any, n: int) -> None:
    """Keep the first ``n`` transformer layers of the encoder and drop the rest.

    Encoders trained for sentence embeddings (e5, sentence-transformers) keep less token-level
    information in their top layers than in their middle ones; cutting the top also makes
    training and tagging faster. The result is a plain, smaller model of the same class that
    ``from_pretrained`` and ``pipeline("ner")`` load unchanged (``num_hidden_layers`` = n).
    """
    total = encoder_layer_count(model)
    if total is None:
        raise ConfigError(
            f"encoder_layers: {type(model.base_model).__name__} has no encoder.layer list "
            "(e.g. ALBERT shares one layer); leave encoder_layers unset for this model"
        )
    if not 1 <= n <= total:
        raise ConfigError(f"encoder_layers must be between 1 and {total}, got {n}")
    encoder = model.base_model.encoder
    encoder.layer = encoder.layer[:n]
    model.config.num_hidden_layers = n


def read_probe(path: Path) -> ProbeResult | None:
    """The layer probe's result saved with the checkpoints, or None (then it runs again)."""
    if not path.exists():
        return None
    try:
        probe = ProbeResult(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as err:
        logger.warning("%s: unreadable (%s); running the layer probe again", path, err)
        return None
    logger.info("layer probe result read back from %s", path)
    return probe


def fit(
    config: TrainConfig, data: TrainingData, built: BuiltModel, folder: RunFolder, started: float,
    extra_callbacks: Sequence[Any] = (),
) -> Fitted:
    """Run the Trainer (continuing the last checkpoint on resume) and load the best model."""
    has_dev = data.splits.dev is not None
    args = training_arguments(config, folder.checkpoints, has_dev)
    before = read_elapsed(folder.checkpoints) if folder.resume else 0.0
    callbacks: list[Any] = [
        *tracker_callbacks(config, folder.path),
        ElapsedCallback(started, before),
        *extra_callbacks,
    ]
    if config.early_stopping and has_dev:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=config.early_stopping))
    trainer = NerTrainer(
        model=built.model,
        args=args,
        train_dataset=WindowDataset(data.windows),
        eval_dataset=WindowDataset(data.windows[:1]),
        data_collator=DataCollatorForTokenClassification(data.tokenizer),
        callbacks=callbacks,
        dev_scorer=DevScorer(data.splits.dev, data.tokenizer, data.labels, config),
        head_lr=config.head_learning_rate,
        layer_lr_decay=config.layer_lr_decay,
    )
    output = trainer.train(resume_from_checkpoint=True if folder.resume else None)
    seconds = before + time.time() - started
    model = trainer.model
    model.eval()
    return Fitted(model, trainer.state, args, output.training_loss, seconds, before)


def finish(
    config: TrainConfig,
    data: TrainingData,
    built: BuiltModel,
    fitted: Fitted,
    folder: RunFolder,
    language: LanguageChoice,
) -> dict[str, Any]:
    """Save the model folder, score dev and test, write the reports and the model card."""
    model = fitted.model
    crf = crf_scores(model)
    if crf is not None:
        # the scores go to nerkit.json; the saved weights stay a plain token classifier
        del model.crf
    meta = ModelMeta(max_length=config.max_length, decoding=config.decoding, language=language.code,
                     encoder=str(config.model), crf=crf, context=config.context)
    save_classifier(folder.path, model, data.tokenizer, meta)
    results = run_results(data, built, fitted, folder)
    # for the model card: how the language was chosen, and the encoder's hub id (None for a
    # local folder: a card's base_model must be a hub id, never a path on this machine)
    results.update(language=language.as_dict(), base_model=hub_id_of(config.model),
                   versions=library_versions())
    predictor = training_predictor(model, crf, data.tokenizer, data.labels, config)
    results.update(score_splits(predictor, data.splits, config.eval_batch_size, folder.path))
    write_json(folder.path / "eval_results.json", results)
    write_json(folder.path / "training_args.json",
               {"nerkit": asdict(config), "transformers": fitted.args.to_dict()}, default=str)
    write_model_card(folder.path)
    if not config.keep_checkpoints:
        shutil.rmtree(folder.checkpoints, ignore_errors=True)
    return results


def run_results(
    data: TrainingData, built: BuiltModel, fitted: Fitted, folder: RunFolder
) -> dict[str, Any]:
    """How training went, as ``eval_results.json`` reports it before the split scores."""
    model = fitted.model
    return {
        "train_loss": fitted.train_loss,
        "train_seconds": round(fitted.seconds, 1),  # all sessions of a resumed run
        "train_sessions_seconds_before": round(fitted.seconds_before, 1) if folder.resume else None,
        "best_checkpoint": fitted.state.best_model_checkpoint,
        "best_dev_f1": fitted.state.best_metric,
        "log_history": fitted.state.log_history,
        "encoding": data.encoding,
        "device": str(next(model.parameters()).device),
        "torch_threads": torch.get_num_threads(),
        "encoder_layers": model.base_model.config.num_hidden_layers,
        "layer_mix": model.layer_mix.shares() if hasattr(model, "layer_mix") else None,
        "layer_probe": built.probe.as_dict() if built.probe else None,
    }
