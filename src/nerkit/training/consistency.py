"""R-Drop: consistency between two dropout passes of the same batch (``--rdrop ALPHA``).

A small encoder fine-tuned on a few thousand sentences overfits; dropout is its main
regulariser, but the model it trains is never asked to agree with itself under different
dropout masks, while the one it is scored as (dropout off) is their average. R-Drop (Liang et
al., 2021) runs each batch twice, with two masks, and adds to the loss of both passes ``alpha``
times the symmetric Kullback-Leibler divergence between their tag distributions at each
labelled piece. It costs a second forward and backward pass of every window (the batch is run
doubled, in one call), which the training-compute count includes, and nothing at prediction
time.

The divergence is a mean over the labelled pieces, as the cross-entropy is, so ``alpha`` keeps
its meaning whatever the batch's length; with a CRF head the task loss is the CRF's, the
divergence is taken on its emissions.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from nerkit.modeling.encoding import IGNORE


def symmetric_kl(first: torch.Tensor, second: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean over the labelled pieces of ``(KL(p||q) + KL(q||p)) / 2`` between two passes'
    tag distributions (logits of shape batch x pieces x tags)."""
    mask = labels != IGNORE
    if not bool(mask.any()):
        return first.sum() * 0.0
    p = F.log_softmax(first[mask].float(), dim=-1)
    q = F.log_softmax(second[mask].float(), dim=-1)
    kl_pq = F.kl_div(q, p, log_target=True, reduction="batchmean")  # KL(p || q)
    kl_qp = F.kl_div(p, q, log_target=True, reduction="batchmean")  # KL(q || p)
    return (kl_pq + kl_qp) / 2


def task_loss(logits: torch.Tensor, labels: torch.Tensor, crf: Any = None) -> torch.Tensor:
    """The loss one pass trains on: the CRF's when the model has one, else the mean
    token cross-entropy over the labelled pieces (what the model's own loss is)."""
    if crf is not None:
        from nerkit.modeling.crf import crf_loss

        return crf_loss(crf, logits, labels)
    return F.cross_entropy(logits.flatten(0, 1).float(), labels.flatten(), ignore_index=IGNORE)


def rdrop_loss(model: Any, inputs: dict[str, Any], alpha: float, crf: Any = None
               ) -> tuple[torch.Tensor, Any]:
    """The R-Drop loss of a training batch and the outputs of its doubled pass.

    Both passes run in one call on the batch stacked on itself, so every row draws its own
    dropout mask; the task loss is the mean of the two passes'.
    """
    labels = inputs["labels"]
    doubled = {k: torch.cat([v, v]) for k, v in inputs.items() if k != "labels"}
    outputs = model(**doubled)
    first, second = outputs.logits.chunk(2)
    task = (task_loss(first, labels, crf) + task_loss(second, labels, crf)) / 2
    return task + alpha * symmetric_kl(first, second, labels), outputs
