"""Training writes a standard Hugging Face model folder plus nerkit's reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import DATA

from nerkit.errors import ConfigError
from nerkit.training.config import TrainConfig
from nerkit.training.train import train


def test_model_folder_is_standard(tiny_model: Path) -> None:
    names = {p.name for p in tiny_model.iterdir()}
    for expected in (
        "config.json", "model.safetensors", "tokenizer.json", "nerkit.json", "README.md",
        "eval_results.json", "training_args.json", "dev_predictions.txt", "test_predictions.txt",
        "dev_results.json", "test_results.json", "runs",
    ):
        assert expected in names, expected
    assert "checkpoints" not in names, "intermediate checkpoints are removed at the end"
    assert any((tiny_model / "runs").iterdir()), "TensorBoard events written"
    config = json.loads((tiny_model / "config.json").read_text())
    assert config["id2label"]["0"] == "O"
    assert set(config["label2id"]) == {
        "O", "B-LOC", "I-LOC", "B-MISC", "I-MISC", "B-ORG", "I-ORG", "B-PER", "I-PER"
    }


def test_hugging_face_loads_it_unchanged(tiny_model: Path) -> None:
    from transformers import AutoModelForTokenClassification, pipeline

    model = AutoModelForTokenClassification.from_pretrained(str(tiny_model))
    assert model.config.num_labels == 9
    ner = pipeline("ner", model=str(tiny_model))
    tokens = ner("Felipe viajó a Madrid")
    assert all(t["entity"] in model.config.label2id for t in tokens)


def test_reports(tiny_model: Path) -> None:
    results = json.loads((tiny_model / "eval_results.json").read_text())
    for key in ("dev_f1", "test_f1", "best_dev_f1", "train_seconds", "encoding"):
        assert key in results
    card = (tiny_model / "README.md").read_text()
    assert "| test |" in card and "learning rate" in card
    lines = (tiny_model / "test_predictions.txt").read_text().split("\n\n")[0].splitlines()
    assert lines[0].split()[:2] == ["Ana", "B-PER"]  # word, gold, predicted
    assert len(lines[0].split()) == 3


def test_resume_and_limit(tmp_path: Path, tiny_encoder: Path) -> None:
    config = TrainConfig(
        model=str(tiny_encoder), output_dir=str(tmp_path / "m"), train=str(DATA / "tiny.train"),
        dev=str(DATA / "tiny.dev"), max_steps=2, batch_size=2, limit_train=3,
        keep_checkpoints=True, max_length=16,
    )
    first = train(config)
    assert first["encoding"]["sentences"] == 3
    assert (tmp_path / "m" / "checkpoints" / "checkpoint-2").exists()
    elapsed = tmp_path / "m" / "checkpoints" / "checkpoint-2" / "nerkit_elapsed.json"
    before = json.loads(elapsed.read_text())["seconds"]
    assert 0 < before <= first["train_seconds"]
    config.max_steps = 4
    config.resume = True
    second = train(config)
    steps = [e["step"] for e in second["log_history"] if "loss" in e or "train_loss" in e]
    assert max(steps) == 4
    # the time of the first session is counted in the resumed run's
    assert second["train_sessions_seconds_before"] == before
    assert second["train_seconds"] > before


def test_encoder_layers_cut_and_reload(tmp_path: Path, tiny_encoder: Path) -> None:
    from transformers import AutoModelForTokenClassification

    out = tmp_path / "m"
    train(TrainConfig(model=str(tiny_encoder), output_dir=str(out), train=str(DATA / "tiny.train"),
                      max_steps=1, batch_size=2, encoder_layers=1, freeze_embeddings=True))
    model = AutoModelForTokenClassification.from_pretrained(str(out))
    assert model.config.num_hidden_layers == 1
    assert len(model.bert.encoder.layer) == 1
    with pytest.raises(ConfigError, match="between 1 and 2"):
        train(TrainConfig(model=str(tiny_encoder), output_dir=str(tmp_path / "m2"),
                          train=str(DATA / "tiny.train"), max_steps=1, encoder_layers=3))


def test_head_learning_rate_groups(tmp_path: Path, tiny_encoder: Path) -> None:
    """The head gets its own rate; the optimizer is the Trainer's own choice (fused AdamW)."""
    from transformers import AutoModelForTokenClassification, TrainingArguments

    from nerkit.training.trainer import NerTrainer

    model = AutoModelForTokenClassification.from_pretrained(str(tiny_encoder), num_labels=3)
    args = TrainingArguments(output_dir=str(tmp_path), learning_rate=1e-4, report_to="none")
    trainer = NerTrainer(model=model, args=args, dev_scorer=None, head_lr=1e-2)
    optimizer = trainer.create_optimizer()
    head = {id(p) for p in model.classifier.parameters()}
    for group in optimizer.param_groups:
        in_head = {id(p) in head for p in group["params"]}
        assert len(in_head) == 1
        assert group["lr"] == (1e-2 if in_head == {True} else 1e-4)
    assert optimizer.defaults.get("fused") is True


def test_layer_lr_decay_groups(tmp_path: Path, tiny_encoder: Path) -> None:
    """Top layer at lr, each lower layer times the decay, embeddings below the lowest layer."""
    from transformers import AutoModelForTokenClassification, TrainingArguments

    from nerkit.training.trainer import NerTrainer

    model = AutoModelForTokenClassification.from_pretrained(str(tiny_encoder), num_labels=3)
    args = TrainingArguments(output_dir=str(tmp_path), learning_rate=1e-4, report_to="none")
    trainer = NerTrainer(model=model, args=args, dev_scorer=None, head_lr=1e-2,
                         layer_lr_decay=0.5)
    optimizer = trainer.create_optimizer()
    lr_of = {id(p): g["lr"] for g in optimizer.param_groups for p in g["params"]}
    named = dict(model.named_parameters())
    expected = {
        "classifier.weight": 1e-2,
        "bert.encoder.layer.1.output.dense.weight": 1e-4,
        "bert.encoder.layer.0.output.dense.weight": 5e-5,
        "bert.embeddings.word_embeddings.weight": 2.5e-5,
        "bert.embeddings.LayerNorm.weight": 2.5e-5,
    }
    for name, lr in expected.items():
        assert lr_of[id(named[name])] == pytest.approx(lr), name
    assert len(lr_of) == sum(p.requires_grad for p in model.parameters())
    with pytest.raises(ConfigError, match="layer_lr_decay must be in"):
        TrainConfig(model="m", output_dir="o", data="conll2002-es", layer_lr_decay=1.5).check()


def test_context_model_reads_its_neighbours(tiny_context_model: Path) -> None:
    """--context is recorded, reloaded, and used by evaluate and tag_sentences alike."""
    import numpy as np

    from nerkit.conll.corpus import read_column_file
    from nerkit.tagging.evaluate import evaluate_sentences
    from nerkit.tagging.tagger import Tagger

    out = tiny_context_model
    assert json.loads((out / "nerkit.json").read_text())["context"] == 8
    assert "context (pieces of neighbouring sentences per side) | 8" in (
        out / "README.md"
    ).read_text()
    results = json.loads((out / "eval_results.json").read_text())
    assert results["encoding"]["context_pieces"] > 0
    # trained with context dropout 0.5: some of the 4 training sentences were read alone
    assert 0 < results["encoding"]["context_dropped"] < 4
    tagger = Tagger.load(out)
    assert tagger.predictor.encoder.context == 8
    dev = read_column_file(DATA / "tiny.dev").sentences
    words = [list(s.words) for s in dev]
    docs = [s.doc_id for s in dev]
    alone = tagger.predictor.word_log_probs(words)
    read = tagger.predictor.word_log_probs(words, documents=docs)
    assert not all(np.array_equal(a, b) for a, b in zip(alone, read, strict=True))
    _, predicted = evaluate_sentences(tagger.predictor, dev)
    assert predicted == tagger.tag_sentences(words, documents=docs)


def test_dev_scorer_scores_the_model_as_it_is_at_each_call(tiny_model: Path) -> None:
    """The trainer's dev score is the saved model's dev score, and each call reads the model
    it is given (nothing kept from an earlier call)."""
    from nerkit.conll.corpus import read_column_file
    from nerkit.modeling.folder import load_classifier
    from nerkit.training.scoring import DevScorer

    model, tokenizer, labels, _ = load_classifier(tiny_model)
    dev = read_column_file(DATA / "tiny.dev").sentences
    settings = json.loads((tiny_model / "training_args.json").read_text())["nerkit"]
    scorer = DevScorer(dev, tokenizer, labels, TrainConfig(**settings))
    saved = json.loads((tiny_model / "dev_results.json").read_text())["entity"]
    assert scorer(model) == saved
    bias = model.classifier.bias.data
    bias[:] = -1e4
    bias[labels.id("O")] = 1e4  # now the model tags every word O
    assert scorer(model)["micro"]["predicted"] == 0
    assert DevScorer(None, tokenizer, labels, TrainConfig())(model)["micro"]["f1"] == 0.0


def test_training_arguments_follow_the_config(tmp_path: Path) -> None:
    """With dev: evaluate and save each epoch (or every quarter of max_steps, at least 10 steps
    apart, so that a killed run has a checkpoint to resume) and keep the best by F1; without
    dev: no evaluation."""
    from dataclasses import replace

    from nerkit.training.trainer import training_arguments

    config = TrainConfig(model="m", output_dir="o", data="conll2002-es", seed=7)
    args = training_arguments(config, tmp_path / "checkpoints", has_dev=True)
    assert (args.eval_strategy, args.save_strategy) == ("epoch", "epoch")
    assert args.load_best_model_at_end and args.metric_for_best_model == "f1"
    assert (args.learning_rate, args.seed, args.output_dir) == (
        1e-4, 7, str(tmp_path / "checkpoints"))
    steps = training_arguments(replace(config, max_steps=7), tmp_path, has_dev=False)
    assert (steps.eval_strategy, steps.save_strategy, steps.save_steps) == ("no", "steps", 10)
    assert training_arguments(replace(config, max_steps=100), tmp_path, True).save_steps == 25
    assert not steps.load_best_model_at_end
    every = training_arguments(replace(config, save_steps=5), tmp_path, has_dev=True)
    assert (every.eval_strategy, every.save_strategy) == ("steps", "steps")
    assert every.eval_steps == every.save_steps == 5
    assert every.use_cpu is False, "one process: the Trainer picks the device"
