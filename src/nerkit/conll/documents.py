"""How a labelled file is cut into documents: the user's choice, applied after reading.

Documents matter because a model trained with ``--context`` reads the neighbouring sentences of
the same document. A file's own boundaries are right for newswire (CoNLL-2003's and Dutch
CoNLL-2002's ``-DOCSTART-`` lines, one record per document in JSON Lines); a collection of
unrelated sentences (WikiANN-style fragments, shuffled data) has none, and read as one document
each sentence would take its unrelated neighbours for context: noise, and far more tagging work
per word on short fragments. The three modes:

- ``boundaries``: documents as the file marks them (``-DOCSTART-``, a record or a ``document``
  field in JSON, a Doc in a DocBin); a column file without markers is one document.
- ``one``: the whole file is one document.
- ``sentence``: every sentence is a document of its own (no context at all).

This module imports only the standard library and :mod:`nerkit.conll`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from nerkit.conll.corpus import Sentence
from nerkit.errors import ConfigError

DOCUMENT_MODES = ("boundaries", "one", "sentence")


def check_mode(mode: str) -> str:
    """``mode`` if it is one of :data:`DOCUMENT_MODES`, else a :class:`ConfigError`."""
    if mode not in DOCUMENT_MODES:
        raise ConfigError(
            f"documents {mode!r} is not a way to cut a file; choose one of "
            f"{', '.join(DOCUMENT_MODES)}"
        )
    return mode


def assign_documents(sentences: Sequence[Sentence], mode: str) -> list[Sentence]:
    """The sentences with document ids as ``mode`` says (see the module docstring).

    Ids keep the reader's convention: 0 for sentences before any boundary, then 1, 2...; so a
    file written back with :func:`nerkit.conll.corpus.write_column_file` marks exactly the
    boundaries chosen here.

    >>> s = [Sentence(("a",), ("O",), doc_id=d) for d in (1, 1, 2)]
    >>> [x.doc_id for x in assign_documents(s, "boundaries")]
    [1, 1, 2]
    >>> [x.doc_id for x in assign_documents(s, "one")]
    [0, 0, 0]
    >>> [x.doc_id for x in assign_documents(s, "sentence")]
    [1, 2, 3]
    """
    check_mode(mode)
    if mode == "boundaries":
        return list(sentences)
    if mode == "one":
        return [s if s.doc_id == 0 else dataclasses.replace(s, doc_id=0) for s in sentences]
    return [dataclasses.replace(s, doc_id=i) for i, s in enumerate(sentences, start=1)]


def count_documents(sentences: Sequence[Sentence]) -> int:
    """Documents in reading order: a new one wherever the id changes."""
    count = 0
    previous: int | None = None
    for s in sentences:
        if s.doc_id != previous:
            count += 1
            previous = s.doc_id
    return count


def describe(path: object, sentences: Sequence[Sentence], mode: str, marker: str) -> str:
    """The log line that states the choice: ``x.conll: 120 sentences in 3 documents (...)``.

    ``marker`` says what the file's own boundaries are (``-DOCSTART- lines``, ``records``).
    """
    n = count_documents(sentences)
    how = {
        "boundaries": f"documents=boundaries: at its {marker}",
        "one": "documents=one: the whole file",
        "sentence": "documents=sentence: every sentence alone",
    }[mode]
    return (
        f"{path}: {len(sentences)} sentences in {n} document{'s' if n != 1 else ''} ({how}); "
        "a model with context reads neighbours within a document only"
    )
