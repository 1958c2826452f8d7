"""The training settings: one dataclass, the single source of ``nerkit train``'s flags.

Each field carries its help text and the shape of its command-line flag in its metadata, so
that the CLI builds every ``--flag`` (and prints every default) from this class and cannot drift
from it. Standard library only: ``nerkit train --help`` imports neither torch nor transformers.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
import types
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from nerkit.conll.corpus import CORPORA
from nerkit.errors import ConfigError

logger = logging.getLogger("nerkit")

# batch orders the Trainer offers; decodings nerkit.tagging.decode offers (a test keeps them equal)
SAMPLINGS = ("random", "group_by_length")
DECODINGS = ("viterbi", "argmax")
# experiment trackers --report-to passes to the Trainer, and the package each one needs
TRACKERS = {"tensorboard": "tensorboard", "mlflow": "mlflow", "wandb": "wandb"}
# a language: an ISO 639-1 or 639-3 code, as word splitters and hub model cards name them
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")


def setting(default: Any, help: str, **flag: Any) -> Any:
    """A :class:`TrainConfig` field with its help text and how its flag looks.

    ``flag`` holds what the command line needs beyond the field's name and type: ``aliases``
    (more option strings), ``choices``, ``metavar``.
    """
    return field(default=default, metadata={"help": help, "flag": flag})


@dataclass
class TrainConfig:
    """Training settings.

    The defaults are not the classic fine-tuning recipe's; they are the settings that scored
    best on the dev split (the runs and their commands are in ``docs/results.md``): encoder
    learning rate 1e-4 with 10% warmup and a 1e-3 rate for the new head (a random head at the
    encoder's small rate needs most of the budget just to start); ``encoder_layers="auto"``: a
    linear probe picks how many encoder layers to keep (:mod:`nerkit.modeling.layer_probe`),
    ``"all"`` (or None) keeps every layer; and ``context=32`` pieces of the neighbouring
    sentences on each side with ``context_dropout=0.5``: half the training sentences are read
    alone, so that the model tags a lone sentence (raw text, the server) as well as one inside
    its document. ``context=0`` turns both off (without context there is nothing to drop).

    The field order is the order of ``training_args.json`` and of ``nerkit train --help``.
    """

    model: str = setting("", "encoder to fine-tune: a local folder or a hub id")
    output_dir: str = setting("", "where the model folder is written", metavar="DIR")
    data: str | None = setting(
        None, f"corpus name: {', '.join(CORPORA)} (or --train FILE)", metavar="NAME"
    )
    train: str | None = setting(None, "training column file (instead of --data)", metavar="FILE")
    dev: str | None = setting(
        None, "dev column file: the best checkpoint is picked by its entity F1", metavar="FILE"
    )
    test: str | None = setting(None, "test column file, scored once at the end", metavar="FILE")
    data_dir: str | None = setting(
        None, "folder holding conll2002/ (else $NERKIT_DATA)", metavar="DIR"
    )
    language: str | None = setting(
        None, "language of the data, an ISO 639 code (en, es, de...), recorded in "
        "nerkit.json for splitting raw text into words; default: the named corpus's, else "
        "detected from the training words and stated in the log", metavar="CODE"
    )
    documents: str = setting(
        "boundaries", "how the data files are cut into documents, whose neighbouring sentences "
        "--context reads: boundaries (-DOCSTART-, a JSON record, a Doc), one (each file is one "
        "document) or sentence (every sentence alone: unrelated or shuffled sentences)",
        choices=("boundaries", "one", "sentence"),
    )
    max_length: int = setting(
        128, "subword pieces per window; longer sentences are split into overlapping windows, "
        "never truncated", metavar="N"
    )
    context: int = setting(
        32, "read up to N subword pieces of the neighbouring sentences of the same document on "
        "each side; 0: none", metavar="N"
    )
    context_dropout: float = setting(
        0.5, "with --context: train on this share of the sentences without their neighbours, "
        "so that the model also tags a sentence given alone", metavar="P"
    )
    augment_mentions: float = setting(
        0.0, "mention replacement: add a copy of this share of the training sentences that "
        "hold entities, every mention replaced by a mention of the same type drawn from the "
        "training set (from the seed; each copy read without neighbours); 0: off", metavar="P"
    )
    batch_size: int = setting(32, "training windows per optimizer step", metavar="N")
    eval_batch_size: int = setting(
        64, "windows per forward pass when scoring dev and test", metavar="N"
    )
    epochs: float = setting(5.0, "passes over the training data", metavar="N")
    learning_rate: float = setting(
        1e-4, "the encoder's peak learning rate", aliases=("--lr",), metavar="LR"
    )
    head_learning_rate: float | None = setting(
        1e-3, "learning rate of the new parts (classifier, CRF scores, layer mix); null in a "
        "config file: the encoder's", metavar="LR"
    )
    layer_lr_decay: float = setting(
        1.0, "layer-wise learning-rate decay: each lower encoder layer trains at the rate of "
        "the one above times this; 1: off, 0.8-0.95 are usual", metavar="D"
    )
    warmup_ratio: float = setting(
        0.1, "share of the optimizer steps spent warming the learning rate up", metavar="P"
    )
    weight_decay: float = setting(
        0.0, "AdamW weight decay, never on biases and LayerNorm weights", metavar="W"
    )
    ema_decay: float = setting(
        0.0, "keep an exponential moving average of the weights, moved towards them by "
        "1 - D after each optimizer step (0.998: about the last 500 steps; the plain mean of "
        "all steps until there are that many); dev scoring, the best checkpoint and the saved "
        "model use the average; 0: off", metavar="D"
    )
    rdrop: float = setting(
        0.0, "R-Drop: run each batch twice under different dropout masks and add ALPHA times "
        "the symmetric KL divergence between the two passes' tag distributions to the loss "
        "(doubles the training compute per step); 0: off, 1-5 are usual", metavar="ALPHA"
    )
    scheduler: str = setting(
        "linear", "learning-rate schedule after warmup: linear, cosine, constant... or any "
        "other transformers scheduler name", metavar="NAME"
    )
    sampling: str = setting(
        "group_by_length", "batch order: group_by_length pads far less than random",
        choices=SAMPLINGS,
    )
    freeze_embeddings: bool = setting(
        False, "do not train the word-embedding matrix: faster on big vocabularies"
    )
    encoder_layers: int | str | None = setting(
        "auto", "encoder layers to keep: auto picks them with a linear probe on training "
        "sentences; all; or the first N", metavar="auto|all|N"
    )
    seed: int = setting(
        42, "random seed (new weights, batch order, context dropout)", metavar="N"
    )
    max_steps: int = setting(
        -1, "stop after N optimizer steps; -1: run the epochs", metavar="N"
    )
    save_steps: int | None = setting(
        None, "save a checkpoint (and score dev) every N optimizer steps; default: each epoch, "
        "or with --max-steps every quarter of the run (at least 10 steps apart), so that "
        "--resume has one to go back to",
        metavar="N"
    )
    limit_train: int | None = setting(
        None, "use only the first N training sentences", metavar="N"
    )
    early_stopping: int | None = setting(
        None, "stop after N evaluations without a dev F1 gain", metavar="N"
    )
    decoding: str = setting(
        "viterbi", "viterbi: the best valid tag sequence; argmax: the best tag of each word",
        choices=DECODINGS,
    )
    crf: bool = setting(
        False, "add a CRF head: learned label-transition scores, trained jointly and used by "
        "Viterbi"
    )
    layer_mix: bool = setting(
        False, "tag from a learned mix of all hidden layers kept, not the top one; the folder "
        "then needs trust_remote_code=True outside nerkit"
    )
    resume: bool = setting(
        False, "continue from the last complete checkpoint in --output-dir"
    )
    overwrite: bool = setting(
        False, "replace what a non-empty --output-dir holds (an older model or run): it is "
        "emptied before training starts"
    )
    bf16: bool = setting(False, "bf16 mixed precision")
    fp16: bool = setting(False, "fp16 mixed precision, on a GPU")
    logging_steps: int = setting(50, "log the training loss every N optimizer steps", metavar="N")
    report_to: str = setting(
        "tensorboard", "experiment trackers the Trainer logs to, separated by commas: tensorboard "
        "(its logs in DIR/runs), mlflow, wandb; none: no tracker", metavar="NAMES"
    )
    keep_checkpoints: bool = setting(
        False, "keep the checkpoints folder inside --output-dir after training"
    )
    extra: dict[str, Any] = field(
        default_factory=dict,
        metadata={"help": "free-form notes kept in training_args.json (config file only)",
                  "flag": None},
    )

    def __post_init__(self) -> None:
        if not self.context:
            # The default dropout share means nothing without context; a share asked for
            # explicitly with context 0 is refused by from_settings.
            self.context_dropout = 0.0

    @classmethod
    def from_settings(cls, settings: dict[str, Any], where: str = "settings") -> TrainConfig:
        """Settings given by a user (flags, a config file), refusing contradictory ones and
        values of the wrong type (``where`` names their source in the message)."""
        check_types(settings, where)
        if settings.get("context_dropout") and not settings.get("context", cls.context):
            raise ConfigError(
                "context_dropout needs context: drop context_dropout, or pass --context N "
                f"(default {cls.context}) instead of 0"
            )
        return cls(**settings)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], **overrides: Any) -> TrainConfig:
        """Settings from a JSON file; ``overrides`` (e.g. command-line flags) win.

        The file is an object of settings, or the ``training_args.json`` a run wrote (its
        ``nerkit`` part is the run's settings), so a recorded run is rerun with ``--config``.
        """
        data = read_settings(path)
        data.update({k: v for k, v in overrides.items() if v is not None})
        return cls.from_settings(data, str(path))

    def check(self) -> None:
        """Refuse missing or out-of-range settings before anything is loaded."""
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
        if self.resume and self.overwrite:
            raise ConfigError("--resume continues what --output-dir holds and --overwrite "
                              "replaces it; pass one of them")
        if self.language is not None and not LANGUAGE_CODE.match(self.language):
            raise ConfigError(
                f"language must be an ISO 639 code such as en, es or de, not {self.language!r}"
            )
        if self.sampling not in SAMPLINGS:
            raise ConfigError(f"sampling must be random or group_by_length, not {self.sampling!r}")
        if self.decoding not in DECODINGS:
            raise ConfigError(f"decoding must be viterbi or argmax, not {self.decoding!r}")
        for name in ("max_length", "batch_size", "eval_batch_size", "save_steps"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
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
        if not 0 <= self.ema_decay < 1:
            raise ConfigError(
                f"ema_decay must be in [0, 1) (0 = no average; 0.99-0.999 are usual), "
                f"got {self.ema_decay}"
            )
        if not 0 <= self.augment_mentions <= 1:
            raise ConfigError(f"augment_mentions must be in [0, 1] (a share of the sentences "
                              f"with entities; 0 = off), got {self.augment_mentions}")
        if self.rdrop < 0:
            raise ConfigError(f"rdrop must be 0 (off) or positive (1-5 are usual), "
                              f"got {self.rdrop}")
        self.encoder_layers = parse_encoder_layers(self.encoder_layers)
        check_trackers(self.report_to)


def read_settings(
    path: str | os.PathLike[str], sections: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The settings in a JSON config file: an object of :class:`TrainConfig` field names, or a
    run's ``training_args.json`` (``{"nerkit": {...}, "transformers": {...}}``: the first part
    is the run's settings; the second is derived from them and ignored).

    ``sections`` are further keys the caller reads itself (``nerkit tune``'s ``search``); they
    are returned as they are. Any other unknown key is refused, naming the known ones, so a
    misspelt setting never silently falls back to its default.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"{path}: cannot read the config file ({err.strerror})") from err
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object of settings, found "
                          f"{type(data).__name__}; write {{\"epochs\": 3, ...}}")
    if isinstance(data.get("nerkit"), dict) and set(data) <= {"nerkit", "transformers"}:
        data = dict(data["nerkit"])  # a run's training_args.json
    names = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(data) - names - set(sections))
    if unknown:
        raise ConfigError(
            f"{path}: unknown settings {', '.join(unknown)}; known: {', '.join(sorted(names))}"
        )
    return data


def trackers(report_to: str) -> list[str]:
    """The tracker names of a ``report_to`` setting; none for ``none``.

    >>> trackers("tensorboard, mlflow"), trackers("none")
    (['tensorboard', 'mlflow'], [])
    """
    names = [n.strip() for n in report_to.split(",") if n.strip()]
    return [] if names == ["none"] else names


def check_trackers(report_to: str) -> None:
    """Refuse an unknown tracker, ``none`` with others, or a tracker whose package is missing
    (the Trainer would fail at its first log, after the data and the layer probe)."""
    names = trackers(report_to)
    known = ", ".join([*TRACKERS, "none"])
    for name in names:
        if name == "none":
            raise ConfigError(f"report_to: none means no tracker; it cannot be combined with "
                              f"others ({report_to!r})")
        if name not in TRACKERS:
            raise ConfigError(f"report_to: unknown tracker {name!r}; choose from {known}")
        if importlib.util.find_spec(TRACKERS[name]) is None:
            raise ConfigError(f"report_to {name} needs the {TRACKERS[name]} package: "
                              f"pip install {TRACKERS[name]}, or choose another tracker")
    if not names and report_to.strip() != "none":
        raise ConfigError(f"report_to is empty; choose from {known}")


def parse_encoder_layers(value: int | str | None) -> int | str | None:
    """``auto``, ``all`` (None) or a positive layer count, from a flag or a config file.

    >>> parse_encoder_layers("all") is None, parse_encoder_layers("8"), parse_encoder_layers(3)
    (True, 8, 3)
    """
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


def field_types() -> dict[str, tuple[type, ...]]:
    """The Python types each :class:`TrainConfig` field accepts (NoneType where it may be None).

    >>> field_types()["head_learning_rate"], field_types()["crf"]
    ((<class 'float'>, <class 'NoneType'>), (<class 'bool'>,))
    """
    hints = typing.get_type_hints(TrainConfig)
    accepted: dict[str, tuple[type, ...]] = {}
    for name, hint in hints.items():
        parts = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        accepted[name] = tuple(typing.get_origin(p) or p for p in parts)
    return accepted


def check_types(settings: dict[str, Any], where: str) -> None:
    """Refuse a setting whose value has the wrong type (``"epochs": "three"``, ``"crf": 1``),
    which would otherwise fail deep inside training or be read as something else."""
    accepted = field_types()
    for name, value in settings.items():
        if name not in accepted:
            continue
        kinds = accepted[name]
        # a JSON integer is a fine float; a JSON boolean is not a number
        ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        if not ok and float in kinds and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if not ok:
            wanted = " or ".join(_TYPE_WORDS.get(k, k.__name__) for k in kinds)
            raise ConfigError(
                f"{where}: {name} must be {wanted}, not {json.dumps(value, default=str)}"
            )


# how a type is spelled in a message about a JSON config file
_TYPE_WORDS = {int: "an integer", float: "a number", str: "a string", bool: "true or false",
               dict: "an object", type(None): "null"}
