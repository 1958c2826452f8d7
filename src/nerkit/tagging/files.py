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
import re
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from nerkit.conll.outputs import check_output
from nerkit.conll.text import (
    TextFile,
    check_text,
    find_surrogate,
    iter_lines,
    open_text,
    surrogate_problem,
)
from nerkit.errors import DataFormatError

TEXT_FORMATS = ("txt", "jsonl")  # one document per line
FORMATS = (*TEXT_FORMATS, "conll", "spacy")


def check_input(
    path: str | os.PathLike[str], fmt: str, formats: tuple[str, ...] = FORMATS
) -> Path:
    """The input file, once it is known to exist and ``fmt`` to be one of ``formats``."""
    source = Path(path)
    if not source.is_file():
        raise DataFormatError(source, None, "file not found", "check the path")
    if fmt not in formats:
        raise DataFormatError(source, None, f"unknown format {fmt!r}",
                              f"choose one of {', '.join(formats)}")
    return source


# A JSON escape of a UTF-16 surrogate; only lines holding one can decode to a lone surrogate.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE_FIX = "pair the surrogate escapes (as in \\ud83d\\ude00) or drop them"


def read_records(
    path: str | os.PathLike[str] | TextFile, fmt: str
) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, record)`` for each document of a ``txt`` or ``jsonl`` file, streamed.

    The file is decoded by :mod:`nerkit.conll.text`'s rules (UTF-8, UTF-16/32 by BOM, else
    Latin-1; binary refused; lines end at ``\\n`` only). ``txt``: every line is a document,
    blank ones included, so output line *n* answers input line *n*. ``jsonl``: blank lines are
    skipped; any other line must be an object with a ``"text"`` string, and no string in it may
    hold a lone surrogate (a ``"\\ud800"`` escape), which no tokenizer or UTF-8 output takes.
    """
    source = path if isinstance(path, TextFile) else open_text(path)
    for number, line in iter_lines(source):
        if fmt == "txt":
            yield number, {"text": line}
            continue
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError) as err:
            problem = (
                err.msg if isinstance(err, json.JSONDecodeError)
                else "nested too deeply" if isinstance(err, RecursionError)
                else "a number with too many digits"  # Python's int conversion limit
            )
            raise DataFormatError(source.path, number, f"not valid JSON ({problem})",
                                  "write one JSON object per line") from None
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise DataFormatError(source.path, number, 'no "text" string field',
                                  'give objects like {"text": "..."}')
        if _SURROGATE_ESCAPE.search(line):
            _check_strings(source.path, number, record)
        yield number, record


def _check_strings(path: Path, number: int, record: dict[str, Any]) -> None:
    text = record["text"]
    index = find_surrogate(text)
    if index >= 0:
        raise DataFormatError(
            path, number, f'the "text" field has {surrogate_problem(text, index)}',
            _SURROGATE_FIX,
        )
    # other fields are copied to the output, which must be valid UTF-8 too
    if find_surrogate(json.dumps(record, ensure_ascii=False)) >= 0:
        raise DataFormatError(path, number, "a string field holds a lone surrogate",
                              _SURROGATE_FIX)


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
    if output is not None:  # refused before any tagging, not after it
        check_output(output, inputs=[source])
    fmt, note = detect_input_format(source, fmt)
    out_fmt = output_format_for(output_format, output, fmt)
    if note:
        print(f"nerkit: {note}", file=sys.stderr)
    if fmt in ("conll", "spacy"):
        with open_writer(out_fmt, output, tagger.splitter, model_version=model_version) as w:
            return _predict_words(tagger, source, fmt, documents, w)
    from tqdm import tqdm

    text_file = open_text(source)  # decodable, not binary: refused before any tagging
    bar = tqdm(total=text_file.lines, unit="line", disable=not progress, file=sys.stderr)
    count = 0
    with open_writer(out_fmt, output, tagger.splitter, model_version=model_version) as writer:
        items = (r for _, r in read_records(text_file, fmt))
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

    for number, text in enumerate(texts, start=1):
        # a byte that is not UTF-8 reaches Python as a lone surrogate: refused, named
        check_text(text, f"argument {number}", "use a UTF-8 terminal, or put the text in a "
                   "file for --input (read as UTF-8, UTF-16 with a BOM, or Latin-1)")

    out_fmt = output_format_for(output_format, output, "txt")
    with open_writer(out_fmt, output, tagger.splitter, model_version=model_version) as writer:
        for text, entities in zip(texts, tagger.tag_many(texts), strict=True):
            writer.add_text({"text": text}, entities)
    return len(texts)
