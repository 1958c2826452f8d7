"""Texts with character-offset entity spans, as annotation tools export them, in and out.

Annotation tools write text plus spans; nerkit trains on words with tags. This module reads the
common shapes, one JSON object per line (JSON Lines) or a JSON array of them:

- spaCy-style and nerkit's own output: ``{"text": ..., "entities": [[start, end, label], ...]}``
  (or ``{"start", "end", "label"}`` objects; spaCy v2's ``[text, {"entities": [...]}]`` too);
- Prodigy: ``{"text", "spans": [{"start", "end", "label"}], "tokens": [...], "answer"}``
  (its ``tokens``, when present, are the words; records not answered "accept" are skipped);
- doccano: ``{"text", "label": [[start, end, label], ...]}`` (``labels`` in older versions);
- Label Studio: a task ``{"data": {"text"}, "annotations": [{"result": [...]}]}`` (the first
  annotation not cancelled) or its JSON-MIN export ``{"text", "label": [{"start", "end",
  "labels"}]}``.

Spans are aligned to words: the record's own ``tokens``, else the text split with the word
splitter of the model's language (:func:`nerkit.conll.words.splitter_for`), the one that splits
raw text at inference. Whitespace at a span's edges is trimmed; identical duplicates count once.
Every other problem (a span that starts or ends inside a word, overlapping spans, offsets outside
the text, a record without text or spans) is collected over the whole file and reported in one
:class:`~nerkit.errors.DataFormatError` naming ``file:line`` of each; nothing is dropped
silently. Each record becomes one :class:`TextSentence` that keeps its text and word offsets,
so writing it back gives the same text and the same spans.

This module imports only the standard library and :mod:`nerkit.conll`.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nerkit.conll.corpus import Sentence
from nerkit.conll.schemes import spans_to_tags, tags_to_spans
from nerkit.conll.words import Word, WordSplitter, is_separator, splitter_for
from nerkit.errors import DataFormatError

logger = logging.getLogger("nerkit")

SPAN_KEYS = ("entities", "spans", "label", "labels")
ALIGN_FIX = (
    'fix the offsets, give the words as "tokens" with start/end, or choose the language whose '
    "word rules the annotation followed"
)


@dataclass(frozen=True)
class TextSentence(Sentence):
    """A :class:`Sentence` read from text: ``text`` and each word's offsets into it."""

    text: str = ""
    starts: tuple[int, ...] = ()
    ends: tuple[int, ...] = ()


@dataclass
class _Problems:
    """Problems found in one file, reported together at the end."""

    path: Path
    found: list[tuple[int, str, str]]

    def add(self, line: int, message: str, fix: str = ALIGN_FIX) -> None:
        self.found.append((line, message, fix))

    def raise_if_any(self) -> None:
        if not self.found:
            return
        line, message, fix = self.found[0]
        rest = self.found[1:]
        if rest:
            lines = ", ".join(str(x[0]) for x in rest[:10]) + (", ..." if len(rest) > 10 else "")
            message += f"; {len(rest)} more problem{'s' if len(rest) > 1 else ''}, at lines {lines}"
        err = DataFormatError(self.path, line, message, fix)
        err.problems = [f"{self.path}:{n}: {m}" for n, m, _ in self.found]  # type: ignore[attr-defined]
        raise err


def iter_json(path: Path, text: str) -> Iterator[tuple[int, Any]]:
    """(line, value) of each record: every line of JSON Lines, or every item of a JSON array."""
    start = len(text) - len(text.lstrip())
    if text[start : start + 1] == "[" and _is_array_file(text[start:].split("\n", 1)[0]):
        yield from _array_items(path, text, start + 1)
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as err:
            raise DataFormatError(path, number, f"not valid JSON ({err.msg})",
                                  "write one JSON object per line") from err


def _is_array_file(first_line: str) -> bool:
    """A JSON array of records, rather than JSON Lines whose records are lists (spaCy v2's
    ``[text, {"entities": ...}]``): the first line is not a whole value, or an array of
    objects."""
    try:
        value = json.loads(first_line)
    except json.JSONDecodeError:
        return True
    return isinstance(value, list) and all(isinstance(x, dict) for x in value)


def _array_items(path: Path, text: str, i: int) -> Iterator[tuple[int, Any]]:
    decoder = json.JSONDecoder()
    n = len(text)
    expect_item = True
    while True:
        while i < n and text[i] in " \t\r\n":
            i += 1
        line = text.count("\n", 0, i) + 1
        if i < n and text[i] == "]":
            return
        if i >= n:
            raise DataFormatError(path, line, "the JSON array is not closed", "end it with ]")
        if not expect_item:
            if text[i] != ",":
                raise DataFormatError(path, line, f"expected , or ] in the JSON array, found "
                                      f"{text[i]!r}", "fix the JSON")
            i += 1
            expect_item = True
            continue
        try:
            value, i = decoder.raw_decode(text, i)
        except json.JSONDecodeError as err:
            raise DataFormatError(path, err.lineno, f"not valid JSON ({err.msg})",
                                  "fix the JSON") from err
        yield line, value
        expect_item = False


@dataclass
class _Record:
    line: int
    text: str
    spans: list[tuple[int, int, str]]
    tokens: list[Word] | None
    document: Any


def _span_items(value: Any, line: int, problems: _Problems) -> list[tuple[int, int, str]] | None:
    if not isinstance(value, list):
        problems.add(line, f"the spans are a {type(value).__name__}, not a list",
                     "give a list of [start, end, label] or {start, end, label}")
        return None
    spans = []
    for item in value:
        if isinstance(item, (list, tuple)) and len(item) == 3:
            start, end, label = item
        elif isinstance(item, dict) and "start" in item and "end" in item:
            start, end = item["start"], item["end"]
            label = item.get("label")
            labels = item.get("labels")
            if label is None and isinstance(labels, list) and len(labels) == 1:
                label = labels[0]
        else:
            problems.add(line, f"a span is not [start, end, label] nor {{start, end, label}}: "
                         f"{json.dumps(item, ensure_ascii=False)[:60]}", "fix the span")
            continue
        if not (_is_int(start) and _is_int(end)):
            problems.add(line, f"span offsets {start!r}, {end!r} are not integers",
                         "give character offsets")
            continue
        if not isinstance(label, str) or not label.strip() or any(c.isspace() for c in label):
            problems.add(line, f"span [{start}, {end}) has no usable label ({label!r})",
                         "give one label without spaces per span")
            continue
        spans.append((start, end, label))
    return spans


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _studio_spans(task: dict[str, Any], line: int, problems: _Problems) -> list[Any] | None:
    annotations = [a for a in task.get("annotations") or [] if isinstance(a, dict)
                   and not a.get("was_cancelled")]
    if not annotations:
        problems.add(line, "Label Studio task without an annotation",
                     "export annotated tasks only, or annotate this one")
        return None
    if len(annotations) > 1:
        logger.warning("%s:%d: %d annotations; using the first", problems.path, line,
                       len(annotations))
    results = annotations[0].get("result") or []
    return [r["value"] for r in results if isinstance(r, dict) and isinstance(r.get("value"), dict)
            and "start" in r["value"]]


def _tokens(value: Any, text: str, line: int, problems: _Problems) -> list[Word] | None:
    words = []
    for token in value if isinstance(value, list) else [None]:
        ok = isinstance(token, dict) and _is_int(token.get("start")) and _is_int(token.get("end"))
        if ok:
            start, end = token["start"], token["end"]
            ok = 0 <= start <= end <= len(text) and token.get("text", text[start:end]) == text[
                start:end]
        if not ok:
            problems.add(line, f'a token is not {{"text", "start", "end"}} pointing into the '
                         f"text: {json.dumps(token, ensure_ascii=False)[:60]}", "fix the tokens")
            return None
        word = text[start:end]
        if not word or word.isspace():
            continue
        if any(is_separator(c) for c in word):
            problems.add(line, f"token {word!r} contains a space", "split it into two tokens")
            return None
        words.append(Word(word, start, end))
    return words


def parse_record(value: Any, line: int, problems: _Problems) -> _Record | None:
    """One record in any of the module's shapes, or None (problem recorded, or skipped)."""
    if isinstance(value, list) and len(value) == 2 and isinstance(value[1], dict):
        value = {"text": value[0], **value[1]}  # spaCy v2: [text, {"entities": [...]}]
    if not isinstance(value, dict):
        problems.add(line, f"a record is a {type(value).__name__}, not an object",
                     'give objects like {"text": ..., "entities": [[start, end, label]]}')
        return None
    if value.get("answer", "accept") != "accept":  # Prodigy: rejected or ignored examples
        return None
    studio = isinstance(value.get("data"), dict) and "annotations" in value
    text = value["data"].get("text") if studio else value.get("text")
    if not isinstance(text, str):
        problems.add(line, 'no "text" string field', 'give objects with a "text" string')
        return None
    if studio:
        raw = _studio_spans(value, line, problems)
    else:
        key = next((k for k in SPAN_KEYS if k in value), None)
        if key is None:
            problems.add(line, f"no spans field ({', '.join(SPAN_KEYS)})",
                         'give the entities, [] for a text without any')
            return None
        raw = value[key]
    spans = _span_items(raw, line, problems) if raw is not None else None
    tokens = None
    if "tokens" in value:
        tokens = _tokens(value["tokens"], text, line, problems)
        if tokens is None:
            return None
    if spans is None:
        return None
    return _Record(line, text, spans, tokens, value.get("document"))


def _describe(span: tuple[int, int, str], text: str) -> str:
    start, end, label = span
    return f"span [{start}, {end}) {text[start:end][:40]!r} {label}"


def align(
    record: _Record, words: Sequence[Word], problems: _Problems
) -> list[str] | None:
    """IOB2 tags of ``words`` for the record's spans, or None with the problems recorded."""
    text, line = record.text, record.line
    by_start = {w.start: i for i, w in enumerate(words)}
    by_end = {w.end: i for i, w in enumerate(words)}
    cleaned: list[tuple[int, int, str]] = []
    ok = True
    for span in sorted(set(record.spans)):
        start, end, label = span
        if not 0 <= start < end <= len(text):
            problems.add(line, f"span [{start}, {end}) {label} is outside the text "
                         f"(length {len(text)}) or empty", "fix the offsets")
            ok = False
            continue
        while start < end and is_separator(text[start]):
            start += 1
        while end > start and is_separator(text[end - 1]):
            end -= 1
        if start == end:
            problems.add(line, f"{_describe(span, text)} covers only whitespace", "remove it")
            ok = False
            continue
        cleaned.append((start, end, label))
    cleaned = sorted(set(cleaned))
    spans: list[tuple[str, int, int]] = []
    previous: tuple[int, int, str] | None = None
    for span in cleaned:
        start, end, label = span
        if previous is not None and start < previous[1]:
            problems.add(line, f"{_describe(span, text)} overlaps "
                         f"{_describe(previous, text)}", "keep one of the two")
            ok = False
            continue
        previous = span
        first, last = by_start.get(start), by_end.get(end)
        if first is None or last is None:
            problems.add(line, f"{_describe(span, text)} {_misalignment(start, end, words)}")
            ok = False
            continue
        spans.append((label, first, last + 1))
    return spans_to_tags(spans, len(words), "iob2") if ok else None


def _misalignment(start: int, end: int, words: Sequence[Word]) -> str:
    for w in words:
        if w.start < start < w.end:
            return f"starts inside the word {w.text!r} [{w.start}, {w.end})"
        if w.start < end < w.end:
            return f"ends inside the word {w.text!r} [{w.start}, {w.end})"
    return "does not start and end on word boundaries"


def read_spans(
    path: str | os.PathLike[str],
    text: str,
    *,
    language: str = "es",
    splitter: WordSplitter | None = None,
) -> list[TextSentence]:
    """Sentences (one per record) of the JSON Lines or JSON array ``text`` read from ``path``.

    Document ids: records are documents of their own (numbered from 1), unless they carry a
    ``document`` field, when consecutive records with the same value form one document (an
    integer value is the id itself, so a file written by :func:`write_spans` reads back with
    the ids it was written with).
    """
    p = Path(path)
    split = splitter or splitter_for(language)
    problems = _Problems(p, [])
    sentences: list[TextSentence] = []
    skipped = empty = 0
    doc_id = 0
    previous: Any = object()
    for line, value in iter_json(p, text):
        record = parse_record(value, line, problems)
        if record is None:
            skipped += isinstance(value, dict) and value.get("answer", "accept") != "accept"
            continue
        words = record.tokens if record.tokens is not None else split(record.text)
        tags = align(record, words, problems)
        if tags is None:
            continue
        if not words:
            empty += 1
            continue
        if record.document is None or record.document != previous:
            # nerkit's own "document" ids are kept as they are (0: before any boundary)
            doc_id = record.document if _is_int(record.document) else doc_id + 1
        previous = record.document
        sentences.append(TextSentence(
            tuple(w.text for w in words), tuple(tags), doc_id, str(p), line,
            tuple(zip((w.text for w in words), tags, strict=True)),
            record.text, tuple(w.start for w in words), tuple(w.end for w in words),
        ))
    problems.raise_if_any()
    if skipped:
        logger.warning("%s: skipped %d records not answered \"accept\"", p, skipped)
    if empty:
        logger.warning("%s: skipped %d records whose text has no words", p, empty)
    if not sentences:
        raise DataFormatError(p, None, "no records with text found", "give annotated texts")
    return sentences


# ---------------------------------------------------------------- writing

def sentence_text(s: Sentence) -> tuple[str, tuple[int, ...], tuple[int, ...]]:
    """The text of a sentence and its words' offsets: the original text of a
    :class:`TextSentence`, else the words joined by single spaces.

    >>> sentence_text(Sentence(("Ana", "vive"), ("B-PER", "O")))
    ('Ana vive', (0, 4), (3, 8))
    """
    if isinstance(s, TextSentence) and s.starts:
        return s.text, s.starts, s.ends
    starts, ends, offset = [], [], 0
    for w in s.words:
        starts.append(offset)
        ends.append(offset + len(w))
        offset += len(w) + 1
    return " ".join(s.words), tuple(starts), tuple(ends)


def char_spans(s: Sentence, tags: Sequence[str] | None = None) -> list[tuple[int, int, str]]:
    """(start, end, label) character spans of the entities in ``tags`` (default the sentence's
    own), read as conlleval reads them."""
    _, starts, ends = sentence_text(s)
    return [(starts[a], ends[b - 1], label)
            for label, a, b in tags_to_spans(list(tags if tags is not None else s.tags))]


def span_record(s: Sentence, tags: Sequence[str] | None = None) -> dict[str, Any]:
    """One sentence as a record this module reads back unchanged: text, entities, the words
    as ``tokens`` (so no word splitter is needed to read it) and the document id."""
    text, starts, ends = sentence_text(s)
    return {
        "text": text,
        "entities": [{"start": a, "end": b, "label": label, "text": text[a:b]}
                     for a, b, label in char_spans(s, tags)],
        "tokens": [{"text": w, "start": a, "end": b}
                   for w, a, b in zip(s.words, starts, ends, strict=True)],
        "document": s.doc_id,
    }


def write_spans(
    path: str | os.PathLike[str],
    sentences: Iterable[Sentence],
    tags: Iterable[Sequence[str]] | None = None,
) -> None:
    """JSON Lines, one :func:`span_record` per sentence (``tags`` replace the sentences' own)."""
    from nerkit.conll.outputs import atomic_open

    tag_lists = iter(tags) if tags is not None else None
    with atomic_open(path) as f:
        for s in sentences:
            record = span_record(s, next(tag_lists) if tag_lists is not None else None)
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
