"""Score a model on a corpus split, or score a file of gold and predicted tags.

Gold tags are scored as the file has them (conlleval counts an I- that opens a chunk as an
entity, and so do we); predictions come from :class:`~nerkit.tagging.predictor.Predictor`, the same
code the tagger uses. Results are a JSON-ready dict; files are written only when asked, into
a folder of their own: never over the reports that training left in the model folder, and a
read-only model folder evaluates like any other.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nerkit.conll.corpus import ColumnFile, Sentence, read_column_file, write_column_file
from nerkit.conll.formats import load_split
from nerkit.conll.labels import LabelSet
from nerkit.conll.metrics import entity_confusion, score, token_report
from nerkit.conll.schemes import split_tag, tag_problem
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
    """CoNLL file with ``word gold predicted`` per line, readable by conlleval; the documents
    are kept as ``-DOCSTART- O O`` lines."""
    write_column_file(
        path,
        (
            [(w, g, p) for w, g, p in zip(s.words, s.tags, tags, strict=True)]
            for s, tags in zip(sentences, pred, strict=True)
        ),
        [s.doc_id for s in sentences],
        tag_columns=2,
    )


def default_output_dir(model_dir: str | os.PathLike[str], data: str) -> Path:
    """Where ``nerkit evaluate`` writes by default: ``evaluations/<model>/<data>`` under the
    working directory (never the model folder, which may be read-only and whose
    ``dev_results.json``/``test_results.json`` are the training's own reports)."""
    model_name = Path(model_dir).resolve().name or "model"
    return Path("evaluations") / model_name / Path(data).name


def check_output_dir(output_dir: str | os.PathLike[str], model_dir: str | os.PathLike[str]) -> Path:
    """Create and check ``output_dir`` before the work; refuse the model folder itself."""
    from nerkit.conll.outputs import check_output_dir as check_folder
    from nerkit.errors import OutputError

    if Path(output_dir).resolve() == Path(model_dir).resolve():
        raise OutputError(
            f"{output_dir}: is the model folder, whose dev/test reports the training wrote; "
            "choose another --output-dir"
        )
    return check_folder(output_dir)


def evaluate_model(
    model_dir: str | os.PathLike[str],
    data: str,
    split: str = "test",
    *,
    data_dir: str | os.PathLike[str] | None = None,
    batch_size: int = 32,
    decoding: str | None = None,
    output_dir: str | os.PathLike[str] | None = None,
    documents: str = "boundaries",
) -> dict[str, Any]:
    """Evaluate a saved model on a corpus split (or a labelled file in any format).

    With ``output_dir``, writes ``<output_dir>/<split>_predictions.txt`` and
    ``<split>_results.json`` there; the folder is created and checked before the model loads.
    The model folder is only read. Texts with spans are split into words as the model splits
    raw text (its language); ``documents`` says how the file is cut into documents.
    """
    from nerkit.conll.outputs import write_text
    from nerkit.tagging.tagger import Tagger

    folder = check_output_dir(output_dir, model_dir) if output_dir is not None else None
    tagger = Tagger.load(model_dir, decoding=decoding)
    sentences = load_split(data, split, data_dir, documents=documents,
                           language=tagger.meta.language)
    results, pred = evaluate_sentences(tagger.predictor, sentences, batch_size)
    results = {"data": data, "split": split, "decoding": tagger.predictor.decoder.method,
               "documents": documents, **results}
    if folder is not None:
        write_predictions(folder / f"{split}_predictions.txt", sentences, pred)
        write_text(folder / f"{split}_results.json", json.dumps(results, indent=2) + "\n")
    return results


def score_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Score a column file whose last two columns are gold and predicted tags (conlleval)."""
    column_file = read_column_file(path, tags=False)
    check_score_columns(column_file)
    gold = [[row[-2] for row in s.columns] for s in column_file.sentences]
    pred = [[row[-1] for row in s.columns] for s in column_file.sentences]
    return results_for(gold, pred)


def check_score_columns(column_file: ColumnFile) -> None:
    """Refuse a file whose last two columns are not gold and predicted tags, naming its line.

    A file of words and tags (what ``train`` reads) is the usual mistake: its next-to-last
    column holds words, so the message says what ``score`` needs rather than "unknown tag".
    """
    n = column_file.n_columns
    path = column_file.path
    fix = "give word, gold and predicted tag columns, as `nerkit evaluate` writes them"
    if n < 2:
        raise DataFormatError(path, None, f"score needs gold and predicted tag columns (the "
                              f"last two); this file has {n} column", fix)
    valid = {"O"}
    for s in column_file.sentences:
        for i, row in enumerate(s.columns):
            for column, name in ((n - 1, "gold"), (n, "predicted")):
                problem = None if row[column - 1] in valid else tag_problem(row[column - 1])
                if problem is None:
                    valid.add(row[column - 1])
                    continue
                if name == "gold" and n == 2:
                    raise DataFormatError(
                        path, s.line + i,
                        f"score needs gold and predicted tag columns (the last two), but column "
                        f"1 holds {row[0]!r}, not a tag: this looks like a file of words and tags",
                        "tag it with `nerkit predict --format conll`, or score a model on it with "
                        "`nerkit evaluate --data FILE`",
                    )
                raise DataFormatError(
                    path, s.line + i, f"the {name} tag column ({column} of {n}): {problem}", fix
                )
