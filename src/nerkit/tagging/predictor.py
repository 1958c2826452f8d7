"""Run a token classifier over word lists: windows in, one score row per word out.

Shared by evaluation, training (dev F1 each epoch) and the :class:`~nerkit.tagging.tagger.Tagger`,
so the three can never disagree. Windows are sorted by length and padded per batch (no work spent
on padding a short window to the longest in the corpus), and each word's scores come from the
window that owns it (see :mod:`nerkit.modeling.encoding`).

Speed on a CPU: the network dominates, so the rest avoids Python work per word. The owned rows
of a whole batch are gathered with one fancy index into one array for all sentences, the
log-softmax runs once over that array, and decoding is vectorized across sentences
(:meth:`~nerkit.tagging.decode.Decoder.decode_batch`). How the network itself runs (PyTorch,
ONNX, OpenVINO; threads) is the backend's business (:mod:`nerkit.runtimes`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nerkit.conll.labels import LabelSet
from nerkit.errors import ConfigError
from nerkit.modeling.encoding import Window, WindowEncoder, pad_windows
from nerkit.modeling.folder import ModelMeta
from nerkit.modeling.progress import words_expected, words_tagged
from nerkit.runtimes.base import Backend
from nerkit.runtimes.pytorch import TorchBackend
from nerkit.tagging.decode import DECODINGS, Decoder, log_softmax

# batches handed together to a backend with ``run_batches``: 16 x 32 windows of at most 128
# pieces is at most 8 MB of input and 2.4 MB of logits per label
QUEUED_BATCHES = 16


class Predictor:
    """A network (a PyTorch model or any :class:`~nerkit.runtimes.base.Backend`) plus window
    encoder and decoder."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        labels: LabelSet,
        *,
        max_length: int = 128,
        decoding: str = "viterbi",
        scheme: str = "iob2",
        crf: dict[str, Any] | None = None,
        context: int = 0,
    ) -> None:
        check_decoding(decoding)
        # a torch module (it has parameters) is wrapped; anything else is already a Backend
        self.backend: Backend = TorchBackend(model) if hasattr(model, "parameters") else model
        self.tokenizer = tokenizer
        self.labels = labels
        self.encoder = WindowEncoder(tokenizer, max_length, context)
        self.decoder = Decoder(labels.labels, decoding, scheme, crf=crf)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    @classmethod
    def for_model(
        cls,
        model: Any,
        tokenizer: Any,
        labels: LabelSet,
        meta: ModelMeta,
        *,
        decoding: str | None = None,
    ) -> Predictor:
        """A predictor with the windows, scheme and decoding a model's ``nerkit.json`` records
        (``decoding`` overrides the recorded one), so every user of a model runs it alike."""
        return cls(
            model,
            tokenizer,
            labels,
            max_length=meta.max_length,
            decoding=decoding or meta.decoding,
            scheme=meta.scheme,
            crf=meta.crf,
            context=meta.context,
        )

    def word_log_probs(
        self,
        sentences: Sequence[Sequence[str]],
        batch_size: int = 32,
        documents: Sequence[int] | None = None,
    ) -> list[np.ndarray]:
        """Log-probabilities ``(words, labels)`` for each sentence, in input order.

        ``documents``: each sentence's document id, for a model trained with context (see
        :mod:`nerkit.modeling.encoding`); without it sentences are independent.
        """
        lengths = np.array([len(s) for s in sentences], dtype=np.int64)
        offsets = np.zeros(len(sentences) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        words_expected(int(offsets[-1]))  # an open progress bar counts them
        # one row per word of every sentence; filled from the window that owns the word
        scores = np.zeros((int(offsets[-1]), len(self.labels)), dtype=np.float32)
        batches = length_batches(self.encoder.windows(sentences, documents=documents), batch_size)
        run_batches = getattr(self.backend, "run_batches", None)
        if run_batches is None:
            for batch in batches:
                self._gather(batch, self.forward_array(batch), offsets, scores)
        else:  # queued together (see Backend); in groups, so memory stays bounded
            for i in range(0, len(batches), QUEUED_BATCHES):
                group = batches[i : i + QUEUED_BATCHES]
                padded = [pad_windows(batch, self.pad_id)[:2] for batch in group]
                for batch, logits in zip(group, run_batches(padded), strict=True):
                    self._gather(batch, np.asarray(logits), offsets, scores)
        log_probs = log_softmax(scores)
        return np.split(log_probs, offsets[1:-1]) if len(sentences) else []

    @staticmethod
    def _gather(
        batch: list[Window], logits: np.ndarray, offsets: np.ndarray, scores: np.ndarray
    ) -> None:
        """Copy the rows of the words each window owns into ``scores`` (one fancy index)."""
        batch_rows: list[int] = []
        positions: list[int] = []
        targets: list[int] = []
        for i, window in enumerate(batch):
            first = window.own_start - window.word_start
            owned = window.first_piece[first : first + window.own_end - window.own_start]
            positions.extend(owned)
            batch_rows.extend([i] * len(owned))
            base = int(offsets[window.sentence])
            targets.extend(range(base + window.own_start, base + window.own_end))
        scores[targets] = logits[batch_rows, positions]
        words_tagged(len(targets))

    def forward_array(self, batch: list[Window]) -> np.ndarray:
        """Logits ``(windows, pieces, labels)`` for one batch, right-padded to its longest.

        Public for checks that compare two backends logit by logit (the export's parity
        report) on the same batches."""
        ids, mask, _ = pad_windows(batch, self.pad_id)
        return np.asarray(self.backend(ids, mask))

    def predict_ids(
        self,
        sentences: Sequence[Sequence[str]],
        batch_size: int = 32,
        documents: Sequence[int] | None = None,
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Decoded label ids and the log-probabilities behind them, per sentence."""
        log_probs = self.word_log_probs(sentences, batch_size, documents)
        return self.decoder.decode_batch(log_probs), log_probs

    def predict_tags(
        self,
        sentences: Sequence[Sequence[str]],
        batch_size: int = 32,
        documents: Sequence[int] | None = None,
    ) -> list[list[str]]:
        """One IOB2 tag per word for each sentence."""
        ids, _ = self.predict_ids(sentences, batch_size, documents)
        names = np.array(self.labels.labels, dtype=object)
        return [names[row].tolist() for row in ids]


def check_decoding(decoding: str) -> str:
    """``decoding`` if it names a known decoding, else a ConfigError that lists them."""
    if decoding not in DECODINGS:
        raise ConfigError(f"unknown decoding {decoding!r}; choose one of {', '.join(DECODINGS)}")
    return decoding


def length_batches(windows: list[Window], batch_size: int) -> list[list[Window]]:
    """``windows`` sorted by length and cut into batches of ``batch_size``: a batch is padded
    to its own longest window, so sorting keeps the padding small."""
    ordered = sorted(windows, key=lambda w: len(w.input_ids))
    return [ordered[i : i + batch_size] for i in range(0, len(ordered), batch_size)]
