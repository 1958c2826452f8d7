"""What a model folder needs before transformers is let near it, checked in one place.

transformers loads whatever a folder holds and fills gaps silently: without tokenizer files it
builds an empty five-token tokenizer (every word becomes ``[UNK]`` and the model still "works");
without ``tokenizer_config.json`` it picks another tokenizer class and predicts differently; a
truncated or invalid file fails deep inside with ``OSError``, ``SafetensorError`` or
``JSONDecodeError``. These checks run first and name what is missing and how to get it back,
as one :class:`~nerkit.errors.ModelError` line. They read file headers only, never the weights,
so a check costs little next to loading.

This module imports only the standard library and :mod:`nerkit.errors`.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from nerkit.errors import ModelError

__all__ = [
    "TOKENIZER_VOCABULARIES",
    "check_config",
    "check_safetensors",
    "check_tokenizer_files",
    "check_weights",
    "read_json",
]

# A tokenizer folder holds its settings and one of these vocabularies (fast or slow).
TOKENIZER_VOCABULARIES = (
    "tokenizer.json",
    "vocab.txt",
    "vocab.json",
    "sentencepiece.bpe.model",
    "spiece.model",
    "tokenizer.model",
    "sentencepiece.model",
    "spm.model",
)
_HEADER_LIMIT = 100 << 20  # the safetensors format's own cap on its JSON header
_COPY_AGAIN = "copy the folder again from where it came from, or train it again"


def read_json(path: Path, what: str) -> dict[str, Any]:
    """The JSON object in ``path``; a missing, unreadable or invalid file is a ModelError."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path}: {what} is missing; {_COPY_AGAIN}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ModelError(f"{path}: cannot read {what} ({err}); {_COPY_AGAIN}") from None
    except ValueError as err:
        raise ModelError(f"{path}: {what} is not valid JSON ({err}); {_COPY_AGAIN}") from None
    if not isinstance(data, dict):
        raise ModelError(f"{path}: {what} is not a JSON object; {_COPY_AGAIN}")
    return data


def check_config(folder: Path) -> dict[str, Any]:
    """The folder's ``config.json`` as a dict (missing or invalid: ModelError)."""
    if not (folder / "config.json").exists():
        raise ModelError(
            f"{folder}: no config.json here; give the folder `nerkit train` wrote, or a complete "
            "Hugging Face model folder"
        )
    return read_json(folder / "config.json", "config.json")


def check_safetensors(path: Path) -> None:
    """Refuse a ``.safetensors`` file that is cut short or is not one.

    The format is an 8-byte header length, a JSON header giving each tensor's byte range, then
    the bytes; a whole file ends exactly where its last tensor does.
    """
    size = path.stat().st_size
    try:
        with path.open("rb") as f:
            length = int.from_bytes(f.read(8), "little")
            if size < 8 or length > min(size - 8, _HEADER_LIMIT):
                raise ValueError("its header is cut short")
            header = json.loads(f.read(length))
        ends = [v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"]
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError) as err:
        raise ModelError(
            f"{path}: not a whole safetensors file ({err}); {_COPY_AGAIN}"
        ) from None
    expected = 8 + length + max(ends, default=0)
    if size != expected:
        raise ModelError(
            f"{path}: {size:,} bytes where its header describes {expected:,}: the file is "
            f"truncated or damaged; {_COPY_AGAIN}"
        )


def check_weights(folder: Path) -> Path:
    """The weights file transformers would load (in its order of preference), checked whole.

    Safetensors files are checked against their header; a ``pytorch_model.bin`` (a zip
    archive) must have its end-of-archive record, which a truncated copy lacks.
    """
    single = folder / "model.safetensors"
    if single.is_file():
        check_safetensors(single)
        return single
    for index_name, check in (
        ("model.safetensors.index.json", check_safetensors),
        ("pytorch_model.bin.index.json", _check_torch_file),
    ):
        index = folder / index_name
        if index.is_file():
            weight_map = read_json(index, index_name).get("weight_map")
            if not isinstance(weight_map, dict) or not weight_map:
                raise ModelError(f"{index}: no weight_map; {_COPY_AGAIN}")
            for shard in sorted(set(map(str, weight_map.values()))):
                if not (folder / shard).is_file():
                    raise ModelError(
                        f"{folder}: weight shard {shard} (listed in {index_name}) is missing; "
                        f"{_COPY_AGAIN}"
                    )
                check(folder / shard)
            return index
    legacy = folder / "pytorch_model.bin"
    if legacy.is_file():
        _check_torch_file(legacy)
        return legacy
    raise ModelError(
        f"{folder}: no weights (model.safetensors, its shards, or pytorch_model.bin); the model "
        f"folder is incomplete: {_COPY_AGAIN}"
    )


def _check_torch_file(path: Path) -> None:
    if not zipfile.is_zipfile(path):
        raise ModelError(f"{path}: truncated or not a PyTorch weights file; {_COPY_AGAIN}")


def check_tokenizer_files(folder: Path) -> None:
    """Refuse a folder without its tokenizer: settings plus a vocabulary.

    Without them transformers builds an empty tokenizer or another class than the one the
    model was trained with, and every prediction is silently wrong.
    """
    missing = []
    if not (folder / "tokenizer_config.json").is_file():
        missing.append("tokenizer_config.json")
    if not any((folder / name).is_file() for name in TOKENIZER_VOCABULARIES):
        missing.append("a vocabulary (tokenizer.json, or vocab.txt, sentencepiece.bpe.model...)")
    if missing:
        raise ModelError(
            f"{folder}: no tokenizer ({' and '.join(missing)} missing), so every word would be "
            "read wrongly; copy the tokenizer files of the encoder the model was trained from "
            "into the folder (AutoTokenizer.from_pretrained(encoder).save_pretrained(folder))"
        )
