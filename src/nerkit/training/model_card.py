"""The model card (``README.md``) written next to a trained model.

The prose lives in ``templates/model_card.md``; this module only fills in the data, the
settings, the scores and the library versions that training produced.
"""

from __future__ import annotations

import json
import platform
from importlib import resources
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from string import Template
from typing import Any

from nerkit.conll.labels import LabelSet
from nerkit.training.config import TrainConfig
from nerkit.training.data import Splits
from nerkit.training.reports import write_text


def _versions() -> str:
    rows = [f"- Python {platform.python_version()}"]
    for package in ("nerkit", "torch", "transformers", "tokenizers", "accelerate"):
        try:
            rows.append(f"- {package} {version(package)}")
        except PackageNotFoundError:
            continue
    return "\n".join(rows)


def write_model_card(
    folder: Path,
    config: TrainConfig,
    labels: LabelSet,
    splits: Splits,
    results: dict[str, Any],
    name: str | None = None,
) -> Path:
    """Render the card from the template into ``folder/README.md``; ``name`` titles it (the
    folder's name by default: training writes the card before the folder gets its name)."""
    types = list(labels.types)
    score_rows, type_rows = [], []
    for split in ("dev", "test"):
        path = folder / f"{split}_results.json"
        if not path.exists():
            continue
        entity = json.loads(path.read_text(encoding="utf-8"))["entity"]
        micro = entity["micro"]
        score_rows.append(
            f"| {split} | {micro['f1']:.2f} | {micro['precision']:.2f} | {micro['recall']:.2f} |"
        )
        per_type = entity["per_type"]
        cells = " | ".join(f"{per_type.get(t, {}).get('f1', 0.0):.2f}" for t in types)
        type_rows.append(f"| {split} | {cells} |")
    if config.data:
        data_description = f"the `{config.data}` corpus"
    else:
        data_description = f"`{config.train}` (dev: `{config.dev}`, test: `{config.test}`)"
    settings = {
        "max length (subwords, long sentences windowed, never truncated)": config.max_length,
        "context (pieces of neighbouring sentences per side)": config.context,
        "context dropout (share of training sentences read alone)": config.context_dropout,
        "batch size": config.batch_size,
        "epochs": config.epochs,
        "max steps": config.max_steps,
        "learning rate": config.learning_rate,
        "head learning rate": config.head_learning_rate or config.learning_rate,
        "warmup ratio": config.warmup_ratio,
        "layer-wise lr decay": config.layer_lr_decay,
        "scheduler": config.scheduler,
        "weight decay": config.weight_decay,
        "encoder layers kept": _layers_kept(config, results),
        "CRF head (transition scores learned jointly)": config.crf,
        "learned mix of the hidden layers (share per layer, embeddings first)": (
            results.get("layer_mix") or False
        ),
        "word embeddings frozen": config.freeze_embeddings,
        "seed": config.seed,
        "training sentences": len(splits.train),
        "best dev F1 (checkpoint kept)": results.get("best_dev_f1"),
    }
    text = Template(
        resources.files("nerkit.training").joinpath("templates/model_card.md").read_text("utf-8")
    ).substitute(
        name=name or folder.name,
        encoder=config.model,
        data=config.data or "custom",
        data_description=data_description,
        types=", ".join(types),
        decoding=config.decoding,
        score_rows="\n".join(score_rows) or "| - | - | - | - |",
        type_header=" | ".join(types),
        type_rule="---|" * len(types),
        type_rows="\n".join(type_rows),
        settings_rows="\n".join(f"| {k} | {v} |" for k, v in settings.items()),
        train_seconds=results.get("train_seconds"),
        device=results.get("device"),
        train_loss=f"{results.get('train_loss', 0.0):.4f}",
        encoding=results.get("encoding"),
        versions=_versions(),
    )
    path = folder / "README.md"
    write_text(path, text)
    return path


def _layers_kept(config: TrainConfig, results: dict[str, Any]) -> str:
    """How many encoder layers the model has, and why (a fixed number or the layer probe)."""
    kept = results.get("encoder_layers")
    probe = results.get("layer_probe")
    if probe:
        return (f"{probe['layers']} of {probe['total_layers']} (chosen by the layer probe: "
                f"probe F1 {probe['scores'][probe['layers']]:.2f} there, "
                f"{probe['scores'][-1]:.2f} at the top layer)")
    if isinstance(config.encoder_layers, int):
        return f"{config.encoder_layers} (set)"
    return f"all ({kept})" if kept else "all"
