"""Model folders written before the reorganisation load and tag identically today.

The folders and the outputs the old code gave on them are committed under
``tests/data/compat`` (how they were made: its README). Nothing here trains or rebuilds them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

COMPAT = Path(__file__).parent / "data" / "compat"
FOLDERS = ["softmax", "crf-mix"]


def expected(name: str) -> dict[str, Any]:
    return json.loads((COMPAT / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module", params=FOLDERS)
def old_model(request: pytest.FixtureRequest) -> tuple[Any, dict[str, Any]]:
    from nerkit import Tagger

    return Tagger.load(COMPAT / request.param), expected(request.param)


def test_fixture_folders_are_complete() -> None:
    """The comparison below is only worth something if the fixture tags entities."""
    for name in FOLDERS:
        assert (COMPAT / name / "model.safetensors").is_file()
        assert not (COMPAT / name / "runs").exists()
        found = expected(name)
        assert sum(len(e) for e in found["entities"]) >= 10, name
        assert {e["label"] for es in found["entities"] for e in es} >= {"PER", "LOC"}, name
    assert (COMPAT / "crf-mix" / "layer_mix.py").is_file()
    assert json.loads((COMPAT / "crf-mix" / "nerkit.json").read_text("utf-8"))["crf"]


def test_same_words_and_tags(old_model: tuple[Any, dict[str, Any]]) -> None:
    tagger, old = old_model
    words = [[w.text for w in tagger.splitter(text)] for text in old["texts"]]
    assert words == old["words"]
    assert tagger.tag_sentences(words) == old["tags"]
    assert tagger.tag_sentences(old["sentences"]) == old["sentence_tags"]
    documents = [0] * len(old["sentences"])
    assert tagger.tag_sentences(old["sentences"], documents=documents) == old["document_tags"]


def test_same_entities_and_scores(old_model: tuple[Any, dict[str, Any]]) -> None:
    tagger, old = old_model
    for text, old_entities in zip(old["texts"], old["entities"], strict=True):
        entities = [e.to_dict() for e in tagger(text)]
        assert [{k: v for k, v in e.items() if k != "score"} for e in entities] == [
            {k: v for k, v in e.items() if k != "score"} for e in old_entities
        ], text
        scores = [e["score"] for e in entities]
        assert scores == pytest.approx([e["score"] for e in old_entities], abs=1e-6), text
