"""Fine-tune an encoder for NER with the Hugging Face Trainer, in stages.

:func:`train` reads as its stages, each returning what it builds:
:func:`~nerkit.training.run_folder.open_run_folder` (the output folder checked and made ready,
the checkpoint ``--resume`` continues) -> :func:`~nerkit.training.data.prepare_data` (splits,
labels, training windows: nothing truncated) -> :func:`build_model` (the classifier, its encoder
cut to the layers kept, an optional layer mix and CRF head) -> :func:`fit` (the Trainer's loop,
the best checkpoint picked by dev entity F1 with the same windowed, constrained decoding as
``nerkit evaluate``) -> :func:`finish` (the model folder and the reports written next to it).
Each stage runs in every process of a ``torchrun`` run; what writes runs on rank 0
(:mod:`~nerkit.training.ranks`).
"""

from __future__ import annotations

import json
import logging
import tempfile
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
from nerkit.training.averaging import WeightAverage
from nerkit.training.config import TrainConfig
from nerkit.training.data import TrainingData, prepare_data, windows_digest
from nerkit.training.language import LanguageChoice, choose_language
from nerkit.training.model_card import CardOptions, library_versions, write_model_card
from nerkit.training.ranks import Ranks, quiet_other_ranks
from nerkit.training.reports import score_splits, write_json, write_text
from nerkit.training.run_folder import CHECKPOINTS, RunFolder, discard, open_run_folder, publish
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
    processes: int  # torchrun / accelerate processes that trained together


def train(config: TrainConfig, callbacks: Sequence[Any] = ()) -> dict[str, Any]:
    """Train, keep the best checkpoint by dev F1, save the model folder and its reports.

    Under ``torchrun`` / ``accelerate launch`` every process calls this; rank 0 checks and
    writes the folder, the others train their share of each batch and wait for it.
    ``callbacks``: more Trainer callbacks (``nerkit tune`` prunes trials with one). Returns the
    results written to ``eval_results.json``.
    """
    config.check()
    started = time.time()
    has_dev = config.data is not None or config.dev is not None
    args = training_arguments(config, Path(config.output_dir) / CHECKPOINTS, has_dev)
    ranks = join_processes(args)
    # before any data or model is loaded: a refused or unwritable folder costs nothing
    folder = ranks.on_main(open_run_folder, config)
    set_seed(config.seed)
    data = prepare_data(config)
    language = choose_language(config, data.splits)  # stated in the log before training
    # every rank encodes the data itself (seeded context dropout): the windows must agree
    ranks.agree("training windows", windows_digest(data.windows))
    built = build_model(config, data, folder, ranks)
    fitted = fit(config, data, built, folder, args, started, ranks, callbacks)
    return finish(config, data, built, fitted, folder, ranks, language)


def join_processes(args: TrainingArguments) -> Ranks:
    """The ranks of this run: asking the Trainer's arguments for their device joins the processes
    of a ``torchrun`` / ``accelerate launch`` run into one process group."""
    _ = args.device
    ranks = Ranks.current()
    quiet_other_ranks(ranks)
    return ranks


def build_model(
    config: TrainConfig, data: TrainingData, folder: RunFolder, ranks: Ranks
) -> BuiltModel:
    """A new classifier on the encoder, cut to the layers kept, with the optional parts."""
    model, _ = new_classifier(config.model, data.labels, tokenizer=data.tokenizer)
    if config.freeze_embeddings:
        # The word-embedding matrix of a large-vocabulary encoder (250k pieces for XLM-R
        # vocabularies) dominates the optimizer's work and memory; most rows never occur in
        # the training data, so freezing it costs little accuracy.
        model.get_input_embeddings().weight.requires_grad_(False)
    # the thread count tagging uses (one per physical core), for the probe and the training loop
    configure_torch_threads()
    probe = cut_encoder(config, model, data, folder, ranks)
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
    config: TrainConfig, model: Any, data: TrainingData, folder: RunFolder, ranks: Ranks
) -> ProbeResult | None:
    """Keep the encoder layers ``config.encoder_layers`` asks for; returns the layer probe's
    result when ``auto`` let the probe choose (None otherwise, or when the layers cannot be cut).

    The probe runs on rank 0 and every rank keeps the layers it chose.
    """
    if isinstance(config.encoder_layers, int):
        keep_encoder_layers(model, config.encoder_layers)
    if config.encoder_layers != "auto":
        return None
    probe = ranks.on_main(find_probe, model, data, folder)
    if probe is None:
        logger.info("layer probe: this encoder's layers cannot be cut; keeping all")
        return None
    logger.info("%s", probe.summary())
    if probe.layers < probe.total_layers:
        keep_encoder_layers(model, probe.layers)
    return probe


def find_probe(model: Any, data: TrainingData, folder: RunFolder) -> ProbeResult | None:
    """The layer probe's result: read back on ``--resume``, else probed and saved."""
    probe_file = folder.checkpoints / PROBE_FILE
    # on --resume the checkpoints were trained with the layers chosen then; the probe is
    # deterministic, so reading its result back gives the same choice without the wait
    probe = read_probe(probe_file) if folder.resume else None
    if probe is None:
        probe = probe_layers(model, data.windows, len(data.labels), data.labels.id("O"))
        if probe is not None:
            probe_file.parent.mkdir(parents=True, exist_ok=True)
            write_text(probe_file, json.dumps(probe.as_dict()) + "\n")
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
    config: TrainConfig,
    data: TrainingData,
    built: BuiltModel,
    folder: RunFolder,
    args: TrainingArguments,
    started: float,
    ranks: Ranks,
    extra_callbacks: Sequence[Any] = (),
) -> Fitted:
    """Run the Trainer (continuing the checkpoint on resume) and load the best model."""
    before = read_elapsed(folder.checkpoint) if folder.resume else 0.0
    callbacks: list[Any] = [
        # rank 0 writes the TensorBoard events
        *(tracker_callbacks(config, folder.path) if ranks.is_main else ()),
        ElapsedCallback(started, before),
        *extra_callbacks,
    ]
    if config.early_stopping and args.eval_strategy != "no":
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
        rdrop=config.rdrop,
    )
    if config.ema_decay:
        average = WeightAverage(config.ema_decay, folder.checkpoint if folder.resume else None)
        average.attach_to(trainer)
    logger.info("batch: %d windows per process x %d processes = %d windows per optimizer step",
                args.per_device_train_batch_size, args.world_size, global_batch(args))
    if folder.resume:
        logger.info("--resume: continuing %s", folder.checkpoint)
    output = trainer.train(resume_from_checkpoint=folder.checkpoint)
    seconds = before + time.time() - started
    model = trainer.model
    model.eval()
    return Fitted(model, trainer.state, args, output.training_loss, seconds, before, ranks.size)


def global_batch(args: TrainingArguments) -> int:
    """Training windows per optimizer step, all processes together."""
    return args.per_device_train_batch_size * args.world_size * args.gradient_accumulation_steps


def finish(
    config: TrainConfig,
    data: TrainingData,
    built: BuiltModel,
    fitted: Fitted,
    folder: RunFolder,
    ranks: Ranks,
    language: LanguageChoice,
) -> dict[str, Any]:
    """Write the model folder once (rank 0; the other ranks wait) and return its results.

    The best dev F1 of every rank is recorded: the ranks must agree on it, since each picks
    the best checkpoint by it.
    """
    crf = crf_scores(fitted.model)
    if crf is not None:
        # the scores go to nerkit.json; the saved weights stay a plain token classifier
        del fitted.model.crf
    best_by_process = ranks.gather(fitted.state.best_metric)
    return ranks.on_main(
        write_model_folder, config, data, built, fitted, folder, crf, best_by_process, language
    )


def write_model_folder(
    config: TrainConfig,
    data: TrainingData,
    built: BuiltModel,
    fitted: Fitted,
    folder: RunFolder,
    crf: dict[str, Any] | None,
    best_by_process: list[float | None],
    language: LanguageChoice,
) -> dict[str, Any]:
    """Save the model, score dev and test, write the reports and the model card in a folder
    beside the target, then move it in (:func:`~nerkit.training.run_folder.publish`)."""
    model = fitted.model
    meta = ModelMeta(max_length=config.max_length, decoding=config.decoding, language=language.code,
                     encoder=str(config.model), crf=crf, context=config.context)
    staging = Path(tempfile.mkdtemp(prefix=".saving-", dir=folder.path))
    save_classifier(staging, model, data.tokenizer, meta)
    results = run_results(data, built, fitted, folder)
    results["best_dev_f1_by_process"] = best_by_process
    # for the model card: how the language was chosen, and the encoder's hub id (None for a
    # local folder: a card's base_model must be a hub id, never a path on this machine)
    results.update(language=language.as_dict(), base_model=hub_id_of(config.model),
                   versions=library_versions())
    predictor = training_predictor(model, crf, data.tokenizer, data.labels, config)
    results.update(score_splits(predictor, data.splits, config.eval_batch_size, staging))
    write_json(staging / "eval_results.json", results)
    write_json(staging / "training_args.json",
               {"nerkit": asdict(config), "transformers": fitted.args.to_dict()}, default=str)
    write_model_card(staging, CardOptions(title=folder.path.name))
    publish(staging, folder.path)
    if not config.keep_checkpoints:
        discard(folder.checkpoints)
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
        "processes": fitted.processes,
        "global_batch_size": global_batch(fitted.args),
        "encoder_layers": model.base_model.config.num_hidden_layers,
        "layer_mix": model.layer_mix.shares() if hasattr(model, "layer_mix") else None,
        "layer_probe": built.probe.as_dict() if built.probe else None,
    }
