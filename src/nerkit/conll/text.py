"""Text from files and from callers, read by one set of rules wherever it enters nerkit.

**Files** (column files, ``predict --input``, ``render --input``) are bytes, decoded so:

- a byte-order mark decides: UTF-8, UTF-16 or UTF-32 (little or big endian);
- without one, UTF-8 if the whole file is valid UTF-8, else Latin-1 (every byte is a character,
  so nothing is lost; a warning names the first line that is not UTF-8), unless the file holds
  a NUL byte, which no text in an 8-bit encoding has: it is refused as binary;
- lines end at ``\\n`` (a ``\\r`` before it is dropped) and nowhere else. ``str.splitlines``
  also breaks at U+0085 (a cp1252 "…" read as Latin-1), VT, FF, U+2028 and a lone ``\\r``,
  which would shift every later line number away from what ``grep -n`` and editors show.

**Strings** handed to nerkit (a :class:`~nerkit.tagging.tagger.Tagger`'s text, a command-line
argument, a JSON string) may hold lone surrogates (U+D800 to U+DFFF): Python decodes a non-UTF-8
byte of a command-line argument to one (``surrogateescape``), and JSON's ``"\\ud800"`` escape
makes one. No tokenizer takes them and no UTF-8 output can hold them. The rule, the same as the
HTTP server's: such text is refused with an error that names where the character is (file and
line, or character offset) and how to fix it; nothing is replaced behind the user's back, so
offsets always point into the text the user gave. Undecodable bytes in a file that declares
UTF-16/32 by its BOM are refused the same way.

This module imports only the standard library and :mod:`nerkit.errors`.
"""

from __future__ import annotations

import codecs
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from nerkit.errors import DataFormatError, TextError

__all__ = [
    "TextFile",
    "check_text",
    "find_surrogate",
    "iter_lines",
    "open_text",
    "split_lines",
    "surrogate_problem",
]

# Longest first: the UTF-32-LE mark starts with the UTF-16-LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_CHUNK = 1 << 20
_SURROGATE = re.compile("[\ud800-\udfff]")
_UTF8_FIX = "re-save the file as UTF-8 (or Latin-1 without NUL bytes)"


def split_lines(text: str) -> list[str]:
    """Lines of ``text``, broken at ``\\n`` only, each without its ``\\r\\n`` or ``\\n``.

    A final line break ends the last line rather than starting an empty one, as for
    :meth:`str.splitlines`; any other character, U+0085 and U+2028 included, stays in its line.

    >>> split_lines("a\\r\\nb\\x85c\\u2028d\\x0ce\\rf\\n\\ng\\n")
    ['a', 'b\\x85c\\u2028d\\x0ce\\rf', '', 'g']
    >>> split_lines(""), split_lines("\\n")
    ([], [''])
    """
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def find_surrogate(text: str) -> int:
    """Index of the first lone surrogate in ``text``, or -1 if it has none.

    >>> find_surrogate("a \\ud800 b"), find_surrogate("ok \\U0001f600")
    (2, -1)
    """
    found = _SURROGATE.search(text)
    return -1 if found is None else found.start()


def surrogate_problem(text: str, index: int) -> str:
    """What the lone surrogate at ``text[index]`` is, in words a user can act on.

    >>> surrogate_problem("caf\\udce9", 3)
    'a byte that is not UTF-8 (0xE9) at character 3'
    >>> surrogate_problem("a\\ud800", 1)
    'a lone surrogate U+D800 at character 1'
    """
    code = ord(text[index])
    if 0xDC80 <= code <= 0xDCFF:  # how surrogateescape carries an undecodable byte
        return f"a byte that is not UTF-8 (0x{code - 0xDC00:02X}) at character {index}"
    return f"a lone surrogate U+{code:04X} at character {index}"


_TEXT_FIX = (
    "give valid Unicode (decode bytes as UTF-8, with errors='replace' to drop invalid ones; "
    "pair or drop JSON \\ud800-style escapes)"
)


def check_text(text: str, where: str = "text", fix: str = _TEXT_FIX) -> str:
    """Return ``text`` unchanged, or raise :class:`TextError` if it holds a lone surrogate.

    ``where`` names the text in the message ("text 3", "argument 1"), ``fix`` says what to do.

    >>> check_text("Ana vive en Lima")
    'Ana vive en Lima'
    >>> check_text("a \\ud800 b")
    Traceback (most recent call last):
    nerkit.errors.TextError: text has a lone surrogate U+D800 at character 2; ...
    """
    index = find_surrogate(text)
    if index >= 0:
        raise TextError(f"{where} has {surrogate_problem(text, index)}; {fix}")
    return text


@dataclass(frozen=True)
class TextFile:
    """How a text file is to be decoded: ``encoding`` (a Python codec name), the BOM length to
    skip, and its number of lines when cheap to count (8-bit encodings), else ``None``."""

    path: Path
    encoding: str
    bom: int = 0
    lines: int | None = None

    @property
    def name(self) -> str:
        """The encoding as reports show it: ``utf-8``, ``utf-16``, ``utf-32`` or ``latin-1``."""
        return self.encoding.removesuffix("-le").removesuffix("-be")


def open_text(path: str | os.PathLike[str]) -> TextFile:
    """Find out how to decode the file at ``path`` (see the module's rules).

    Reads the file once, in chunks, so a large input costs no memory. Raises
    :class:`DataFormatError` for a missing file, a folder or a binary file; warns when a file
    without BOM is not UTF-8 and is read as Latin-1.
    """
    p = Path(path)
    if p.is_dir():
        raise DataFormatError(p, None, "is a folder, not a file", "name a file in it")
    try:
        f = p.open("rb")
    except FileNotFoundError:
        raise DataFormatError(p, None, "file not found", "check the path") from None
    except OSError as err:
        raise DataFormatError(p, None, f"cannot read it ({err.strerror})", "check it") from None
    with f:
        head = f.read(4)
        for bom, encoding in _BOMS:
            if head.startswith(bom) and encoding != "utf-8":
                return TextFile(p, encoding, len(bom))
        bom = len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0
        f.seek(0)
        return _scan_8bit(p, f, bom)


def _scan_8bit(p: Path, f: BinaryIO, bom: int) -> TextFile:
    """UTF-8 or Latin-1 for a file without a UTF-16/32 BOM; refuse NUL bytes; count lines."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    lines = 0  # line breaks before the current chunk
    invalid_line: int | None = None  # line of the first byte that is not UTF-8
    last = b""
    for chunk in iter(lambda: f.read(_CHUNK), b""):
        nul = chunk.find(b"\x00")
        if nul >= 0:
            raise DataFormatError(
                p, lines + chunk.count(b"\n", 0, nul) + 1,
                "holds a NUL byte, so it is binary, not text",
                "give a text file: UTF-8, Latin-1, or UTF-16/32 with a byte-order mark",
            )
        if invalid_line is None:
            buffered = len(decoder.getstate()[0])  # an unfinished sequence from the last chunk
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as err:
                invalid_line = lines + chunk.count(b"\n", 0, max(0, err.start - buffered)) + 1
        lines += chunk.count(b"\n")
        last = chunk
    if last and not last.endswith(b"\n"):
        lines += 1
    if invalid_line is None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            invalid_line = lines  # a sequence cut off at the end of the file
    if invalid_line is None:
        return TextFile(p, "utf-8", bom, lines)
    warnings.warn(
        f"{p}:{invalid_line}: not valid UTF-8; read the file as Latin-1 (ISO-8859-1) instead",
        stacklevel=3,
    )
    return TextFile(p, "latin-1", bom, lines)


def iter_lines(source: TextFile) -> Iterator[tuple[int, str]]:
    """``(line number, line)`` for each line of the file, decoded by ``source``'s rules.

    Streams in chunks; lines break at ``\\n`` only (see :func:`split_lines`).
    """
    decoder = codecs.getincrementaldecoder(source.encoding)("strict")
    number = 0
    pending = ""
    with source.path.open("rb") as f:
        f.seek(source.bom)
        offset = source.bom
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            text = pending + _decode_chunk(source, decoder, chunk, offset, number)
            offset += len(chunk)
            pieces = text.split("\n")
            pending = pieces.pop()
            if "\r" in text:
                pieces = [piece[:-1] if piece.endswith("\r") else piece for piece in pieces]
            yield from enumerate(pieces, start=number + 1)
            number += len(pieces)
        pending += _decode_chunk(source, decoder, b"", offset, number, final=True)
    if pending:
        yield number + 1, pending[:-1] if pending.endswith("\r") else pending


def _decode_chunk(
    source: TextFile,
    decoder: codecs.IncrementalDecoder,
    chunk: bytes,
    offset: int,
    lines_before: int,
    *,
    final: bool = False,
) -> str:
    try:
        return decoder.decode(chunk, final)
    except UnicodeDecodeError as err:
        line = lines_before + chunk[: max(err.start, 0)].decode(
            source.encoding, "replace"
        ).count("\n") + 1
        raise DataFormatError(
            source.path, line,
            f"not valid {source.name.upper()} ({err.reason}) near byte {offset + err.start}",
            _UTF8_FIX,
        ) from None
