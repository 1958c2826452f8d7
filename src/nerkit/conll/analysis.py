"""Error analysis: every gold and predicted entity paired, each pair classified by kind.

An F1 says how much is wrong; this says what. Each sentence's gold and predicted entities
(read as conlleval reads them, :func:`nerkit.conll.schemes.tags_to_spans`) are paired one to
one, and each pair or lone entity gets one kind:

- ``correct``: same type, start and end (conlleval's true positive);
- ``wrong_type``: same words, another type;
- ``wrong_boundary``: same type, overlapping but not the same words;
- ``wrong_type_and_boundary``: another type on overlapping, different words;
- ``missed``: a gold entity that no predicted entity overlaps (or whose overlapping predicted
  entities were paired with other gold entities);
- ``spurious``: a predicted entity left without a gold partner.

How overlaps are matched: entities never cross sentences, and within a sentence gold entities
do not overlap each other, nor do predicted ones. First exact matches (same type and words) are
paired. Then every remaining (gold, predicted) pair sharing at least one word is a candidate, and
candidates are taken greedily, each entity at most once: the larger overlap in words first,
then the pair with the same type, then the earlier gold entity, then the earlier predicted one.
So "Banco de España" (ORG) predicted as "Banco" (ORG) + "España" (LOC) gives one
``wrong_boundary`` pair and one ``spurious`` LOC.

Because every gold entity and every predicted entity ends in exactly one pair or alone, the
counts add up to conlleval's, overall and per type: ``correct`` = true positives; the three
``wrong_*`` kinds + ``missed`` = false negatives (counted under the gold type); the three
``wrong_*`` kinds + ``spurious`` = false positives (counted under the predicted type).

This module imports only the standard library and :mod:`nerkit.conll`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nerkit.conll.metrics import entity_counts
from nerkit.conll.schemes import split_tag, tags_to_spans
from nerkit.errors import DataFormatError, LabelError, NerkitError

Span = tuple[str, int, int]

KINDS = ("correct", "wrong_type", "wrong_boundary", "wrong_type_and_boundary", "missed",
         "spurious")
ERROR_KINDS = KINDS[1:]
# what can become of a gold entity, and of a predicted one
GOLD_FATES = ("correct", "wrong_type", "wrong_boundary", "wrong_type_and_boundary", "missed")
PRED_FATES = ("correct", "wrong_type", "wrong_boundary", "wrong_type_and_boundary", "spurious")
KIND_NAMES = {kind: kind.replace("_", " ") for kind in KINDS}
BOUNDARIES = ("wider", "narrower", "shifted")


@dataclass(frozen=True)
class Pair:
    """A gold entity and its predicted partner (either may be ``None``), with the pair's kind.

    Spans are ``(label, start, end)`` in word indices, end exclusive.
    """

    kind: str
    gold: Span | None
    pred: Span | None

    @property
    def start(self) -> int:
        """The first word of the pair (where it is listed in a sentence)."""
        return min(span[1] for span in (self.gold, self.pred) if span is not None)

    @property
    def boundary(self) -> str | None:
        """For boundary errors, how the predicted words differ from the gold ones.

        ``wider``: the prediction holds every gold word and more; ``narrower``: it holds only
        some gold words; ``shifted``: each has words the other lacks. ``None`` otherwise.
        """
        if self.gold is None or self.pred is None or self.gold[1:] == self.pred[1:]:
            return None
        (_, gs, ge), (_, ps, pe) = self.gold, self.pred
        if ps <= gs and ge <= pe:
            return "wider"
        if gs <= ps and pe <= ge:
            return "narrower"
        return "shifted"

    def as_dict(self) -> dict[str, Any]:
        """JSON form: ``kind``, and ``gold``/``pred`` as ``[label, start, end]`` or ``None``."""
        return {"kind": self.kind, "gold": list(self.gold) if self.gold else None,
                "pred": list(self.pred) if self.pred else None}


def _kind(gold: Span, pred: Span) -> str:
    same_type = gold[0] == pred[0]
    same_words = gold[1:] == pred[1:]
    if same_words:
        return "correct" if same_type else "wrong_type"
    return "wrong_boundary" if same_type else "wrong_type_and_boundary"


def pair_spans(gold: Sequence[Span], pred: Sequence[Span]) -> list[Pair]:
    """Pair one sentence's gold and predicted spans as the module docstring says.

    Returns the pairs sorted by their first word (gold before predicted on a tie).

    >>> pair_spans([("ORG", 0, 3)], [("ORG", 0, 1), ("LOC", 2, 3)])
    [Pair(kind='wrong_boundary', gold=('ORG', 0, 3), pred=('ORG', 0, 1)), \
Pair(kind='spurious', gold=None, pred=('LOC', 2, 3))]
    """
    exact = set(gold) & set(pred)
    pairs = [Pair("correct", span, span) for span in exact]
    free_gold = [g for g in gold if g not in exact]
    free_pred = [p for p in pred if p not in exact]
    candidates = []
    for g in free_gold:
        for p in free_pred:
            overlap = min(g[2], p[2]) - max(g[1], p[1])
            if overlap > 0:
                candidates.append((-overlap, g[0] != p[0], g[1], p[1], g, p))
    taken: set[tuple[str, Span]] = set()
    for *_, g, p in sorted(candidates):
        if ("gold", g) not in taken and ("pred", p) not in taken:
            taken.update((("gold", g), ("pred", p)))
            pairs.append(Pair(_kind(g, p), g, p))
    pairs += [Pair("missed", g, None) for g in free_gold if ("gold", g) not in taken]
    pairs += [Pair("spurious", None, p) for p in free_pred if ("pred", p) not in taken]
    # by first word, then gold start, then predicted start: no two pairs tie (app.js sorts so)
    inf = float("inf")
    return sorted(pairs, key=lambda x: (x.start, x.gold[1] if x.gold else inf,
                                        x.pred[1] if x.pred else inf))


def pair_entities(gold_tags: Sequence[str], pred_tags: Sequence[str]) -> list[Pair]:
    """Pair the entities of one sentence's gold and predicted tags (any IOB/BIOES mix).

    >>> [p.kind for p in pair_entities(["B-PER", "I-PER", "O"], ["B-LOC", "I-LOC", "B-PER"])]
    ['wrong_type', 'spurious']
    """
    return pair_spans(tags_to_spans(gold_tags), tags_to_spans(pred_tags))


def check_tags(
    tags: Sequence[Sequence[str]], where: Sequence[tuple[str, int]], column: str = "tag"
) -> None:
    """Refuse a value that is no tag, naming its ``file:line`` (``where[i]`` is sentence
    ``i``'s path and first line; its words are on the lines that follow)."""
    for (path, line), sentence in zip(where, tags, strict=True):
        for i, tag in enumerate(sentence):
            try:
                split_tag(tag)
            except NerkitError as err:
                raise DataFormatError(path, line + i, f"{column} column: {err}",
                                      "check which columns hold the tags") from None


def _span_record(span: Span | None, words: Sequence[str] | None) -> dict[str, Any] | None:
    if span is None:
        return None
    label, start, end = span
    record: dict[str, Any] = {"label": label, "start": start, "end": end}
    if words is not None:
        record["text"] = " ".join(words[start:end])
    return record


def _where(where: Sequence[tuple[str, int]] | None, index: int, offset: int) -> str | None:
    # a sentence's words are on consecutive lines from its first line
    if where is None:
        return None
    path, line = where[index]
    return f"{path}:{line + offset}"


def _matrix(pairs: Counter[tuple[str | None, str | None]]) -> dict[str, Any]:
    types = sorted({t for pair in pairs for t in pair if t is not None})
    if "O" in types:
        raise LabelError("an entity type is named 'O', which the confusion matrix uses for none")
    keys: list[str | None] = [*types, None]
    return {"labels": [*types, "O"], "matrix": [[pairs[r, c] for c in keys] for r in keys]}


def analyze(
    gold: Sequence[Sequence[str]],
    pred: Sequence[Sequence[str]],
    *,
    words: Sequence[Sequence[str]] | None = None,
    where: Sequence[tuple[str, int]] | None = None,
) -> dict[str, Any]:
    """Classify every entity of some sentences; a JSON-ready dict.

    ``gold`` and ``pred`` are tag lists, one per sentence (:class:`LabelError` if their
    lengths differ). ``words`` (the sentences' words) adds entity and sentence texts;
    ``where`` (each sentence's ``(path, first line)``) adds ``file:line`` to every error,
    the line of the error's first word. Keys:

    - ``counts``: pairs per kind (:data:`KINDS`); ``boundary``: boundary errors (both
      ``wrong_*boundary`` kinds) per :data:`BOUNDARIES` shape;
    - ``conlleval``: true positives, false negatives, false positives from
      :func:`~nerkit.conll.metrics.entity_counts`, which the counts add up to;
    - ``per_type``: for each type, what became of its ``gold`` entities (:data:`GOLD_FATES`)
      and of its ``pred`` entities (:data:`PRED_FATES`);
    - ``confusions``: error pairs grouped by (gold type, predicted type, kind), most frequent
      first, the type ``None`` for a missing side: the worst confusions head the list;
    - ``matrix``: every pair (correct ones too) by gold type (rows) and predicted type
      (columns), ``O`` for none; boundary errors therefore sit on the diagonal;
    - ``errors``: each error pair in file order; ``sentences``: each sentence holding an
      error, with its words and all its pairs (enough to draw it).
    """
    if where is not None and len(where) == len(gold) == len(pred):
        check_tags(gold, where, "gold")
        check_tags(pred, where, "predicted")
    counts = entity_counts(gold, pred)  # also refuses sentences of different lengths
    tally = _Tally()
    errors: list[dict[str, Any]] = []
    sentences: list[dict[str, Any]] = []
    for index, (gold_tags, pred_tags) in enumerate(zip(gold, pred, strict=True)):
        sentence_words = None if words is None else list(words[index])
        pairs = pair_entities(gold_tags, pred_tags)
        for pair in pairs:
            tally.add(pair)
            if pair.kind != "correct":
                errors.append(_error_record(pair, index, sentence_words, where))
        if any(pair.kind != "correct" for pair in pairs):
            sentences.append(_sentence_record(pairs, index, sentence_words, where))
    tp = sum(counts.correct.values())
    return {
        **tally.as_dict(),
        "conlleval": {"true_positives": tp, "false_negatives": sum(counts.gold.values()) - tp,
                      "false_positives": sum(counts.pred.values()) - tp},
        "errors": errors,
        "sentences": sentences,
    }


class _Tally:
    """The counts :func:`analyze` reports, pair by pair."""

    def __init__(self) -> None:
        self.kinds: Counter[str] = Counter()
        self.boundary: Counter[str] = Counter()
        self.fates: defaultdict[str, dict[str, Counter[str]]] = defaultdict(
            lambda: {"gold": Counter(), "pred": Counter()}
        )
        self.confusions: Counter[tuple[str | None, str | None, str]] = Counter()
        self.matrix: Counter[tuple[str | None, str | None]] = Counter()

    def add(self, pair: Pair) -> None:
        g = pair.gold[0] if pair.gold else None
        p = pair.pred[0] if pair.pred else None
        self.kinds[pair.kind] += 1
        self.matrix[g, p] += 1
        if g is not None:
            self.fates[g]["gold"][pair.kind] += 1
        if p is not None:
            self.fates[p]["pred"][pair.kind] += 1
        if pair.kind != "correct":
            self.confusions[g, p, pair.kind] += 1
        if pair.boundary is not None:
            self.boundary[pair.boundary] += 1

    def as_dict(self) -> dict[str, Any]:
        fates = self.fates
        confusions = sorted(
            self.confusions.items(),
            key=lambda item: (-item[1], item[0][0] or "", item[0][1] or "", item[0][2]),
        )
        return {
            "counts": {kind: self.kinds[kind] for kind in KINDS},
            "boundary": {shape: self.boundary[shape] for shape in BOUNDARIES},
            "per_type": {
                t: {"gold": {k: fates[t]["gold"][k] for k in GOLD_FATES},
                    "pred": {k: fates[t]["pred"][k] for k in PRED_FATES}}
                for t in sorted(fates)
            },
            "confusions": [{"gold": g, "pred": p, "kind": kind, "count": n}
                           for (g, p, kind), n in confusions],
            "matrix": _matrix(self.matrix),
        }


def _error_record(
    pair: Pair, index: int, words: list[str] | None, where: Sequence[tuple[str, int]] | None
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "kind": pair.kind,
        "gold": _span_record(pair.gold, words),
        "pred": _span_record(pair.pred, words),
        "boundary": pair.boundary,
        "sentence": index,
        "where": _where(where, index, pair.start),
    }
    if words is not None:
        record["sentence_text"] = " ".join(words)
    return record


def _sentence_record(
    pairs: list[Pair], index: int, words: list[str] | None,
    where: Sequence[tuple[str, int]] | None,
) -> dict[str, Any]:
    return {
        "sentence": index,
        "where": _where(where, index, 0),
        "words": words,
        "pairs": [p.as_dict() for p in pairs],
    }
