"""Property tests over the readers where raw input enters nerkit: the column reader, the word
splitter and the JSONL/TXT reader, fed arbitrary bytes and hostile text. Whatever comes in, the
answer is a result whose offsets and line numbers are exact, or a NerkitError; never another
exception. Bounded by ``max_examples`` so the file runs in seconds."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nerkit.conll.corpus import read_column_file, split_columns
from nerkit.conll.schemes import tag_problem
from nerkit.conll.text import find_surrogate
from nerkit.conll.words import ConllWordSplitter, WhitespaceSplitter
from nerkit.errors import NerkitError, TextError
from nerkit.tagging.files import read_records

FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

# characters that break readers written with str.splitlines() or str.split() in mind
ODD = ["\x85", "\u2028", "\x0b", "\x0c", "\r", "\x00", "\ufeff", "\u00a0", "\u200b", "\t", " ",
       "\udc80", "\ud800", "é", "€", "\U0001f600", "-DOCSTART-", "B-", "B", "X-PER", "O",
       "B-PER", "I-LOC", "\\ud800", '"']
WORDS = ["La", "ONU", "Ana", "Lima", ".", "B-PER", "I-PER", "O", "B-LOC", "S-ORG", "E-ORG"]
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-32", "latin-1", "cp1252"]

any_text = st.lists(
    st.one_of(st.characters(), st.characters(categories=["Cs"]), st.sampled_from(ODD)),
    max_size=30,
).map("".join)


@st.composite
def column_texts(draw: st.DrawFn) -> str:
    """Mostly well-formed column files with odd characters, blank lines and bad tags mixed in."""
    n_columns = draw(st.integers(1, 3))
    lines = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["row", "row", "row", "blank", "docstart", "odd"]))
        if kind == "row":
            cols = [draw(st.sampled_from(WORDS + ODD[:14])) for _ in range(n_columns - 1)]
            lines.append(" ".join([*cols, draw(st.sampled_from(WORDS[4:] + ["B", "PER"]))]))
        elif kind == "blank":
            lines.append(draw(st.sampled_from(["", " ", "\t", "\r"])))
        elif kind == "docstart":
            lines.append("-DOCSTART- -X- O")
        else:
            lines.append(draw(any_text))
    return draw(st.sampled_from(["\n", "\r\n"])).join(lines) + draw(st.sampled_from(["", "\n"]))


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("fuzz") / "input"


def encode(text: str, encoding: str) -> bytes | None:
    try:
        return text.encode(encoding)
    except UnicodeEncodeError:
        return None


def read_quietly(path: Path, **kwargs: object) -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the Latin-1 fallback warns, as it should
        return read_column_file(path, **kwargs)  # type: ignore[arg-type]


@FUZZ
@given(data=st.one_of(st.binary(max_size=200), st.tuples(column_texts(),
                                                         st.sampled_from(ENCODINGS))))
def test_column_reader_never_crashes(scratch: Path, data: bytes | tuple[str, str]) -> None:
    text = None
    if isinstance(data, tuple):
        text, encoding = data
        raw = encode(text, encoding)
        if raw is None:
            return
        data = raw
        if encoding == "utf-8" and text.startswith("\ufeff"):
            text = text[1:]  # a leading U+FEFF is the BOM, by every reader's rules
        if encoding not in ("utf-8", "utf-8-sig") and not (
            encoding == "latin-1" and _not_utf8(raw)
        ):
            text = None  # other round trips are checked by the unit tests
    scratch.write_bytes(data)
    for tags in (True, False):
        try:
            column_file = read_quietly(scratch, tags=tags)
        except NerkitError:
            continue
        lines = [line.removesuffix("\r") for line in text.split("\n")] if text else None
        for s in column_file.sentences:
            assert len(s.words) == len(s.tags) == len(s.columns) > 0
            assert all(len(row) == column_file.n_columns for row in s.columns)
            assert not tags or all(tag_problem(t) is None for t in s.tags)
            if lines is not None:  # the line number points at the sentence's first row
                assert tuple(split_columns(lines[s.line - 1])) == s.columns[0]


def _not_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


@FUZZ
@given(text=any_text, language=st.sampled_from(["es", "nl", "ws"]))
def test_splitters_give_exact_offsets_or_refuse(text: str, language: str) -> None:
    splitter = WhitespaceSplitter() if language == "ws" else ConllWordSplitter(language)
    try:
        words = splitter(text)
    except TextError:
        assert find_surrogate(text) >= 0
        return
    assert find_surrogate(text) < 0
    end = 0
    for w in words:
        assert w.text == text[w.start : w.end] and w.text
        assert w.start >= end
        end = w.end


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | any_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(any_text, inner, max_size=3),
    max_leaves=6,
)


@st.composite
def jsonl_files(draw: st.DrawFn) -> bytes:
    lines = []
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["record", "record", "other", "raw"]))
        if kind == "record":
            record = {"text": draw(any_text), **draw(st.dictionaries(any_text, json_values,
                                                                        max_size=2))}
            lines.append(json.dumps(record, ensure_ascii=draw(st.booleans())))
        elif kind == "other":
            lines.append(json.dumps(draw(json_values)))
        else:
            lines.append(draw(any_text))
    text = "\n".join(lines)
    return text.encode(draw(st.sampled_from(["utf-8", "utf-16"])), "surrogatepass")


@FUZZ
@given(data=st.one_of(st.binary(max_size=200), jsonl_files()), fmt=st.sampled_from(["jsonl",
                                                                                    "txt"]))
def test_record_reader_never_crashes(scratch: Path, data: bytes, fmt: str) -> None:
    scratch.write_bytes(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            records = list(read_records(scratch, fmt))
    except NerkitError:
        return
    numbers = [n for n, _ in records]
    assert numbers == sorted(set(numbers))
    with warnings.catch_warnings(), mock.patch("nerkit.conll.text._CHUNK", 5):
        warnings.simplefilter("ignore")
        assert list(read_records(scratch, fmt)) == records  # chunk edges change nothing
    for _, record in records:
        assert isinstance(record["text"], str)
        json.dumps(record, ensure_ascii=False).encode("utf-8")  # writable as the output is
