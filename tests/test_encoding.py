"""Windows: nothing truncated, every word owned by exactly one window, labels on first pieces."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nerkit.encoding import IGNORE, WindowEncoder, _plan_windows


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
