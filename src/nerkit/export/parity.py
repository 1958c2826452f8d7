"""Proof that an exported model runs like the PyTorch model it came from.

Every export ends with :func:`parity_report`: the same :class:`~nerkit.tagging.predictor.Predictor`
(windows, decoding) over the PyTorch model and over the exported backend, compared logit by
logit on a fixed sample (:func:`sample_sentences`) and, when the user gives data, by entity F1.
The report is written to ``export_report.json`` beside the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nerkit.conll.corpus import Sentence
    from nerkit.runtimes import OpenedModel
    from nerkit.tagging.predictor import Predictor

# A fixed sample for the logit and tag comparison: entities of each type, accents, numbers,
# punctuation, a one-word text, and (added in code) a text longer than one window.
SAMPLE_TEXTS = (
    "El presidente del Gobierno, José María Aznar, llegó ayer a Bruselas.",
    "La Unión Europea y la ONU firmaron el acuerdo en Nueva York el 3 de mayo de 2000.",
    "Telefónica ganó 1.234 millones de pesetas, según informó la compañía a la CNMV.",
    "Madrid",
    "Los jugadores del Real Madrid viajaron a Barcelona para la final de la Copa del Rey.",
    "«Es un día histórico», dijo Kofi Annan tras reunirse con el Parlamento Europeo.",
    "Microsoft, Intel y la Universidad Politécnica de Cataluña presentaron el proyecto Linux.",
    "La Liga de Campeones empieza el martes ; el Atlético de Madrid juega en Roma .",
)


def sample_sentences(language: str = "es", long_words: int = 300) -> list[list[str]]:
    """The fixed comparison sample as word lists, plus one text longer than a window."""
    from nerkit.conll.words import split_words

    sentences = [[w.text for w in split_words(t, language)] for t in SAMPLE_TEXTS]
    long_text = [w for s in sentences for w in s]
    sentences.append((long_text * (long_words // len(long_text) + 1))[:long_words])
    return sentences


def parity_report(
    model: Any,
    exported: OpenedModel,
    sentences: Sequence[Sentence] | None = None,
    *,
    batch_size: int = 32,
) -> dict[str, Any]:
    """Compare the PyTorch ``model`` with ``exported``, the exported folder as
    :func:`~nerkit.runtimes.open_model` opens it (so the check runs what users will run).

    ``sample``: on :func:`sample_sentences`, the largest absolute logit difference over real
    (unpadded) pieces, and whether decoded tags are identical. ``check``, with ``sentences``
    (gold sentences): entity F1 of both and how many sentences and words differ.
    """
    from nerkit.tagging.predictor import Predictor

    tokenizer, labels, meta = exported.tokenizer, exported.labels, exported.meta
    torch_predictor = Predictor.for_model(model, tokenizer, labels, meta)
    export_predictor = Predictor.for_model(exported.backend, tokenizer, labels, meta)
    sample = sample_sentences(meta.language)
    max_diff = max_logit_difference(torch_predictor, export_predictor, sample, batch_size)
    torch_tags = torch_predictor.predict_tags(sample, batch_size)
    export_tags = export_predictor.predict_tags(sample, batch_size)
    report: dict[str, Any] = {
        "sample": {
            "sentences": len(sample),
            "words": sum(len(s) for s in sample),
            "max_abs_logit_diff": float(f"{max_diff:.3g}"),
            "tags_identical": torch_tags == export_tags,
            "words_with_different_tags": different_words(torch_tags, export_tags),
        }
    }
    if sentences is not None:
        report["check"] = compare_on_data(torch_predictor, export_predictor, sentences, batch_size)
    return report


def max_logit_difference(
    expected: Predictor, got: Predictor, sentences: list[list[str]], batch_size: int
) -> float:
    """The largest absolute logit difference of two predictors over the real (unpadded)
    pieces of the windows of ``sentences``, batch by batch as prediction runs them."""
    import numpy as np

    from nerkit.tagging.predictor import length_batches

    largest = 0.0
    for batch in length_batches(expected.encoder.windows(sentences), batch_size):
        want, have = expected.forward_array(batch), got.forward_array(batch)
        for i, window in enumerate(batch):
            n = len(window.input_ids)
            largest = max(largest, float(np.abs(want[i, :n] - have[i, :n]).max()))
    return largest


def compare_on_data(
    torch_predictor: Predictor,
    export_predictor: Predictor,
    sentences: Sequence[Sentence],
    batch_size: int,
) -> dict[str, Any]:
    """Entity F1 of both predictors on gold ``sentences``, and where their tags differ."""
    from nerkit.tagging.evaluate import evaluate_sentences

    torch_results, torch_pred = evaluate_sentences(torch_predictor, sentences, batch_size,
                                                   desc="parity: PyTorch")
    export_results, export_pred = evaluate_sentences(export_predictor, sentences, batch_size,
                                                     desc="parity: export")
    f1_torch = torch_results["entity"]["micro"]["f1"]
    f1_export = export_results["entity"]["micro"]["f1"]
    return {
        "sentences": len(sentences),
        "words": sum(len(s.words) for s in sentences),
        "f1_torch": f1_torch,
        "f1_export": f1_export,
        "f1_delta": round(f1_export - f1_torch, 4),
        "sentences_with_different_tags": sum(
            a != b for a, b in zip(torch_pred, export_pred, strict=True)
        ),
        "words_with_different_tags": different_words(torch_pred, export_pred),
    }


def different_words(a: Sequence[Sequence[str]], b: Sequence[Sequence[str]]) -> int:
    """How many words two taggings of the same sentences tag differently."""
    return sum(x != y for s, t in zip(a, b, strict=True) for x, y in zip(s, t, strict=True))
