"""Build, load and save token classifiers as standard Hugging Face model folders.

A nerkit model folder is what ``AutoModelForTokenClassification.from_pretrained`` and
``pipeline("ner")`` load unchanged (config with ``id2label``/``label2id``, safetensors weights,
tokenizer), plus ``nerkit.json`` with what the plain folder cannot say: the tagging scheme, the
window length, the decoding the model was evaluated with and, for a model trained with
``--crf``, the learned transition scores. A model trained with ``--layer-mix`` is the one
exception to "plain classifier": its folder names its own class (:mod:`nerkit.modeling.layer_mix`),
which this module registers with the Auto classes so nerkit loads both kinds the same way.
Saving goes to a staging folder whose files then move into the target, bracketed by a marker
and followed by a manifest of sizes and hashes (:mod:`nerkit.modeling.manifest`), so a save that
is killed midway leaves a folder that is refused, never one that loads as a mix of two models.
Loading checks the folder first (:mod:`nerkit.modeling.folder_check`): an incomplete or damaged
folder is one :class:`~nerkit.errors.ModelError` line that names the file and the fix.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nerkit._version import __version__
from nerkit.conll.labels import INTERNAL_SCHEME, LabelSet
from nerkit.conll.schemes import SCHEMES
from nerkit.errors import ModelError
from nerkit.modeling.folder_check import (
    check_config,
    check_tokenizer_files,
    check_weights,
    read_json,
)
from nerkit.modeling.manifest import STAGING_PREFIX, check_manifest, install, remove_stale_staging

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
        """The folder's ``nerkit.json``, checked; without one, the defaults, said in a warning.

        A folder saved by plain transformers has no ``nerkit.json`` and still loads. One that
        has it invalid is refused: guessing would drop what it records (a CRF's transitions, a
        context of 32) and predict differently without a word.
        """
        path = folder / META_FILE
        if not path.exists():
            # a hub model's card usually names its language (dslim/bert-base-NER: en)
            card_language = _card_language(folder)
            meta = cls(language=card_language) if card_language else cls()
            source = " (its model card's)" if card_language else ""
            warnings.warn(
                f"{folder}: no {META_FILE} (a folder not saved by nerkit), so nerkit assumes "
                f"scheme {meta.scheme}, windows of {meta.max_length} subwords, "
                f"{meta.decoding} decoding, no context, no CRF and words split as language "
                f"{meta.language!r}{source}; write a {META_FILE} beside config.json if the model "
                "was trained otherwise",
                stacklevel=2,
            )
            return meta
        data = read_json(path, META_FILE)
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        problem = _meta_problem(known)
        if problem:
            raise ModelError(
                f"{path}: {problem}; restore the file from the model's original folder (nerkit "
                "train writes it), or delete it to load with the defaults"
            )
        return cls(**known)

    def write(self, folder: Path) -> None:
        (folder / META_FILE).write_text(json.dumps(asdict(self), indent=2) + "\n", "utf-8")


def _card_language(folder: Path) -> str | None:
    """The one language the model card (``README.md`` metadata) of a folder names, if any."""
    card = folder / "README.md"
    if not card.is_file():
        return None
    import yaml
    from huggingface_hub import metadata_load

    try:
        language = (metadata_load(card) or {}).get("language")
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError):
        return None  # an unreadable card names nothing: the default, said in the warning
    if isinstance(language, list) and len(language) == 1:
        language = language[0]
    return language if isinstance(language, str) and language.isalpha() else None


_META_TYPES: dict[str, tuple[type, ...]] = {
    "scheme": (str,), "max_length": (int,), "decoding": (str,), "language": (str,),
    "encoder": (str,), "nerkit_version": (str,), "crf": (dict, type(None)), "context": (int,),
    "extra": (dict,),
}


def _meta_problem(data: dict[str, Any]) -> str | None:
    """What makes the fields of a ``nerkit.json`` unusable, or ``None``."""
    for key, value in data.items():
        if not isinstance(value, _META_TYPES[key]) or isinstance(value, bool):
            return f"{key} is {value!r}, not a {_META_TYPES[key][0].__name__}"
    if data.get("scheme", INTERNAL_SCHEME) not in SCHEMES:
        return f"scheme {data['scheme']!r} is none of {', '.join(SCHEMES)}"
    if data.get("decoding", "viterbi") not in ("viterbi", "argmax"):
        return f"decoding {data['decoding']!r} is neither viterbi nor argmax"
    if data.get("max_length", 128) < 8 or data.get("context", 0) < 0:
        return "max_length is under 8 or context is negative"
    crf = data.get("crf")
    if crf is not None:
        start, transitions, end = (crf.get(k) for k in ("start", "transitions", "end"))
        square = isinstance(transitions, list) and all(
            isinstance(row, list) and len(row) == len(transitions) for row in transitions
        )
        sizes = {len(x) for x in (start, end, transitions) if isinstance(x, list)}
        if not square or len(sizes) != 1:
            return "crf needs start, end and a square transitions matrix of one size"
    return None


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
    if Path(name).is_dir():
        check_tokenizer_files(Path(name))
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(name))
    except Exception as err:  # tokenizers' own parse errors are plain Exceptions
        first = (str(err).splitlines() or [type(err).__name__])[0]
        raise ModelError(
            f"{name}: cannot load a tokenizer ({first}); give a local model folder with whole "
            "tokenizer files, or a hub id reachable from this machine"
        ) from err
    if len(tokenizer) <= len(set(tokenizer.all_special_ids)):
        raise ModelError(
            f"{name}: the tokenizer has no vocabulary beyond its {len(tokenizer)} special "
            "tokens, so every word would be unknown; copy the encoder's tokenizer files in"
        )
    return tokenizer


def new_classifier(
    encoder: str | os.PathLike[str], labels: LabelSet, tokenizer: Any = None
) -> tuple[Any, Any]:
    """A fresh token-classification head on ``encoder`` (a local folder or a hub id).

    ``tokenizer``: the encoder's, when already loaded (training encodes its data first).
    """
    from safetensors import SafetensorError
    from transformers import AutoModelForTokenClassification

    if tokenizer is None:
        tokenizer = load_tokenizer(encoder)
    if Path(encoder).is_dir():
        check_config(Path(encoder))
        check_weights(Path(encoder))
    try:
        model = AutoModelForTokenClassification.from_pretrained(
            str(encoder),
            num_labels=len(labels),
            id2label=labels.id2label,
            label2id=labels.label2id,
        )
    except (OSError, ValueError, SafetensorError) as err:
        raise ModelError(
            f"{encoder}: cannot load it as a token classifier ({str(err).splitlines()[0]})"
        ) from err
    return model, tokenizer


def load_classifier(folder: str | os.PathLike[str]) -> tuple[Any, Any, LabelSet, ModelMeta]:
    """Load a trained nerkit/Hugging Face token classifier with its labels and metadata.

    The folder is checked first (:func:`check_model_folder`), so an incomplete or damaged one
    is one :class:`ModelError` line naming the file, never a traceback or a silently wrong
    tagger.
    """
    from safetensors import SafetensorError
    from transformers import AutoConfig, AutoModelForTokenClassification

    path = Path(folder)
    check_model_folder(path)
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
    meta = ModelMeta.read(path)
    if meta.crf is not None and len(meta.crf["start"]) != len(labels):
        raise ModelError(
            f"{path / META_FILE}: CRF scores for {len(meta.crf['start'])} labels, but the model "
            f"has {len(labels)}; restore the model's own {META_FILE}"
        )
    try:
        model = AutoModelForTokenClassification.from_pretrained(str(path))
    except (OSError, ValueError, SafetensorError) as err:
        raise ModelError(
            f"{folder}: cannot load the weights ({str(err).splitlines()[0]}); copy the folder "
            "again, or train it again"
        ) from err
    model.eval()
    tokenizer = load_tokenizer(path)
    return model, tokenizer, labels, meta


def check_model_folder(folder: str | os.PathLike[str]) -> None:
    """Refuse a model folder that is not complete and whole, naming what is wrong.

    In order: the folder exists; no save into it was interrupted and its files match the
    manifest nerkit wrote (:mod:`nerkit.modeling.manifest`), if it has one; ``config.json`` is
    valid; the weights are whole; the tokenizer files are there
    (:mod:`nerkit.modeling.folder_check`). ``nerkit.json`` is checked when read.
    """
    path = Path(folder)
    if not path.exists():
        raise ModelError(f"{folder}: model folder not found; check the path")
    if not path.is_dir():
        raise ModelError(f"{folder}: is a file; give the model folder that holds config.json")
    check_manifest(path)
    check_config(path)
    check_weights(path)
    check_tokenizer_files(path)


def save_classifier(
    folder: str | os.PathLike[str], model: Any, tokenizer: Any, meta: ModelMeta
) -> Path:
    """Write model, tokenizer and ``nerkit.json`` to ``folder`` so a torn save is detectable.

    Everything is written to a staging folder inside ``folder`` first, then moved in by
    :func:`nerkit.modeling.manifest.install`: marker, files, manifest, marker removed. Staging
    folders left by a killed save are removed first. Extra files already in ``folder``
    (reports, logs) are kept; only the model files change.
    """
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(target)
    tmp = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=target))
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        meta.write(tmp)
        install(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
