"""spaCy ``.spacy`` files (DocBin) in and out, through spaCy itself.

A DocBin holds Docs: tokens with their whitespace, entity annotation (``doc.ents``) and,
when set, sentence boundaries. Reading gives one :class:`~nerkit.conll.spans.TextSentence` per
sentence (a Doc without boundaries is one sentence) and one document per Doc; tokens that are
only whitespace or invisible format characters are no words (nerkit's word contract, see
:mod:`nerkit.conll.words`). A token without entity annotation (spaCy's "missing", not "O") or
an entity that crosses a sentence boundary is an error naming the Doc and token, never read as
"O" or cut in two. Writing builds Docs from nerkit's words, with the original text when the
sentence came from text, so spaCy sees the same text and entities.

``Sentence.path`` of a sentence read here is ``file#N`` (Doc ``N``, from 1) and
``Sentence.line`` the 1-based index of its first token in that Doc, so later messages
(``file#N:token``) point at the Doc and token.

spaCy is imported only here, when a ``.spacy`` file is read or written (``pip install
'nerkit[spacy]'``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from nerkit.conll.corpus import Sentence
from nerkit.conll.schemes import convert_tags
from nerkit.conll.spans import TextSentence, sentence_text
from nerkit.conll.words import is_format, is_separator
from nerkit.errors import ConfigError, DataFormatError

# the first two bytes of a DocBin file (zlib's header at the default level)
MAGIC = (b"\x78\x9c", b"\x78\x01", b"\x78\x5e", b"\x78\xda")


def _spacy() -> Any:
    try:
        import spacy
    except ImportError as err:
        raise ConfigError(
            "reading or writing .spacy files needs spaCy: pip install 'nerkit[spacy]'"
        ) from err
    return spacy


def _is_word(text: str) -> bool:
    return any(not is_separator(c) and not is_format(c) for c in text)


def read_docbin(path: str | os.PathLike[str], *, tags: bool = True) -> list[TextSentence]:
    """Sentences of a ``.spacy`` file; with ``tags=False`` entity annotation is not needed."""
    _spacy()
    from spacy.tokens import DocBin
    from spacy.vocab import Vocab

    p = Path(path)
    try:
        docs = list(DocBin().from_bytes(p.read_bytes()).get_docs(Vocab()))
    except (ValueError, KeyError, TypeError) as err:
        raise DataFormatError(p, None, f"not a spaCy DocBin ({err})",
                              "give a file written by DocBin.to_disk") from err
    problems: list[str] = []
    sentences: list[TextSentence] = []
    for n, doc in enumerate(docs, start=1):
        sents = list(doc.sents) if doc.has_annotation("SENT_START") else [doc[:]]
        for sent in sents:
            sentence = _sentence(p, n, sent, tags, problems)
            if sentence is not None:
                sentences.append(sentence)
    if problems:
        more = f"; {len(problems) - 1} more problems like it" if len(problems) > 1 else ""
        raise DataFormatError(
            p, None, f"{problems[0]}{more}",
            "annotate every token (O outside entities) and keep entities inside sentences",
        )
    if not sentences:
        raise DataFormatError(p, None, "no Docs with words found", "give a DocBin with Docs")
    return sentences


def _sentence(
    p: Path, n: int, sent: Any, tags: bool, problems: list[str]
) -> TextSentence | None:
    tokens = [t for t in sent if _is_word(t.text)]
    if not tokens:
        return None
    words, tag_list = [], []
    for t in tokens:
        if any(is_separator(c) for c in t.text):
            problems.append(f"Doc {n}, token {t.i + 1}: {t.text!r} contains a space")
        iob = t.ent_iob_
        if not iob and tags:
            problems.append(f"Doc {n}, token {t.i + 1} ({t.text!r}): no entity annotation")
        if iob == "I" and t.i == sent.start:
            problems.append(f"Doc {n}, token {t.i + 1} ({t.text!r}): a {t.ent_type_} entity "
                            "crosses the sentence boundary before it")
        words.append(t.text)
        tag_list.append(f"{iob}-{t.ent_type_}" if iob in ("B", "I") else "O")
    base = sent.start_char
    return TextSentence(
        tuple(words), tuple(tag_list), n, f"{p}#{n}", tokens[0].i + 1,
        tuple(zip(words, tag_list, strict=True)), sent.text,
        tuple(t.idx - base for t in tokens), tuple(t.idx + len(t.text) - base for t in tokens),
    )


def _documents(sentences: Sequence[Sentence], tags: Sequence[Sequence[str]]) -> Iterator[
        list[tuple[Sentence, Sequence[str]]]]:
    group: list[tuple[Sentence, Sequence[str]]] = []
    for s, t in zip(sentences, tags, strict=True):
        if group and s.doc_id != group[-1][0].doc_id:
            yield group
            group = []
        group.append((s, t))
    if group:
        yield group


def _doc_tokens(group: list[tuple[Sentence, Sequence[str]]]) -> dict[str, list[Any]]:
    """Words, spaces, sentence starts and IOB2 tags of one Doc, gaps kept as tokens."""
    out: dict[str, list[Any]] = {"words": [], "spaces": [], "sent_starts": [], "ents": []}

    def add(word: str, space: bool, start: bool, tag: str) -> None:
        out["words"].append(word)
        out["spaces"].append(space)
        out["sent_starts"].append(start)
        out["ents"].append(tag)

    for s, tags in group:
        if out["spaces"]:
            out["spaces"][-1] = True  # sentences of a Doc are separated by a space
        text, starts, ends = sentence_text(s)
        iob2 = convert_tags(list(tags), "iob2")
        if starts[0] > 0:
            add(text[: starts[0]], False, True, "O")
        for i, (a, b) in enumerate(zip(starts, ends, strict=True)):
            gap = text[b : starts[i + 1]] if i + 1 < len(starts) else text[b:]
            add(text[a:b], gap[:1] == " ", i == 0 and a == 0, iob2[i])
            rest = gap[1:] if gap[:1] == " " else gap
            if rest:
                add(rest, False, False, "O")
    return out


def to_docs(
    sentences: Sequence[Sentence], tags: Iterable[Sequence[str]] | None = None
) -> list[Any]:
    """spaCy Docs, one per document, from sentences (``tags`` replace their own)."""
    _spacy()
    from spacy.tokens import Doc
    from spacy.vocab import Vocab

    vocab = Vocab()
    tag_lists = list(tags) if tags is not None else [s.tags for s in sentences]
    return [Doc(vocab, **_doc_tokens(group)) for group in _documents(sentences, tag_lists)]


def write_docbin(
    path: str | os.PathLike[str],
    sentences: Sequence[Sentence],
    tags: Iterable[Sequence[str]] | None = None,
) -> int:
    """Write the sentences as a ``.spacy`` file (atomically); returns the number of Docs."""
    from nerkit.conll.outputs import write_bytes

    docs = to_docs(sentences, tags)
    from spacy.tokens import DocBin

    write_bytes(path, DocBin(docs=docs, store_user_data=False).to_bytes())
    return len(docs)
