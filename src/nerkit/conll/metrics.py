"""Scoring that agrees with conlleval.pl: entity counts, P/R/F1, token reports, confusion.

Input is gold and predicted tags, one list per sentence. Entities are read with
:func:`nerkit.conll.schemes.tags_to_spans` (conlleval's chunk rules, plus seqeval's for
``E-``/``S-``)
sentence by sentence, which is what conlleval does with a blank line between sentences: an
entity never crosses a sentence boundary. An entity is correct when gold has one with the same
type, start and end. This module imports only the standard library and nerkit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from nerkit.conll.schemes import split_tag, tags_to_spans
from nerkit.errors import LabelError

Tags = Sequence[Sequence[str]]


@dataclass(frozen=True)
class EntityCounts:
    """What conlleval counts: tokens, tokens whose tags agree, and entities per type."""

    tokens: int
    correct_tags: int
    gold: dict[str, int]
    pred: dict[str, int]
    correct: dict[str, int]


def _check_lengths(gold: Tags, pred: Tags) -> None:
    for name, sentences in (("gold", gold), ("pred", pred)):
        if isinstance(sentences, str) or any(isinstance(s, str) for s in sentences):
            raise TypeError(f"{name} must be a list of sentences, each a list of tags")
    if len(gold) != len(pred):
        raise LabelError(
            f"gold has {len(gold)} sentences but the predictions have {len(pred)}; "
            "score the same sentences in the same order"
        )
    for i, (gold_tags, pred_tags) in enumerate(zip(gold, pred, strict=True)):
        if len(gold_tags) != len(pred_tags):
            raise LabelError(
                f"sentence {i}: gold has {len(gold_tags)} tags but the prediction has "
                f"{len(pred_tags)}; predict one tag per word"
            )


def entity_counts(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> EntityCounts:
    """Count tokens and gold/predicted/correct entities per type, as conlleval does.

    A token is correct when its gold and predicted tag strings are equal. Raises
    :class:`LabelError` when the sentence counts or a sentence's lengths differ.

    >>> entity_counts([["B-PER", "I-PER", "O"]], [["B-PER", "O", "I-LOC"]])
    EntityCounts(tokens=3, correct_tags=1, gold={'PER': 1}, pred={'LOC': 1, 'PER': 1}, correct={})
    """
    _check_lengths(gold, pred)
    tokens = correct_tags = 0
    n_gold: Counter[str] = Counter()
    n_pred: Counter[str] = Counter()
    n_correct: Counter[str] = Counter()
    for gold_tags, pred_tags in zip(gold, pred, strict=True):
        gold_spans = set(tags_to_spans(gold_tags))
        pred_spans = set(tags_to_spans(pred_tags))
        n_gold.update(label for label, _, _ in gold_spans)
        n_pred.update(label for label, _, _ in pred_spans)
        n_correct.update(label for label, _, _ in gold_spans & pred_spans)
        tokens += len(gold_tags)
        correct_tags += sum(g == p for g, p in zip(gold_tags, pred_tags, strict=True))
    return EntityCounts(
        tokens=tokens,
        correct_tags=correct_tags,
        gold=dict(sorted(n_gold.items())),
        pred=dict(sorted(n_pred.items())),
        correct=dict(sorted(n_correct.items())),
    )


def _prf(correct: int, predicted: int, support: int, scale: int = 100) -> dict[str, float | int]:
    # conlleval's formulas in its order of operations, and its zero rule: a score whose
    # denominator is 0 is 0.0 (it prints 0.00), never an error or NaN.
    precision = scale * correct / predicted if predicted > 0 else 0.0
    recall = scale * correct / support if support > 0 else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "support": support,
        "predicted": predicted,
        "correct": correct,
    }


def score(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict:
    """Entity-level scores as conlleval.pl computes them; a JSON-serializable dict.

    Precision, recall, F1 and token accuracy are percentages (0..100), like conlleval's
    output. Where a denominator is 0 the value is 0.0, as conlleval prints 0.00: precision
    when nothing was predicted, recall when gold has none, F1 when both are 0. ``micro``
    counts all entities; ``macro`` averages the ``per_type`` scores over the types seen in
    gold or predictions (0.0 when there are none). ``support`` counts gold entities.

    >>> s = score([["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "I-PER", "O", "O"]])
    >>> s["micro"]
    {'precision': 100.0, 'recall': 50.0, 'f1': 66.66666666666667, 'support': 2, \
'predicted': 1, 'correct': 1}
    >>> s["macro"], s["token_accuracy"], s["per_type"]["LOC"]["f1"]
    ({'precision': 50.0, 'recall': 50.0, 'f1': 50.0}, 75.0, 0.0)
    """
    counts = entity_counts(gold, pred)
    types = sorted(set(counts.gold) | set(counts.pred))
    per_type = {
        t: _prf(counts.correct.get(t, 0), counts.pred.get(t, 0), counts.gold.get(t, 0))
        for t in types
    }
    micro = _prf(sum(counts.correct.values()), sum(counts.pred.values()), sum(counts.gold.values()))
    macro = {
        key: sum(s[key] for s in per_type.values()) / len(types) if types else 0.0
        for key in ("precision", "recall", "f1")
    }
    return {
        "micro": micro,
        "macro": macro,
        "per_type": per_type,
        "token_accuracy": 100 * counts.correct_tags / counts.tokens if counts.tokens else 0.0,
        "tokens": counts.tokens,
        "gold_entities": micro["support"],
        "pred_entities": micro["predicted"],
    }


def format_report(scores: dict) -> str:
    """Print :func:`score`'s result the way conlleval.pl does, ending with a newline.

    Types are padded to 17 characters (conlleval pads to 17 bytes, which differs only for
    non-ASCII type names); the last number on a type's line is its predicted entity count.

    >>> gold, pred = [["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "I-PER", "O", "O"]]
    >>> print(format_report(score(gold, pred)), end="")
    processed 4 tokens with 2 phrases; found: 1 phrases; correct: 1.
    accuracy:  75.00%; precision: 100.00%; recall:  50.00%; FB1:  66.67
                  LOC: precision:   0.00%; recall:   0.00%; FB1:   0.00  0
                  PER: precision: 100.00%; recall: 100.00%; FB1: 100.00  1
    """
    micro = scores["micro"]
    lines = [
        f"processed {scores['tokens']} tokens with {micro['support']} phrases; "
        f"found: {micro['predicted']} phrases; correct: {micro['correct']}."
    ]
    if scores["tokens"] > 0:  # conlleval skips this line for empty input
        lines.append(
            f"accuracy: {scores['token_accuracy']:6.2f}%; precision: {micro['precision']:6.2f}%; "
            f"recall: {micro['recall']:6.2f}%; FB1: {micro['f1']:6.2f}"
        )
    for name, s in sorted(scores["per_type"].items()):
        lines.append(
            f"{name:>17}: precision: {s['precision']:6.2f}%; recall: {s['recall']:6.2f}%; "
            f"FB1: {s['f1']:6.2f}  {s['predicted']}"
        )
    return "\n".join(lines) + "\n"


def token_report(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict:
    """Per-tag precision/recall/F1/support over tokens, like sklearn's classification_report.

    Keys are every tag seen in gold or predictions (``O`` included), sorted, then
    ``"micro avg"``, ``"macro avg"`` and ``"weighted avg"``. Values are fractions (0..1) as in
    sklearn, not percentages; a score whose denominator is 0 is 0.0 (sklearn's
    ``zero_division=0``). ``support`` counts gold tokens; the averages' support is all tokens.

    >>> r = token_report([["B-PER", "I-PER", "O"]], [["B-PER", "O", "O"]])
    >>> r["I-PER"], r["O"]["precision"], r["micro avg"]["f1"]
    ({'precision': 0.0, 'recall': 0.0, 'f1': 0.0, 'support': 1}, 0.5, 0.6666666666666666)
    """
    _check_lengths(gold, pred)
    n_gold: Counter[str] = Counter()
    n_pred: Counter[str] = Counter()
    n_correct: Counter[str] = Counter()
    for gold_tags, pred_tags in zip(gold, pred, strict=True):
        for tag in (*gold_tags, *pred_tags):
            split_tag(tag)  # refuse tags that are not tags at all
        n_gold.update(gold_tags)
        n_pred.update(pred_tags)
        n_correct.update(g for g, p in zip(gold_tags, pred_tags, strict=True) if g == p)
    report: dict[str, dict[str, float | int]] = {}
    for tag in sorted(set(n_gold) | set(n_pred)):
        s = _prf(n_correct[tag], n_pred[tag], n_gold[tag], scale=1)
        report[tag] = {k: s[k] for k in ("precision", "recall", "f1")}
        report[tag]["support"] = n_gold[tag]
    per_tag = list(report.values())
    total = sum(n_gold.values())
    micro = _prf(sum(n_correct.values()), sum(n_pred.values()), total, scale=1)
    report["micro avg"] = {k: micro[k] for k in ("precision", "recall", "f1")}
    report["macro avg"] = {
        k: sum(s[k] for s in per_tag) / len(per_tag) if per_tag else 0.0
        for k in ("precision", "recall", "f1")
    }
    report["weighted avg"] = {
        k: sum(s[k] * s["support"] for s in per_tag) / total if total else 0.0
        for k in ("precision", "recall", "f1")
    }
    for average in ("micro avg", "macro avg", "weighted avg"):
        report[average]["support"] = total
    return report


def format_token_report(report: dict, digits: int = 2) -> str:
    """Lay out :func:`token_report`'s result as sklearn's classification_report does.

    >>> report = token_report([["B-PER", "I-PER", "O"]], [["B-PER", "O", "O"]])
    >>> print(format_token_report(report), end="")
                  precision    recall  f1-score   support
    <BLANKLINE>
           B-PER       1.00      1.00      1.00         1
           I-PER       0.00      0.00      0.00         1
               O       0.50      1.00      0.67         1
    <BLANKLINE>
       micro avg       0.67      0.67      0.67         3
       macro avg       0.50      0.67      0.56         3
    weighted avg       0.50      0.67      0.56         3
    """
    width = max([len("weighted avg"), digits, *(len(name) for name in report)])
    text = f"{'':>{width}s} " + "".join(
        f" {h:>9}" for h in ("precision", "recall", "f1-score", "support")
    )
    text += "\n\n"
    for name, s in report.items():
        if name == "micro avg":
            text += "\n"
        text += f"{name:>{width}s} " + "".join(
            f" {s[k]:>9.{digits}f}" for k in ("precision", "recall", "f1")
        )
        text += f" {s['support']:>9}\n"
    return text


def entity_confusion(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict:
    """Count entity type confusions: rows are gold types, columns predicted types, plus ``O``.

    Each gold entity counts in column of the predicted entity with exactly the same span, or
    in column ``O`` (missed). Each predicted entity with no gold entity on its span counts in
    row ``O`` (spurious). Labels are the entity types seen, sorted, then ``"O"``. Raises
    :class:`LabelError` if an entity type is itself named ``O``.

    >>> entity_confusion([["B-PER", "O", "B-LOC"]], [["B-ORG", "B-LOC", "O"]])
    {'labels': ['LOC', 'ORG', 'PER', 'O'], 'matrix': [[0, 0, 0, 1], [0, 0, 0, 0], [0, 1, 0, 0], \
[1, 0, 0, 0]]}
    """
    _check_lengths(gold, pred)
    pairs: Counter[tuple[str | None, str | None]] = Counter()
    for gold_tags, pred_tags in zip(gold, pred, strict=True):
        gold_spans = {(start, end): t for t, start, end in tags_to_spans(gold_tags)}
        pred_spans = {(start, end): t for t, start, end in tags_to_spans(pred_tags)}
        for span, t in gold_spans.items():
            pairs[t, pred_spans.get(span)] += 1
        for span, t in pred_spans.items():
            if span not in gold_spans:
                pairs[None, t] += 1
    types = sorted({t for pair in pairs for t in pair if t is not None})
    if "O" in types:
        raise LabelError("an entity type is named 'O', which the confusion matrix uses for none")
    keys: list[str | None] = [*types, None]
    return {
        "labels": [*types, "O"],
        "matrix": [[pairs[row, col] for col in keys] for row in keys],
    }


def format_confusion(conf: dict) -> str:
    """Lay out :func:`entity_confusion`'s result as a table, gold in rows, predicted in columns.

    >>> print(format_confusion(entity_confusion([["B-PER", "O"]], [["B-LOC", "B-LOC"]])), end="")
    gold \\ pred  LOC  PER    O
            LOC    0    0    0
            PER    1    0    0
              O    1    0    0
    """
    labels, matrix = conf["labels"], conf["matrix"]
    head = "gold \\ pred"
    first = max([len(head), *(len(label) for label in labels)])
    cell = max([3, *(len(label) for label in labels), *(len(str(n)) for r in matrix for n in r)])
    lines = [f"{head:>{first}}" + "".join(f"  {label:>{cell}}" for label in labels)]
    for label, row in zip(labels, matrix, strict=True):
        lines.append(f"{label:>{first}}" + "".join(f"  {n:>{cell}}" for n in row))
    return "\n".join(lines) + "\n"
