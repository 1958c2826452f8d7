"""Run a token classifier over word lists: windows in, one score row per word out.

Shared by evaluation, training (dev F1 each epoch) and the :class:`~nerkit.tagger.Tagger`, so
the three can never disagree. Windows are sorted by length and padded per batch (no work spent
on padding a short window to the longest in the corpus), and each word's scores come from the
window that owns it (see :mod:`nerkit.encoding`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from nerkit.decode import Decoder, log_softmax
from nerkit.encoding import Window, WindowEncoder
from nerkit.labels import LabelSet


class Backend(Protocol):
    """Runs the network: ``(input_ids, attention_mask)`` int64 arrays to float logits."""

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray: ...


class TorchBackend:
    """A PyTorch token classifier as a :class:`Backend`."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        import torch

        device = next(self.model.parameters()).device
        with torch.inference_mode():
            logits = self.model(
                input_ids=torch.from_numpy(input_ids).to(device),
                attention_mask=torch.from_numpy(attention_mask).to(device),
            ).logits
        return logits.float().cpu().numpy()


class Predictor:
    """A network (a PyTorch model or any :class:`Backend`) plus window encoder and decoder."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        labels: LabelSet,
        *,
        max_length: int = 128,
        decoding: str = "viterbi",
        scheme: str = "iob2",
    ) -> None:
        # a torch module (it has parameters) is wrapped; anything else is already a Backend
        self.backend: Backend = TorchBackend(model) if hasattr(model, "parameters") else model
        self.tokenizer = tokenizer
        self.labels = labels
        self.encoder = WindowEncoder(tokenizer, max_length)
        self.decoder = Decoder(labels.labels, decoding, scheme)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    def word_log_probs(
        self, sentences: Sequence[Sequence[str]], batch_size: int = 32
    ) -> list[np.ndarray]:
        """Log-probabilities ``(words, labels)`` for each sentence, in input order."""
        windows = self.encoder.windows(sentences)
        out = [np.zeros((len(s), len(self.labels)), dtype=np.float64) for s in sentences]
        for batch in _length_batches(windows, batch_size):
            logits = self._forward(batch)
            for window, rows in zip(batch, logits, strict=True):
                owned = range(window.own_start, window.own_end)
                positions = [window.first_piece[w - window.word_start] for w in owned]
                out[window.sentence][window.own_start : window.own_end] = rows[positions]
        return [log_softmax(x) for x in out]

    def _forward(self, batch: list[Window]) -> list[np.ndarray]:
        width = max(len(w.input_ids) for w in batch)
        ids = np.full((len(batch), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for i, w in enumerate(batch):
            ids[i, : len(w.input_ids)] = w.input_ids
            mask[i, : len(w.input_ids)] = 1
        array = self.backend(ids, mask)
        return [array[i] for i in range(len(batch))]

    def predict_ids(
        self, sentences: Sequence[Sequence[str]], batch_size: int = 32
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Decoded label ids and the log-probabilities behind them, per sentence."""
        log_probs = self.word_log_probs(sentences, batch_size)
        return [self.decoder.decode(lp) for lp in log_probs], log_probs

    def predict_tags(
        self, sentences: Sequence[Sequence[str]], batch_size: int = 32
    ) -> list[list[str]]:
        """One IOB2 tag per word for each sentence."""
        ids, _ = self.predict_ids(sentences, batch_size)
        names = self.labels.labels
        return [[names[i] for i in row] for row in ids]


def _length_batches(windows: list[Window], batch_size: int) -> list[list[Window]]:
    ordered = sorted(windows, key=lambda w: len(w.input_ids))
    return [ordered[i : i + batch_size] for i in range(0, len(ordered), batch_size)]
