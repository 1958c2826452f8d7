"""Labelled files in any format nerkit reads: which format a file is, and one reader for all.

Three formats hold words (or text) with entities:

- ``conll``: CoNLL column files (:func:`nerkit.conll.corpus.read_column_file`);
- ``jsonl``: texts with character-offset spans, JSON Lines or a JSON array
  (:mod:`nerkit.conll.spans`: doccano, Label Studio, Prodigy, spaCy-style);
- ``spacy``: spaCy DocBin files (:mod:`nerkit.conll.docbin`).

The format comes from the file name when its extension says it (``.conll``, ``.jsonl``,
``.json``, ``.spacy``...) and is always checked against the content, so a JSON Lines file named
``.conll``, a text file named ``.jsonl`` or a CoNLL file given as ``--format spacy`` is a
one-line error, not a file read the wrong way. A name that says nothing (``esp.train``) leaves
the choice to the content.

This module imports only the standard library and :mod:`nerkit.conll`.
"""

from __future__ import annotations

import logging
import os
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from nerkit.conll.corpus import (
    CORPORA,
    Sentence,
    read_column_file,
    resolve_corpus,
    write_column_file,
)
from nerkit.conll.documents import assign_documents, check_mode, describe
from nerkit.conll.schemes import convert_tags
from nerkit.errors import ConfigError, DataFormatError

logger = logging.getLogger("nerkit")

FORMATS = ("conll", "jsonl", "spacy")
FORMAT_NAMES = {"conll": "CoNLL columns", "jsonl": "JSON with spans", "spacy": "a spaCy DocBin",
                "text": "plain text"}
EXTENSIONS = {
    ".conll": "conll", ".conll2002": "conll", ".conll2003": "conll", ".iob": "conll",
    ".iob1": "conll", ".iob2": "conll", ".bio": "conll", ".bioes": "conll", ".col": "conll",
    ".tsv": "conll", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".spacy": "spacy",
}
MARKERS = {"conll": "-DOCSTART- lines", "jsonl": 'records (or "document" fields)',
           "spacy": "Docs"}
_DOCBIN_MAGIC = (b"\x78\x9c", b"\x78\x01", b"\x78\x5e", b"\x78\xda")


def format_from_name(path: str | os.PathLike[str]) -> str | None:
    """The format a file name says, or None.

    >>> [format_from_name(p) for p in ("a/train.jsonl", "x.spacy", "esp.train")]
    ['jsonl', 'spacy', None]
    """
    return EXTENSIONS.get(Path(path).suffix.lower())


def sniff(path: str | os.PathLike[str]) -> tuple[str | None, str]:
    """What the content of ``path`` looks like: ``(format, what was seen)``.

    ``format`` is "spacy", "jsonl", or "text" (anything else: CoNLL columns or plain text,
    which the first lines alone cannot tell apart); None for an empty or unreadable file.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 16)
    except OSError:
        return None, "unreadable"
    if head[:2] in _DOCBIN_MAGIC and _inflates(head):
        return "spacy", "zlib-compressed DocBin bytes"
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    stripped = text.lstrip()
    if not stripped:
        return None, "empty"
    first = stripped[0]
    after = stripped[1:].lstrip()[:1]
    if (first == "{" and after in ('"', "}")) or (first == "[" and after in ('{', '[', '"', "]")):
        return "jsonl", f"it starts with {first!r} (JSON)"
    line = stripped.splitlines()[0][:40]
    return "text", f"line 1 reads {line!r}"


def _inflates(head: bytes) -> bool:
    try:
        zlib.decompressobj().decompress(head, 64)
    except zlib.error:
        return False
    return True


def detect_format(path: str | os.PathLike[str], declared: str | None = None) -> str:
    """The labelled format of ``path`` (one of :data:`FORMATS`), checked against its content.

    ``declared`` (a ``--format``) wins over the name; either must agree with the content.
    """
    if declared is not None and declared not in FORMATS:
        raise ConfigError(f"unknown format {declared!r}; choose one of {', '.join(FORMATS)}")
    by_name = format_from_name(path)
    seen, how = sniff(path)
    content = "conll" if seen == "text" else seen
    expected = declared or by_name
    if expected and content and expected != content:
        said = f"--format {declared}" if declared else f"the name ({Path(path).suffix})"
        raise DataFormatError(
            path, None,
            f"{said} says {FORMAT_NAMES[expected]}, but the content is "
            f"{FORMAT_NAMES[seen or 'text']}: {how}",
            "rename the file or pass the --format that matches it",
        )
    return expected or content or "conll"


@dataclass(frozen=True)
class LabelledFile:
    """What :func:`read_labelled` found, and how it read it (for the log and the records)."""

    path: str
    format: str
    sentences: list[Sentence]
    documents: str
    encoding: str = "utf-8"
    n_columns: int = 2


def read_labelled(
    path: str | os.PathLike[str],
    *,
    fmt: str | None = None,
    documents: str = "boundaries",
    language: str = "es",
    tag_column: int = -1,
    word_column: int = 0,
) -> LabelledFile:
    """Read words with gold tags from a file in any of :data:`FORMATS`.

    ``language`` picks the word splitter for texts with spans (JSON); ``documents`` how the
    file is cut into documents (:mod:`nerkit.conll.documents`), stated in the log.
    """
    check_mode(documents)
    p = Path(path)
    if not p.exists():
        raise DataFormatError(p, None, "file not found", "check the path")
    if p.is_dir():
        raise DataFormatError(p, None, "is a folder, not a data file", "name a file in it")
    kind = detect_format(p, fmt)
    encoding, n_columns = "utf-8", 2
    sentences: list[Sentence]
    if kind == "conll":
        column_file = read_column_file(p, tag_column=tag_column, word_column=word_column)
        sentences, encoding = column_file.sentences, column_file.encoding
        n_columns = column_file.n_columns
    elif kind == "jsonl":
        from nerkit.conll.spans import read_spans

        sentences = list(read_spans(p, _read_utf8(p), language=language))
    else:
        from nerkit.conll.docbin import read_docbin

        sentences = list(read_docbin(p))
    sentences = assign_documents(sentences, documents)
    logger.info("%s", describe(p, sentences, documents, MARKERS[kind]))
    return LabelledFile(str(p), kind, sentences, documents, encoding, n_columns)


def _read_utf8(path: Path) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DataFormatError(path, line, "not valid UTF-8, which JSON must be",
                              "save the file as UTF-8") from err


def write_labelled(
    path: str | os.PathLike[str],
    sentences: Sequence[Sentence],
    fmt: str,
    *,
    tags: Iterable[Sequence[str]] | None = None,
    scheme: str | None = None,
    tag_column: int = -1,
) -> None:
    """Write sentences (with ``tags`` instead of their own, if given) in format ``fmt``.

    CoNLL keeps every column of a column file, replaces the tag column (in ``scheme`` when
    given) and keeps the document boundaries as ``-DOCSTART-`` lines; JSON writes span records
    (:func:`nerkit.conll.spans.write_spans`); spaCy a DocBin.
    """
    tag_lists = [list(t) for t in tags] if tags is not None else [list(s.tags) for s in sentences]
    if scheme is not None:
        if fmt != "conll":
            raise ConfigError(f"a tag scheme ({scheme}) applies to CoNLL output only; {fmt} "
                              "files hold entities, not tags")
        tag_lists = [convert_tags(t, scheme) for t in tag_lists]
    if fmt == "conll":
        write_column_file(
            path,
            (_rows(s, t, tag_column) for s, t in zip(sentences, tag_lists, strict=True)),
            [s.doc_id for s in sentences],
        )
    elif fmt == "jsonl":
        from nerkit.conll.spans import write_spans

        write_spans(path, sentences, tag_lists)
    elif fmt == "spacy":
        from nerkit.conll.docbin import write_docbin

        write_docbin(path, sentences, tag_lists)
    else:
        raise ConfigError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def _rows(s: Sentence, tags: Sequence[str], tag_column: int) -> list[tuple[str, ...]]:
    rows = s.columns or tuple((w, t) for w, t in zip(s.words, s.tags, strict=True))
    out = []
    for row, tag in zip(rows, tags, strict=True):
        cells = list(row)
        cells[tag_column] = tag
        out.append(tuple(cells))
    return out


def load_split(
    data: str,
    split: str,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    documents: str = "boundaries",
    language: str = "es",
) -> list[Sentence]:
    """Sentences of ``split`` from a corpus name (``conll2002-es``) or a labelled file.

    A file may be CoNLL columns, JSON Lines or a JSON array with character-offset spans, or a
    spaCy ``.spacy`` DocBin (detected here); ``language`` picks the
    word splitter for texts with spans, ``documents`` how the file is cut into documents
    (:mod:`nerkit.conll.documents`).
    """
    path = resolve_corpus(data, split, data_dir) if data in CORPORA else data
    return read_labelled(path, documents=documents, language=language).sentences
