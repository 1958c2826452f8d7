"""Tag files: plain text (one document per line), JSON Lines, or pre-tokenized CoNLL columns.

Output is JSON Lines, one record per input document in input order (``txt``/``jsonl``), or the
input columns plus a predicted tag column (``conll``). Reading streams the input, so a large file
is tagged in bounded memory.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from nerkit.errors import DataFormatError

TEXT_FORMATS = ("txt", "jsonl")  # one document per line
FORMATS = (*TEXT_FORMATS, "conll")


@contextlib.contextmanager
def _open_output(output: str | os.PathLike[str] | None) -> Iterator[IO[str]]:
    if output is None:
        yield sys.stdout
        return
    path = Path(output)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        yield f
    os.replace(tmp, path)


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


def read_records(path: Path, fmt: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, record)`` for each document of a ``txt`` or ``jsonl`` file, streamed;
    a ``txt`` line becomes ``{"text": line}``, a ``jsonl`` line must hold a ``"text"`` string.

    ``nerkit predict`` and ``nerkit render`` both read files here, so they accept the same
    inputs.
    """
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


def output_line(record: dict[str, Any], entities: list[Any]) -> str:
    """One output line: the input record plus its ``entities`` (objects with ``to_dict`` or
    dicts with text, label, start, end, score), as ``nerkit predict`` writes them."""
    found = [e if isinstance(e, dict) else e.to_dict() for e in entities]
    return json.dumps({**record, "entities": found}, ensure_ascii=False) + "\n"


def _count_lines(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for _ in f)


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
    if fmt == "conll":
        return _predict_conll(tagger, source, output)
    from tqdm import tqdm

    total = _count_lines(source) if progress else None
    bar = tqdm(total=total, unit="line", disable=not progress, file=sys.stderr)
    count = 0
    with _open_output(output) as out:
        items = (r for _, r in read_records(source, fmt))
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
    """Tag texts given on the command line; one JSON line per text."""
    with _open_output(output) as out:
        for text, entities in zip(texts, tagger.tag_many(texts), strict=True):
            out.write(output_line({"text": text}, entities))
    return len(texts)
