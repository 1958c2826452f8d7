"""The language a model is trained for: given, from the named corpus, or detected from the data.

It is recorded in ``nerkit.json`` (the :class:`~nerkit.tagging.tagger.Tagger` splits raw text
into words by it) and in the model card's metadata, so it must never be a silent
default. :func:`choose_language` takes ``--language`` when given, else the named corpus's
language (``conll2002-nl`` is Dutch), else detects it from the training words with py3langid
(PyPI; a naive Bayes identifier of 140 languages that ships its model in the package: nothing is
downloaded). Whichever way, the log says which
language and why; an uncertain detection is a warning that names the runner-up and the flag.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from nerkit.conll.corpus import CORPORA, Sentence
from nerkit.errors import ConfigError
from nerkit.training.config import TrainConfig
from nerkit.training.data import Splits

__all__ = ["LanguageChoice", "check_splitter", "choose_language", "detect_language"]

logger = logging.getLogger("nerkit")

# words read for detection: a few thousand identify a language reliably, more only cost time
DETECTION_WORDS = 5000
# below this probability the detected language is recorded with a warning to check it
CONFIDENT = 0.8


@dataclass(frozen=True)
class LanguageChoice:
    """The language recorded for a model, and how it was chosen.

    ``source`` is ``"given"`` (``--language``), ``"corpus"`` (the named corpus's) or
    ``"detected"``; a detection also keeps its ``confidence`` (a probability), the number of
    ``words`` it read and the ``runner_up`` language with its probability.
    """

    code: str
    source: str
    confidence: float | None = None
    words: int | None = None
    runner_up: tuple[str, float] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        """The log line: which language, and why."""
        if self.source == "given":
            return f"language: {self.code} (given with --language)"
        if self.source == "corpus":
            return f"language: {self.code} (the language of the named corpus)"
        runner = ""
        if self.runner_up:
            runner = f"; next: {self.runner_up[0]} {self.runner_up[1]:.2f}"
        return (
            f"language: {self.code}, detected from {self.words} training words by py3langid "
            f"(probability {self.confidence:.2f}{runner}); pass --language CODE to set it"
        )


def choose_language(config: TrainConfig, splits: Splits) -> LanguageChoice:
    """The language to record for a run, stated in the log."""
    corpus = CORPORA[config.data].language if config.data in CORPORA else None
    if config.language:
        choice = LanguageChoice(config.language, "given")
        if corpus and corpus != config.language:
            logger.warning("--language %s differs from corpus %s, which is %s; recording %s",
                           config.language, config.data, corpus, config.language)
    elif corpus:
        choice = LanguageChoice(corpus, "corpus")
    else:
        choice = detect_language(_sentences(splits))
    if choice.source == "detected" and (choice.confidence or 0.0) < CONFIDENT:
        logger.warning("%s; the detection is uncertain", choice.describe())
    else:
        logger.info("%s", choice.describe())
    check_splitter(choice)
    return choice


def check_splitter(choice: LanguageChoice) -> None:
    """Make sure the tagger can split raw text in the language recorded, before training.

    A detected language without a word splitter (a rare language, or a close neighbour that the
    detector preferred on little data) is refused: it would give a model that no tagger loads.
    A language given with ``--language`` is the user's to choose: a warning, since another
    installation (with spaCy) may split it.
    """
    from nerkit.conll.words import splitter_for

    try:
        splitter_for(choice.code)
    except ConfigError as err:
        if choice.source == "detected":
            raise ConfigError(
                f"{choice.describe()}, but {err}; pass --language with a language the tagger "
                "can split"
            ) from err
        logger.warning("%s: the model trains, but tagging raw text with it needs a splitter", err)


def _sentences(splits: Splits) -> Iterator[Sentence]:
    yield from splits.train
    yield from splits.dev or ()
    yield from splits.test or ()


def detect_language(sentences: Iterable[Sentence]) -> LanguageChoice:
    """Detect the language of the words outside entities (names say little about it).

    Reads up to :data:`DETECTION_WORDS` words that hold a letter. Data with no such word (only
    numbers and symbols) cannot be identified: a :class:`ConfigError` asks for ``--language``.
    """
    words: list[str] = []
    for sentence in sentences:
        words.extend(w for w, t in zip(sentence.words, sentence.tags, strict=True)
                     if t == "O" and any(c.isalpha() for c in w))
        if len(words) >= DETECTION_WORDS:
            break
    words = words[:DETECTION_WORDS]
    if not words:
        raise ConfigError(
            "cannot detect the language of the training data: no word outside the entities has "
            "a letter; pass --language CODE (e.g. --language en)"
        )
    ranked = _identifier().rank(" ".join(words))
    (code, confidence), runner_up = ranked[0], ranked[1] if len(ranked) > 1 else None
    return LanguageChoice(
        code, "detected", round(float(confidence), 4), len(words),
        (runner_up[0], round(float(runner_up[1]), 4)) if runner_up else None,
    )


@functools.lru_cache(maxsize=1)
def _identifier() -> Any:
    """py3langid's identifier with probabilities, loaded once (its model is a few MB)."""
    try:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier
    except ImportError as err:
        raise ConfigError(
            "detecting the language of the training data needs py3langid (pip install "
            "py3langid); or pass --language CODE"
        ) from err
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
