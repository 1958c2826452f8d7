"""Shared fixtures: tiny random encoders built on the test's own words, and data paths.

No network: the tokenizer is trained here on the words of ``tests/data`` and the encoder is a
randomly initialised BERT of two small layers, so a training run takes seconds.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).parent / "data"
SHARED_DATA = Path(os.environ.get("NERKIT_DATA", Path(__file__).parents[2] / "shared" / "data"))


# Texts that every exported model must tag like the PyTorch model: entities of each type,
# accents, an empty text, one word, and a text longer than the tiny model's window.
EXPORT_TEXTS = [
    "Ana González viajó a Sevilla con la ONU.",
    "Telefónica y el Real Madrid firmaron en Madrid el 3 de mayo.",
    "",
    "Sevilla",
    "El presidente de la Comisión Europea, Romano Prodi, habló ayer en Bruselas. " * 12,
]


def random_windows(rows: int, seed: int) -> tuple[Any, Any]:
    """Right-padded random windows of the tiny vocabulary (< 190 pieces), sorted by length:
    ``(input_ids, attention_mask)`` int64 arrays as the Predictor feeds a backend."""
    import numpy as np

    rng = np.random.default_rng(seed)
    lengths = np.sort(rng.integers(3, 16, rows))
    ids = np.zeros((rows, int(lengths.max())), dtype=np.int64)
    mask = np.zeros_like(ids)
    for i, n in enumerate(lengths):
        ids[i, :n] = rng.integers(5, 150, n)
        mask[i, :n] = 1
    return ids, mask


def conll2002(name: str) -> Path:
    """A CoNLL-2002 file from the shared data folder, or skip the test if it is absent."""
    path = SHARED_DATA / "conll2002" / name
    if not path.exists():
        pytest.skip(f"{path} not found; set NERKIT_DATA to the folder holding conll2002/")
    return path


def _corpus_words() -> list[str]:
    words = []
    for path in DATA.glob("tiny.*"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                words.append(line.split()[0])
    return words


def build_tiny_encoder(folder: Path, extra_words: list[str] | None = None) -> Path:
    """A 2-layer BERT with a WordPiece tokenizer trained on the test words."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    words = _corpus_words() + (extra_words or [])
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(
        vocab_size=300,
        special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
    )
    tok.train_from_iterator([" ".join(words)] * 3, trainer)
    from tokenizers import processors

    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))],
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )
    config = BertConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    import torch

    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_encoder(tmp_path_factory.mktemp("tiny-encoder"))


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory, tiny_encoder: Path) -> Path:
    """A tiny model trained for a few steps on tests/data (its scores mean nothing)."""
    from nerkit.training.train import TrainConfig, train

    out = tmp_path_factory.mktemp("tiny-model")
    train(
        TrainConfig(
            model=str(tiny_encoder),
            output_dir=str(out),
            train=str(DATA / "tiny.train"),
            dev=str(DATA / "tiny.dev"),
            test=str(DATA / "tiny.test"),
            max_steps=4,
            batch_size=2,
            learning_rate=1e-3,
            max_length=16,
        )
    )
    return out


@pytest.fixture(scope="session")
def tiny_context_model(tmp_path_factory: pytest.TempPathFactory, tiny_encoder: Path) -> Path:
    """A tiny model trained with ``context=8`` (neighbouring sentences read on each side) and
    context dropout 0.5 (some training sentences read alone)."""
    from nerkit.training.train import TrainConfig, train

    out = tmp_path_factory.mktemp("tiny-context-model")
    train(TrainConfig(model=str(tiny_encoder), output_dir=str(out), train=str(DATA / "tiny.train"),
                      dev=str(DATA / "tiny.dev"), max_steps=2, batch_size=2, max_length=32,
                      context=8, context_dropout=0.5, learning_rate=1e-3))
    return out


@pytest.fixture(scope="session")
def torch_tagger(tiny_model: Path) -> Any:
    """The tiny model on PyTorch: the reference that exported models are compared with."""
    from nerkit.tagging.tagger import Tagger

    return Tagger.load(tiny_model)
