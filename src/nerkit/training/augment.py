"""Mention replacement: more training sentences from the training set's own entities.

A corpus of a few thousand sentences shows each name in few contexts, and the rare types (MISC,
ORG) in fewest: a small encoder learns the names more than the contexts. Mention replacement
(Dai and Adel, 2020) copies a share of the sentences that hold entities and replaces every
mention in the copy by another mention of the same type, drawn from the training set's
mentions (so frequent names come more often, as in the data). The contexts stay real; the
names move between them.

Each copy is a document of its own, so that ``--context`` never reads a copy beside the
sentence it was made from (the two differ only in their names), and each copy is drawn from the
run's seed: the same run makes the same copies, ``--resume`` and the compute count included.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

from nerkit.conll.corpus import Sentence
from nerkit.conll.labels import INTERNAL_SCHEME
from nerkit.conll.schemes import spans_to_tags, tags_to_spans


def mention_pool(sentences: Sequence[Sentence]) -> dict[str, list[tuple[str, ...]]]:
    """Every mention of every type, as its words, once per occurrence.

    >>> s = Sentence(("Ana", "vive", "en", "San", "José"), ("B-PER", "O", "O", "B-LOC", "I-LOC"))
    >>> mention_pool([s, s])["LOC"]
    [('San', 'José'), ('San', 'José')]
    """
    pool: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for s in sentences:
        for label, start, end in tags_to_spans(s.tags):
            pool[label].append(tuple(s.words[start:end]))
    return dict(pool)


def replace_mentions(sentence: Sentence, pool: dict[str, list[tuple[str, ...]]],
                     rng: random.Random, doc_id: int) -> Sentence:
    """A copy of ``sentence`` whose every mention is a mention of the same type from ``pool``,
    with IOB2 tags, in document ``doc_id``."""
    words: list[str] = []
    spans: list[tuple[str, int, int]] = []
    at = 0
    for label, start, end in tags_to_spans(sentence.tags):
        words += sentence.words[at:start]
        new = rng.choice(pool[label])
        spans.append((label, len(words), len(words) + len(new)))
        words += new
        at = end
    words += sentence.words[at:]
    tags = spans_to_tags(spans, len(words), INTERNAL_SCHEME)
    return replace(sentence, words=tuple(words), tags=tuple(tags), doc_id=doc_id, columns=())


def mention_replacement(sentences: Sequence[Sentence], share: float, seed: int
                        ) -> list[Sentence]:
    """The copies to add to ``sentences``: for each sentence with an entity, drawn with
    probability ``share``, one copy with its mentions replaced; in documents numbered after the
    last one of ``sentences``.

    >>> s = Sentence(("Ana", "vive", "en", "Lima"), ("B-PER", "O", "O", "B-LOC"))
    >>> t = Sentence(("Luis", "Pérez", "y", "Roma"), ("B-PER", "I-PER", "O", "B-LOC"))
    >>> copies = mention_replacement([s, t, Sentence(("y",), ("O",))], 1.0, seed=3)
    >>> len(copies), {c.words[-1] for c in copies} <= {"Lima", "Roma"}
    (2, True)
    >>> mention_replacement([s, t], 0.0, seed=3)
    []
    """
    if share <= 0:
        return []
    pool = mention_pool(sentences)
    # a generator of its own: the draws of context dropout (seeded with the bare seed) and these
    # stay independent
    rng = random.Random(f"mention-replacement:{seed}")
    next_doc = max((s.doc_id for s in sentences), default=0) + 1
    copies = []
    for s in sentences:
        if any(t != "O" for t in s.tags) and rng.random() < share:
            copies.append(replace_mentions(s, pool, rng, next_doc + len(copies)))
    return copies
