"""``--layer-mix``: the scalar mix, training with it, loading its folders in and out of nerkit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import DATA

from nerkit.modeling.layer_mix import ScalarMix, wrap_with_layer_mix
from nerkit.training.config import TrainConfig
from nerkit.training.train import train
from nerkit.training.trainer import parameter_learning_rates

SENTENCES = [["Ana", "vive", "en", "Madrid"], ["El", "Gobierno", "de", "España", "."]]


def test_scalar_mix_starts_as_the_mean_and_checks_its_input() -> None:
    mix = ScalarMix(3)
    hidden = [torch.full((1, 2, 4), float(v)) for v in (1, 2, 6)]
    assert torch.allclose(mix(hidden), torch.full((1, 2, 4), 3.0))
    assert mix.shares() == pytest.approx([1 / 3] * 3, abs=1e-4)
    with torch.no_grad():
        mix.weights[2] = 50.0
    assert torch.allclose(mix(hidden), hidden[2], atol=1e-4)
    with pytest.raises(ValueError, match="over 3 hidden states got 2"):
        mix(hidden[:2])


def test_wrap_moves_the_encoder_over(tiny_encoder: Path) -> None:
    from transformers import AutoModelForTokenClassification

    model = AutoModelForTokenClassification.from_pretrained(str(tiny_encoder), num_labels=5)
    model.get_input_embeddings().weight.requires_grad_(False)
    mixed = wrap_with_layer_mix(model)
    assert mixed.encoder is model.base_model, "pretrained weights, cuts and frozen flags kept"
    assert not mixed.get_input_embeddings().weight.requires_grad
    assert mixed.layer_mix.weights.numel() == model.config.num_hidden_layers + 1
    assert mixed.config.id2label == model.config.id2label
    rates = parameter_learning_rates(mixed, 1e-4, 1e-2, layer_lr_decay=0.5)
    assert rates["layer_mix.weights"] == rates["classifier.weight"] == 1e-2
    assert rates["encoder.encoder.layer.1.output.dense.weight"] == 1e-4
    assert rates["encoder.encoder.layer.0.output.dense.weight"] == 5e-5


@pytest.fixture(scope="module")
def mixed_model(tmp_path_factory: pytest.TempPathFactory, tiny_encoder: Path) -> Path:
    out = tmp_path_factory.mktemp("layer-mix")
    config = TrainConfig(
        model=str(tiny_encoder), output_dir=str(out), train=str(DATA / "tiny.train"),
        dev=str(DATA / "tiny.dev"), test=str(DATA / "tiny.test"), max_steps=2, batch_size=2,
        learning_rate=1e-3, head_learning_rate=0.5, max_length=16, layer_mix=True,
        encoder_layers="all", keep_checkpoints=True,
    )
    results = train(config)
    shares = results["layer_mix"]
    assert len(shares) == 3 and sum(shares) == pytest.approx(1.0, abs=1e-3)
    assert max(shares) - min(shares) > 0.01, "the mix weights were trained"
    # resuming restores the mix from the checkpoint and goes on
    config.max_steps, config.resume = 3, True
    assert max(e["step"] for e in train(config)["log_history"]) == 3
    return out


def test_folder_names_its_own_class(mixed_model: Path) -> None:
    config = json.loads((mixed_model / "config.json").read_text())
    assert config["model_type"] == "nerkit_layer_mix"
    assert config["architectures"] == ["LayerMixForTokenClassification"]
    assert config["auto_map"]["AutoModelForTokenClassification"] == (
        "layer_mix.LayerMixForTokenClassification"
    )
    assert (mixed_model / "layer_mix.py").is_file(), "the code travels with the weights"
    card = (mixed_model / "README.md").read_text()
    assert "| learned mix of the hidden layers (share per layer, embeddings first) | [" in card


def test_tagger_and_onnx_export(mixed_model: Path, tmp_path: Path) -> None:
    from nerkit.export.onnx import export_onnx
    from nerkit.tagging.tagger import Tagger

    tagger = Tagger.load(mixed_model)
    assert type(tagger.predictor.backend.model).__name__ == "LayerMixForTokenClassification"
    onnx_tagger = Tagger.load(export_onnx(mixed_model, tmp_path / "onnx"))
    assert onnx_tagger.tag_sentences(SENTENCES) == tagger.tag_sentences(SENTENCES)


_PLAIN_TRANSFORMERS = """
import json, sys
sys.modules["nerkit"] = None  # the copied code must run without nerkit installed
import torch
from transformers import AutoModelForTokenClassification
folder, trust = sys.argv[1], sys.argv[2] == "trust"
try:
    model = AutoModelForTokenClassification.from_pretrained(folder, trust_remote_code=trust)
except ValueError as err:
    print(json.dumps({"refused": str(err)}))
    raise SystemExit
model.eval()
ids = torch.tensor([[2, 10, 11, 12, 3]])
with torch.no_grad():
    logits = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
print(json.dumps({"class": type(model).__name__, "logits": logits.tolist()}))
"""


def _plain_load(folder: Path, trust: bool) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _PLAIN_TRANSFORMERS, str(folder), "trust" if trust else "no"],
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_plain_transformers_needs_trust_remote_code(mixed_model: Path) -> None:
    from nerkit.modeling.folder import load_classifier

    refused = _plain_load(mixed_model, trust=False)
    assert "custom code" in refused["refused"], "never silently a top-layer classifier"
    loaded = _plain_load(mixed_model, trust=True)
    assert loaded["class"] == "LayerMixForTokenClassification"
    model = load_classifier(mixed_model)[0]
    ids = torch.tensor([[2, 10, 11, 12, 3]])
    with torch.no_grad():
        ours = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
    assert torch.allclose(ours, torch.tensor(loaded["logits"]), atol=1e-5)


def test_cli_flag() -> None:
    from nerkit.cli import build_parser

    base = ["train", "--model", "m", "--data", "conll2002-es", "--output-dir", "o"]
    assert build_parser().parse_args([*base, "--layer-mix"]).layer_mix is True
    assert build_parser().parse_args(base).layer_mix is None
