"""Column files in, :class:`Sentence` objects out; named corpora; statistics.

A CoNLL-style file has one token per line, whitespace-separated columns (word first, tag last
by default), blank lines between sentences and ``-DOCSTART-`` lines marking documents. Real
files are messy, so the reader is strict where silence would lose data (a line with a different
column count or a tag that is not one is an error naming ``path:line``) and forgiving where the
intent is clear (Latin-1 and UTF-16/32 files are read as :mod:`nerkit.conll.text` decodes every
file; CoNLL-2002 Dutch ``-DOCSTART-`` lines glued to the first sentence of an article are
recognised).

This module imports only the standard library, :mod:`nerkit.conll.schemes` and
:mod:`nerkit.conll.text`.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import urllib.request
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nerkit.conll.schemes import detect_scheme, find_ill_formed, tag_problem, tags_to_spans
from nerkit.conll.text import iter_lines, open_text
from nerkit.errors import CorpusNotFoundError, DataFormatError

DOCSTART = "-DOCSTART-"


@dataclass(frozen=True)
class Sentence:
    """One sentence of a column file.

    ``line`` is the 1-based line number of its first token in ``path`` so that every later
    message (ill-formed tags, unknown labels) can point back at the file.
    """

    words: tuple[str, ...]
    tags: tuple[str, ...]
    doc_id: int = 0
    path: str = ""
    line: int = 0
    columns: tuple[tuple[str, ...], ...] = field(default=(), repr=False)

    def __len__(self) -> int:
        return len(self.words)


@dataclass(frozen=True)
class ColumnFile:
    """What a reader found in one file, plus how it read it (for reporting)."""

    path: str
    sentences: list[Sentence]
    encoding: str
    n_columns: int
    documents: int


# Columns are separated by ASCII whitespace only: a no-break space, U+0085 or U+2028 inside a
# word (as in "10\u00a0000") stays in the word instead of making a column of its own.
_COLUMN = re.compile(r"[^ \t\n\r\x0b\x0c\x1c-\x1f]+")


def split_columns(line: str) -> list[str]:
    """The columns of one line of a column file.

    >>> split_columns("10\u00a0000 Z\tO "), split_columns("  ")
    (['10\xa0000', 'Z', 'O'], [])
    """
    return line.split() if line.isascii() else _COLUMN.findall(line)


class _ColumnReader:
    """Turns the lines of one column file into sentences, checking each as it comes."""

    def __init__(self, path: Path, word_column: int, tag_column: int, tags: bool) -> None:
        self.path = path
        self.word_column = word_column
        self.tag_column = tag_column
        self.tags = tags
        self.sentences: list[Sentence] = []
        self.n_columns = 0
        self.doc_id = 0
        self.documents = 0
        self.valid_tags = {"O"}
        self.rows: list[tuple[str, ...]] = []  # of the sentence being read
        self._first_line = 0

    def add(self, number: int, cols: list[str], line: str) -> None:
        """Take line ``number`` (its text and its columns)."""
        if not cols:
            self.close()
            return
        if cols[0] == DOCSTART:
            # CoNLL-2003 puts -DOCSTART- in its own block; CoNLL-2002 Dutch glues it to the
            # first sentence of the article. Either way it is a boundary, never a token.
            self.close()
            self.doc_id += 1
            self.documents += 1
            return
        if self.n_columns == 0:
            self._first_row(number, len(cols))
        elif len(cols) != self.n_columns:
            raise DataFormatError(
                self.path,
                number,
                f"expected {self.n_columns} columns like the first line, found {len(cols)} "
                f"({line.strip()[:60]!r})",
                "fix the line; words must not contain spaces",
            )
        if self.tags and cols[self.tag_column] not in self.valid_tags:
            self._check_tag(number, cols[self.tag_column])
        if not self.rows:
            self._first_line = number
        self.rows.append(tuple(cols))

    def _first_row(self, number: int, n_columns: int) -> None:
        if n_columns < (2 if self.tags else 1):
            raise DataFormatError(
                self.path,
                number,
                f"found {n_columns} column, need a word and a tag column",
                "give a file with the tag in the last column, or use --tag-column",
            )
        for col in (self.word_column, self.tag_column) if self.tags else (self.word_column,):
            if not -n_columns <= col < n_columns:
                raise DataFormatError(
                    self.path, number, f"column {col} does not exist in a {n_columns}-column file",
                    "choose a column index that exists",
                )
        self.n_columns = n_columns

    def _check_tag(self, number: int, tag: str) -> None:
        problem = tag_problem(tag)
        if problem is not None:
            raise DataFormatError(
                self.path, number, problem,
                "fix the tag, or name the tag column (--tag-column; default: the last)",
            )
        self.valid_tags.add(tag)

    def close(self) -> None:
        """End the sentence being read, if any (a blank line, -DOCSTART- or the file's end)."""
        if self.rows:
            words = tuple(row[self.word_column] for row in self.rows)
            tags = (
                tuple(row[self.tag_column] for row in self.rows)
                if self.tags
                else ("O",) * len(words)
            )
            self.sentences.append(
                Sentence(words, tags, self.doc_id, str(self.path), self._first_line,
                         tuple(self.rows))
            )
        self.rows = []


def read_column_file(
    path: str | os.PathLike[str],
    *,
    tag_column: int = -1,
    word_column: int = 0,
    tags: bool = True,
) -> ColumnFile:
    """Read a CoNLL-style column file into sentences.

    ``tag_column`` and ``word_column`` are 0-based column indices (negative counts from the
    end). With ``tags=False`` the file may have a single column of words (text to tag).
    The file is decoded by :mod:`nerkit.conll.text`'s rules (UTF-8, UTF-16/32 by BOM, else
    Latin-1 with a warning; binary refused; lines end at ``\\n`` only).

    Raises :class:`DataFormatError` naming ``path:line`` for a missing or empty file, a line
    whose column count differs from the file's first token line, a tag that is not one
    (``X-PER``, ``PER``, ``B-``, a bare ``B``: see :func:`~nerkit.conll.schemes.tag_problem`),
    or a file without sentences.
    """
    p = Path(path)
    source = open_text(p)
    reader = _ColumnReader(p, word_column, tag_column, tags)
    blank = True
    valid = reader.valid_tags
    for number, line in iter_lines(source):
        cols = line.split() if line.isascii() else _COLUMN.findall(line)
        # the common case inline: one more token of the sentence being read, with a known tag
        if (
            reader.rows
            and len(cols) == reader.n_columns
            and cols[0] != DOCSTART
            and (not tags or cols[tag_column] in valid)
        ):
            reader.rows.append(tuple(cols))
        else:
            reader.add(number, cols, line)
        blank = blank and not line.strip()
    reader.close()
    if blank:
        raise DataFormatError(p, None, "file is empty", "give a CoNLL column file")
    if not reader.sentences:
        raise DataFormatError(p, None, "no sentences found (only -DOCSTART- lines?)",
                              "give a CoNLL column file with tokens")
    return ColumnFile(str(p), reader.sentences, source.name, reader.n_columns, reader.documents)


def read_sentences(path: str | os.PathLike[str], **kwargs: object) -> list[Sentence]:
    """Shortcut for ``read_column_file(path).sentences``."""
    return read_column_file(path, **kwargs).sentences  # type: ignore[arg-type]


def docstart_row(n_columns: int, tag_columns: int = 1) -> tuple[str, ...]:
    """The ``-DOCSTART-`` line of a file with ``n_columns`` columns, the last ``tag_columns`` of
    them tags: ``-X-`` in the other columns and ``O`` in the tag columns, as CoNLL-2003 writes
    it, so that conlleval and every CoNLL reader take it for a boundary.

    >>> docstart_row(4), docstart_row(3, tag_columns=2), docstart_row(1)
    (('-DOCSTART-', '-X-', '-X-', 'O'), ('-DOCSTART-', 'O', 'O'), ('-DOCSTART-',))
    """
    fill = max(n_columns - 1 - tag_columns, 0)
    tags = min(tag_columns, n_columns - 1)
    return (DOCSTART, *("-X-",) * fill, *("O",) * tags)


def column_lines(
    rows: Iterable[Sequence[Sequence[str]]],
    documents: Iterable[int] | None = None,
    tag_columns: int = 1,
) -> Iterator[str]:
    """The lines of a column file (each ending in a newline), ``-DOCSTART-`` blocks included.

    ``documents`` gives each sentence's document id (:attr:`Sentence.doc_id`); a
    ``-DOCSTART-`` block is written before every sentence whose id differs from the one before
    it, the first sentence compared with 0. The reader numbers documents from 1 at the first
    ``-DOCSTART-`` (sentences before it are document 0), so a file read and written back keeps
    every boundary it had and gains none.
    """
    previous = 0
    doc_ids = iter(documents) if documents is not None else None
    for sentence in rows:
        if doc_ids is not None:
            doc_id = next(doc_ids)
            if doc_id != previous and sentence:
                yield " ".join(docstart_row(len(sentence[0]), tag_columns)) + "\n\n"
            previous = doc_id
        for row in sentence:
            yield " ".join(row) + "\n"
        yield "\n"


def write_column_file(
    path: str | os.PathLike[str],
    rows: Iterable[Sequence[Sequence[str]]],
    documents: Iterable[int] | None = None,
    *,
    tag_columns: int = 1,
) -> None:
    """Write sentences as space-separated columns with a blank line after each sentence.

    ``rows`` yields one sentence at a time, each a sequence of token rows; ``documents`` (one id
    per sentence) keeps the ``-DOCSTART-`` boundaries (see :func:`column_lines`). The file is
    written to a temporary name and renamed, so a crash never leaves half a file; an
    unwritable path is an :class:`~nerkit.errors.OutputError`.
    """
    from nerkit.conll.outputs import atomic_open

    with atomic_open(path) as f:
        f.writelines(column_lines(rows, documents, tag_columns))


# ---------------------------------------------------------------- named corpora

@dataclass(frozen=True)
class NamedCorpus:
    """A public corpus nerkit knows by name: where its files live and how to get them."""

    name: str
    folder: str
    files: dict[str, str]  # split -> file name
    url: str
    sha256: dict[str, str]
    language: str


_CONLL2002_URL = (
    "https://raw.githubusercontent.com/teropa/nlp/f89bc5a15b516208de1cfe2abe9692b7ed9a43e2/"
    "resources/corpora/conll2002/"
)

# The CoNLL-2002 files as NLTK packaged them (teropa/nlp keeps a copy of NLTK's data at that
# commit; the files are byte-identical to the task's release re-encoded to UTF-8). The sha256
# of every file is checked on download: a changed mirror is an error, never a silent change of
# the data every score is measured on.
_CONLL2002_SHA256 = {
    "esp.train": "a20d95cab7d88a19a86f8c1ad6329325c99fbd9529ed978cbd7e31d4b01b4008",
    "esp.testa": "85c17793b77881c53d19017d9d0f1e6fb98b7ddcab54a5f24b05ed1793103c87",
    "esp.testb": "1f8f7a392c6d4979a5592a5794eed43d7869b46da6851bbcde99714149f1d016",
    "ned.train": "0a419dcb356b62c8cff38515675550b3d5dbea9f45a1c4956328dbd5cc7fcdbc",
    "ned.testa": "51259d4bfe52462f211d3d0b67173a7ecbfa296e199f6c6bd0895f4c78155057",
    "ned.testb": "2aa748edb82e6f9c4d82e57a4bed69ded18cfa4803122c75070335d513517488",
}

CORPORA: dict[str, NamedCorpus] = {
    "conll2002-es": NamedCorpus(
        "conll2002-es",
        "conll2002",
        {"train": "esp.train", "dev": "esp.testa", "test": "esp.testb"},
        _CONLL2002_URL,
        {k: v for k, v in _CONLL2002_SHA256.items() if k.startswith("esp.")},
        "es",
    ),
    "conll2002-nl": NamedCorpus(
        "conll2002-nl",
        "conll2002",
        {"train": "ned.train", "dev": "ned.testa", "test": "ned.testb"},
        _CONLL2002_URL,
        {k: v for k, v in _CONLL2002_SHA256.items() if k.startswith("ned.")},
        "nl",
    ),
}

SPLITS = ("train", "dev", "test")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def cache_dir() -> Path:
    """The user cache for downloaded corpora (``$XDG_CACHE_HOME/nerkit/data``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "nerkit" / "data"


def resolve_corpus(name: str, split: str, data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Find the file of ``split`` ("train", "dev", "test") of corpus ``name``.

    Looks, in order, in ``data_dir``, in ``$NERKIT_DATA``, in the user cache; then downloads
    from the public source and checks its checksum. Without a network the error says how to
    point nerkit at local files.
    """
    if name not in CORPORA:
        raise CorpusNotFoundError(
            f"unknown corpus {name!r}; known corpora: {', '.join(CORPORA)}, "
            "or give files with --train/--dev/--test"
        )
    if split not in SPLITS:
        raise CorpusNotFoundError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    corpus = CORPORA[name]
    filename = corpus.files[split]
    candidates: list[Path] = []
    if data_dir is not None:
        candidates.append(Path(data_dir))
    if os.environ.get("NERKIT_DATA"):
        candidates.append(Path(os.environ["NERKIT_DATA"]))
    candidates.append(cache_dir())
    for base in candidates:
        for folder in (base / corpus.folder, base):
            if (folder / filename).is_file():
                return folder / filename
    target = cache_dir() / corpus.folder / filename
    try:
        _download(corpus.url + filename, target, corpus.sha256.get(filename))
    except OSError as err:
        looked = ", ".join(str(c) for c in candidates)
        raise CorpusNotFoundError(
            f"{name}: {filename} is not in {looked} and could not be downloaded ({err}); "
            f"set NERKIT_DATA to a folder holding {corpus.folder}/{filename}, "
            "or pass --data-dir, or give files with --train/--dev/--test"
        ) from err
    return target


def _download(url: str, target: Path, sha256: str | None) -> None:
    """Fetch ``url`` to ``target``, keeping it only if its sha256 is ``sha256``.

    A file without a known checksum is not downloaded at all: nothing unverified lands in the
    cache, where later runs would take it for the real corpus.
    """
    if not sha256:
        raise OSError(f"no checksum is known for {url}, so it is not downloaded")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part")
    with urllib.request.urlopen(url, timeout=30) as response, tmp.open("wb") as f:
        shutil.copyfileobj(response, f)
    found = _sha256(tmp)
    if found != sha256:
        tmp.unlink()
        raise OSError(f"checksum mismatch for {url}: sha256 {found}, expected {sha256}")
    os.replace(tmp, target)


# ---------------------------------------------------------------- statistics

def corpus_stats(
    sentences: Sequence[Sentence], tokenizer: object | None = None
) -> dict[str, object]:
    """Counts a user checks before training: sentences, tokens, entities per type, lengths.

    Entities are counted the conlleval way (:func:`nerkit.conll.schemes.tags_to_spans`), so an I-
    tag that opens a chunk counts as an entity, as conlleval scores it. ``tokenizer`` (a
    Hugging Face fast tokenizer) adds the longest sentence in subwords.
    """
    per_type: Counter[str] = Counter()
    tags: Counter[str] = Counter()
    ill_formed: list[str] = []
    for s in sentences:
        for label, _, _ in tags_to_spans(s.tags):
            per_type[label] += 1
        tags.update(s.tags)
        for index, message in find_ill_formed(s.tags, "iob2"):
            ill_formed.append(f"{s.path}:{s.line + index}: {message}")
    longest = max(sentences, key=len) if sentences else None
    stats: dict[str, object] = {
        "sentences": len(sentences),
        "tokens": sum(len(s) for s in sentences),
        "documents": len({s.doc_id for s in sentences}),
        "entities": sum(per_type.values()),
        "entities_per_type": dict(sorted(per_type.items())),
        "tags": dict(sorted(tags.items())),
        "scheme": detect_scheme(s.tags for s in sentences),
        "longest_sentence_words": len(longest) if longest else 0,
        "longest_sentence_line": f"{longest.path}:{longest.line}" if longest else "",
        "ill_formed": len(ill_formed),
        "ill_formed_examples": ill_formed[:5],
    }
    if tokenizer is not None:
        lengths = subword_lengths(sentences, tokenizer)
        stats["longest_sentence_subwords"] = max(lengths) if lengths else 0
        stats["subwords"] = sum(lengths)
    return stats


def subword_lengths(sentences: Sequence[Sentence], tokenizer: object) -> list[int]:
    """Subword count of each sentence, without special tokens."""
    out: list[int] = []
    for batch in _chunks(sentences, 256):
        enc = tokenizer(  # type: ignore[operator]
            [list(s.words) for s in batch], is_split_into_words=True, add_special_tokens=False,
            verbose=False,  # counting pieces: the model's length limit does not apply
        )
        out.extend(len(ids) for ids in enc["input_ids"])
    return out


def _chunks(items: Sequence[Sentence], size: int) -> Iterator[Sequence[Sentence]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
