"""The report's PNG plots, drawn with matplotlib from a report dict (:mod:`nerkit.report.build`).

Figures are built with matplotlib's object API (``Figure``, no ``pyplot``), so drawing never
touches a global backend or opens a window, and works on a server without a display. Each file
is written under a temporary name and renamed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nerkit.conll.analysis import KIND_NAMES
from nerkit.errors import ConfigError
from nerkit.report.build import type_name

# the error kinds of a type's bar: a pair counts under its gold type, a spurious entity under
# its predicted type
TYPE_ERRORS = (("gold", "wrong_type"), ("gold", "wrong_boundary"),
               ("gold", "wrong_type_and_boundary"), ("gold", "missed"), ("pred", "spurious"))
KIND_COLOURS = {"wrong_type": "#c0504d", "wrong_boundary": "#f2a65a",
                "wrong_type_and_boundary": "#8064a2", "missed": "#7f7f7f", "spurious": "#4bacc6"}


def _figure(width: float, height: float) -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError as err:
        raise ConfigError(
            "the report's plots need matplotlib: pip install 'nerkit[report]' "
            "(or pass --no-plots)"
        ) from err
    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def _save(figure: Any, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    figure.savefig(tmp, format="png")
    os.replace(tmp, path)


def confusion_plot(report: dict[str, Any]) -> Any:
    """Heatmap of the entity pairs: gold type in rows, predicted type in columns.

    Colour is the share of the row (so rare types show), the number is the count; ``none``
    is the missing side (column: missed, row: spurious). Pairs are matched by overlap, so
    boundary errors sit on the diagonal with the correct ones.
    """
    matrix = report["analysis"]["matrix"]
    labels = [type_name(label) if label != "O" else "none" for label in matrix["labels"]]
    counts = matrix["matrix"]
    shares = [[n / max(1, sum(row)) for n in row] for row in counts]
    size = 1.6 + 0.75 * len(labels)
    figure = _figure(size + 1.2, size)
    axes = figure.add_subplot()
    image = axes.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    axes.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    axes.set_yticks(range(len(labels)), labels)
    axes.set_xlabel("predicted")
    axes.set_ylabel("gold")
    for i, row in enumerate(counts):
        for j, n in enumerate(row):
            axes.text(j, i, f"{n:,}", ha="center", va="center", fontsize=8,
                      color="white" if shares[i][j] > 0.6 else "black")
    axes.set_title("Entities paired by overlap (colour: share of the gold row)", fontsize=10)
    figure.colorbar(image, ax=axes, shrink=0.8)
    return figure


def per_type_plot(report: dict[str, Any]) -> Any:
    """Precision, recall and F1 (percent) of each type and of all entities (micro)."""
    scores = report["scores"]
    rows = [*scores["per_type"].items(), ("all (micro)", scores["micro"])]
    figure = _figure(1.8 + 1.1 * len(rows), 3.6)
    axes = figure.add_subplot()
    width = 0.27
    for k, (metric, tint) in enumerate((("precision", "#4f81bd"), ("recall", "#9bbb59"),
                                         ("f1", "#c0504d"))):
        xs = [i + (k - 1) * width for i in range(len(rows))]
        bars = axes.bar(xs, [s[metric] for _, s in rows], width, label=metric, color=tint)
        axes.bar_label(bars, fmt="%.1f", fontsize=7, padding=1)
    axes.set_xticks(range(len(rows)), [type_name(name) for name, _ in rows])
    axes.set_ylim(0, 108)
    axes.set_ylabel("percent")
    axes.set_title("Entity scores per type (conlleval)", fontsize=10)
    figure.legend(loc="outside right upper", fontsize=8)
    return figure


def error_kinds_plot(report: dict[str, Any]) -> Any:
    """Errors of each type by kind, stacked: pairs under their gold type, spurious entities
    under their predicted type."""
    per_type = report["analysis"]["per_type"]
    types = list(per_type)
    figure = _figure(7.0, 1.4 + 0.45 * max(1, len(types)))
    axes = figure.add_subplot()
    left = [0] * len(types)
    for side, kind in TYPE_ERRORS:
        values = [per_type[t][side][kind] for t in types]
        axes.barh(range(len(types)), values, left=left, label=KIND_NAMES[kind],
                  color=KIND_COLOURS[kind])
        left = [a + b for a, b in zip(left, values, strict=True)]
    axes.set_yticks(range(len(types)), [type_name(t) for t in types])
    axes.invert_yaxis()
    axes.set_xlabel("errors")
    axes.set_title("Errors per type and kind", fontsize=10)
    figure.legend(fontsize=7, loc="outside lower center", ncols=len(TYPE_ERRORS))
    return figure


def training_plot(report: dict[str, Any]) -> Any:
    """Training loss per logged step, and dev F1 (percent) per evaluation."""
    training = report["training"]
    figure = _figure(8.0, 3.2)
    loss_axes, f1_axes = figure.subplots(1, 2)
    if training["loss"]:
        loss_axes.plot([p["step"] for p in training["loss"]], [p["loss"] for p in training["loss"]],
                       color="#4f81bd")
    loss_axes.set_xlabel("step")
    loss_axes.set_ylabel("training loss")
    loss_axes.set_title("Training loss", fontsize=10)
    if training["dev_f1"]:
        points = training["dev_f1"]
        xs = [p["epoch"] if p["epoch"] is not None else p["step"] for p in points]
        f1_axes.plot(xs, [p["f1"] for p in points], marker="o", color="#c0504d")
    f1_axes.set_xlabel("epoch")
    f1_axes.set_ylabel("dev F1 (percent)")
    f1_axes.set_title("Dev F1 per evaluation", fontsize=10)
    return figure


PLOTS: dict[str, tuple[str, Callable[[dict[str, Any]], Any]]] = {
    "confusion.png": ("Entity confusions", confusion_plot),
    "per_type.png": ("Scores per type", per_type_plot),
    "error_kinds.png": ("Errors per type and kind", error_kinds_plot),
    "training.png": ("Training curves", training_plot),
}


def write_plots(report: dict[str, Any], folder: str | os.PathLike[str]) -> list[str]:
    """Draw every plot the report has data for into ``folder``; returns the file names.

    The training curves are drawn only when the report has them (a model folder's
    ``eval_results.json``).
    """
    written = []
    for name, (_, draw) in PLOTS.items():
        if name == "training.png" and not report.get("training"):
            continue
        _save(draw(report), Path(folder) / name)
        written.append(name)
    return written
