"""The model card (``README.md``) of a trained model, built with ``huggingface_hub``'s ModelCard.

The metadata is a :class:`huggingface_hub.ModelCardData` (language, license, base model id,
datasets, a ``model-index`` with the scores), rendered by
:meth:`huggingface_hub.ModelCard.from_template` over ``templates/model_card.md``, which holds the
prose. Everything comes from the files of the model folder (``nerkit.json``, ``config.json``,
``eval_results.json``, ``training_args.json``, the split results), so ``nerkit train`` and
``nerkit push`` build the same card; push adds what only the user knows (the repository, the
license, a hub dataset).

The metadata never says what nerkit cannot know: no local path as ``base_model`` (a local
encoder folder has no hub id unless one is given), no made-up dataset for custom data, no
license until one is chosen. :func:`check_model_card` checks a card the way the hub reads it,
offline: the YAML parses, the ``model-index`` has the hub's structure, codes and ids are valid.
"""

from __future__ import annotations

import logging
import platform
from dataclasses import dataclass
from importlib import resources
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from nerkit._version import __version__
from nerkit.conll.labels import LabelSet
from nerkit.errors import ConfigError, ModelError
from nerkit.modeling.folder import ModelMeta
from nerkit.modeling.folder_check import read_json
from nerkit.modeling.hub import parse_hub_id
from nerkit.training.config import LANGUAGE_CODE
from nerkit.training.reports import write_text

__all__ = [
    "HUB_DATASETS", "HUB_LICENSES", "CardOptions", "FolderRecord", "HubDataset", "build_model_card",
    "card_data", "check_model_card", "check_options", "library_versions", "license_problem",
    "write_model_card",
]

logger = logging.getLogger("nerkit")


@dataclass(frozen=True)
class HubDataset:
    """A named corpus as the hub knows it: dataset id, configuration, a readable name."""

    id: str
    config: str | None
    name: str


# the hub's copies of nerkit's named corpora (the canonical conll2002 dataset moved there)
HUB_DATASETS = {
    "conll2002-es": HubDataset("eriktks/conll2002", "es", "CoNLL-2002 (Spanish)"),
    "conll2002-nl": HubDataset("eriktks/conll2002", "nl", "CoNLL-2002 (Dutch)"),
}

# The license identifiers a hub card may use (the hub documentation's "Licenses" page); any other
# license is "other" with a license_name (and a license_link to its text).
HUB_LICENSES = frozenset("""
apache-2.0 mit openrail bigscience-openrail-m creativeml-openrail-m bigscience-bloom-rail-1.0
bigcode-openrail-m afl-3.0 artistic-2.0 bsl-1.0 bsd bsd-2-clause bsd-3-clause bsd-3-clause-clear
c-uda cc cc0-1.0 cc-by-2.0 cc-by-2.5 cc-by-3.0 cc-by-4.0 cc-by-sa-3.0 cc-by-sa-4.0 cc-by-nc-2.0
cc-by-nc-3.0 cc-by-nc-4.0 cc-by-nd-4.0 cc-by-nc-nd-3.0 cc-by-nc-nd-4.0 cc-by-nc-sa-2.0
cc-by-nc-sa-3.0 cc-by-nc-sa-4.0 cdla-sharing-1.0 cdla-permissive-1.0 cdla-permissive-2.0 wtfpl
ecl-2.0 epl-1.0 epl-2.0 etalab-2.0 eupl-1.1 agpl-3.0 gfdl gpl gpl-2.0 gpl-3.0 lgpl lgpl-2.1
lgpl-3.0 isc lppl-1.3c ms-pl mpl-2.0 odc-by odbl openrail++ osl-3.0 postgresql ofl-1.1 ncsa
unlicense zlib pddl lgpl-lr deepfloyd-if-license llama2 gemma unknown other
""".split())

# the split names of the hub's datasets
_HUB_SPLITS = {"dev": "validation", "test": "test"}
_EXAMPLES = {
    "es": "El presidente Felipe González viajó a Sevilla con la ONU.",
    "nl": "Wim Kok sprak gisteren in Amsterdam met de ministers van de Europese Unie.",
    "en": "Angela Merkel met the chief executive of Siemens in New York on Monday.",
}


@dataclass(frozen=True)
class CardOptions:
    """What only the user knows, given to ``nerkit push`` (all optional for ``nerkit train``).

    ``datasets``: hub dataset ids the model was trained on (for data given as files); the
    first one is the dataset the test scores are reported on in the ``model-index``.
    """

    repo_id: str | None = None
    # the model's name when there is no repo_id: training writes the card in a staging folder
    # before the folder gets its final name
    title: str | None = None
    license: str | None = None
    license_name: str | None = None
    license_link: str | None = None
    base_model: str | None = None
    datasets: tuple[str, ...] = ()


@dataclass(frozen=True)
class FolderRecord:
    """What a trained model folder records about itself, read once for the card."""

    folder: Path
    labels: LabelSet
    meta: ModelMeta
    settings: dict[str, Any]  # training_args.json's "nerkit" part (empty if absent)
    results: dict[str, Any]  # eval_results.json (empty if absent)
    scores: dict[str, dict[str, float]]  # split -> micro f1/precision/recall (+ per-type F1)

    @classmethod
    def read(cls, folder: Path) -> FolderRecord:
        config = read_json(folder / "config.json", "config.json")
        args = _optional_json(folder / "training_args.json")
        results = _optional_json(folder / "eval_results.json")
        return cls(folder, LabelSet.from_config(config.get("id2label") or {}),
                   ModelMeta.read(folder), args.get("nerkit") or {}, results,
                   _split_scores(folder, results))


def _optional_json(path: Path) -> dict[str, Any]:
    return read_json(path, path.name) if path.is_file() else {}


def _split_scores(folder: Path, results: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Each split's scores at training time.

    ``eval_results.json`` holds the training-time F1s; precision and recall come from
    ``{split}_results.json`` only while its F1 is still that one (a later ``nerkit evaluate``
    on other data may have replaced the file).
    """
    scores: dict[str, dict[str, float]] = {}
    for split in ("dev", "test"):
        f1 = results.get(f"{split}_f1")
        path = folder / f"{split}_results.json"
        saved = _optional_json(path).get("entity")
        if f1 is None and saved is None:
            continue
        micro = (saved or {}).get("micro") or {}
        if f1 is not None and micro and abs(micro.get("f1", -1.0) - f1) > 1e-9:
            micro = {}  # the file was overwritten: keep the training-time F1 only
        row = {"f1": f1 if f1 is not None else micro.get("f1")}
        row.update({k: micro[k] for k in ("precision", "recall") if k in micro})
        per_type = results.get(f"{split}_per_type")
        if per_type is None and saved is not None:
            per_type = {t: v.get("f1", 0.0) for t, v in (saved.get("per_type") or {}).items()}
        row.update({f"type:{t}": v for t, v in (per_type or {}).items()})
        scores[split] = row
    return scores


def card_data(record: FolderRecord, options: CardOptions) -> Any:
    """The card's metadata as a :class:`huggingface_hub.ModelCardData`."""
    from huggingface_hub import ModelCardData

    corpus = HUB_DATASETS.get(record.settings.get("data") or "")
    datasets = [corpus.id] if corpus else []
    datasets += [d for d in options.datasets if d not in datasets]
    base_model = options.base_model or record.results.get("base_model")
    eval_results = _eval_results(record, corpus, options)
    return ModelCardData(
        language=record.meta.language.split("-")[0],
        license=options.license,
        license_name=options.license_name,
        license_link=options.license_link,
        base_model=base_model,
        datasets=datasets or None,
        library_name="transformers",
        pipeline_tag="token-classification",
        tags=["token-classification", "ner", "nerkit"],
        metrics=["f1", "precision", "recall"],
        # the model-index's name; without results there is no model-index to name
        model_name=_model_name(record, options) if eval_results else None,
        eval_results=eval_results or None,
    )


def _model_name(record: FolderRecord, options: CardOptions) -> str:
    if options.repo_id:
        return options.repo_id.split("/")[-1]
    return options.title or record.folder.resolve().name


def _eval_results(
    record: FolderRecord, corpus: HubDataset | None, options: CardOptions
) -> list[Any]:
    """The ``model-index`` entries: each split's entity scores on the hub dataset it came from.

    Only where that dataset is known: a named corpus, or data given as files with
    ``--dataset`` (then only the test split, which the user says that dataset is).
    """
    from huggingface_hub import EvalResult

    if corpus is None and not options.datasets:
        return []
    dataset = corpus or HubDataset(options.datasets[0], None, options.datasets[0])
    splits = ("test", "dev") if corpus else ("test",)
    entries = []
    for split in splits:
        for metric, value in record.scores.get(split, {}).items():
            if metric.startswith("type:") or value is None:
                continue
            entries.append(EvalResult(
                task_type="token-classification", task_name="Named Entity Recognition",
                dataset_type=dataset.id, dataset_name=dataset.name, dataset_config=dataset.config,
                dataset_split=_HUB_SPLITS[split], metric_type=metric,
                metric_value=round(float(value), 2),
                metric_name=f"entity {metric} (micro, conlleval, %)",
            ))
    return entries


def build_model_card(folder: str | Path, options: CardOptions | None = None) -> Any:
    """The card of the trained model in ``folder`` as a :class:`huggingface_hub.ModelCard`."""
    from huggingface_hub import ModelCard

    options = options or CardOptions()
    record = FolderRecord.read(Path(folder))
    data = card_data(record, options)
    template = resources.files("nerkit.training").joinpath("templates/model_card.md")
    return ModelCard.from_template(
        data, template_str=template.read_text("utf-8"), **_body(record, options, data)
    )


def _body(record: FolderRecord, options: CardOptions, data: Any) -> dict[str, Any]:
    """The values the template's prose needs (the metadata itself is ``card_data``)."""
    settings, results, meta = record.settings, record.results, record.meta
    types = list(record.labels.types)
    rows, type_rows = [], []
    for split, row in record.scores.items():
        cells = [_number(row.get(k)) for k in ("f1", "precision", "recall")]
        rows.append(f"| {split} | {' | '.join(cells)} |")
        per_type = [_number(row.get(f"type:{t}")) for t in types]
        type_rows.append(f"| {split} | {' | '.join(per_type)} |")
    language = results.get("language") or {}
    return {
        "title": options.repo_id or options.title or record.folder.resolve().name,
        "model_id": options.repo_id or options.title or record.folder.resolve().name,
        "nerkit_version": meta.nerkit_version,
        "base_description": _base_description(data.base_model, meta.encoder),
        "data_description": _data_description(settings, options),
        "language_code": meta.language,
        "language_note": _language_note(meta.language, language),
        "license_note": _license_note(data),
        "types": ", ".join(types),
        "scheme": meta.scheme.upper(),
        "decoding": meta.decoding,
        "score_rows": "\n".join(rows) or "| - | - | - | - |",
        "type_header": " | ".join(types),
        "type_rule": "---|" * len(types),
        "type_rows": "\n".join(type_rows),
        "settings_rows": "\n".join(f"| {k} | {v} |" for k, v in _settings(record).items()),
        "train_seconds": results.get("train_seconds"),
        "device": results.get("device"),
        "train_loss": f"{results.get('train_loss') or 0.0:.4f}",
        "encoding": results.get("encoding"),
        "layer_mix": bool(results.get("layer_mix")),
        "example": _EXAMPLES.get(meta.language.split("-")[0], "Text to tag."),
        "versions": _versions(results),
    }


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _base_description(base_model: str | None, encoder: str) -> str:
    if base_model:
        return f"[{base_model}](https://huggingface.co/{base_model})"
    if encoder:
        # the folder's name only: the card is published, this machine's paths are not
        return f"a local encoder folder (`{Path(encoder).name}`; its hub id was not given)"
    return "an encoder nerkit did not record"


def _data_description(settings: dict[str, Any], options: CardOptions) -> str:
    name = settings.get("data")
    if name:
        corpus = HUB_DATASETS.get(name)
        where = f" (hub dataset `{corpus.id}`, configuration `{corpus.config}`)" if corpus else ""
        return f"the `{name}` corpus{where}"
    files = {k: Path(settings[k]).name for k in ("train", "dev", "test") if settings.get(k)}
    text = ", ".join(f"{k}: `{v}`" for k, v in files.items()) or "data nerkit did not record"
    if options.datasets:
        text += " from " + ", ".join(f"`{d}`" for d in options.datasets)
    return f"custom data ({text})"


def _language_note(code: str, language: dict[str, Any]) -> str:
    source = language.get("source")
    if source == "given":
        return f"`{code}`, given with `--language`"
    if source == "corpus":
        return f"`{code}`, the named corpus's"
    if source == "detected":
        return (f"`{code}`, detected from {language.get('words')} training words by py3langid "
                f"(probability {language.get('confidence')})")
    return f"`{code}`"


def _license_note(data: Any) -> str:
    if not data.license:
        return "not set; `nerkit push --license ID` sets it"
    if data.license == "other":
        return f"{data.license_name}" + (f" ({data.license_link})" if data.license_link else "")
    return f"`{data.license}`"


def _settings(record: FolderRecord) -> dict[str, Any]:
    s, results = record.settings, record.results
    if not s:
        return {}
    return {
        "max length (subwords, long sentences windowed, never truncated)": s.get("max_length"),
        "context (pieces of neighbouring sentences per side)": s.get("context"),
        "context dropout (share of training sentences read alone)": s.get("context_dropout"),
        "batch size": s.get("batch_size"),
        "epochs": s.get("epochs"),
        "max steps": s.get("max_steps"),
        "learning rate": s.get("learning_rate"),
        "head learning rate": s.get("head_learning_rate") or s.get("learning_rate"),
        "warmup ratio": s.get("warmup_ratio"),
        "layer-wise lr decay": s.get("layer_lr_decay"),
        "scheduler": s.get("scheduler"),
        "weight decay": s.get("weight_decay"),
        "encoder layers kept": _layers_kept(s.get("encoder_layers"), results),
        "CRF head (transition scores learned jointly)": s.get("crf"),
        "learned mix of the hidden layers (share per layer, embeddings first)": (
            results.get("layer_mix") or False
        ),
        "word embeddings frozen": s.get("freeze_embeddings"),
        "seed": s.get("seed"),
        "training sentences": (results.get("encoding") or {}).get("sentences"),
        "best dev F1 (checkpoint kept)": results.get("best_dev_f1"),
    }


def _layers_kept(setting: Any, results: dict[str, Any]) -> str:
    """How many encoder layers the model has, and why (a fixed number or the layer probe)."""
    kept = results.get("encoder_layers")
    probe = results.get("layer_probe")
    if probe:
        return (f"{probe['layers']} of {probe['total_layers']} (chosen by the layer probe: "
                f"probe F1 {probe['scores'][probe['layers']]:.2f} there, "
                f"{probe['scores'][-1]:.2f} at the top layer)")
    if isinstance(setting, int) and not isinstance(setting, bool):
        return f"{setting} (set)"
    return f"all ({kept})" if kept else "all"


def library_versions() -> dict[str, str]:
    """The versions of Python and the libraries a model is trained with, for the card."""
    found = {"python": platform.python_version()}
    for package in ("nerkit", "torch", "transformers", "tokenizers", "accelerate"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            if package == "nerkit":  # run from a source tree
                found[package] = __version__
    return found


def _versions(results: dict[str, Any]) -> str:
    """The training run's versions (recorded in ``eval_results.json``), not this machine's."""
    recorded = results.get("versions")
    if not recorded:
        return "Not recorded (trained before nerkit recorded them)."
    return "\n".join(f"- {name} {v}" for name, v in recorded.items())


def check_model_card(card: Any, *, publishing: bool = False) -> None:
    """Refuse a card the hub would reject or misread, with one line naming the field.

    Offline checks of what the hub validates: the metadata block parses as YAML into a mapping;
    a ``model-index`` parses back into the same results (the structure
    ``eval_results_to_model_index`` builds: name, results with task, dataset and metrics); the
    language is an ISO 639 code; ``base_model`` and ``datasets`` are hub ids, never paths; the
    license is a hub identifier (``other`` with a name). ``publishing`` also requires a license.
    """
    problem = _card_problem(card, publishing)
    if problem:
        raise ModelError(f"model card metadata: {problem}")


def _card_problem(card: Any, publishing: bool) -> str | None:
    from huggingface_hub import ModelCard

    try:
        parsed = ModelCard(str(card))
    except ValueError as err:  # the YAML block is no mapping, or model-index does not parse
        return (str(err).splitlines() or ["unreadable"])[0]
    data = parsed.data
    languages = data.language if isinstance(data.language, list) else [data.language]
    bad = [c for c in languages if not isinstance(c, str) or not LANGUAGE_CODE.match(c)]
    if data.language is None or bad:
        return f"language {bad or None} is not an ISO 639 code"
    problem = _id_problem("base_model", data.base_model) or _id_problem("datasets", data.datasets)
    if problem:
        return problem
    problem = license_problem(data.license, data.get("license_name"), publishing)
    if problem:
        return problem
    index = data.to_dict().get("model-index")
    if index is not None:
        results = data.eval_results or []
        if len(index) != 1 or not index[0].get("name") or not results:
            return "model-index must hold one named entry with results"
        for entry in index[0]["results"]:
            if not entry.get("task", {}).get("type") or not entry.get("dataset", {}).get("type"):
                return "every model-index result needs task.type and dataset.type"
            if not all(isinstance(m.get("value"), int | float) and m.get("type")
                       for m in entry.get("metrics", [])):
                return "every model-index metric needs a type and a numeric value"
    if data.pipeline_tag != "token-classification":
        return f"pipeline_tag is {data.pipeline_tag!r}, not token-classification"
    return None


def _id_problem(field: str, value: Any) -> str | None:
    values = value if isinstance(value, list) else [value] if value else []
    for item in values:
        parsed = parse_hub_id(item) if isinstance(item, str) else None
        if parsed is None or parsed[1] is not None:
            return f"{field} {item!r} is not a hub id (ORG/NAME)"
    return None


def license_problem(license: str | None, license_name: str | None, required: bool) -> str | None:
    """What is wrong with a license choice for the hub, or None.

    >>> license_problem("Apache 2.0", None, True)[:60]
    "license 'Apache 2.0' is not a hub license identifier (apache"
    """
    if license is None:
        return "no license; pass --license (e.g. apache-2.0, mit, cc-by-4.0)" if required else None
    if license not in HUB_LICENSES:
        return (f"license {license!r} is not a hub license identifier (apache-2.0, mit, "
                "cc-by-4.0, cc-by-sa-4.0, ...); for another license use --license other with "
                "--license-name and --license-link")
    if license == "other" and not license_name:
        return "license other needs --license-name (and --license-link to its text)"
    return None


def write_model_card(folder: Path, options: CardOptions | None = None) -> Path:
    """Build the card from the folder's files and write it to ``folder/README.md``.

    A card that fails :func:`check_model_card` is still written (the model is saved by then)
    with a warning; ``nerkit push`` refuses it.
    """
    card = build_model_card(folder, options)
    try:
        check_model_card(card)
    except ModelError as err:
        logger.warning("%s: %s; nerkit push will refuse it", folder / "README.md", err)
    path = folder / "README.md"
    write_text(path, str(card))
    return path


def check_options(options: CardOptions) -> None:
    """Refuse push options the card cannot carry, before anything is read or sent."""
    problem = license_problem(options.license, options.license_name, required=True)
    problem = problem or _id_problem("--base-model", options.base_model)
    problem = problem or _id_problem("--dataset", list(options.datasets))
    if problem:
        raise ConfigError(problem)

