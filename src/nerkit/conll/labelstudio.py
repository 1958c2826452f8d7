"""Label Studio pre-annotations: a model's entities as tasks that Label Studio imports.

Label Studio imports a JSON array of tasks; a task's ``predictions`` show up as editable
pre-annotations, so annotators correct the model instead of starting from nothing. Each entity
becomes one ``labels`` result with character offsets, for the labelling config of Label Studio's
NER template (``<Labels name="label" toName="text">`` over ``<Text name="text"
value="$text">``); other names are parameters. Reading Label Studio's own exports is done by
:mod:`nerkit.conll.spans`.

This module imports only the standard library and :mod:`nerkit.conll`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from typing import Any

from nerkit.conll.outputs import atomic_open


def prediction_task(
    text: str,
    spans: Sequence[tuple[int, int, str, float | None]],
    *,
    data: dict[str, Any] | None = None,
    model_version: str = "nerkit",
    from_name: str = "label",
    to_name: str = "text",
) -> dict[str, Any]:
    """One task: ``data`` (the text under ``to_name``) and one prediction holding the spans
    ``(start, end, label, score)``; the prediction's score is the mean of the entity scores.

    >>> task = prediction_task("Ana vive", [(0, 3, "PER", 0.9)])
    >>> task["predictions"][0]["result"][0]["value"]
    {'start': 0, 'end': 3, 'text': 'Ana', 'labels': ['PER']}
    """
    results = []
    for i, (start, end, label, score) in enumerate(spans):
        result: dict[str, Any] = {
            "id": f"e{i}",
            "from_name": from_name,
            "to_name": to_name,
            "type": "labels",
            "value": {"start": start, "end": end, "text": text[start:end], "labels": [label]},
        }
        if score is not None:
            result["score"] = score
        results.append(result)
    prediction: dict[str, Any] = {"model_version": model_version, "result": results}
    scores = [s for *_, s in spans if s is not None]
    if scores:
        prediction["score"] = round(sum(scores) / len(scores), 4)
    return {"data": {**(data or {}), to_name: text}, "predictions": [prediction]}


def write_tasks(path: str | os.PathLike[str], tasks: Iterable[dict[str, Any]]) -> int:
    """Write tasks as one JSON array (atomically, streamed); returns how many."""
    count = 0
    with atomic_open(path) as f:
        f.write("[")
        for task in tasks:
            f.write(("," if count else "") + "\n" + json.dumps(task, ensure_ascii=False))
            count += 1
        f.write("\n]\n")
    return count
