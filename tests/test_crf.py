"""The CRF head: exact likelihood, packing of word chains, decoding and training with ``--crf``."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import DATA

from nerkit.conll.schemes import transition_masks
from nerkit.errors import ModelError
from nerkit.modeling.crf import FORBIDDEN, ChainCRF, crf_loss, word_chains
from nerkit.modeling.encoding import IGNORE
from nerkit.tagging.decode import Decoder
from nerkit.training.config import TrainConfig
from nerkit.training.train import train
from nerkit.training.trainer import parameter_learning_rates

LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def _random_crf(seed: int) -> ChainCRF:
    crf = ChainCRF(LABELS)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in crf.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    return crf


def _path_score(crf: ChainCRF, emissions: torch.Tensor, path: tuple[int, ...]) -> float:
    """Score of one path, written out term by term (forbidden moves get FORBIDDEN)."""
    _, allowed, _ = transition_masks(LABELS)
    score = float(crf.start[path[0]] + emissions[0, path[0]])
    for t in range(1, len(path)):
        a, b = path[t - 1], path[t]
        score += float(crf.transitions[a, b]) + (0.0 if allowed[a][b] else FORBIDDEN)
        score += float(emissions[t, b])
    return score + float(crf.end[path[-1]])


@pytest.mark.parametrize("seed", range(4))
def test_likelihood_is_exact(seed: int) -> None:
    """Against enumerating every path, on a padded batch of sentences of different lengths."""
    crf = _random_crf(seed)
    g = torch.Generator().manual_seed(100 + seed)
    lengths = [4, 1, 3]
    emissions = torch.randn(3, 4, len(LABELS), generator=g)
    gold_paths = [(1, 2, 0, 3), (0,), (3, 4, 4)]
    tags = torch.zeros(3, 4, dtype=torch.long)
    mask = torch.zeros(3, 4, dtype=torch.bool)
    for row, path in enumerate(gold_paths):
        tags[row, : len(path)] = torch.tensor(path)
        mask[row, : len(path)] = True
    got = crf.neg_log_likelihood(emissions, tags, mask).detach()
    for row, (n, gold) in enumerate(zip(lengths, gold_paths, strict=True)):
        with torch.no_grad():
            scores = [
                _path_score(crf, emissions[row], p)
                for p in itertools.product(range(len(LABELS)), repeat=n)
            ]
            expected = math.log(sum(math.exp(s) for s in scores)) - _path_score(
                crf, emissions[row], gold
            )
        assert float(got[row]) == pytest.approx(expected, rel=1e-4, abs=1e-4)


def test_forbidden_path_keeps_no_probability() -> None:
    crf = ChainCRF(LABELS)
    emissions = torch.zeros(1, 2, len(LABELS))
    tags, mask = torch.tensor([[0, 2]]), torch.ones(1, 2, dtype=torch.bool)
    nll = crf.neg_log_likelihood(emissions, tags, mask).detach()
    assert float(nll[0]) > 1000  # O I-PER


def test_word_chains_pack_labelled_pieces() -> None:
    logits = torch.arange(2 * 5 * 2, dtype=torch.float32).reshape(2, 5, 2)
    labels = torch.tensor([[IGNORE, 1, IGNORE, 0, IGNORE], [IGNORE] * 5])
    emissions, tags, mask = word_chains(logits, labels)
    assert tags[0].tolist() == [1, 0] and mask.tolist() == [[True, True], [False, False]]
    assert emissions[0].tolist() == [logits[0, 1].tolist(), logits[0, 3].tolist()]
    crf = ChainCRF(["O", "B-PER"])
    loss = crf_loss(crf, logits, labels)
    assert torch.isfinite(loss) and float(loss) > 0  # the empty row adds nothing


def test_decoder_uses_learned_scores() -> None:
    """Viterbi with the learned scores finds the best allowed path (brute force)."""
    crf = _random_crf(7)
    scores = crf.scores()
    decoder = Decoder(LABELS, "viterbi", crf=scores)
    start_ok, allowed, end_ok = transition_masks(LABELS)
    rng = np.random.default_rng(0)
    sentences = [rng.normal(size=(n, len(LABELS))) for n in (1, 2, 3, 4, 0, 3)]
    decoded = decoder.decode_batch(sentences)
    for em, path in zip(sentences, decoded, strict=True):
        best, best_score = (), -math.inf
        for p in itertools.product(range(len(LABELS)), repeat=len(em)):
            if not p:
                continue
            if not start_ok[p[0]] or not end_ok[p[-1]]:
                continue
            if any(not allowed[a][b] for a, b in itertools.pairwise(p)):
                continue
            s = scores["start"][p[0]] + em[0, p[0]] + scores["end"][p[-1]]
            s += sum(scores["transitions"][a][b] + em[t + 1, b]
                     for t, (a, b) in enumerate(itertools.pairwise(p)))
            if s > best_score:
                best, best_score = p, s
        assert tuple(path.tolist()) == best
        assert decoder.decode(em).tolist() == path.tolist()


def test_decoder_refuses_scores_of_another_model() -> None:
    with pytest.raises(ModelError, match="for 3 labels but the model has 5"):
        Decoder(LABELS, crf=ChainCRF(["O", "B-PER", "I-PER"]).scores())
    with pytest.raises(ModelError, match="unreadable"):
        Decoder(LABELS, crf={"start": [0.0] * 5})


def test_crf_scores_train_at_the_head_rate(tiny_encoder: Path) -> None:
    from transformers import AutoModelForTokenClassification

    model = AutoModelForTokenClassification.from_pretrained(str(tiny_encoder), num_labels=5)
    model.crf = ChainCRF(LABELS)
    rates = parameter_learning_rates(model, 1e-4, 1e-2)
    assert rates["crf.transitions"] == rates["classifier.weight"] == 1e-2


def test_train_with_crf_saves_scores_and_a_plain_model(tmp_path: Path, tiny_encoder: Path) -> None:
    from safetensors import safe_open

    from nerkit.tagging.tagger import Tagger

    out = tmp_path / "crf"
    config = TrainConfig(
        model=str(tiny_encoder), output_dir=str(out), train=str(DATA / "tiny.train"),
        dev=str(DATA / "tiny.dev"), test=str(DATA / "tiny.test"), max_steps=2, batch_size=2,
        learning_rate=1e-3, head_learning_rate=0.5, max_length=16, crf=True,
        keep_checkpoints=True,
    )
    train(config)
    with safe_open(str(out / "checkpoints" / "checkpoint-2" / "model.safetensors"), "pt") as f:
        assert "crf.transitions" in set(f.keys()), "checkpoints keep the CRF for --resume"
    with safe_open(str(out / "model.safetensors"), "pt") as f:
        assert not any(k.startswith("crf.") for k in f.keys()), "saved model stays plain"
    meta = json.loads((out / "nerkit.json").read_text())
    labels = json.loads((out / "config.json").read_text())["id2label"]
    trans = np.array(meta["crf"]["transitions"])
    assert trans.shape == (len(labels), len(labels))
    assert np.abs(trans).max() > 0, "the transition scores were trained"
    card = (out / "README.md").read_text()
    assert "| CRF head (transition scores learned jointly) | True |" in card
    tagger = Tagger.load(out)
    assert tagger.predictor.decoder.learned
    assert len(tagger.tag_tokens(["Ana", "vive", "en", "Madrid"])) == 4
    # the ONNX export carries the scores along: same decoding, same tags
    from nerkit.export.onnx import export_onnx

    onnx_tagger = Tagger.load(export_onnx(out, tmp_path / "crf-onnx"))
    assert onnx_tagger.predictor.decoder.learned
    sentences = [["Ana", "vive", "en", "Madrid"], ["El", "Gobierno", "de", "España", "."]]
    assert onnx_tagger.tag_sentences(sentences) == tagger.tag_sentences(sentences)
    # resuming restores the CRF from the checkpoint and goes on
    config.max_steps, config.resume = 3, True
    results = train(config)
    assert max(e["step"] for e in results["log_history"]) == 3


def test_cli_flag() -> None:
    from nerkit.cli import build_parser

    base = ["train", "--model", "m", "--data", "conll2002-es", "--output-dir", "o"]
    assert build_parser().parse_args([*base, "--crf"]).crf is True
    assert build_parser().parse_args(base).crf is None  # TrainConfig's default (off) applies
