"""Raw text in, whole entities with character offsets out.

The :class:`Tagger` splits text into words (a swappable :class:`~nerkit.conll.words.WordSplitter`
that tokenizes the way CoNLL-2002 was), tags the words with the same
:class:`~nerkit.tagging.predictor.Predictor` that ``nerkit evaluate`` uses, builds spans from word
tags (never from word pieces), and switches from word to character offsets only here, at the edge.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from nerkit.conll.labels import LabelSet
from nerkit.conll.schemes import tags_to_spans
from nerkit.conll.words import Word, WordSplitter, splitter_for
from nerkit.modeling.folder import ModelMeta
from nerkit.runtimes import open_model
from nerkit.tagging.predictor import Predictor, check_decoding

DEFAULT_BATCH_SIZE = 32  # windows per batch, unless the backend asks for another


@dataclass(frozen=True)
class Entity:
    """An entity found in a text.

    ``start``/``end`` are character offsets into the original text, end exclusive, so
    ``text == original[start:end]``. ``score`` is the mean, over the entity's words, of the
    probability the model gives the tag that decoding chose for that word.
    """

    text: str
    label: str
    start: int
    end: int
    score: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Tagger:
    """Tag texts with a trained model.

    >>> tagger = Tagger.load("my-model")                    # doctest: +SKIP
    >>> tagger("El Secretario del Tesoro, Steven Mnuchin.")  # doctest: +SKIP
    [Entity(text='Tesoro', label='ORG', start=18, end=24, score=0.93),
     Entity(text='Steven Mnuchin', label='PER', start=26, end=40, score=0.99)]
    """

    def __init__(
        self,
        predictor: Predictor,
        meta: ModelMeta | None = None,
        *,
        splitter: WordSplitter | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        self.predictor = predictor
        self.meta = meta or ModelMeta()
        self.splitter = splitter or splitter_for(self.meta.language)
        self.batch_size = batch_size

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        decoding: str | None = None,
        splitter: WordSplitter | None = None,
        batch_size: int | None = None,
        threads: int | None = None,
        latency: bool = False,
    ) -> Tagger:
        """Load a model folder written by ``nerkit train`` (or any HF token classifier).

        A folder written by ``nerkit export`` (it holds ``model.onnx``, or ``model.xml`` for
        OpenVINO) runs on that runtime, with the same windows, decoding and outputs; see
        :func:`nerkit.runtimes.open_model` for ``threads`` and ``latency``. ``decoding``
        overrides the one the model records. ``batch_size`` (windows per batch) defaults to 32,
        or to what the backend asks for (its ``batch_size`` attribute: 64 for OpenVINO).
        """
        if decoding is not None:
            check_decoding(decoding)  # before the slow part
        opened = open_model(path, threads=threads, latency=latency)
        predictor = Predictor.for_model(
            opened.backend, opened.tokenizer, opened.labels, opened.meta, decoding=decoding
        )
        batch_size = batch_size or opened.batch_size or DEFAULT_BATCH_SIZE
        return cls(predictor, opened.meta, splitter=splitter, batch_size=batch_size)

    @property
    def labels(self) -> LabelSet:
        return self.predictor.labels

    def __call__(self, text: str) -> list[Entity]:
        """Entities in one text, sorted by start."""
        return next(iter(self.tag_many([text])))

    def tag_many(
        self, texts: Iterable[str], batch_size: int | None = None
    ) -> Iterator[list[Entity]]:
        """Entities for each text, streamed in input order; memory bounded by the chunk size.

        Texts go in chunks of eight batches, and chunks overlap: while one chunk is tagged on a
        worker thread, this thread splits the next chunk into words and builds the entities of
        the previous one. The network releases the GIL, so the word work no longer leaves
        cores idle between chunks. At most two chunks are in flight.
        """
        size = batch_size or self.batch_size
        iterator = iter(texts)
        chunks = iter(lambda: list(itertools.islice(iterator, size * 8)), [])
        first = next(chunks, [])
        if not first:
            return
        second = next(chunks, [])
        if not second:  # one chunk at most (one text, a short list): nothing to overlap
            words = [self.splitter(text) for text in first]
            yield from self._chunk_entities(first, words, *self._predict(words, size))
            return
        with ThreadPoolExecutor(1, thread_name_prefix="nerkit-tag") as worker:
            pending: tuple[list[str], list[list[Word]], Future[Any]] | None = None
            for chunk in itertools.chain([first, second], chunks):
                words = [self.splitter(text) for text in chunk]
                submitted = (chunk, words, worker.submit(self._predict, words, size))
                if pending is not None:
                    yield from self._chunk_entities(*pending[:2], *pending[2].result())
                pending = submitted
            assert pending is not None
            yield from self._chunk_entities(*pending[:2], *pending[2].result())

    def _predict(
        self, words: list[list[Word]], batch_size: int
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        return self.predictor.predict_ids([[w.text for w in ws] for ws in words], batch_size)

    def _chunk_entities(
        self,
        texts: list[str],
        words: list[list[Word]],
        ids: list[np.ndarray],
        log_probs: list[np.ndarray],
    ) -> Iterator[list[Entity]]:
        for text, ws, row, lp in zip(texts, words, ids, log_probs, strict=True):
            yield self._entities(text, ws, row, lp)

    def tag_tokens(self, words: Sequence[str]) -> list[str]:
        """One IOB2 tag per word for input already split into words."""
        return self.tag_sentences([words])[0]

    def tag_sentences(
        self,
        sentences: Sequence[Sequence[str]],
        batch_size: int | None = None,
        documents: Sequence[int] | None = None,
    ) -> list[list[str]]:
        """Tags for many pre-tokenized sentences (same decoding as ``nerkit evaluate``).

        ``documents``: one document id per sentence; a model trained with ``--context`` reads
        the neighbouring sentences of the same document (without ids, none).
        """
        return self.predictor.predict_tags(sentences, batch_size or self.batch_size, documents)

    def _entities(
        self, text: str, words: list[Word], ids: np.ndarray, log_probs: np.ndarray
    ) -> list[Entity]:
        if not words:
            return []
        names = self.labels.labels
        tags = [names[i] for i in ids]
        chosen = np.exp(log_probs[np.arange(len(ids)), ids])
        entities = []
        for label, start, end in tags_to_spans(tags):
            char_start, char_end = words[start].start, words[end - 1].end
            entities.append(
                Entity(
                    text=text[char_start:char_end],
                    label=label,
                    start=char_start,
                    end=char_end,
                    score=round(float(chosen[start:end].mean()), 4),
                )
            )
        return entities
