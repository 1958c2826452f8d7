"""Mention replacement (``--augment-mentions``): the copies, their tags, their documents."""

from __future__ import annotations

from pathlib import Path

import pytest

from nerkit.conll.corpus import Sentence
from nerkit.conll.schemes import find_ill_formed, tags_to_spans
from nerkit.training.augment import mention_pool, mention_replacement

SENTENCES = [
    Sentence(("El", "presidente", "Felipe", "González", "viajó", "a", "Madrid", "."),
             ("O", "O", "B-PER", "I-PER", "O", "O", "B-LOC", "O"), doc_id=0),
    Sentence(("La", "ONU", "y", "Telefónica", "firmaron"),
             ("O", "B-ORG", "O", "B-ORG", "O"), doc_id=0),
    Sentence(("Nada", "aquí", "."), ("O", "O", "O"), doc_id=1),
    # IOB1, as some files write it: I- opens an entity after O
    Sentence(("Ana", "Pérez", "vive", "en", "San", "José"),
             ("I-PER", "I-PER", "O", "O", "I-LOC", "I-LOC"), doc_id=1),
    Sentence(("Mundial", "de", "Fútbol", "en", "Barcelona"),
             ("B-MISC", "I-MISC", "I-MISC", "O", "B-LOC"), doc_id=2),
]


def _types(s: Sentence) -> list[str]:
    return [label for label, _, _ in tags_to_spans(s.tags)]


def _outside(s: Sentence) -> list[str]:
    inside = {i for _, a, b in tags_to_spans(s.tags) for i in range(a, b)}
    return [w for i, w in enumerate(s.words) if i not in inside]


def test_copies_keep_the_context_and_the_types() -> None:
    pool = mention_pool(SENTENCES)
    copies = mention_replacement(SENTENCES * 20, 0.5, seed=1)
    with_entities = [s for s in SENTENCES * 20 if _types(s)]
    assert 0.3 * len(with_entities) < len(copies) < 0.7 * len(with_entities)
    originals = {tuple(_outside(s)): s for s in with_entities}
    for copy in copies:
        original = originals[tuple(_outside(copy))]  # the words around the names are kept
        assert _types(copy) == _types(original)
        assert not find_ill_formed(copy.tags, "iob2")
        for label, a, b in tags_to_spans(copy.tags):
            assert copy.words[a:b] in pool[label]
        assert (copy.path, copy.line) == (original.path, original.line)
    # each copy alone in its document, after every document of the data
    assert sorted(c.doc_id for c in copies) == list(range(3, 3 + len(copies)))
    assert any(c.words != o.words for c, o in
               ((c, originals[tuple(_outside(c))]) for c in copies)), "nothing was replaced"


def test_copies_are_drawn_from_the_seed() -> None:
    first = mention_replacement(SENTENCES * 5, 0.5, seed=1)
    assert first == mention_replacement(SENTENCES * 5, 0.5, seed=1)
    assert first != mention_replacement(SENTENCES * 5, 0.5, seed=2)
    assert len(mention_replacement(SENTENCES, 1.0, seed=1)) == 4  # every sentence with a name
    assert mention_replacement(SENTENCES, 0.0, seed=1) == []


def test_training_windows_of_the_split_itself_are_unchanged(tiny_encoder: Path,
                                                            tmp_path: Path) -> None:
    """The copies come after the split: its own windows (and their context-dropout draws) are
    those of a run without them."""
    from nerkit.training.config import TrainConfig
    from nerkit.training.data import prepare_data

    data = Path(__file__).parent / "data"
    base = dict(model=str(tiny_encoder), output_dir=str(tmp_path), train=str(data / "tiny.train"),
                max_length=16, context=4, context_dropout=0.5)
    plain = prepare_data(TrainConfig(**base)).windows
    augmented = prepare_data(TrainConfig(**base, augment_mentions=1.0)).windows
    assert len(augmented) > len(plain)
    assert [(w.input_ids, w.labels) for w in augmented[:len(plain)]] == \
        [(w.input_ids, w.labels) for w in plain]


@pytest.mark.parametrize("share", [-0.1, 1.5])
def test_share_out_of_range_is_refused(share: float) -> None:
    from nerkit.errors import ConfigError
    from nerkit.training.config import TrainConfig

    with pytest.raises(ConfigError, match="augment_mentions"):
        TrainConfig(model="m", output_dir="o", train="t", augment_mentions=share).check()
