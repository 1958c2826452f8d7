"""Rebuild the model folders of ``tests/data/compat`` with the code from before the
reorganisation (commit a555b28), and record what that code's ``Tagger`` gave on them.

Run from a checkout of that commit, not from today's tree (see README.md here)::

    git worktree add /tmp/old a555b28
    cd /tmp/old && PYTHONPATH=src:tests python3 /path/to/tests/data/compat/make_fixture.py OUT

Only the standard library is imported at module level: pytest's doctest collection imports
this file, and today's package has none of the old module names.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

# Two folders: the default head (softmax, context 32 with dropout, encoder layers picked by the
# probe) and every optional part a folder can hold (CRF transitions in nerkit.json, the layer-mix
# class with its copied code, a shorter context).
SETTINGS: dict[str, dict[str, Any]] = {
    "softmax": {"max_length": 16, "max_steps": 40},
    "crf-mix": {
        "max_length": 32,
        "max_steps": 40,
        "crf": True,
        "layer_mix": True,
        "context": 8,
        "encoder_layers": "all",
    },
}
STEPS_NOTE = "batch_size 2, learning_rate 5e-3, seed 42, on tests/data/tiny.train"


def expected_outputs(tagger: Any, texts: list[str], sentences: list[list[str]]) -> dict[str, Any]:
    """What the old Tagger gives: entities per text, word tags per text (its own word split),
    and tags for pre-split sentences read alone and as one document (context)."""
    words = [[w.text for w in tagger.splitter(text)] for text in texts]
    return {
        "texts": texts,
        "entities": [[e.to_dict() for e in tagger(text)] for text in texts],
        "words": words,
        "tags": tagger.tag_sentences(words),
        "sentences": sentences,
        "sentence_tags": tagger.tag_sentences(sentences),
        "document_tags": tagger.tag_sentences(sentences, documents=[0] * len(sentences)),
    }


def main(out: Path) -> None:
    from conftest import DATA, EXPORT_TEXTS, build_tiny_encoder
    from nerkit.corpus import read_column_file
    from nerkit.tagger import Tagger
    from nerkit.train import TrainConfig, train

    sentences = [list(s.words) for s in read_column_file(DATA / "tiny.test").sentences]
    texts = EXPORT_TEXTS + ["Romano Prodi y Ana González visitaron la ONU en Bruselas."]
    with tempfile.TemporaryDirectory() as tmp:
        encoder = build_tiny_encoder(Path(tmp) / "encoder")
        for name, settings in SETTINGS.items():
            folder = out / name
            shutil.rmtree(folder, ignore_errors=True)
            config = TrainConfig(
                model=str(encoder), output_dir=str(folder), train=str(DATA / "tiny.train"),
                dev=str(DATA / "tiny.dev"), batch_size=2, learning_rate=5e-3, **settings,
            )
            train(config)
            for extra in ("runs", "checkpoints"):
                shutil.rmtree(folder / extra, ignore_errors=True)
            result = expected_outputs(Tagger.load(folder), texts, sentences)
            meta = json.loads((folder / "nerkit.json").read_text(encoding="utf-8"))
            result["made_by"] = {"nerkit": meta["nerkit_version"], "commit": "a555b28",
                                 "settings": settings, "training": STEPS_NOTE}
            (out / f"{name}.json").write_text(
                json.dumps(result, ensure_ascii=False, indent=1) + "\n", "utf-8"
            )


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve())
