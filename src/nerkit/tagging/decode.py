"""Word scores to tags: argmax or constrained Viterbi.

A token classifier scores each word independently, so argmax can produce sequences no scheme
allows (``O I-PER``, ``B-PER I-ORG``). Scorers then guess what was meant. nerkit instead finds
the most probable sequence among the allowed ones (Viterbi over log-probabilities with the
scheme's transitions), and uses the same function in evaluation and in the tagger, so both always
agree on a sentence. A model trained with a CRF head (:mod:`nerkit.modeling.crf`) adds its learned
transition scores to the allowed moves.

Decoding many sentences (:meth:`Decoder.decode_batch`) is vectorized across sentences: most
sentences take an exact shortcut (their argmax is already allowed, see :func:`argmax_is_best`),
and the rest run one Viterbi over a padded ``(sentences, words, labels)`` array, so no Python
loop runs per word or per sentence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from nerkit.conll.schemes import transition_masks
from nerkit.errors import ModelError

DECODINGS = ("viterbi", "argmax")

# sentences decoded together by the padded Viterbi (sorted by length, so padding stays small)
_VITERBI_CHUNK = 256


def log_softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax in float64 (stable for large logits)."""
    scores = scores.astype(np.float64, copy=False)
    shifted = scores - scores.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


class Decoder:
    """Decodes ``(words, labels)`` log-probabilities into label ids.

    >>> import numpy as np
    >>> d = Decoder(["O", "B-PER", "I-PER"], method="viterbi")
    >>> logp = np.log(np.array([[0.4, 0.35, 0.25], [0.1, 0.2, 0.7]]))
    >>> d.decode(logp).tolist()  # argmax would give O I-PER
    [1, 2]
    >>> [x.tolist() for x in d.decode_batch([logp, logp[:0], logp[:1]])]
    [[1, 2], [], [0]]
    """

    def __init__(
        self,
        labels: Sequence[str],
        method: str = "viterbi",
        scheme: str = "iob2",
        *,
        crf: Mapping[str, Any] | None = None,
    ):
        if method not in DECODINGS:
            raise ValueError(f"unknown decoding {method!r}; choose one of {', '.join(DECODINGS)}")
        self.method = method
        start, allowed, end = transition_masks(list(labels), scheme)
        self.start_ok = np.array(start, dtype=bool)
        self.trans_ok = np.array(allowed, dtype=bool)
        self.end_ok = np.array(end, dtype=bool)
        # -inf for forbidden moves; allowed ones score 0, or what a CRF head learned for them
        learned = _crf_scores(crf, len(labels))
        self.learned = learned is not None
        s, t, e = learned or (0.0, 0.0, 0.0)
        self.start = np.where(self.start_ok, s, -np.inf)
        self.trans = np.where(self.trans_ok, t, -np.inf)
        self.end = np.where(self.end_ok, e, -np.inf)

    def decode(self, log_probs: np.ndarray) -> np.ndarray:
        """Best label id per word for one sentence (``log_probs`` of shape words x labels)."""
        if len(log_probs) == 0:
            return np.zeros(0, dtype=np.int64)
        if self.method == "argmax":
            return log_probs.argmax(axis=-1)
        return viterbi(log_probs, self.start, self.trans, self.end)

    def decode_batch(self, log_probs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """:meth:`decode` for many sentences at once; the same ids, much less Python work."""
        n_labels = len(self.start)
        lengths = np.array([len(x) for x in log_probs], dtype=np.int64)
        if len(log_probs) == 0:
            return []
        if lengths.sum() == 0:
            return [np.zeros(0, dtype=np.int64) for _ in log_probs]
        flat = np.concatenate(
            [np.asarray(x, dtype=np.float64).reshape(-1, n_labels) for x in log_probs]
        )
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        best = flat.argmax(axis=-1)
        paths = np.split(best, offsets[1:-1])
        if self.method == "argmax":
            return paths
        if self.learned:  # the argmax shortcut holds for zero transition scores only
            shortcut = np.zeros(len(lengths), dtype=bool)
        else:
            shortcut = argmax_is_best(
                flat, best, offsets, self.start_ok, self.trans_ok, self.end_ok
            )
        rest = np.flatnonzero(~shortcut & (lengths > 0))
        if len(rest):
            decoded = viterbi_batch(
                [flat[offsets[i] : offsets[i + 1]] for i in rest], self.start, self.trans, self.end
            )
            for i, path in zip(rest, decoded, strict=True):
                paths[i] = path
        return paths


def _crf_scores(
    crf: Mapping[str, Any] | None, n_labels: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Start, transition and end scores learned by a CRF head (``nerkit.json``), checked."""
    if crf is None:
        return None
    try:
        start = np.asarray(crf["start"], dtype=np.float64)
        trans = np.asarray(crf["transitions"], dtype=np.float64)
        end = np.asarray(crf["end"], dtype=np.float64)
    except (KeyError, TypeError, ValueError) as err:
        raise ModelError(
            f"the CRF scores in nerkit.json are unreadable ({err!r}); they need start, "
            "transitions and end; train the model again or remove the crf entry"
        ) from None
    if start.shape != (n_labels,) or trans.shape != (n_labels, n_labels) or end.shape != (
        n_labels,
    ):
        raise ModelError(
            f"the CRF scores in nerkit.json are for {len(start)} labels but the model has "
            f"{n_labels}; the nerkit.json does not belong to this model"
        )
    return start, trans, end


def argmax_is_best(
    flat: np.ndarray,
    best: np.ndarray,
    offsets: np.ndarray,
    start_ok: np.ndarray,
    trans_ok: np.ndarray,
    end_ok: np.ndarray,
) -> np.ndarray:
    """Per sentence: is the argmax path exactly what :func:`viterbi` returns?

    ``flat`` holds the float64 log-probabilities (all <= 0) of all sentences, one row per word,
    sentence ``i`` in rows ``offsets[i]:offsets[i + 1]``; ``best`` is ``flat.argmax(-1)``.

    Why this is exact. Viterbi scores a path by adding its emissions left to right (the
    transition terms are 0.0, which adds exactly, or -inf, which removes the path). If the argmax
    path ``a`` is allowed, every other allowed path ``p`` differs from it in some word where
    ``p`` takes at most the second-best score, so in real arithmetic
    ``S(p) <= S(a) - g`` with ``g`` the smallest top-1 minus top-2 gap of the sentence. The
    computed (rounded) sums of ``n`` non-positive terms are within a factor ``1 +- gamma`` of the
    real ones, ``gamma = (n - 1) u / (1 - (n - 1) u)``, so ``fl(S(p)) < fl(S(a))`` whenever
    ``g > 2 gamma |S(a)| / (1 - gamma)``; we demand ``g > 4 n eps |S(a)|``, which is larger.
    Then ``a`` is the unique best path in floating point too, and Viterbi keeps it: a prefix of
    ``a`` can only lose to a prefix scoring at least as much, which, followed by the rest of
    ``a``, would be another allowed path scoring at least ``fl(S(a))`` (rounding is monotone).
    Exact ties (two labels with the same score) fail the test and go to Viterbi, which breaks
    them its own way. So the shortcut never changes a single tag.
    """
    n_sentences = len(offsets) - 1
    lengths = np.diff(offsets)
    nonempty = lengths > 0
    sentence_of = np.repeat(np.arange(n_sentences), lengths)
    firsts = offsets[:-1][nonempty]
    lasts = offsets[1:][nonempty] - 1
    # a word is bad if it cannot follow the previous word (or cannot start its sentence)
    follows = np.empty(len(best), dtype=bool)
    follows[1:] = trans_ok[best[:-1], best[1:]]
    follows[firsts] = start_ok[best[firsts]]
    bad = ~follows
    bad[lasts] |= ~end_ok[best[lasts]]
    ok = np.ones(n_sentences, dtype=bool)
    ok[sentence_of[bad]] = False
    # margin between the best and second-best label of each word
    n_labels = flat.shape[1]
    top1 = flat[np.arange(len(best)), best]
    if n_labels > 1:
        top2 = np.partition(flat, n_labels - 2, axis=1)[:, n_labels - 2]
        gap = top1 - top2
    else:
        gap = np.full(len(best), np.inf)
    min_gap = np.full(n_sentences, np.inf)
    np.minimum.at(min_gap, sentence_of, gap)
    total = np.zeros(n_sentences)
    np.add.at(total, sentence_of, top1)
    eps = np.finfo(np.float64).eps
    with np.errstate(invalid="ignore"):
        safe = np.isfinite(total) & (total <= 0) & (min_gap > 4.0 * lengths * eps * np.abs(total))
    return ok & safe & nonempty


def viterbi(
    emissions: np.ndarray, start: np.ndarray, trans: np.ndarray, end: np.ndarray
) -> np.ndarray:
    """Most probable path; the inner loop runs over words, vectorized over label pairs."""
    n, _ = emissions.shape
    score = start + emissions[0]
    back = np.zeros((n, emissions.shape[1]), dtype=np.int64)
    for t in range(1, n):
        candidates = score[:, None] + trans  # previous x current
        back[t] = candidates.argmax(axis=0)
        score = candidates.max(axis=0) + emissions[t]
    score = score + end
    path = np.empty(n, dtype=np.int64)
    path[-1] = int(score.argmax())
    for t in range(n - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def viterbi_batch(
    emissions: Sequence[np.ndarray], start: np.ndarray, trans: np.ndarray, end: np.ndarray
) -> list[np.ndarray]:
    """:func:`viterbi` for many sentences; the loop runs over word positions only.

    Sentences are sorted by length and padded in chunks. Past its last word a sentence's score
    is left unchanged and its back-pointers are the identity, so the end scores and the path
    traced back are those of :func:`viterbi`, bit for bit (same additions, same argmax ties).
    """
    out: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * len(emissions)
    order = sorted(range(len(emissions)), key=lambda i: len(emissions[i]))
    order = [i for i in order if len(emissions[i])]
    n_labels = len(start)
    identity = np.arange(n_labels)
    for k in range(0, len(order), _VITERBI_CHUNK):
        chunk = order[k : k + _VITERBI_CHUNK]
        lengths = np.array([len(emissions[i]) for i in chunk])
        width = int(lengths.max())
        em = np.zeros((len(chunk), width, n_labels))
        for row, i in enumerate(chunk):
            em[row, : lengths[row]] = emissions[i]
        rows = np.arange(len(chunk))
        score = start + em[:, 0]
        back = np.empty((len(chunk), width, n_labels), dtype=np.int64)
        back[:, 0] = identity
        for t in range(1, width):
            candidates = score[:, :, None] + trans  # sentence x previous x current
            active = (t < lengths)[:, None]
            back[:, t] = np.where(active, candidates.argmax(axis=1), identity)
            score = np.where(active, candidates.max(axis=1) + em[:, t], score)
        score = score + end
        path = np.empty((len(chunk), width), dtype=np.int64)
        path[:, -1] = score.argmax(axis=1)
        for t in range(width - 1, 0, -1):
            path[:, t - 1] = back[rows, t, path[:, t]]
        for row, i in enumerate(chunk):
            out[i] = path[row, : lengths[row]].copy()
    return out
