"""The reports written next to a trained model: scores, predictions, settings.

Every file is written under a temporary name and renamed, so an interrupted run never leaves a
half-written report next to a model that looks finished.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from nerkit.tagging.evaluate import evaluate_sentences, write_predictions
from nerkit.tagging.predictor import Predictor
from nerkit.training.data import Splits


def write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically: a temporary file, then a rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_json(path: Path, data: Any, **options: Any) -> None:
    """``data`` as indented JSON plus a newline (non-ASCII escaped), written atomically;
    ``options`` go to :func:`json.dumps` (e.g. ``default=str``)."""
    write_text(path, json.dumps(data, indent=2, **options) + "\n")


def score_splits(
    predictor: Predictor, splits: Splits, batch_size: int, folder: Path
) -> dict[str, Any]:
    """Score the saved model on dev and test, writing ``{split}_predictions.txt`` and
    ``{split}_results.json`` for each; returns each split's micro F1 and per-type F1s."""
    summary: dict[str, Any] = {}
    for split, sentences in (("dev", splits.dev), ("test", splits.test)):
        if sentences is None:
            continue
        results, predicted = evaluate_sentences(
            predictor, sentences, batch_size, desc=f"scoring {split}"
        )
        write_predictions(folder / f"{split}_predictions.txt", sentences, predicted)
        write_json(folder / f"{split}_results.json", results)
        summary[f"{split}_f1"] = results["entity"]["micro"]["f1"]
        summary[f"{split}_per_type"] = {
            t: v["f1"] for t, v in results["entity"]["per_type"].items()
        }
    return summary
