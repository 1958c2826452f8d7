"""Word scores to tags: argmax or constrained Viterbi.

A token classifier scores each word independently, so argmax can produce sequences no scheme
allows (``O I-PER``, ``B-PER I-ORG``). Scorers then guess what was meant. nerkit instead finds
the most probable sequence among the allowed ones (Viterbi over log-probabilities with the
scheme's transitions), and uses the same function in evaluation and in the tagger, so both always
agree on a sentence.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nerkit.schemes import transition_masks

DECODINGS = ("viterbi", "argmax")


def log_softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax in float64 (stable for large logits)."""
    scores = scores.astype(np.float64, copy=False)
    shifted = scores - scores.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


class Decoder:
    """Decodes ``(words, labels)`` log-probabilities into label ids.

    >>> import numpy as np
    >>> d = Decoder(["O", "B-PER", "I-PER"], method="viterbi")
    >>> logp = np.log(np.array([[0.6, 0.1, 0.3], [0.1, 0.2, 0.7]]))
    >>> d.decode(logp).tolist()  # argmax would give O I-PER
    [1, 2]
    """

    def __init__(self, labels: Sequence[str], method: str = "viterbi", scheme: str = "iob2"):
        if method not in DECODINGS:
            raise ValueError(f"unknown decoding {method!r}; choose one of {', '.join(DECODINGS)}")
        self.method = method
        start, allowed, end = transition_masks(list(labels), scheme)
        # -inf for forbidden moves; 0 for allowed ones (no learned transition scores here)
        self.start = np.where(np.array(start, dtype=bool), 0.0, -np.inf)
        self.trans = np.where(np.array(allowed, dtype=bool), 0.0, -np.inf)
        self.end = np.where(np.array(end, dtype=bool), 0.0, -np.inf)

    def decode(self, log_probs: np.ndarray) -> np.ndarray:
        """Best label id per word for one sentence (``log_probs`` of shape words x labels)."""
        if len(log_probs) == 0:
            return np.zeros(0, dtype=np.int64)
        if self.method == "argmax":
            return log_probs.argmax(axis=-1)
        return viterbi(log_probs, self.start, self.trans, self.end)


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
