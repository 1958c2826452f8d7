"""Scoring the model being trained exactly as ``nerkit evaluate`` scores a saved one.

Windows, context and constrained decoding are those of the saved model, so the dev F1 that picks
the best checkpoint is the F1 that ``nerkit evaluate`` reports for it afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nerkit.conll.corpus import Sentence
from nerkit.conll.labels import LabelSet
from nerkit.tagging.evaluate import evaluate_sentences
from nerkit.tagging.predictor import Predictor
from nerkit.training.config import TrainConfig


def crf_scores(model: Any) -> dict[str, Any] | None:
    """The transition scores of the model's CRF head as ``nerkit.json`` stores them, or None."""
    crf = getattr(model, "crf", None)
    return crf.scores() if crf is not None else None


def training_predictor(
    model: Any, crf: dict[str, Any] | None, tokenizer: Any, labels: LabelSet, config: TrainConfig
) -> Predictor:
    """A predictor for ``model`` with the windows and decoding it will be saved with."""
    return Predictor(
        model,
        tokenizer,
        labels,
        max_length=config.max_length,
        decoding=config.decoding,
        crf=crf,
        context=config.context,
    )


@dataclass(frozen=True)
class DevScorer:
    """Entity scores of a model on the dev sentences; the trainer calls it at each evaluation.

    Each call builds its own predictor (backend and decoder) around the model as it is at that
    moment, weights and CRF scores included, so nothing is shared between evaluations.
    """

    sentences: Sequence[Sentence] | None
    tokenizer: Any
    labels: LabelSet
    config: TrainConfig

    def __call__(self, model: Any) -> dict[str, Any]:
        """Micro and per-type entity scores of ``model`` on the dev sentences."""
        if self.sentences is None:  # nothing to score: the Trainer then never evaluates
            return {"micro": {"f1": 0.0, "precision": 0.0, "recall": 0.0}}
        predictor = training_predictor(
            model, crf_scores(model), self.tokenizer, self.labels, self.config
        )
        results, _ = evaluate_sentences(
            predictor, self.sentences, self.config.eval_batch_size, desc="dev F1"
        )
        return results["entity"]
