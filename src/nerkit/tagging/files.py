"""Tag files: plain text (one document per line), JSON Lines, or pre-tokenized CoNLL columns.

Output is JSON Lines, one record per input document in input order (``txt``/``jsonl``), or the
input columns plus a predicted tag column (``conll``). Reading streams the input, so a large file
is tagged in bounded memory.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from nerkit.conll.outputs import atomic_output, check_output
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
FORMATS = (*TEXT_FORMATS, "conll")


@contextlib.contextmanager
def _open_output(output: str | os.PathLike[str] | None) -> Iterator[IO[str]]:
    if output is None:
        yield sys.stdout
        return
    with atomic_output(output) as f:
        yield f


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


def output_line(record: dict[str, Any], entities: list[Any]) -> str:
    """One output line: the input record plus its ``entities`` (objects with ``to_dict`` or
    dicts with text, label, start, end, score), as ``nerkit predict`` writes them."""
    found = [e if isinstance(e, dict) else e.to_dict() for e in entities]
    return json.dumps({**record, "entities": found}, ensure_ascii=False) + "\n"


def predict_file(
    tagger: Any,
    path: str | os.PathLike[str],
    fmt: str = "txt",
    output: str | os.PathLike[str] | None = None,
    *,
    progress: bool = True,
) -> int:
    """Tag a whole file; returns the number of documents (or sentences for ``conll``)."""
    source = check_input(path, fmt)
    if output is not None:
        check_output(output, inputs=[source])
    if fmt == "conll":
        return _predict_conll(tagger, source, output)
    from tqdm import tqdm

    text_file = open_text(source)  # decodable, not binary: refused before any tagging
    bar = tqdm(total=text_file.lines, unit="line", disable=not progress, file=sys.stderr)
    count = 0
    with _open_output(output) as out:
        items = (r for _, r in read_records(text_file, fmt))
        buffered: list[dict[str, Any]] = []

        def texts() -> Iterator[str]:
            for record in items:
                buffered.append(record)
                yield record["text"]

        for entities in tagger.tag_many(texts()):
            record = buffered.pop(0)
            out.write(output_line(record, entities))
            count += 1
            bar.update(1)
    bar.close()
    return count


def _predict_conll(tagger: Any, source: Path, output: str | os.PathLike[str] | None) -> int:
    from nerkit.conll.corpus import read_column_file, write_column_file

    column_file = read_column_file(source, tags=False)
    sentences = column_file.sentences
    # a file is read in order, so a model trained with context sees each sentence's neighbours
    tags = tagger.tag_sentences(
        [list(s.words) for s in sentences], documents=[s.doc_id for s in sentences]
    )
    rows = (
        [(*row, tag) for row, tag in zip(s.columns, t, strict=True)]
        for s, t in zip(sentences, tags, strict=True)
    )
    if output is None:
        for sentence in rows:
            for row in sentence:
                print(" ".join(row))
            print()
    else:
        write_column_file(output, rows)
    return len(sentences)


def predict_texts(tagger: Any, texts: list[str], output: str | os.PathLike[str] | None) -> int:
    """Tag texts given on the command line; one JSON line per text.

    A text that holds a byte that is not UTF-8 (Python hands it over as a lone surrogate) is
    refused before any tagging, naming the argument and the character.
    """
    for number, text in enumerate(texts, start=1):
        check_text(text, f"argument {number}", "use a UTF-8 terminal, or put the text in a "
                   "file for --input (read as UTF-8, UTF-16 with a BOM, or Latin-1)")
    with _open_output(output) as out:
        for text, entities in zip(texts, tagger.tag_many(texts), strict=True):
            out.write(output_line({"text": text}, entities))
    return len(texts)
