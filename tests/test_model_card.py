"""The model card: built with huggingface_hub's ModelCard, metadata the hub can read."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from nerkit.errors import ModelError
from nerkit.training.model_card import (
    CardOptions,
    build_model_card,
    check_model_card,
    write_model_card,
)


def metadata(text: str) -> dict:
    """The YAML block at the top of a card, parsed as the hub parses it."""
    assert text.startswith("---\n")
    block = text.split("\n---\n", 1)[0].removeprefix("---\n")
    data = yaml.safe_load(block)
    assert isinstance(data, dict)
    return data


def test_the_training_card_says_only_what_nerkit_knows(tiny_model: Path, tiny_encoder: Path):
    """The seed's card had a local path as base_model, ``datasets: custom``, no language."""
    text = (tiny_model / "README.md").read_text(encoding="utf-8")
    meta = metadata(text)
    assert meta["language"] == "es"
    assert meta["pipeline_tag"] == "token-classification"
    assert meta["library_name"] == "transformers"
    # a local encoder folder has no hub id: no base_model rather than a path
    assert "base_model" not in meta and "datasets" not in meta and "license" not in meta
    assert str(tiny_encoder) not in text and str(tiny_encoder.parent) not in text
    assert "github.com" not in text, "no made-up repository address"
    assert "model-index" not in meta, "local files are no hub dataset to report scores on"
    assert "detected from" in text and "py3langid" in text
    assert "| test |" in text
    check_model_card(build_model_card(tiny_model))


def corpus_folder(tiny_model: Path, tmp_path: Path, corpus: str = "conll2002-es") -> Path:
    """The tiny model's folder with the records a ``--data conll2002-es`` run writes."""
    folder = tmp_path / "corpus-model"
    shutil.copytree(tiny_model, folder, ignore=shutil.ignore_patterns("runs"))
    args = json.loads((folder / "training_args.json").read_text())
    args["nerkit"].update(data=corpus, train=None, dev=None, test=None)
    (folder / "training_args.json").write_text(json.dumps(args))
    results = json.loads((folder / "eval_results.json").read_text())
    results["base_model"] = "intfloat/multilingual-e5-small"
    (folder / "eval_results.json").write_text(json.dumps(results))
    return folder


def test_a_corpus_card_has_a_model_index_the_hub_reads(tiny_model: Path, tmp_path: Path):
    from huggingface_hub import ModelCard
    from huggingface_hub.repocard_data import eval_results_to_model_index

    folder = corpus_folder(tiny_model, tmp_path)
    card = build_model_card(folder, CardOptions(repo_id="org/tiny-ner-es", license="mit"))
    check_model_card(card, publishing=True)
    meta = metadata(str(card))
    assert meta["base_model"] == "intfloat/multilingual-e5-small"
    assert meta["datasets"] == ["eriktks/conll2002"]
    assert meta["license"] == "mit"
    # the model-index parses back into the same results, in the structure the hub expects
    parsed = ModelCard(str(card))
    assert meta["model-index"] == eval_results_to_model_index(
        parsed.data.model_name, parsed.data.eval_results)
    (entry,) = meta["model-index"]
    assert entry["name"] == "tiny-ner-es"
    by_split = {r["dataset"]["split"]: r for r in entry["results"]}
    assert set(by_split) == {"test", "validation"}
    test = by_split["test"]
    assert test["task"]["type"] == "token-classification"
    assert test["dataset"] == {"name": "CoNLL-2002 (Spanish)", "type": "eriktks/conll2002",
                               "config": "es", "split": "test"}
    results = json.loads((folder / "eval_results.json").read_text())
    scores = {m["type"]: m["value"] for m in test["metrics"]}
    assert scores["f1"] == round(results["test_f1"], 2)
    assert set(scores) == {"f1", "precision", "recall"}
    assert 'Tagger.load("org/tiny-ner-es")' in str(card)


def test_scores_of_a_later_evaluate_are_not_reported_as_training_scores(
    tiny_model: Path, tmp_path: Path
):
    folder = corpus_folder(tiny_model, tmp_path)
    other = json.loads((folder / "test_results.json").read_text())
    other["entity"]["micro"].update(f1=99.0, precision=98.0, recall=97.0)
    (folder / "test_results.json").write_text(json.dumps(other))
    meta = metadata(str(build_model_card(folder, CardOptions(license="mit"))))
    test = next(r for r in meta["model-index"][0]["results"] if r["dataset"]["split"] == "test")
    assert [m["type"] for m in test["metrics"]] == ["f1"]
    assert test["metrics"][0]["value"] != 99.0


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("base_model", "/home/me/encoder", "base_model '/home/me/encoder' is not a hub id"),
        ("datasets", ["custom"], "datasets 'custom' is not a hub id"),
        ("language", "Spanish", "is not an ISO 639 code"),
        ("license", "Apache 2.0", "license 'Apache 2.0' is not a hub license identifier"),
        ("model-index", [{"name": "x", "results": [{"dataset": {"type": "d"}}]}],
         "Invalid `model_index`"),
    ],
)
def test_check_refuses_what_the_hub_would(
    tiny_model: Path, field: str, value: object, problem: str
) -> None:
    text = str(build_model_card(tiny_model))
    meta = metadata(text)
    meta[field] = value
    card = f"---\n{yaml.safe_dump(meta)}---\n" + text.split("\n---\n", 1)[1]
    with pytest.raises(ModelError, match="model card metadata: ") as err:
        check_model_card(card)
    assert problem in str(err.value) and "\n" not in str(err.value)


def test_publishing_needs_a_license(tiny_model: Path) -> None:
    with pytest.raises(ModelError, match="no license; pass --license"):
        check_model_card(build_model_card(tiny_model), publishing=True)
    card = build_model_card(tiny_model, CardOptions(license="other", license_name="ACME 1.0"))
    check_model_card(card, publishing=True)
    assert "license_name: ACME 1.0" in str(card)


def test_write_model_card_is_atomic_and_rebuildable(tiny_model: Path, tmp_path: Path) -> None:
    folder = tmp_path / tiny_model.name  # the card names the model after its folder
    shutil.copytree(tiny_model, folder, ignore=shutil.ignore_patterns("runs"))
    before = (folder / "README.md").read_text()
    path = write_model_card(folder)
    assert path.read_text() == before, "the card is a function of the folder's files"
    assert not list(folder.glob(".README.md.tmp"))
