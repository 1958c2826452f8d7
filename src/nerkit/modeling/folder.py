"""Build, load and save token classifiers as standard Hugging Face model folders.

A nerkit model folder is what ``AutoModelForTokenClassification.from_pretrained`` and
``pipeline("ner")`` load unchanged (config with ``id2label``/``label2id``, safetensors weights,
tokenizer), plus ``nerkit.json`` with what the plain folder cannot say: the tagging scheme, the
window length, the decoding the model was evaluated with and, for a model trained with
``--crf``, the learned transition scores. A model trained with ``--layer-mix`` is the one
exception to "plain classifier": its folder names its own class (:mod:`nerkit.modeling.layer_mix`),
which this module registers with the Auto classes so nerkit loads both kinds the same way.
Saving goes to a temporary folder that replaces the target in one rename, so an interrupted save
never leaves a broken model.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nerkit._version import __version__
from nerkit.conll.labels import INTERNAL_SCHEME, LabelSet
from nerkit.errors import ModelError

META_FILE = "nerkit.json"


@dataclass
class ModelMeta:
    """What nerkit records beside the Hugging Face files."""

    scheme: str = INTERNAL_SCHEME
    max_length: int = 128
    decoding: str = "viterbi"
    language: str = "es"
    encoder: str = ""
    nerkit_version: str = __version__
    # start/transitions/end scores learned by a CRF head (nerkit.modeling.crf), None without one
    crf: dict[str, Any] | None = None
    # pieces of neighbouring sentences read on each side (nerkit.modeling.encoding); 0: none
    context: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, folder: Path) -> ModelMeta:
        path = folder / META_FILE
        if not path.exists():
            return cls()
        data = json.loads(path.read_text(encoding="utf-8"))
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)

    def write(self, folder: Path) -> None:
        (folder / META_FILE).write_text(json.dumps(asdict(self), indent=2) + "\n", "utf-8")


def register_layer_mix() -> None:
    """Make the Auto classes load ``nerkit_layer_mix`` folders with nerkit's installed code.

    ``register_for_auto_class`` also makes ``save_pretrained`` copy
    :mod:`nerkit.modeling.layer_mix` into
    the folder with an ``auto_map``, for users of plain transformers (``trust_remote_code``).
    """
    from transformers import AutoConfig, AutoModelForTokenClassification

    from nerkit.modeling.layer_mix import LayerMixConfig, LayerMixForTokenClassification

    AutoConfig.register(LayerMixConfig.model_type, LayerMixConfig, exist_ok=True)
    AutoModelForTokenClassification.register(
        LayerMixConfig, LayerMixForTokenClassification, exist_ok=True
    )
    LayerMixConfig.register_for_auto_class()
    LayerMixForTokenClassification.register_for_auto_class("AutoModelForTokenClassification")


def _is_local(name: str | os.PathLike[str]) -> bool:
    return Path(name).exists() or str(name).startswith((".", "/", "~"))


def load_tokenizer(name: str | os.PathLike[str]) -> Any:
    from transformers import AutoTokenizer

    if _is_local(name) and not Path(name).exists():
        raise ModelError(f"{name}: model folder not found; check the path")
    try:
        return AutoTokenizer.from_pretrained(str(name))
    except OSError as err:
        raise ModelError(
            f"{name}: cannot load a tokenizer ({str(err).splitlines()[0]}); give a local model "
            "folder or a hub id reachable from this machine"
        ) from err


def new_classifier(
    encoder: str | os.PathLike[str], labels: LabelSet, tokenizer: Any = None
) -> tuple[Any, Any]:
    """A fresh token-classification head on ``encoder`` (a local folder or a hub id).

    ``tokenizer``: the encoder's, when already loaded (training encodes its data first).
    """
    from transformers import AutoModelForTokenClassification

    if tokenizer is None:
        tokenizer = load_tokenizer(encoder)
    try:
        model = AutoModelForTokenClassification.from_pretrained(
            str(encoder),
            num_labels=len(labels),
            id2label=labels.id2label,
            label2id=labels.label2id,
        )
    except (OSError, ValueError) as err:
        raise ModelError(
            f"{encoder}: cannot load it as a token classifier ({str(err).splitlines()[0]})"
        ) from err
    return model, tokenizer


def load_classifier(folder: str | os.PathLike[str]) -> tuple[Any, Any, LabelSet, ModelMeta]:
    """Load a trained nerkit/Hugging Face token classifier with its labels and metadata."""
    from transformers import AutoConfig, AutoModelForTokenClassification

    path = Path(folder)
    if not path.exists():
        raise ModelError(f"{folder}: model folder not found; check the path")
    if not (path / "config.json").exists():
        raise ModelError(f"{folder}: no config.json here; give the folder `nerkit train` wrote")
    register_layer_mix()
    config = AutoConfig.from_pretrained(str(path))
    architectures = getattr(config, "architectures", None) or []
    id2label = getattr(config, "id2label", {}) or {}
    has_head = any(a.endswith("ForTokenClassification") for a in architectures)
    default_labels = all(str(v).startswith("LABEL_") for v in id2label.values())
    if not has_head or default_labels:
        raise ModelError(
            f"{folder}: this is a bare encoder ({', '.join(architectures) or 'no architecture'}) "
            "without a trained token-classification head; train one first: "
            f"nerkit train --model {folder} --data conll2002-es --output-dir my-ner-model"
        )
    labels = LabelSet.from_config(id2label)
    model = AutoModelForTokenClassification.from_pretrained(str(path))
    model.eval()
    tokenizer = load_tokenizer(path)
    return model, tokenizer, labels, ModelMeta.read(path)


def save_classifier(
    folder: str | os.PathLike[str], model: Any, tokenizer: Any, meta: ModelMeta
) -> Path:
    """Write model, tokenizer and ``nerkit.json`` atomically to ``folder``.

    Extra files already in ``folder`` (reports, logs) are kept; only the model files change.
    """
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".saving-", dir=target))
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        meta.write(tmp)
        for item in tmp.iterdir():
            os.replace(item, target / item.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
