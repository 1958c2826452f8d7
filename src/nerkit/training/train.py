"""Fine-tune an encoder for NER with the Hugging Face Trainer.

The Trainer runs the loop (devices, mixed precision, checkpoints, resume, accelerate/torchrun);
nerkit supplies the data (windows with first-piece labels, nothing truncated), the dev score
(entity F1 with the same windowed, constrained decoding as ``nerkit evaluate``) that picks the
best checkpoint, the loss of an optional CRF head (:mod:`nerkit.modeling.crf`), and the reports
written next to the model.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from nerkit.conll.corpus import CORPORA, Sentence, load_split
from nerkit.conll.labels import INTERNAL_SCHEME, LabelSet
from nerkit.conll.schemes import convert_tags
from nerkit.errors import ConfigError
from nerkit.modeling.folder import ModelMeta, new_classifier, register_layer_mix, save_classifier
from nerkit.modeling.layer_probe import ProbeResult, encoder_layer_count, probe_layers
from nerkit.tagging.evaluate import evaluate_sentences, write_predictions

logger = logging.getLogger("nerkit")

# the layer probe's result, next to the checkpoints, so --resume does not probe again
PROBE_FILE = "layer_probe.json"

# Settings added after the first runs, each with the value that a run whose
# training_args.json does not record it was trained with (the option did not exist yet: off).
# Anything that compares old run folders with today's settings reads them through this.
SETTINGS_BEFORE: dict[str, Any] = {
    "crf": False,
    "layer_lr_decay": 1.0,
    "layer_mix": False,
    "context": 0,
    "context_dropout": 0.0,
}


@dataclass
class TrainConfig:
    """Training settings.

    The defaults are those of the best dev run measured so far (issue 4, README "Accuracy
    against the Hugging Face recipe"), not the classic recipe's: encoder learning rate 1e-4 with
    10% warmup, a 1e-3 rate for the new head (a random head at the encoder's small rate needs
    most of the budget just to start), ``encoder_layers="auto"``: a linear probe picks how
    many encoder layers to keep (:mod:`nerkit.modeling.layer_probe`); ``encoder_layers="all"`` (or
    None)
    keeps every layer; and ``context=32`` pieces of the neighbouring sentences on each side with
    ``context_dropout=0.5``: half the training sentences are read alone, so that the model
    tags a lone sentence (raw text, the server) as well as one inside its document.
    ``context=0`` turns both off (without context there is nothing to drop).
    """

    model: str = ""
    output_dir: str = ""
    data: str | None = None
    train: str | None = None
    dev: str | None = None
    test: str | None = None
    data_dir: str | None = None
    max_length: int = 128
    context: int = 32
    context_dropout: float = 0.5
    batch_size: int = 32
    eval_batch_size: int = 64
    epochs: float = 3.0
    learning_rate: float = 1e-4
    head_learning_rate: float | None = 1e-3
    layer_lr_decay: float = 1.0
    warmup_ratio: float = 0.1
    weight_decay: float = 0.0
    scheduler: str = "linear"
    sampling: str = "group_by_length"
    freeze_embeddings: bool = False
    encoder_layers: int | str | None = "auto"
    seed: int = 42
    max_steps: int = -1
    limit_train: int | None = None
    early_stopping: int | None = None
    decoding: str = "viterbi"
    crf: bool = False
    layer_mix: bool = False
    resume: bool = False
    bf16: bool = False
    fp16: bool = False
    logging_steps: int = 50
    keep_checkpoints: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.context:
            # The default dropout share means nothing without context; a share asked for
            # explicitly with context 0 is refused by from_settings.
            self.context_dropout = 0.0

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> TrainConfig:
        """Settings given by a user (flags, a config file), refusing contradictory ones."""
        if settings.get("context_dropout") and not settings.get("context", cls.context):
            raise ConfigError(
                "context_dropout needs context: drop context_dropout, or pass --context N "
                f"(default {cls.context}) instead of 0"
            )
        return cls(**settings)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], **overrides: Any) -> TrainConfig:
        """Settings from a JSON file; ``overrides`` (e.g. command-line flags) win."""
        text = Path(path).read_text(encoding="utf-8")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from err
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(
                f"{path}: unknown settings {', '.join(unknown)}; known: {', '.join(sorted(names))}"
            )
        data.update({k: v for k, v in overrides.items() if v is not None})
        return cls.from_settings(data)

    def check(self) -> None:
        if not self.model:
            raise ConfigError("no model given; pass --model with a local folder or a hub id")
        if not self.output_dir:
            raise ConfigError("no output folder given; pass --output-dir")
        if self.data is None and self.train is None:
            raise ConfigError("no data given; pass --data conll2002-es or --train FILE --dev FILE")
        if self.data is not None and self.data not in CORPORA:
            raise ConfigError(
                f"unknown corpus {self.data!r}; known: {', '.join(CORPORA)}; or use --train FILE"
            )
        if self.sampling not in ("random", "group_by_length"):
            raise ConfigError(f"sampling must be random or group_by_length, not {self.sampling!r}")
        for name in ("max_length", "batch_size", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.context < 0:
            raise ConfigError(f"context must be 0 or more pieces, got {self.context}")
        if not 0 <= self.context_dropout < 1:
            raise ConfigError(
                f"context_dropout must be in [0, 1) (a share of the training sentences), "
                f"got {self.context_dropout}"
            )
        if self.max_length > 512:
            logger.warning("max_length %d: most encoders accept at most 512", self.max_length)
        if self.epochs <= 0 and self.max_steps <= 0:
            raise ConfigError("epochs must be positive (or set max_steps)")
        if self.learning_rate <= 0:
            raise ConfigError(f"learning_rate must be positive, got {self.learning_rate}")
        if not 0 < self.layer_lr_decay <= 1:
            raise ConfigError(
                f"layer_lr_decay must be in (0, 1] (1 = no decay), got {self.layer_lr_decay}"
            )
        self.encoder_layers = parse_encoder_layers(self.encoder_layers)


def parse_encoder_layers(value: int | str | None) -> int | str | None:
    """``auto``, ``all`` (None) or a positive layer count, from a flag or a config file."""
    if value is None or value == "all":
        return None
    if value == "auto":
        return "auto"
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"encoder_layers must be auto, all or a number of layers, not {value!r}"
        ) from None
    if n < 1 or str(n) != str(value).strip():
        raise ConfigError(f"encoder_layers must be auto, all or a positive integer, not {value!r}")
    return n


def context_dropout_flags(count: int, share: float, seed: int) -> list[bool] | None:
    """Which of ``count`` training sentences to encode without their neighbours.

    Drawn once per run from ``seed`` (the windows are built once, before training), so a run is
    reproducible and ``--resume`` sees the same windows. None when nothing is dropped.

    >>> context_dropout_flags(5, 0.0, seed=1) is None
    True
    >>> flags = context_dropout_flags(10_000, 0.25, seed=1)
    >>> abs(sum(flags) / len(flags) - 0.25) < 0.01, flags == context_dropout_flags(10_000, 0.25, 1)
    (True, True)
    """
    if share <= 0:
        return None
    rng = random.Random(seed)
    return [rng.random() < share for _ in range(count)]


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


@dataclass
class Splits:
    train: list[Sentence]
    dev: list[Sentence] | None
    test: list[Sentence] | None


def load_splits(config: TrainConfig) -> Splits:
    if config.data is not None:
        train = load_split(config.data, "train", config.data_dir)
        dev = load_split(config.data, "dev", config.data_dir)
        test = load_split(config.data, "test", config.data_dir)
    else:
        assert config.train is not None  # checked in TrainConfig.check
        train = load_split(config.train, "train")
        dev = load_split(config.dev, "dev") if config.dev else None
        test = load_split(config.test, "test") if config.test else None
    if config.limit_train is not None:
        train = train[: config.limit_train]
    return Splits(train, dev, test)


class _WindowDataset:
    """A list of windows as the Trainer wants them (dicts of lists)."""

    def __init__(self, windows: Sequence[Any]) -> None:
        self.windows = windows

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, i: int) -> dict[str, list[int]]:
        w = self.windows[i]
        return {"input_ids": w.input_ids, "labels": w.labels}


_LAYER_INDEX = re.compile(r"\.layer\.(\d+)\.")


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


def _read_probe(path: Path) -> ProbeResult | None:
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


# seconds of training before each checkpoint, in its folder, so that a resumed run reports
# the time of all its sessions, not only of the last one
ELAPSED_FILE = "nerkit_elapsed.json"


def _read_elapsed(checkpoints: Path) -> float:
    """Seconds spent up to the checkpoint that ``--resume`` continues from (0 if unknown)."""
    from transformers.trainer_utils import get_last_checkpoint

    last = get_last_checkpoint(str(checkpoints))
    path = Path(last) / ELAPSED_FILE if last else None
    if path is None or not path.exists():
        logger.warning("--resume: no %s in %s; train_seconds counts this session only",
                       ELAPSED_FILE, last)
        return 0.0
    try:
        return float(json.loads(path.read_text(encoding="utf-8"))["seconds"])
    except (OSError, ValueError, TypeError, KeyError) as err:
        logger.warning("%s: unreadable (%s); train_seconds counts this session only", path, err)
        return 0.0


def _elapsed_callback(started: float, before: float) -> Any:
    """A callback writing the training time so far into each checkpoint as it is saved."""
    from transformers import TrainerCallback

    class ElapsedCallback(TrainerCallback):
        def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            if folder.is_dir():
                seconds = before + time.time() - started
                (folder / ELAPSED_FILE).write_text(
                    json.dumps({"seconds": round(seconds, 1)}) + "\n", encoding="utf-8"
                )

    return ElapsedCallback()


def _make_trainer_class() -> type:
    from transformers import Trainer

    class NerTrainer(Trainer):
        """Trainer whose evaluation is nerkit's dev entity F1, with a head learning rate and,
        for a model with a CRF head (``model.crf``), the CRF's sequence loss."""

        def __init__(
            self,
            *args: Any,
            nerkit_eval: Any,
            head_lr: float | None,
            layer_lr_decay: float = 1.0,
            **kw: Any,
        ):
            super().__init__(*args, **kw)
            self._nerkit_eval = nerkit_eval
            self._head_lr = head_lr
            self._layer_lr_decay = layer_lr_decay

        def compute_loss(
            self,
            model: Any,
            inputs: dict[str, Any],
            return_outputs: bool = False,
            num_items_in_batch: Any = None,
        ) -> Any:
            crf = getattr(self.accelerator.unwrap_model(model), "crf", None)
            if crf is None:
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            from nerkit.modeling.crf import crf_loss

            labels = inputs["labels"]
            outputs = model(**{k: v for k, v in inputs.items() if k != "labels"})
            loss = crf_loss(crf, outputs.logits, labels)
            return (loss, outputs) if return_outputs else loss

        def create_optimizer(self, model: Any = None) -> Any:
            plain = self._head_lr is None and self._layer_lr_decay == 1.0
            if plain or self.optimizer is not None:
                return super().create_optimizer(model)
            model = self.model if model is None else model
            decay = set(self.get_decay_parameter_names(model))
            lr_of = parameter_learning_rates(
                model, self.args.learning_rate, self._head_lr, self._layer_lr_decay
            )
            groups: dict[tuple[float, bool], list[Any]] = {}
            for name, p in model.named_parameters():
                if p.requires_grad:
                    groups.setdefault((lr_of[name], name in decay), []).append(p)
            params = [
                {
                    "params": ps,
                    "lr": lr,
                    "weight_decay": self.args.weight_decay if decayed else 0.0,
                }
                for (lr, decayed), ps in groups.items()
            ]
            # same optimizer class and settings the Trainer would pick (fused AdamW by
            # default, several times faster on CPU than the per-tensor loop), our groups
            optimizer_cls, kwargs = self.get_optimizer_cls_and_kwargs(self.args, model)
            self.optimizer = optimizer_cls(params, **kwargs)
            return self.optimizer

        def evaluate(
            self,
            eval_dataset: Any = None,
            ignore_keys: Any = None,
            metric_key_prefix: str = "eval",
        ) -> dict[str, float]:
            start = time.time()
            was_training = self.model.training
            self.model.eval()
            scores = self._nerkit_eval(self.model)
            if was_training:
                self.model.train()
            metrics = {
                f"{metric_key_prefix}_f1": scores["micro"]["f1"],
                f"{metric_key_prefix}_precision": scores["micro"]["precision"],
                f"{metric_key_prefix}_recall": scores["micro"]["recall"],
                f"{metric_key_prefix}_runtime": round(time.time() - start, 2),
            }
            self.log(metrics)
            self.control = self.callback_handler.on_evaluate(
                self.args, self.state, self.control, metrics
            )
            return metrics

    return NerTrainer


def train(config: TrainConfig) -> dict[str, Any]:
    """Train, keep the best checkpoint by dev F1, save the model folder and its reports.

    Returns the results written to ``eval_results.json``.
    """
    import torch
    from transformers import DataCollatorForTokenClassification, TrainingArguments, set_seed
    from transformers.integrations import TensorBoardCallback

    from nerkit.tagging.decode import Decoder
    from nerkit.tagging.predictor import Predictor, TorchBackend

    config.check()
    started = time.time()
    set_seed(config.seed)
    splits = load_splits(config)
    every = [splits.train] + [s for s in (splits.dev, splits.test) if s]
    labels = LabelSet.from_tags(s.tags for split in every for s in split)
    model, tokenizer = new_classifier(config.model, labels)
    if config.freeze_embeddings:
        # The word-embedding matrix of a large-vocabulary encoder (250k pieces for XLM-R
        # vocabularies) dominates the optimizer's work and memory; most rows never occur in
        # the training data, so freezing it costs little accuracy.
        model.get_input_embeddings().weight.requires_grad_(False)

    predictor = Predictor(
        model,
        tokenizer,
        labels,
        max_length=config.max_length,
        decoding=config.decoding,
        context=config.context,
    )
    train_tags = [
        labels.ids(convert_tags(s.tags, INTERNAL_SCHEME), where=f"{s.path}:{s.line}")
        for s in splits.train
    ]
    windows = predictor.encoder.windows(
        [s.words for s in splits.train],
        train_tags,
        [s.doc_id for s in splits.train],
        alone=context_dropout_flags(len(splits.train), config.context_dropout, config.seed),
    )
    logger.info("training data: %s", predictor.encoder.stats.summary())
    encoding_report = asdict(predictor.encoder.stats)
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    resume = config.resume and any((out / "checkpoints").glob("checkpoint-*"))
    probe = None
    probe_file = out / "checkpoints" / PROBE_FILE
    if config.encoder_layers == "auto":
        # on --resume the checkpoints were trained with the layers chosen then; the probe is
        # deterministic, so reading its result back gives the same choice without the wait
        probe = _read_probe(probe_file) if resume else None
        if probe is None:
            probe = probe_layers(model, windows, len(labels), labels.id("O"))
            if probe is not None:
                probe_file.parent.mkdir(parents=True, exist_ok=True)
                probe_file.write_text(json.dumps(probe.as_dict()) + "\n", encoding="utf-8")
        if probe is None:
            logger.info("layer probe: this encoder's layers cannot be cut; keeping all")
        else:
            logger.info("%s", probe.summary())
            if probe.layers < probe.total_layers:
                keep_encoder_layers(model, probe.layers)
    elif isinstance(config.encoder_layers, int):
        keep_encoder_layers(model, config.encoder_layers)
    if config.layer_mix:
        from nerkit.modeling.layer_mix import wrap_with_layer_mix

        # after the layer cut: the mix is over the hidden states of the layers kept
        register_layer_mix()
        model = wrap_with_layer_mix(model)
    if config.crf:
        from nerkit.modeling.crf import ChainCRF

        # a submodule of the model, so the Trainer moves, optimizes, checkpoints and resumes it
        model.crf = ChainCRF(labels.labels)

    def crf_scores(current_model: Any) -> dict[str, Any] | None:
        crf = getattr(current_model, "crf", None)
        return crf.scores() if crf is not None else None

    def dev_scores(current_model: Any) -> dict[str, Any]:
        predictor.backend = TorchBackend(current_model)
        predictor.decoder = Decoder(labels.labels, config.decoding, crf=crf_scores(current_model))
        if splits.dev is None:
            return {"micro": {"f1": 0.0, "precision": 0.0, "recall": 0.0}}
        results, _ = evaluate_sentences(predictor, splits.dev, config.eval_batch_size)
        return results["entity"]

    steps_mode = config.max_steps > 0
    has_dev = splits.dev is not None
    strategy = ("steps" if steps_mode else "epoch") if has_dev else "no"
    args = TrainingArguments(
        output_dir=str(out / "checkpoints"),
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.eval_batch_size,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.scheduler,
        warmup_steps=config.warmup_ratio,
        weight_decay=config.weight_decay,
        seed=config.seed,
        eval_strategy=strategy,
        save_strategy=strategy if has_dev else ("steps" if steps_mode else "epoch"),
        eval_steps=config.max_steps if steps_mode else None,
        save_steps=config.max_steps if steps_mode else None,
        save_total_limit=2,
        load_best_model_at_end=has_dev,
        metric_for_best_model="f1" if has_dev else None,
        greater_is_better=True if has_dev else None,
        logging_steps=config.logging_steps,
        report_to="none",
        bf16=config.bf16,
        fp16=config.fp16,
        dataloader_num_workers=0,
        remove_unused_columns=False,
        train_sampling_strategy=config.sampling,
        disable_tqdm=False,
    )
    from torch.utils.tensorboard import SummaryWriter

    before = _read_elapsed(out / "checkpoints") if resume else 0.0
    callbacks: list[Any] = [
        TensorBoardCallback(SummaryWriter(log_dir=str(out / "runs"))),
        _elapsed_callback(started, before),
    ]
    if config.early_stopping and has_dev:
        from transformers import EarlyStoppingCallback

        callbacks.append(EarlyStoppingCallback(early_stopping_patience=config.early_stopping))
    trainer = _make_trainer_class()(
        model=model,
        args=args,
        train_dataset=_WindowDataset(windows),
        eval_dataset=_WindowDataset(windows[:1]),
        data_collator=DataCollatorForTokenClassification(tokenizer),
        callbacks=callbacks,
        nerkit_eval=dev_scores,
        head_lr=config.head_learning_rate,
        layer_lr_decay=config.layer_lr_decay,
    )
    if config.resume and not resume:
        logger.warning("--resume: no checkpoint in %s; starting from scratch", out / "checkpoints")
    train_output = trainer.train(resume_from_checkpoint=True if resume else None)
    train_seconds = before + time.time() - started

    model = trainer.model
    model.eval()
    crf = crf_scores(model)
    if crf is not None:
        # the scores go to nerkit.json; the saved weights stay a plain token classifier
        del model.crf
    predictor.backend = TorchBackend(model)
    predictor.decoder = Decoder(labels.labels, config.decoding, crf=crf)
    language = CORPORA[config.data].language if config.data in CORPORA else "es"
    meta = ModelMeta(
        max_length=config.max_length,
        decoding=config.decoding,
        language=language,
        encoder=str(config.model),
        crf=crf,
        context=config.context,
    )
    save_classifier(out, model, tokenizer, meta)

    results: dict[str, Any] = {
        "train_loss": train_output.training_loss,
        "train_seconds": round(train_seconds, 1),  # all sessions of a resumed run
        "train_sessions_seconds_before": round(before, 1) if resume else None,
        "best_checkpoint": trainer.state.best_model_checkpoint,
        "best_dev_f1": trainer.state.best_metric,
        "log_history": trainer.state.log_history,
        "encoding": encoding_report,
        "device": str(next(model.parameters()).device),
        "torch_threads": torch.get_num_threads(),
        "encoder_layers": model.base_model.config.num_hidden_layers,
        "layer_mix": model.layer_mix.shares() if hasattr(model, "layer_mix") else None,
        "layer_probe": probe.as_dict() if probe else None,
    }
    for split, sentences in (("dev", splits.dev), ("test", splits.test)):
        if sentences is None:
            continue
        split_results, pred = evaluate_sentences(predictor, sentences, config.eval_batch_size)
        write_predictions(out / f"{split}_predictions.txt", sentences, pred)
        (out / f"{split}_results.json").write_text(
            json.dumps(split_results, indent=2) + "\n", encoding="utf-8"
        )
        results[f"{split}_f1"] = split_results["entity"]["micro"]["f1"]
        results[f"{split}_per_type"] = {
            t: v["f1"] for t, v in split_results["entity"]["per_type"].items()
        }
    (out / "eval_results.json").write_text(json.dumps(results, indent=2) + "\n", "utf-8")
    (out / "training_args.json").write_text(
        json.dumps({"nerkit": asdict(config), "transformers": args.to_dict()}, indent=2,
                   default=str) + "\n",
        encoding="utf-8",
    )
    from nerkit.training.model_card import write_model_card

    write_model_card(out, config, labels, splits, results)
    if not config.keep_checkpoints:
        import shutil

        shutil.rmtree(out / "checkpoints", ignore_errors=True)
    return results
