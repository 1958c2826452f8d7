"""The layer probe keeps the encoder layers that hold the tagging information."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import DATA

from nerkit.conll.corpus import read_sentences
from nerkit.conll.labels import INTERNAL_SCHEME, LabelSet
from nerkit.conll.schemes import convert_tags
from nerkit.modeling.encoding import WindowEncoder
from nerkit.modeling.folder import new_classifier
from nerkit.modeling.layer_probe import choose_layers, encoder_layer_count, probe_layers
from nerkit.training.config import TrainConfig, parse_encoder_layers
from nerkit.training.train import train


def test_choose_layers_prefers_fewer_layers_on_ties() -> None:
    assert choose_layers([40.0, 60.0, 77.0, 70.0]) == 2
    assert choose_layers([40.0, 77.0, 77.0, 70.0]) == 1
    assert choose_layers([90.0, 10.0, 20.0]) == 2  # the embedding output is never chosen
    assert choose_layers([40.0, 76.6, 77.0], tolerance=0.5) == 1


def _windows(tiny_encoder: Path) -> tuple[object, list, LabelSet]:
    sentences = read_sentences(DATA / "tiny.train") * 6
    labels = LabelSet.from_tags(s.tags for s in sentences)
    model, tokenizer = new_classifier(tiny_encoder, labels)
    tags = [labels.ids(convert_tags(s.tags, INTERNAL_SCHEME)) for s in sentences]
    windows = WindowEncoder(tokenizer, 32).windows([s.words for s in sentences], tags)
    return model, windows, labels


def test_probe_finds_the_layer_that_still_holds_the_words(tiny_encoder: Path) -> None:
    """Layer 2 is made to output one constant vector: the probe must keep only layer 1."""
    import torch

    model, windows, labels = _windows(tiny_encoder)
    with torch.no_grad():
        norm = model.bert.encoder.layer[1].output.LayerNorm
        norm.weight.zero_()
        norm.bias.fill_(0.5)
    model.train()
    result = probe_layers(model, windows, len(labels), labels.id("O"))
    assert result is not None
    assert model.training  # the probe runs in eval mode and puts the mode back
    assert (result.total_layers, len(result.scores)) == (2, 3)
    assert result.scores[2] == 0.0  # a constant vector can only say "O"
    assert result.scores[1] > 50.0
    assert result.layers == 1
    assert result.fit_tokens + result.score_tokens == sum(
        sum(t != -100 for t in w.labels) for w in windows
    )
    again = probe_layers(model, windows, len(labels), labels.id("O"))
    assert again is not None and again.scores == result.scores  # deterministic


def test_probe_skips_encoders_with_shared_layers() -> None:
    from transformers import AlbertConfig, AlbertForTokenClassification

    config = AlbertConfig(vocab_size=50, embedding_size=8, hidden_size=16, num_hidden_layers=2,
                          num_attention_heads=2, intermediate_size=32)
    model = AlbertForTokenClassification(config)
    assert encoder_layer_count(model) is None
    assert probe_layers(model, [], 3, 0) is None


def test_auto_layers_in_training(tmp_path: Path, tiny_encoder: Path) -> None:
    from transformers import AutoModelForTokenClassification

    out = tmp_path / "m"
    train(TrainConfig(model=str(tiny_encoder), output_dir=str(out), train=str(DATA / "tiny.train"),
                      max_steps=1, batch_size=2))
    results = json.loads((out / "eval_results.json").read_text())
    probe = results["layer_probe"]
    assert probe["total_layers"] == 2 and len(probe["scores"]) == 3
    kept = AutoModelForTokenClassification.from_pretrained(str(out)).config.num_hidden_layers
    assert kept == probe["layers"] == results["encoder_layers"]
    assert f"{probe['layers']} of 2 (chosen by the layer probe" in (out / "README.md").read_text()


def test_resume_reads_the_probe_back(
    tmp_path: Path, tiny_encoder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--resume keeps the layers the checkpoints were trained with, without probing again."""
    import nerkit.training.train

    out = tmp_path / "m"
    config = TrainConfig(model=str(tiny_encoder), output_dir=str(out),
                         train=str(DATA / "tiny.train"), max_steps=1, batch_size=2,
                         keep_checkpoints=True)
    first = train(config)

    def no_probe(*args: object, **kwargs: object) -> None:
        raise AssertionError("probed again on --resume")

    monkeypatch.setattr(nerkit.training.train, "probe_layers", no_probe)
    config.max_steps, config.resume = 2, True
    second = train(config)
    assert second["layer_probe"] == first["layer_probe"]
    assert second["encoder_layers"] == first["encoder_layers"]
    # an unreadable saved result is not trusted: the probe runs again, same choice
    monkeypatch.undo()
    (out / "checkpoints" / nerkit.training.train.PROBE_FILE).write_text("{not json")
    config.max_steps = 3
    third = train(config)
    assert third["layer_probe"]["layers"] == first["layer_probe"]["layers"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("auto", "auto"), ("all", None), (None, None), ("8", 8), (3, 3)],
)
def test_parse_encoder_layers(value: object, expected: object) -> None:
    assert parse_encoder_layers(value) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["0", "-2", "eight", "8.5", 0])
def test_parse_encoder_layers_rejects(value: object) -> None:
    from nerkit.errors import ConfigError

    with pytest.raises(ConfigError, match="encoder_layers must be auto, all or a"):
        parse_encoder_layers(value)  # type: ignore[arg-type]
