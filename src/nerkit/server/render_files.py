"""What ``nerkit render`` draws from a file: tagged texts, saved predictions, or CoNLL columns.

- ``txt``/``jsonl`` with a tagger: the texts are tagged and drawn (:func:`render_file`).
- ``jsonl`` saved predictions (``{"text": ..., "entities": [...]}`` per line, as
  ``nerkit predict`` writes them): drawn as saved, no model needed (:func:`render_saved`).
- ``conll`` columns: the gold tags, or gold above predicted with the differences marked when
  the file holds both (``word ... gold pred``, as ``nerkit evaluate`` writes it), no model
  needed (:func:`render_conll`).

Which columns a CoNLL file holds is decided as the web page decides it (``static/app.js``),
see :func:`tag_columns`. Pages are written atomically.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nerkit.conll.analysis import check_tags, pair_entities
from nerkit.conll.corpus import ColumnFile, read_column_file
from nerkit.conll.schemes import tags_to_spans
from nerkit.errors import DataFormatError
from nerkit.server.render import (
    comparison_html,
    legend_html,
    page_html,
    render_html,
    write_atomic,
)

if TYPE_CHECKING:  # pragma: no cover
    from nerkit.tagging.tagger import Tagger

FORMATS = ("txt", "jsonl", "conll")
COLUMNS = ("auto", "gold", "gold-pred")
# what the page and this module take for a tag when guessing the columns (app.js: TAG)
TAG = re.compile(r"^(O|[BIESLU]-\S+)$")
SAVED_HINT = "give saved predictions as `nerkit predict` writes them, or pass --model to tag"


def _records(path: Path, fmt: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) of a ``txt`` (one text a line) or ``jsonl`` file, read as
    ``nerkit predict`` reads it."""
    from nerkit.tagging.files import read_records

    if not path.is_file():
        raise DataFormatError(path, None, "file not found", "check the path")
    return read_records(path, fmt)


def _check_format(path: Path, fmt: str, allowed: Sequence[str]) -> None:
    if fmt not in allowed:
        raise DataFormatError(path, None, f"unknown format {fmt!r}",
                              f"choose one of {', '.join(allowed)}")


def render_file(
    tagger: Tagger,
    input_path: str | os.PathLike[str],
    fmt: str = "txt",
    html_out: str | os.PathLike[str] = "entities.html",
) -> int:
    """Tag a ``txt`` (one document per line) or ``jsonl`` (``{"text": ...}``) file and write
    the highlighted HTML to ``html_out``; returns the number of documents."""
    source = Path(input_path)
    _check_format(source, fmt, ("txt", "jsonl"))
    texts = [record["text"] for _, record in _records(source, fmt)]
    results = list(tagger.tag_many(texts))
    page = render_html(
        texts, results, title=source.name, types=tagger.labels.types, lang=tagger.meta.language
    )
    write_atomic(html_out, page)
    return len(texts)


def _saved_entities(path: Path, number: int, record: dict[str, Any]) -> list[dict[str, Any]]:
    entities = record.get("entities")
    if not isinstance(entities, list):
        raise DataFormatError(path, number, 'no "entities" list', SAVED_HINT)
    for entity in entities:
        ok = isinstance(entity, dict) and isinstance(entity.get("label"), str) and all(
            isinstance(entity.get(k), int) and not isinstance(entity.get(k), bool)
            for k in ("start", "end")
        )
        if not ok:
            raise DataFormatError(path, number, f"entity {json.dumps(entity)[:80]} has no "
                                  "string label and integer start and end", SAVED_HINT)
    return entities


def render_saved(
    input_path: str | os.PathLike[str],
    html_out: str | os.PathLike[str] = "entities.html",
    *,
    types: Sequence[str] = (),
) -> int:
    """Draw saved predictions (JSON Lines with ``text`` and ``entities``, offsets in Unicode
    code points) without a model; returns the number of documents.

    Entities that do not fit their text raise an error naming ``file:line``. Colours follow
    ``types``, then the sorted labels of the file (the order of a model's type list).
    """
    source = Path(input_path)
    texts, results, where = [], [], []
    for number, record in _records(source, "jsonl"):
        results.append(_saved_entities(source, number, record))
        texts.append(record["text"])
        where.append(f"{source}:{number}")
    labels = sorted({e["label"] for entities in results for e in entities})
    page = render_html(texts, results, title=source.name, types=[*types, *labels], where=where)
    write_atomic(html_out, page)
    return len(texts)


def _types(values: Sequence[str]) -> set[str]:
    return {v.split("-", 1)[1] for v in values if v != "O"}


def tag_columns(column_file: ColumnFile, columns: str = "auto") -> tuple[int, int | None]:
    """(gold column, predicted column or ``None``), 0-based, of a column file.

    ``gold``: the last column is gold. ``gold-pred``: the last two are gold and predicted.
    ``auto`` (as the web page does): gold and predicted when the file has 3 columns or more,
    the last two hold only tags (``O`` or ``B-``/``I-``/``E-``/``S-``/``L-``/``U-`` + type),
    and they share an entity type or one has none; else only the last is gold. So a
    ``word POS tag`` file (CoNLL-2002 Dutch) or a ``word POS chunk tag`` file (CoNLL-2003,
    whose chunk types differ from the entity types) is read as gold only.
    """
    path, n = column_file.path, column_file.n_columns
    if columns not in COLUMNS:
        raise DataFormatError(path, None, f"unknown column choice {columns!r}",
                              f"choose one of {', '.join(COLUMNS)}")
    if columns == "gold-pred" and n < 3:
        raise DataFormatError(path, None, f"has {n} columns; gold and predicted tags need "
                              "three (word ... gold predicted)", "use --columns gold")
    if columns == "auto" and n >= 3:
        rows = [row for s in column_file.sentences for row in s.columns]
        gold, pred = [row[-2] for row in rows], [row[-1] for row in rows]
        if all(TAG.match(v) for v in (*gold, *pred)):
            gold_types, pred_types = _types(gold), _types(pred)
            if gold_types & pred_types or not gold_types or not pred_types:
                columns = "gold-pred"
    return (n - 2, n - 1) if columns == "gold-pred" else (n - 1, None)


def _tags(column_file: ColumnFile, column: int, name: str) -> list[list[str]]:
    """One column's tags per sentence; a value that is no tag is an error naming its line."""
    tags = [[row[column] for row in s.columns] for s in column_file.sentences]
    check_tags(tags, [(s.path, s.line) for s in column_file.sentences], name)
    return tags


def render_conll(
    input_path: str | os.PathLike[str],
    html_out: str | os.PathLike[str] = "entities.html",
    *,
    columns: str = "auto",
    errors_only: bool = False,
) -> str:
    """Draw a CoNLL column file's gold entities, or gold vs predicted (see
    :func:`tag_columns`); returns a one-line summary of what was drawn.

    With ``errors_only``, a comparison shows only the sentences that hold a difference.
    """
    column_file = read_column_file(input_path)
    name = Path(column_file.path).name
    gold_column, pred_column = tag_columns(column_file, columns)
    sentences = column_file.sentences
    gold = _tags(column_file, gold_column, "gold")
    if pred_column is None:
        texts, results = [], []
        for s, tags in zip(sentences, gold, strict=True):
            texts.append(" ".join(s.words))
            starts = [sum(len(w) + 1 for w in s.words[:i]) for i in range(len(s.words))]
            results.append([
                {"label": label, "start": starts[a], "end": starts[b - 1] + len(s.words[b - 1])}
                for label, a, b in tags_to_spans(tags)
            ])
        labels = sorted({e["label"] for r in results for e in r})
        write_atomic(html_out, render_html(texts, results, title=name, types=labels))
        return f"{len(texts)} sentences, gold tags from column {gold_column + 1}"
    pred = _tags(column_file, pred_column, "predicted")
    pairs = [pair_entities(g, p) for g, p in zip(gold, pred, strict=True)]
    kinds = Counter(pair.kind for sentence in pairs for pair in sentence)
    labels = sorted({span[0] for sentence in pairs for pair in sentence
                     for span in (pair.gold, pair.pred) if span is not None})
    colours = {label: i for i, label in enumerate(labels)}
    blocks = [
        comparison_html(s.words, [pair.as_dict() for pair in ps], colours,
                        where=f"{column_file.path}:{s.line}", line=s.line)
        for s, ps in zip(sentences, pairs, strict=True)
        if not errors_only or any(pair.kind != "correct" for pair in ps)
    ]
    n_gold = sum(kinds[k] for k in kinds if k != "spurious")
    n_pred = sum(kinds[k] for k in kinds if k != "missed")
    summary = (
        f"{len(sentences):,} sentences, gold (column {gold_column + 1}) vs predicted (column "
        f"{pred_column + 1}): {n_gold:,} gold entities, {n_pred:,} predicted, "
        f"{sum(kinds.values()) - kinds['correct']:,} differences"
        + (f"; showing the {len(blocks):,} sentences with one" if errors_only else "")
    )
    page = page_html(name, summary, blocks, legend=legend_html(colours, kinds=True))
    write_atomic(html_out, page)
    return summary
