"""The report's content, as one JSON-ready dict: scores, the error analysis, training curves.

Scores are percentages (0..100) everywhere in a report, as conlleval prints them and as
``eval_results.json`` stores dev F1; ``report["scale"]`` says so for programs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from nerkit.conll.analysis import analyze
from nerkit.conll.corpus import Sentence, read_column_file
from nerkit.conll.formats import load_split
from nerkit.conll.metrics import score
from nerkit.conll.schemes import tag_problem
from nerkit.errors import DataFormatError

FORMAT_VERSION = 1
RESULTS_FILE = "eval_results.json"


def type_name(label: str | None) -> str:
    """How a report shows an entity type: ``none`` for a missing side, ``(untyped)`` for the
    empty type of bare ``B``/``I`` tags."""
    if label is None:
        return "none"
    return label or "(untyped)"


def training_curves(run_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """Training loss per logged step and dev F1 per evaluation, from ``eval_results.json``.

    Reads the Trainer's ``log_history`` that ``nerkit train`` saves; ``None`` when the folder
    has no such file or the history holds neither a loss nor a dev F1.
    """
    path = Path(run_dir) / RESULTS_FILE
    if not path.is_file():
        return None
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataFormatError(path, None, f"not valid JSON ({err})",
                              "retrain, or leave out --run to skip the training curves") from None
    history = results.get("log_history") if isinstance(results, dict) else None
    if not isinstance(history, list):
        return None
    entries = [e for e in history if isinstance(e, dict)]
    loss = [{"step": e.get("step"), "epoch": e.get("epoch"), "loss": e["loss"]}
            for e in entries if isinstance(e.get("loss"), (int, float))]
    dev = [{"step": e.get("step"), "epoch": e.get("epoch"), "f1": e["eval_f1"]}
           for e in entries if isinstance(e.get("eval_f1"), (int, float))]
    if not loss and not dev:
        return None
    return {"source": str(path), "loss": loss, "dev_f1": dev}


def build_report(
    sentences: Sequence[Sentence],
    pred: Sequence[Sequence[str]],
    *,
    title: str,
    source: dict[str, Any],
    run_dir: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Scores and error analysis of ``pred`` against the sentences' gold tags.

    Each error names ``file:line`` in the sentences' file. ``run_dir`` (a model folder) adds
    its training curves when it holds an ``eval_results.json`` with a log history.
    """
    gold = [list(s.tags) for s in sentences]
    analysis = analyze(gold, pred, words=[s.words for s in sentences],
                       where=[(s.path, s.line) for s in sentences])
    return {
        "nerkit_report": FORMAT_VERSION,
        "title": title,
        "scale": "percent",
        "source": {**source, "sentences": len(sentences),
                   "tokens": sum(len(s) for s in sentences)},
        "scores": score(gold, pred),
        "analysis": analysis,
        "training": training_curves(run_dir) if run_dir is not None else None,
    }


def report_from_file(
    path: str | os.PathLike[str], run_dir: str | os.PathLike[str] | None = None
) -> dict[str, Any]:
    """A report for a saved ``word ... gold pred`` file (``nerkit evaluate`` writes them).

    Without ``run_dir``, a predictions file lying in a model folder (``test_predictions.txt``
    beside ``eval_results.json``) takes that folder's training curves.
    """
    column_file = read_column_file(path, tags=False)
    if column_file.n_columns < 3:
        raise DataFormatError(path, None, f"has {column_file.n_columns} columns; a predictions "
                              "file has a word, a gold and a predicted tag column",
                              "give the file `nerkit evaluate` writes (SPLIT_predictions.txt)")
    sentences = [replace(s, tags=tuple(row[-2] for row in s.columns))
                 for s in column_file.sentences]
    check_tag_columns(path, sentences)
    pred = [[row[-1] for row in s.columns] for s in sentences]
    if run_dir is None and (Path(path).parent / RESULTS_FILE).is_file():
        run_dir = Path(path).parent
    return build_report(
        sentences, pred, title=Path(path).name,
        source={"predictions": str(path), "run": str(run_dir) if run_dir else None},
        run_dir=run_dir,
    )


def check_tag_columns(path: str | os.PathLike[str], sentences: list[Sentence]) -> None:
    """Refuse a gold or predicted column that holds something other than a tag, by line."""
    checked = {"O"}
    for s in sentences:
        for i, row in enumerate(s.columns):
            for tag, name in ((row[-2], "gold"), (row[-1], "predicted")):
                if tag in checked:
                    continue
                problem = tag_problem(tag)
                if problem:
                    raise DataFormatError(path, s.line + i, f"{name} column: {problem}",
                                          "give the file `nerkit evaluate` writes")
                checked.add(tag)


def report_for_evaluation(
    model_dir: str | os.PathLike[str],
    data: str,
    split: str,
    data_dir: str | os.PathLike[str] | None = None,
    predictions_dir: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """A report for the predictions ``nerkit evaluate`` just wrote to ``predictions_dir``
    (its output folder; the model folder when not given).

    Errors point at the corpus file's lines (not the predictions file's); the predictions
    file must hold the corpus's sentences in order, else :class:`DataFormatError`.
    """
    sentences = load_split(data, split, data_dir)
    predictions = Path(predictions_dir or model_dir) / f"{split}_predictions.txt"
    saved = read_column_file(predictions).sentences
    if [s.words for s in saved] != [s.words for s in sentences]:
        raise DataFormatError(predictions, None, f"does not hold the sentences of {data} "
                              f"({split}) in order", "rerun nerkit evaluate")
    pred = [[row[-1] for row in s.columns] for s in saved]
    return build_report(
        sentences, pred, title=f"{Path(model_dir).name} on {data} ({split})",
        source={"model": str(model_dir), "data": data, "split": split,
                "predictions": str(predictions), "run": str(model_dir)},
        run_dir=model_dir,
    )
