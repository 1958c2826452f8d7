"""Batched decoding and gathering give exactly what the per-sentence code gives.

The vectorized paths (:meth:`Decoder.decode_batch`, :func:`viterbi_batch`, the argmax shortcut
and the batch gather in :meth:`Predictor.word_log_probs`) are checked against the simple
per-sentence reference on random scores, including the edge cases: empty and one-word
sentences, argmax paths that are all forbidden, exact ties, ``-inf`` scores. (Threads and
backends: ``test_runtimes.py``.)
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from nerkit.conll.labels import LabelSet
from nerkit.errors import ConfigError
from nerkit.modeling.encoding import WindowEncoder
from nerkit.tagging.decode import (
    Decoder,
    argmax_is_best,
    log_softmax,
    viterbi,
    viterbi_batch,
)
from nerkit.tagging.predictor import Predictor, length_batches

IOB2 = LabelSet.from_types(["LOC", "MISC", "ORG", "PER"]).labels
BIOES = ("O", *[f"{p}-{t}" for t in ("LOC", "PER") for p in ("B", "I", "E", "S")])


def random_sentences(rng: np.random.Generator, n_labels: int, count: int) -> list[np.ndarray]:
    """Log-probabilities of many kinds: peaked, flat, with ties and with -inf entries."""
    out = []
    for k in range(count):
        n = int(rng.choice([0, 1, 1, 2, 3, 5, 8, 13, 40, 120]))
        kind = k % 5
        if kind == 0:  # confident model: mostly valid argmax
            logits = (
                rng.normal(0, 1, (n, n_labels)) + 8 * np.eye(n_labels)[rng.integers(0, n_labels, n)]
            )
        elif kind == 1:  # flat: many invalid argmax paths
            logits = rng.normal(0, 0.3, (n, n_labels))
        elif kind == 2:  # exact ties between two labels in every word
            logits = rng.normal(0, 1, (n, n_labels))
            logits[:, 1] = logits[:, 2] = logits.max(axis=1) + 1 if n else 0
        elif kind == 3:  # coarse values: ties everywhere
            logits = rng.integers(0, 3, (n, n_labels)).astype(float)
        else:  # impossible labels
            logits = rng.normal(0, 2, (n, n_labels))
            logits[rng.random((n, n_labels)) < 0.2] = -np.inf
            logits[:, 0] = np.maximum(logits[:, 0], -5)  # keep one finite label per word
        out.append(log_softmax(logits))
    return out


@pytest.mark.parametrize("labels,scheme", [(IOB2, "iob2"), (BIOES, "bioes"), (IOB2, "iob1")])
def test_decode_batch_equals_per_sentence_viterbi(labels: tuple[str, ...], scheme: str) -> None:
    rng = np.random.default_rng(0)
    decoder = Decoder(labels, "viterbi", scheme)
    sentences = random_sentences(rng, len(labels), 400)
    expected = [decoder.decode(s) for s in sentences]
    got = decoder.decode_batch(sentences)
    assert len(got) == len(expected)
    for e, g in zip(expected, got, strict=True):
        assert g.dtype == np.int64
        assert e.tolist() == g.tolist()


def test_viterbi_batch_equals_viterbi_without_the_shortcut() -> None:
    rng = np.random.default_rng(1)
    decoder = Decoder(IOB2)
    sentences = random_sentences(rng, len(IOB2), 300)
    got = viterbi_batch(sentences, decoder.start, decoder.trans, decoder.end)
    for s, g in zip(sentences, got, strict=True):
        want = viterbi(s, decoder.start, decoder.trans, decoder.end) if len(s) else []
        assert list(want) == g.tolist()


def test_all_forbidden_argmax() -> None:
    """Every word prefers I-PER, which may never open a sentence or follow O."""
    decoder = Decoder(IOB2)
    i_per = IOB2.index("I-PER")
    sentences = []
    for n in (1, 2, 7):
        scores = np.full((n, len(IOB2)), -3.0)
        scores[:, i_per] = 0.0
        scores[:, 0] = -1.0
        sentences.append(log_softmax(scores))
    got = decoder.decode_batch(sentences)
    assert [g.tolist() for g in got] == [decoder.decode(s).tolist() for s in sentences]
    assert all(g[0] != i_per for g in got)


def test_empty_and_single_word_sentences() -> None:
    decoder = Decoder(IOB2)
    one = log_softmax(np.array([[0.0, 1.0, 5.0, 0, 0, 0, 0, 0, 0]]))  # argmax I-LOC: forbidden
    assert decoder.decode_batch([]) == []
    assert [x.tolist() for x in decoder.decode_batch([one[:0], one[:0]])] == [[], []]
    got = decoder.decode_batch([one[:0], one, one[:0]])
    assert [x.tolist() for x in got] == [[], decoder.decode(one).tolist(), []]
    assert got[1].tolist() == [1]


def test_shortcut_only_taken_when_exact() -> None:
    """The argmax shortcut is taken for clear winners and refused on ties and bad paths."""
    decoder = Decoder(["O", "B-PER", "I-PER"])
    clear = log_softmax(np.array([[0.0, 4.0, 0.0], [0.0, 0.0, 4.0], [3.0, 0.0, 0.0]]))
    tie = log_softmax(np.array([[1.0, 1.0, 0.0]]))
    invalid = log_softmax(np.array([[0.0, 0.0, 4.0]]))
    empty = clear[:0]
    flat = np.concatenate([clear, tie, invalid])
    offsets = np.array([0, 3, 3, 4, 5])
    ok = argmax_is_best(
        flat, flat.argmax(-1), offsets, decoder.start_ok, decoder.trans_ok, decoder.end_ok
    )
    assert ok.tolist() == [True, False, False, False]
    assert decoder.decode_batch([clear, empty, tie, invalid])[0].tolist() == [1, 2, 0]


def test_argmax_decoding_batch() -> None:
    rng = np.random.default_rng(2)
    decoder = Decoder(IOB2, "argmax")
    sentences = random_sentences(rng, len(IOB2), 50)
    got = decoder.decode_batch(sentences)
    assert [g.tolist() for g in got] == [decoder.decode(s).tolist() for s in sentences]


def test_float32_input_decodes_like_float64() -> None:
    rng = np.random.default_rng(3)
    decoder = Decoder(IOB2)
    sentences = [s.astype(np.float32) for s in random_sentences(rng, len(IOB2), 100)]
    got = decoder.decode_batch(sentences)
    assert [g.tolist() for g in got] == [decoder.decode(s).tolist() for s in sentences]


# ------------------------------------------------------------------ gathering word rows


class FakeBackend:
    """Deterministic logits from piece ids and positions, so any mix-up of rows shows."""

    def __init__(self, n_labels: int) -> None:
        self.n_labels = n_labels
        self.calls = 0

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        self.calls += 1
        assert input_ids.dtype == np.int64 and attention_mask.dtype == np.int64
        b, t = input_ids.shape
        base = (input_ids[:, :, None] * 7 + np.arange(t)[None, :, None] * 3) % 11
        return (base * np.arange(1, self.n_labels + 1)).astype(np.float32) / 5.0


def reference_log_probs(predictor: Predictor, sentences: list[list[str]], batch_size: int):
    """The per-window loop nerkit used before the batch gather."""
    windows = predictor.encoder.windows(sentences)
    out = [np.zeros((len(s), len(predictor.labels))) for s in sentences]
    for batch in length_batches(windows, batch_size):
        logits = predictor.forward_array(batch)
        for window, rows in zip(batch, logits, strict=True):
            owned = range(window.own_start, window.own_end)
            positions = [window.first_piece[w - window.word_start] for w in owned]
            out[window.sentence][window.own_start : window.own_end] = rows[positions]
    return [log_softmax(x) for x in out]


def test_batch_gather_equals_per_window_loop(tiny_encoder: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_encoder))
    labels = LabelSet(IOB2)
    predictor = Predictor(FakeBackend(len(IOB2)), tokenizer, labels, max_length=12)
    rng = random.Random(0)
    vocab = ["Ana", "González", "viajó", "a", "Sevilla", "Telefónica", "ONU", "de", "la", "."]
    sentences = [
        [rng.choice(vocab) for _ in range(rng.choice([0, 1, 3, 9, 30]))] for _ in range(60)
    ]
    assert any(len(s) > 20 for s in sentences), "some sentences need several windows"
    got = predictor.word_log_probs(sentences, batch_size=4)
    want = reference_log_probs(predictor, sentences, batch_size=4)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape
        np.testing.assert_array_equal(g, w)
    tags = predictor.predict_tags(sentences, batch_size=4)
    assert [len(t) for t in tags] == [len(s) for s in sentences]
    assert predictor.word_log_probs([], batch_size=4) == []


class QueueingBackend(FakeBackend):
    """A :class:`FakeBackend` that also takes many batches at once (``run_batches``)."""

    def __init__(self, n_labels: int) -> None:
        super().__init__(n_labels)
        self.queued: list[int] = []

    def run_batches(self, batches: list[tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray]:
        self.queued.append(len(batches))
        return [self(ids, mask) for ids, mask in batches]


def test_queued_batches_give_the_same_rows(tiny_encoder: Path) -> None:
    """A backend with ``run_batches`` gets the batches in groups of at most QUEUED_BATCHES,
    and the gathered scores are exactly those of one call per batch."""
    from transformers import AutoTokenizer

    from nerkit.tagging.predictor import QUEUED_BATCHES

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_encoder))
    rng = random.Random(1)
    vocab = ["Ana", "González", "viajó", "a", "Sevilla", "Telefónica", "ONU", "de", "la", "."]
    sentences = [[rng.choice(vocab) for _ in range(rng.choice([0, 2, 7, 25]))] for _ in range(90)]
    one_by_one = Predictor(FakeBackend(len(IOB2)), tokenizer, LabelSet(IOB2), max_length=12)
    backend = QueueingBackend(len(IOB2))
    queued = Predictor(backend, tokenizer, LabelSet(IOB2), max_length=12)
    got = queued.word_log_probs(sentences, batch_size=2)
    want = one_by_one.word_log_probs(sentences, batch_size=2)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)
    batches = len(length_batches(queued.encoder.windows(sentences), 2))
    assert batches > QUEUED_BATCHES, "the test needs more than one group"
    assert sum(backend.queued) == batches and max(backend.queued) == QUEUED_BATCHES


def test_window_encoder_is_shared(tiny_encoder: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_encoder))
    predictor = Predictor(FakeBackend(len(IOB2)), tokenizer, LabelSet(IOB2))
    assert isinstance(predictor.encoder, WindowEncoder)


def test_unknown_decoding_is_a_config_error(tiny_encoder: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_encoder))
    with pytest.raises(ConfigError, match="unknown decoding 'beam'; choose one of viterbi"):
        Predictor(FakeBackend(len(IOB2)), tokenizer, LabelSet(IOB2), decoding="beam")
