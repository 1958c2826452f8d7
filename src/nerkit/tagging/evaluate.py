"""Score a model on a corpus split, or score a file of gold and predicted tags.

Gold tags are scored as the file has them (conlleval counts an I- that opens a chunk as an
entity, and so do we); predictions come from :class:`~nerkit.tagging.predictor.Predictor`, the same
code the tagger uses. Results are a JSON-ready dict; files are written only when asked.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nerkit.conll.corpus import Sentence, load_split, read_column_file, write_column_file
from nerkit.conll.labels import LabelSet
from nerkit.conll.metrics import entity_confusion, score, token_report
from nerkit.conll.schemes import split_tag
from nerkit.errors import DataFormatError, LabelError
from nerkit.modeling.progress import tagging_progress


def check_known_types(sentences: Sequence[Sentence], labels: LabelSet) -> None:
    """Refuse gold tags whose entity type the model cannot predict, naming file and line."""
    known = set(labels.types)
    for s in sentences:
        for i, tag in enumerate(s.tags):
            prefix, kind = split_tag(tag)
            if prefix != "O" and kind not in known:
                raise LabelError(
                    f"{s.path}:{s.line + i}: tag {tag!r} has type {kind!r}, which the model "
                    f"does not know (it predicts {', '.join(sorted(known))}); evaluate on data "
                    "with the same entity types, or retrain"
                )


def results_for(
    gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]
) -> dict[str, Any]:
    """Entity scores, token report and entity-type confusion for one set of predictions."""
    return {
        "entity": score(gold, pred),
        "token": token_report(gold, pred),
        "confusion": entity_confusion(gold, pred),
        "sentences": len(gold),
        "tokens": sum(len(g) for g in gold),
    }


def evaluate_sentences(
    predictor: Any, sentences: Sequence[Sentence], batch_size: int = 32, desc: str = "scoring"
) -> tuple[dict[str, Any], list[list[str]]]:
    """Predict every sentence and score against its gold tags; a progress bar named ``desc``
    counts the words on stderr (see :mod:`nerkit.modeling.progress`)."""
    check_known_types(sentences, predictor.labels)
    # document ids: a model trained with context reads the neighbouring sentences of a file
    documents = [s.doc_id for s in sentences]
    with tagging_progress(desc):
        pred = predictor.predict_tags([list(s.words) for s in sentences], batch_size, documents)
    return results_for([list(s.tags) for s in sentences], pred), pred


def write_predictions(
    path: str | os.PathLike[str], sentences: Sequence[Sentence], pred: Sequence[Sequence[str]]
) -> None:
    """CoNLL file with ``word gold predicted`` per line, readable by conlleval."""
    write_column_file(
        path,
        (
            [(w, g, p) for w, g, p in zip(s.words, s.tags, tags, strict=True)]
            for s, tags in zip(sentences, pred, strict=True)
        ),
    )


def evaluate_model(
    model_dir: str | os.PathLike[str],
    data: str,
    split: str = "test",
    *,
    data_dir: str | os.PathLike[str] | None = None,
    batch_size: int = 32,
    decoding: str | None = None,
    write: bool = True,
) -> dict[str, Any]:
    """Evaluate a saved model on a corpus split (or a column file) and write its reports.

    Writes ``<model_dir>/<split>_predictions.txt`` and ``<model_dir>/<split>_results.json``
    when ``write`` is true.
    """
    from nerkit.tagging.tagger import Tagger

    tagger = Tagger.load(model_dir, decoding=decoding)
    sentences = load_split(data, split, data_dir)
    results, pred = evaluate_sentences(tagger.predictor, sentences, batch_size)
    results = {"data": data, "split": split, "decoding": tagger.predictor.decoder.method,
               **results}
    if write:
        folder = Path(model_dir)
        write_predictions(folder / f"{split}_predictions.txt", sentences, pred)
        (folder / f"{split}_results.json").write_text(
            json.dumps(results, indent=2) + "\n", encoding="utf-8"
        )
    return results


def score_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Score a column file whose last two columns are gold and predicted tags (conlleval)."""
    column_file = read_column_file(path)
    if column_file.n_columns < 2:
        raise DataFormatError(path, None, "needs at least two columns (gold, predicted)")
    gold = [[row[-2] for row in s.columns] for s in column_file.sentences]
    pred = [[row[-1] for row in s.columns] for s in column_file.sentences]
    return results_for(gold, pred)
