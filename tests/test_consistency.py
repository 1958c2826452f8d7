"""R-Drop (``--rdrop``): the divergence, the loss of a doubled pass, and training with it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from nerkit.modeling.encoding import IGNORE
from nerkit.training.consistency import rdrop_loss, symmetric_kl

DATA = Path(__file__).parent / "data"


def test_symmetric_kl_by_hand() -> None:
    torch.manual_seed(0)
    a, b = torch.randn(2, 3, 4), torch.randn(2, 3, 4)
    labels = torch.tensor([[0, IGNORE, 1], [2, 3, IGNORE]])
    mask = labels != IGNORE
    p, q = a[mask].softmax(-1), b[mask].softmax(-1)

    def kl(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return (x * (x.log() - y.log())).sum(-1)

    got = symmetric_kl(a, b, labels)
    assert got.item() == pytest.approx(((kl(p, q) + kl(q, p)) / 2).mean().item(), rel=1e-5)
    assert symmetric_kl(a, a, labels).item() == pytest.approx(0.0, abs=1e-7)
    moved = b.clone()
    moved[0, 1] += 100.0  # an ignored piece (context, a later sub-word) counts for nothing
    assert symmetric_kl(a, moved, labels).item() == pytest.approx(got.item())
    none = symmetric_kl(a, b, torch.full_like(labels, IGNORE))
    assert none.item() == 0.0 and none.requires_grad is False


def _batch(vocab: int) -> dict[str, torch.Tensor]:
    torch.manual_seed(1)
    ids = torch.randint(5, vocab, (3, 7))
    labels = torch.randint(0, 5, (3, 7))
    labels[:, 0] = labels[:, -1] = IGNORE
    labels[2, 4:] = IGNORE
    mask = torch.ones_like(ids)
    mask[2, 5:] = 0
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def test_without_dropout_it_is_the_model_loss(tiny_encoder: Path) -> None:
    """Two passes with dropout off agree: no divergence, the model's own loss; with dropout
    on, the task loss of both passes plus alpha times their divergence."""
    from transformers import AutoModelForTokenClassification

    model = AutoModelForTokenClassification.from_pretrained(str(tiny_encoder), num_labels=5)
    inputs = _batch(model.config.vocab_size)
    model.eval()
    loss, outputs = rdrop_loss(model, inputs, alpha=3.0)
    assert outputs.logits.shape[0] == 2 * inputs["input_ids"].shape[0]
    assert loss.item() == pytest.approx(model(**inputs).loss.item(), rel=1e-5)

    model.train()
    loss, outputs = rdrop_loss(model, inputs, alpha=3.0)
    first, second = outputs.logits.chunk(2)
    labels = inputs["labels"]
    divergence = symmetric_kl(first, second, labels)
    assert divergence.item() > 0, "the two passes drew the same dropout masks"
    task = sum(F.cross_entropy(x.flatten(0, 1), labels.flatten()) for x in (first, second)) / 2
    assert loss.item() == pytest.approx((task + 3.0 * divergence).item(), rel=1e-5)
    loss.backward()
    assert model.classifier.weight.grad is not None


def test_training_with_rdrop(tiny_encoder: Path, tmp_path: Path,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Every training step goes through the R-Drop loss (dev scoring does not), and the run
    records the setting."""
    import nerkit.training.consistency as consistency
    from nerkit.training.train import TrainConfig, train

    calls: list[int] = []
    real = consistency.rdrop_loss

    def counted(model: Any, inputs: dict[str, Any], alpha: float, crf: Any = None) -> Any:
        calls.append(inputs["input_ids"].shape[0])
        assert alpha == 2.0
        return real(model, inputs, alpha, crf)

    monkeypatch.setattr(consistency, "rdrop_loss", counted)
    out = tmp_path / "model"
    train(TrainConfig(model=str(tiny_encoder), output_dir=str(out), train=str(DATA / "tiny.train"),
                      dev=str(DATA / "tiny.dev"), max_steps=3, batch_size=2, learning_rate=1e-3,
                      max_length=16, rdrop=2.0, report_to="none"))
    assert calls == [2, 2, 2]
    assert json.loads((out / "training_args.json").read_text())["nerkit"]["rdrop"] == 2.0


def test_rdrop_must_not_be_negative() -> None:
    from nerkit.errors import ConfigError
    from nerkit.training.config import TrainConfig

    with pytest.raises(ConfigError, match="rdrop"):
        TrainConfig(model="m", output_dir="o", train="t", rdrop=-1.0).check()
