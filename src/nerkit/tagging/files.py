"""Tag files: plain text (one document per line), JSON Lines, pre-tokenized CoNLL columns or a
spaCy DocBin.

The input format is detected and checked (:mod:`nerkit.tagging.file_formats`). Output is JSON
Lines, one record per input document in input order (the default for ``txt``/``jsonl``), the
input columns plus a predicted tag column with ``-DOCSTART-`` kept (``conll``), a DocBin or
Label Studio pre-annotation tasks. Reading text streams the input, so a large file is tagged
in bounded memory (a DocBin or Label Studio output is built whole).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from nerkit.errors import DataFormatError

FORMATS = ("txt", "jsonl", "conll", "spacy")


def _records(path: Path, fmt: str) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8", newline="") as f:
        for number, line in enumerate(f, start=1):
            line = line.rstrip("\r\n")
            if fmt == "txt":
                yield number, {"text": line}
                continue
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataFormatError(path, number, f"not valid JSON ({err.msg})",
                                      "write one JSON object per line") from err
            if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                raise DataFormatError(path, number, 'no "text" string field',
                                      'give objects like {"text": "..."}')
            yield number, record


def _count_lines(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for _ in f)


def predict_file(
    tagger: Any,
    path: str | os.PathLike[str],
    fmt: str | None = None,
    output: str | os.PathLike[str] | None = None,
    *,
    output_format: str | None = None,
    documents: str = "boundaries",
    model_version: str = "nerkit",
    progress: bool = True,
) -> int:
    """Tag a whole file; returns the number of documents (or sentences for ``conll``/``spacy``).

    ``fmt`` (the input format) is detected when None; ``output_format`` defaults to what the
    output name says, else to JSON Lines for text and to the input's own format for words.
    ``documents`` cuts a CoNLL or DocBin input into documents (see
    :mod:`nerkit.conll.documents`).
    """
    from nerkit.tagging.file_formats import detect_input_format, open_writer, output_format_for

    source = Path(path)
    if not source.is_file():
        raise DataFormatError(source, None, "file not found", "check the path")
    fmt, note = detect_input_format(source, fmt)
    out_fmt = output_format_for(output_format, output, fmt)
    if note:
        print(f"nerkit: {note}", file=sys.stderr)
    if fmt in ("conll", "spacy"):
        with open_writer(out_fmt, output, tagger.splitter, model_version=model_version) as w:
            return _predict_words(tagger, source, fmt, documents, w)
    from tqdm import tqdm

    total = _count_lines(source) if progress else None
    bar = tqdm(total=total, unit="line", disable=not progress, file=sys.stderr)
    count = 0
    with open_writer(out_fmt, output, tagger.splitter, model_version=model_version) as writer:
        items = (r for _, r in _records(source, fmt))
        buffered: list[dict[str, Any]] = []

        def texts() -> Iterator[str]:
            for record in items:
                buffered.append(record)
                yield record["text"]

        for entities in tagger.tag_many(texts()):
            writer.add_text(buffered.pop(0), entities)
            count += 1
            bar.update(1)
    bar.close()
    return count


def _predict_words(tagger: Any, source: Path, fmt: str, documents: str, writer: Any) -> int:
    from nerkit.conll.documents import assign_documents

    if fmt == "conll":
        from nerkit.conll.corpus import read_column_file

        sentences = read_column_file(source, tags=False).sentences
    else:
        from nerkit.conll.docbin import read_docbin

        sentences = list(read_docbin(source, tags=False))
    sentences = assign_documents(sentences, documents)
    # a file is read in order, so a model trained with context sees each sentence's neighbours
    tags = tagger.tag_sentences(
        [list(s.words) for s in sentences], documents=[s.doc_id for s in sentences]
    )
    if fmt == "spacy":  # the DocBin's gold annotation (if any) is not an input column
        sentences = [replace(s, columns=tuple((w,) for w in s.words)) for s in sentences]
    writer.add_sentences(sentences, tags)
    return len(sentences)


def predict_texts(
    tagger: Any,
    texts: list[str],
    output: str | os.PathLike[str] | None,
    *,
    output_format: str | None = None,
    model_version: str = "nerkit",
) -> int:
    """Tag texts given on the command line; one JSON line per text (or ``output_format``)."""
    from nerkit.tagging.file_formats import open_writer, output_format_for

    out_fmt = output_format_for(output_format, output, "txt")
    with open_writer(out_fmt, output, tagger.splitter, model_version=model_version) as writer:
        for text, entities in zip(texts, tagger.tag_many(texts), strict=True):
            writer.add_text({"text": text}, entities)
    return len(texts)
