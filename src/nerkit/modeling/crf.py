"""A linear-chain CRF on top of the token classifier, trained jointly with it (``--crf``).

The token classifier scores each word on its own; constrained Viterbi (:mod:`nerkit.tagging.decode`)
then only forbids what the scheme forbids. A CRF also *learns* a score for every pair of
consecutive labels, for the first label and for the last one, and trains the encoder on the
likelihood of the whole gold sequence instead of each word's. The scheme's forbidden transitions
(``O I-PER``) stay forbidden: they carry a fixed large negative score that training cannot move.

What is new is small: ``labels**2 + 2 * labels`` numbers. The emissions are the classifier's logits
at each word's first piece, so the saved model stays a plain Hugging Face token classifier
(``pipeline("ner")`` loads it and ignores the CRF), the learned scores go to ``nerkit.json``
(:attr:`nerkit.modeling.folder.ModelMeta.crf`), and :class:`~nerkit.tagging.decode.Decoder` runs
the same Viterbi with them; the ONNX export needs nothing new.

Training sees windows, not always whole sentences: a long sentence is cut into windows whose
owned words may start or end inside it (:mod:`nerkit.modeling.encoding`). The start and end scores
are therefore learned freely and the scheme's start/end rules are applied at decoding time only,
where the chain is always a whole sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from nerkit.conll.schemes import transition_masks
from nerkit.modeling.encoding import IGNORE

# score of a forbidden transition during training: exp(-1e4) is 0 in float32 and float64
FORBIDDEN = -1e4


class ChainCRF(nn.Module):
    """Learned start, transition and end scores over ``labels``, with the scheme's constraints.

    >>> crf = ChainCRF(["O", "B-PER", "I-PER"])
    >>> emissions = torch.tensor([[[0.0, 2.0, 0.0], [0.0, 0.0, 2.0]]])
    >>> tags = torch.tensor([[1, 2]])
    >>> mask = torch.ones(1, 2, dtype=torch.bool)
    >>> nll = crf.neg_log_likelihood(emissions, tags, mask).detach()
    >>> round(float(nll[0]), 4)  # log(8 allowed paths' total) - gold score; O I-PER is forbidden
    0.3915
    >>> sorted(crf.scores())
    ['end', 'start', 'transitions']
    """

    def __init__(self, labels: Sequence[str], scheme: str = "iob2") -> None:
        super().__init__()
        _, allowed, _ = transition_masks(list(labels), scheme)
        n = len(labels)
        self.start = nn.Parameter(torch.zeros(n))
        self.transitions = nn.Parameter(torch.zeros(n, n))
        self.end = nn.Parameter(torch.zeros(n))
        penalty = torch.where(torch.tensor(allowed), 0.0, FORBIDDEN)
        self.register_buffer("penalty", penalty, persistent=False)

    def neg_log_likelihood(
        self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """``-log p(tags | emissions)`` per sequence, shape ``(batch,)``.

        ``emissions``: ``(batch, words, labels)``; ``tags``: ``(batch, words)`` label ids;
        ``mask``: ``(batch, words)``, True on real words, which come first in each row. A row
        without words gives 0.
        """
        emissions = emissions.float()
        batch, width, _ = emissions.shape
        lengths = mask.sum(dim=1)
        tags = torch.where(mask, tags, torch.zeros_like(tags))
        trans = self.transitions + self.penalty
        rows = torch.arange(batch, device=emissions.device)

        gold = self.start[tags[:, 0]] + emissions[rows, 0, tags[:, 0]]
        alpha = self.start + emissions[:, 0]  # (batch, labels): log-sum of all paths so far
        for t in range(1, width):
            real = mask[:, t]
            gold = gold + torch.where(
                real, trans[tags[:, t - 1], tags[:, t]] + emissions[rows, t, tags[:, t]], 0.0
            )
            step = torch.logsumexp(alpha.unsqueeze(2) + trans, dim=1) + emissions[:, t]
            alpha = torch.where(real.unsqueeze(1), step, alpha)
        last = tags[rows, (lengths - 1).clamp(min=0)]
        gold = gold + self.end[last]
        log_partition = torch.logsumexp(alpha + self.end, dim=1)
        return torch.where(lengths > 0, log_partition - gold, 0.0)

    def scores(self) -> dict[str, Any]:
        """The learned scores as plain lists, as :attr:`ModelMeta.crf` stores them."""
        return {
            "start": self.start.detach().cpu().tolist(),
            "transitions": self.transitions.detach().cpu().tolist(),
            "end": self.end.detach().cpu().tolist(),
        }


def word_chains(
    logits: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The labelled words of each window, packed to the left: (emissions, tags, mask).

    ``labels`` marks each owned word's first piece with its label id and every other piece
    (special tokens, later pieces of a word, context words) with ``IGNORE``; the owned words of a
    window are consecutive words of one sentence, so in order they form the chain the CRF scores.

    >>> logits = torch.arange(12.0).reshape(1, 4, 3)
    >>> e, t, m = word_chains(logits, torch.tensor([[-100, 2, -100, 0]]))
    >>> e.tolist(), t.tolist(), m.tolist()
    ([[[3.0, 4.0, 5.0], [9.0, 10.0, 11.0]]], [[2, 0]], [[True, True]])
    """
    labelled = labels != IGNORE
    counts = labelled.sum(dim=1)
    width = max(int(counts.max()), 1) if len(counts) else 1
    # a stable sort puts each row's labelled positions first, in their order
    order = torch.sort((~labelled).to(torch.int8), dim=1, stable=True).indices[:, :width]
    emissions = logits.gather(1, order.unsqueeze(2).expand(-1, -1, logits.shape[2]))
    tags = labels.gather(1, order)
    mask = torch.arange(width, device=labels.device).unsqueeze(0) < counts.unsqueeze(1)
    return emissions, tags, mask


def crf_loss(crf: ChainCRF, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Negative log-likelihood of a batch, per labelled word.

    Dividing by the number of words (not sequences) keeps the loss, and so the gradients, on the
    scale of the token-level cross-entropy the learning rates were tuned for.
    """
    emissions, tags, mask = word_chains(logits, labels)
    words = mask.sum().clamp(min=1)
    return crf.neg_log_likelihood(emissions, tags, mask).sum() / words
