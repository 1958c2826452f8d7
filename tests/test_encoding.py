"""Windows: nothing truncated, every word owned by exactly one window, labels on first pieces."""

from __future__ import annotations

import logging
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nerkit.modeling.encoding import IGNORE, WindowEncoder, _plan_windows


@pytest.fixture(scope="module")
def tokenizer(tiny_encoder: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny_encoder))


def check_cover(windows, n_words: int) -> None:
    owned = [w for window in windows for w in range(window.own_start, window.own_end)]
    assert owned == list(range(n_words)), "each word owned exactly once, in order"
    for window in windows:
        assert window.word_start <= window.own_start <= window.own_end <= window.word_end


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 9), min_size=1, max_size=80), st.integers(10, 40))
def test_plan_covers_every_word(lengths: list[int], budget: int) -> None:
    spans = _plan_windows([min(x, budget) for x in lengths], budget)
    assert spans[0][0] == 0 and spans[-1][1] == len(lengths)
    for (s1, e1), (s2, e2) in zip(spans, spans[1:], strict=False):
        assert s1 < s2 <= e1, "windows overlap or touch, and advance"
        assert e1 <= e2, "ends never move back, so ownership is a partition"
    for s, e in spans:
        assert sum(min(x, budget) for x in lengths[s:e]) <= budget or e - s == 1


def test_short_sentence_is_one_window(tokenizer) -> None:
    enc = WindowEncoder(tokenizer, max_length=32)
    (window,) = enc.windows([["Felipe", "viajó", "a", "Madrid"]], [[1, 0, 0, 2]])
    assert window.input_ids[0] == tokenizer.cls_token_id
    assert window.input_ids[-1] == tokenizer.sep_token_id
    assert [window.labels[p] for p in window.first_piece] == [1, 0, 0, 2]
    others = set(range(len(window.input_ids))) - set(window.first_piece)
    assert all(window.labels[p] == IGNORE for p in others)


def test_long_sentence_loses_no_word(tokenizer) -> None:
    rng = random.Random(0)
    vocab = ["Felipe", "González", "viajó", "a", "Madrid", "Telefónica", "ONU", "de", "la"]
    words = [rng.choice(vocab) for _ in range(1000)]
    labels = [rng.randrange(5) for _ in words]
    enc = WindowEncoder(tokenizer, max_length=24)
    windows = enc.windows([words], [labels])
    assert len(windows) > 10
    check_cover(windows, len(words))
    assert all(len(w.input_ids) <= 24 for w in windows)
    # training labels only on owned words: each word labelled exactly once
    labelled = []
    for w in windows:
        for k, pos in enumerate(w.first_piece):
            if w.labels[pos] != IGNORE:
                labelled.append((w.word_start + k, w.labels[pos]))
    assert labelled == list(enumerate(labels))
    assert enc.stats.split_sentences == 1


def test_long_sentence_gives_no_too_long_warning(tokenizer) -> None:
    """transformers warns that a sequence over the model's maximum "will result in indexing
    errors"; windows cut it, so the warning only misled (`nerkit predict` printed it)."""
    from nerkit.conll.corpus import Sentence, subword_lengths

    words = ["Felipe", "González", "viajó", "a", "Madrid"] * 40
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    log = logging.getLogger("transformers")
    level = log.level
    log.setLevel(logging.WARNING)  # other tests may have quietened transformers
    log.addHandler(handler)
    limit = tokenizer.model_max_length
    tokenizer.model_max_length = 64
    tokenizer.deprecation_warnings.pop("sequence-length-is-longer-than-the-specified-maximum", None)
    try:
        WindowEncoder(tokenizer, max_length=24).windows([words], [[0] * len(words)])
        subword_lengths([Sentence(words=tuple(words), tags=("O",) * len(words))], tokenizer)
        assert not [r for r in records if "indexing errors" in r.getMessage()]
        tokenizer([words], is_split_into_words=True)  # a plain call still warns
        assert [r for r in records if "indexing errors" in r.getMessage()]
    finally:
        tokenizer.model_max_length = limit
        log.removeHandler(handler)
        log.setLevel(level)


def test_word_longer_than_window_is_counted(tokenizer) -> None:
    enc = WindowEncoder(tokenizer, max_length=6)
    windows = enc.windows([["a", "." * 30, "b"]])
    check_cover(windows, 3)
    assert enc.stats.cut_words == 1


def test_word_without_pieces_gets_unknown(tokenizer) -> None:
    enc = WindowEncoder(tokenizer, max_length=16)
    (window,) = enc.windows([["Madrid", "\t", "ONU"]])
    assert len(window.first_piece) == 3
    assert window.input_ids[window.first_piece[1]] == tokenizer.unk_token_id
    assert enc.stats.empty_words == 1


def test_empty_sentence_gives_no_window(tokenizer) -> None:
    assert WindowEncoder(tokenizer, 16).windows([[]]) == []


def test_slow_tokenizer_refused() -> None:
    class Slow:
        is_fast = False

    with pytest.raises(TypeError, match="fast tokenizer"):
        WindowEncoder(Slow())


def _pieces(tokenizer, words: list[str]) -> list[int]:
    return tokenizer(words, is_split_into_words=True, add_special_tokens=False)["input_ids"]


def test_context_fills_spare_room_from_the_same_document(tokenizer) -> None:
    sentences = [["Felipe", "viajó"], ["a", "Madrid"], ["la", "ONU"], ["de", "Telefónica"]]
    tags = [[1, 0], [0, 2], [0, 3], [0, 3]]
    enc = WindowEncoder(tokenizer, max_length=64, context=40)
    windows = enc.windows(sentences, tags, documents=[0, 0, 0, 1])
    second = windows[1]
    before = _pieces(tokenizer, sentences[0])
    own = _pieces(tokenizer, sentences[1])
    after = _pieces(tokenizer, sentences[2])  # sentence 3 is another document: never read
    assert second.input_ids == [tokenizer.cls_token_id, *before, *own, *after,
                                tokenizer.sep_token_id]
    # labels and predictions only on the sentence's own first pieces
    assert [second.labels[p] for p in second.first_piece] == [0, 2]
    labelled = [i for i, x in enumerate(second.labels) if x != IGNORE]
    assert labelled == second.first_piece
    assert second.input_ids[second.first_piece[0]] == own[0]
    assert windows[3].input_ids == [tokenizer.cls_token_id, *_pieces(tokenizer, sentences[3]),
                                    tokenizer.sep_token_id]
    assert enc.stats.context_pieces == sum(len(w.input_ids) - 2 for w in windows) - sum(
        len(_pieces(tokenizer, s)) for s in sentences
    )


def test_context_dropout_reads_flagged_sentences_alone(tokenizer) -> None:
    """A sentence flagged ``alone`` gets no neighbours but still lends its pieces to them."""
    sentences = [["Felipe", "viajó"], ["a", "Madrid"], ["la", "ONU"]]
    enc = WindowEncoder(tokenizer, max_length=64, context=40)
    windows = enc.windows(sentences, documents=[0, 0, 0], alone=[False, True, False])
    own = _pieces(tokenizer, sentences[1])
    assert windows[1].input_ids == [tokenizer.cls_token_id, *own, tokenizer.sep_token_id]
    assert windows[1].first_piece[0] == 1
    first = [tokenizer.cls_token_id, *_pieces(tokenizer, sentences[0]), *own,
             *_pieces(tokenizer, sentences[2]), tokenizer.sep_token_id]
    assert windows[0].input_ids == first
    assert enc.stats.context_dropped == 1
    assert "1 sentences without context" in enc.stats.summary()
    with pytest.raises(ValueError, match="context-dropout flags"):
        enc.windows(sentences, documents=[0, 0, 0], alone=[True])


def test_context_without_documents_or_at_zero_changes_nothing(tokenizer) -> None:
    sentences = [["Felipe", "viajó"], ["a", "Madrid"]]
    plain = WindowEncoder(tokenizer, max_length=64).windows(sentences, documents=[0, 0])
    no_ids = WindowEncoder(tokenizer, max_length=64, context=8).windows(sentences)
    assert [w.input_ids for w in plain] == [w.input_ids for w in no_ids]
    with pytest.raises(ValueError, match="document ids"):
        WindowEncoder(tokenizer, max_length=64, context=8).windows(sentences, documents=[0])
    with pytest.raises(ValueError, match="context"):
        WindowEncoder(tokenizer, max_length=64, context=-1)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from(["Felipe", "González", "viajó", "a", "Madrid", "ONU",
                                       "Telefónica", "de"]), min_size=0, max_size=40),
             min_size=1, max_size=6),
    st.integers(0, 30),
    st.integers(12, 48),
)
def test_context_keeps_every_window_within_max_length(tokenizer, sentences, context, width):
    enc = WindowEncoder(tokenizer, max_length=width, context=context)
    plain = WindowEncoder(tokenizer, max_length=width).windows(sentences)
    windows = enc.windows(sentences, documents=[0] * len(sentences))
    assert all(len(w.input_ids) <= width for w in windows)
    # the same words in the same windows, only the spare room filled
    assert [(w.sentence, w.word_start, w.word_end, w.own_start, w.own_end) for w in windows] == [
        (w.sentence, w.word_start, w.word_end, w.own_start, w.own_end) for w in plain
    ]
    for w, p in zip(windows, plain, strict=True):
        shift = w.first_piece[0] - p.first_piece[0] if w.first_piece else 0
        assert w.first_piece == [i + shift for i in p.first_piece]
        assert w.input_ids[shift + 1 : shift + len(p.input_ids) - 1] == p.input_ids[1:-1]
        assert 0 <= shift <= context
        assert len(w.input_ids) - len(p.input_ids) <= 2 * context
