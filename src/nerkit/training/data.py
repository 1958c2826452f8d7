"""The first stage of training: the splits, the label set, and the training windows.

Training windows are built exactly as tagging builds them (:mod:`nerkit.modeling.encoding`),
with a label on the first piece of each word the window owns, so that no word is truncated
away and each is trained on once.
"""

from __future__ import annotations

import hashlib
import logging
import random
from dataclasses import asdict, dataclass
from typing import Any

from nerkit.conll.corpus import Sentence
from nerkit.conll.formats import load_split
from nerkit.conll.labels import INTERNAL_SCHEME, LabelSet
from nerkit.conll.schemes import convert_tags
from nerkit.modeling.encoding import Window, WindowEncoder
from nerkit.modeling.folder import load_tokenizer
from nerkit.training.augment import mention_replacement
from nerkit.training.config import TrainConfig

logger = logging.getLogger("nerkit")


@dataclass(frozen=True)
class Splits:
    """The sentences of each split; dev and test are None when not given."""

    train: list[Sentence]
    dev: list[Sentence] | None
    test: list[Sentence] | None


@dataclass(frozen=True)
class TrainingData:
    """What :func:`prepare_data` builds: everything training reads, nothing it changes."""

    splits: Splits
    labels: LabelSet  # every label of every split, so a dev-only label is no surprise later
    tokenizer: Any
    windows: list[Window]  # the training windows, labelled
    encoding: dict[str, Any]  # what encoding the training split changed (EncodingStats)


def load_splits(config: TrainConfig) -> Splits:
    """The named corpus's splits, or the files given; ``limit_train`` cuts the training split."""
    # documents: how the files are cut (stated in the log by the reader, recorded with the
    # run's settings); language: the word splitter for texts with character-offset spans
    read = {"documents": config.documents, "language": config.language or "es"}
    if config.data is not None:
        train = load_split(config.data, "train", config.data_dir, **read)
        dev = load_split(config.data, "dev", config.data_dir, **read)
        test = load_split(config.data, "test", config.data_dir, **read)
    else:
        assert config.train is not None  # checked in TrainConfig.check
        train = load_split(config.train, "train", **read)
        dev = load_split(config.dev, "dev", **read) if config.dev else None
        test = load_split(config.test, "test", **read) if config.test else None
    if config.limit_train is not None:
        train = train[: config.limit_train]
    return Splits(train, dev, test)


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


def training_sentences(train: list[Sentence], augment_mentions: float, seed: int
                       ) -> list[Sentence]:
    """The sentences the windows are built from: the training split, then the copies of
    mention replacement (:mod:`nerkit.training.augment`). The copies come last, so that the
    context-dropout draws of the split's own sentences are those of a run without them."""
    return train + mention_replacement(train, augment_mentions, seed)


def windows_digest(windows: list[Window]) -> str:
    """A short fingerprint of the training windows (pieces and labels), for the processes of a
    ``torchrun`` run to check that they built the same ones.

    >>> windows_digest([]) == windows_digest([]), len(windows_digest([]))
    (True, 16)
    """
    digest = hashlib.sha256()
    for window in windows:
        digest.update(repr((window.input_ids, window.labels)).encode())
    return digest.hexdigest()[:16]


def prepare_data(config: TrainConfig) -> TrainingData:
    """Read the splits, collect the labels and encode the training split into windows."""
    splits = load_splits(config)
    every = [splits.train] + [s for s in (splits.dev, splits.test) if s]
    labels = LabelSet.from_tags(s.tags for split in every for s in split)
    tokenizer = load_tokenizer(config.model)
    encoder = WindowEncoder(tokenizer, config.max_length, config.context)
    train = training_sentences(splits.train, config.augment_mentions, config.seed)
    tag_ids = [
        labels.ids(convert_tags(s.tags, INTERNAL_SCHEME), where=f"{s.path}:{s.line}")
        for s in train
    ]
    windows = encoder.windows(
        [s.words for s in train],
        tag_ids,
        [s.doc_id for s in train],
        alone=context_dropout_flags(len(train), config.context_dropout, config.seed),
    )
    if len(train) > len(splits.train):
        logger.info("mention replacement: %d copies of training sentences added to %d",
                    len(train) - len(splits.train), len(splits.train))
    logger.info("training data: %s", encoder.stats.summary())
    return TrainingData(splits, labels, tokenizer, windows, asdict(encoder.stats))
