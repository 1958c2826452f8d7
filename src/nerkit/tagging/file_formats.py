"""Formats of prediction files: which input a file is, and writers for every output format.

Inputs are plain text (one document per line), JSON Lines (``{"text": ...}`` per line), CoNLL
columns (words, one per line) or a spaCy DocBin. The format comes from ``--format``, else from
the file name, and is checked against the content: JSON lines are never tagged as plain text
unless ``--format txt`` says so, and a file named ``.jsonl`` that holds no JSON is an error. A
name that says nothing (``docs.out``) leaves the choice to the content, and the choice is
reported.

Outputs are JSON Lines (the input record plus ``entities`` with character offsets and scores),
CoNLL columns (the input columns, or the words, plus the predicted tag, with ``-DOCSTART-``
before each document), a spaCy DocBin, or Label Studio tasks with the entities as
pre-annotations. Each writer takes texts with their entities (:meth:`add_text`) or
pre-tokenized sentences with their tags (:meth:`add_sentences`), so every input goes to every
output.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from nerkit.conll.corpus import DOCSTART, Sentence, column_lines
from nerkit.conll.formats import sniff
from nerkit.conll.schemes import spans_to_tags
from nerkit.conll.spans import TextSentence, char_spans, span_record
from nerkit.conll.words import WordSplitter
from nerkit.errors import ConfigError, DataFormatError

INPUT_FORMATS = ("txt", "jsonl", "conll", "spacy")
OUTPUT_FORMATS = ("jsonl", "conll", "spacy", "label-studio")
INPUT_EXTENSIONS = {
    ".txt": "txt", ".text": "txt", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
    ".spacy": "spacy", ".conll": "conll", ".iob": "conll", ".iob2": "conll", ".bio": "conll",
    ".col": "conll", ".tsv": "conll",
}
OUTPUT_EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".conll": "conll", ".spacy": "spacy"}
_NAMES = {"txt": "plain text", "jsonl": "JSON Lines", "conll": "CoNLL columns",
          "spacy": "a spaCy DocBin", "text": "plain text or columns", None: "empty"}


def detect_input_format(
    path: str | os.PathLike[str], declared: str | None = None
) -> tuple[str, str | None]:
    """The input format of ``path`` and, when only the content decided, a note saying so."""
    if declared is not None and declared not in INPUT_FORMATS:
        raise ConfigError(f"unknown format {declared!r}; choose one of {', '.join(INPUT_FORMATS)}")
    seen, how = sniff(path)
    if seen == "jsonl" and how.startswith("it starts with '['"):
        raise DataFormatError(path, None, "is a JSON array; predict reads JSON Lines",
                              "write one JSON object per line")
    by_name = INPUT_EXTENSIONS.get(Path(path).suffix.lower())
    expected = declared or by_name
    if expected is not None:
        if seen is not None and not _agrees(expected, seen, explicit=declared is not None):
            said = f"--format {declared}" if declared else f"the name ({Path(path).suffix})"
            fix = "pass --format jsonl" if seen == "jsonl" else "pass the --format that matches it"
            if seen == "jsonl" and not declared:
                fix += ", or --format txt to tag each line as text"
            raise DataFormatError(path, None, f"{said} says {_NAMES[expected]}, but the content "
                                  f"is {_NAMES[seen]}: {how}", fix)
        return expected, None
    fmt = seen if seen in ("jsonl", "spacy") else "conll" if _looks_like_columns(path) else "txt"
    return fmt, f"{path}: read as {_NAMES[fmt]} (from its content; --format to choose)"


def _agrees(expected: str, seen: str, explicit: bool) -> bool:
    if seen == "spacy" or expected == "spacy":
        return seen == expected
    if seen == "jsonl":
        return expected == "jsonl" or (explicit and expected == "txt")
    return expected != "jsonl"


def _looks_like_columns(path: str | os.PathLike[str]) -> bool:
    """Columns of words (a CoNLL file) rather than text: ``-DOCSTART-``, or the first lines all
    with the same number (2 to 10) of fields."""
    counts: set[int] = set()
    lines = 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            fields = line.split()
            if not fields:
                continue
            if fields[0] == DOCSTART:
                return True
            counts.add(len(fields))
            lines += 1
            if lines == 200 or len(counts) > 1:
                break
    return lines >= 2 and len(counts) == 1 and 2 <= min(counts) <= 10


def output_format_for(
    declared: str | None, output: str | os.PathLike[str] | None, input_format: str
) -> str:
    """``--output-format``, else what the output name says, else the input's own kind."""
    if declared is not None:
        if declared not in OUTPUT_FORMATS:
            raise ConfigError(f"unknown output format {declared!r}; choose one of "
                              f"{', '.join(OUTPUT_FORMATS)}")
        fmt = declared
    elif output is not None and Path(output).suffix.lower() in OUTPUT_EXTENSIONS:
        fmt = OUTPUT_EXTENSIONS[Path(output).suffix.lower()]
    else:
        fmt = {"conll": "conll", "spacy": "spacy"}.get(input_format, "jsonl")
    if fmt == "spacy" and output is None:
        raise ConfigError("a spaCy DocBin is binary; give --output FILE.spacy")
    return fmt


@contextlib.contextmanager
def open_output(output: str | os.PathLike[str] | None, binary: bool = False) -> Iterator[IO[Any]]:
    """stdout, or ``output`` written atomically (checked first: one-line errors)."""
    if output is None:
        yield sys.stdout
        return
    from nerkit.conll.outputs import atomic_open, check_writable

    check_writable(output)
    with atomic_open(output, "wb" if binary else "w") as f:
        yield f


class PredictionWriter:
    """Base: collects nothing, writes nothing; see the subclasses for each format."""

    def __init__(self, out: IO[Any] | None, splitter: WordSplitter) -> None:
        self.out = out
        self.splitter = splitter
        self.documents = 0

    def add_text(self, record: dict[str, Any], entities: Sequence[Any]) -> None:
        raise NotImplementedError

    def add_sentences(self, sentences: Sequence[Sentence], tags: Sequence[Sequence[str]]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Finish the output (formats that are written whole are written here)."""

    def text_sentence(self, record: dict[str, Any], entities: Sequence[Any]) -> TextSentence:
        """A tagged text as a sentence of its words (split as the tagger split them), a new
        document, with IOB2 tags from its entities."""
        text = record["text"]
        words = self.splitter(text)
        first = {w.start: i for i, w in enumerate(words)}
        last = {w.end: i for i, w in enumerate(words)}
        spans = [(e.label, first[e.start], last[e.end] + 1) for e in entities]
        tags = spans_to_tags(spans, len(words), "iob2")
        self.documents += 1
        return TextSentence(
            tuple(w.text for w in words), tuple(tags), self.documents, "", 0,
            tuple(zip((w.text for w in words), tags, strict=True)), text,
            tuple(w.start for w in words), tuple(w.end for w in words),
        )


class JsonlWriter(PredictionWriter):
    """The input record plus ``entities``; sentences as span records (see
    :func:`nerkit.conll.spans.span_record`)."""

    def add_text(self, record: dict[str, Any], entities: Sequence[Any]) -> None:
        out = {**record, "entities": [e.to_dict() for e in entities]}
        self.out.write(json.dumps(out, ensure_ascii=False) + "\n")  # type: ignore[union-attr]

    def add_sentences(self, sentences: Sequence[Sentence], tags: Sequence[Sequence[str]]) -> None:
        for s, t in zip(sentences, tags, strict=True):
            line = json.dumps(span_record(s, t), ensure_ascii=False)
            self.out.write(line + "\n")  # type: ignore[union-attr]


class ConllWriter(PredictionWriter):
    """Input columns (or words) plus the predicted tag; ``-DOCSTART-`` before each document
    (each text is one; a column file keeps its own)."""

    def add_text(self, record: dict[str, Any], entities: Sequence[Any]) -> None:
        s = self.text_sentence(record, entities)
        if s.words:
            self.out.writelines(column_lines([s.columns], [s.doc_id]))  # type: ignore[union-attr]

    def add_sentences(self, sentences: Sequence[Sentence], tags: Sequence[Sequence[str]]) -> None:
        rows = ([(*row, tag) for row, tag in zip(s.columns, t, strict=True)]
                for s, t in zip(sentences, tags, strict=True))
        self.out.writelines(column_lines(rows, [s.doc_id for s in sentences]))  # type: ignore[union-attr]


class SpacyWriter(PredictionWriter):
    """A DocBin, one Doc per document, built when the input is done."""

    def __init__(self, out: IO[Any] | None, splitter: WordSplitter) -> None:
        super().__init__(out, splitter)
        self.sentences: list[Sentence] = []
        self.tags: list[Sequence[str]] = []

    def add_text(self, record: dict[str, Any], entities: Sequence[Any]) -> None:
        s = self.text_sentence(record, entities)
        if s.words:
            self.sentences.append(s)
            self.tags.append(s.tags)

    def add_sentences(self, sentences: Sequence[Sentence], tags: Sequence[Sequence[str]]) -> None:
        self.sentences.extend(sentences)
        self.tags.extend(tags)

    def close(self) -> None:
        from spacy.tokens import DocBin

        from nerkit.conll.docbin import to_docs

        docs = to_docs(self.sentences, self.tags)
        self.out.write(DocBin(docs=docs, store_user_data=False).to_bytes())  # type: ignore[union-attr]


class LabelStudioWriter(PredictionWriter):
    """A JSON array of Label Studio tasks with the entities as pre-annotations."""

    def __init__(self, out: IO[Any] | None, splitter: WordSplitter, model_version: str) -> None:
        super().__init__(out, splitter)
        self.model_version = model_version
        self.count = 0

    def _write(self, task: dict[str, Any]) -> None:
        sep = "," if self.count else ""
        self.out.write(f"{sep}\n{json.dumps(task, ensure_ascii=False)}")  # type: ignore[union-attr]
        self.count += 1

    def add_text(self, record: dict[str, Any], entities: Sequence[Any]) -> None:
        from nerkit.conll.labelstudio import prediction_task

        data = record["data"] if isinstance(record.get("data"), dict) else {
            k: v for k, v in record.items() if k not in ("text", "entities")}
        spans = [(e.start, e.end, e.label, e.score) for e in entities]
        self._write(prediction_task(record["text"], spans, data=data,
                                    model_version=self.model_version))

    def add_sentences(self, sentences: Sequence[Sentence], tags: Sequence[Sequence[str]]) -> None:
        from nerkit.conll.labelstudio import prediction_task
        from nerkit.conll.spans import sentence_text

        for s, t in zip(sentences, tags, strict=True):
            spans = [(a, b, label, None) for a, b, label in char_spans(s, t)]
            self._write(prediction_task(sentence_text(s)[0], spans, data={"document": s.doc_id},
                                        model_version=self.model_version))

    def close(self) -> None:
        self.out.write("]\n" if not self.count else "\n]\n")  # type: ignore[union-attr]


@contextlib.contextmanager
def open_writer(
    fmt: str,
    output: str | os.PathLike[str] | None,
    splitter: WordSplitter,
    *,
    model_version: str = "nerkit",
) -> Iterator[PredictionWriter]:
    """A writer for ``fmt`` on ``output`` (stdout when None); the file appears, whole, only
    when the block ends without an error."""
    with open_output(output, binary=fmt == "spacy") as out:
        writer: PredictionWriter
        if fmt == "jsonl":
            writer = JsonlWriter(out, splitter)
        elif fmt == "conll":
            writer = ConllWriter(out, splitter)
        elif fmt == "spacy":
            writer = SpacyWriter(out, splitter)
        else:
            out.write("[")
            writer = LabelStudioWriter(out, splitter, model_version)
        yield writer
        writer.close()
