"""Texts with their entities as one static, self-contained HTML file (like displaCy's ``ent``).

The file inlines the stylesheet of the web page (``nerkit/server/static/style.css``), so a
rendered file and ``nerkit serve``'s page look the same, and it loads nothing from anywhere:
it opens offline and can be mailed as is. Every piece of user text is HTML-escaped. A type's
colour is its place in ``types`` (the model's type list), as on the page.

Two kinds of blocks are drawn: a document with its entities (:func:`render_html`), and a
sentence with gold and predicted entities one above the other (:func:`comparison_html`), each
mark carrying the kind :mod:`nerkit.conll.analysis` gives its pair, differences outlined. The
web page (``static/app.js``) builds the same markup, so a test can compare the two.

>>> lima = {"text": "Lima", "label": "LOC", "start": 12, "end": 16, "score": 0.9}
>>> html = render_html(["Ana vive en Lima."], [[lima]])
>>> '<mark class="entity c0" data-label="LOC" title="LOC · score 0.900">Lima</mark>' in html
True
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nerkit.conll.analysis import KIND_NAMES, KINDS
from nerkit.errors import NerkitError

if TYPE_CHECKING:  # pragma: no cover
    from nerkit.tagging.tagger import Entity

PALETTE = 8  # colour classes c0..c7 in style.css
ROWS = (("gold", "gold"), ("pred", "predicted"))  # (side of a pair, row name shown)


@dataclass(frozen=True)
class Mark:
    """One highlighted stretch of a text: character offsets (end exclusive) and what to show."""

    start: int
    end: int
    label: str
    title: str
    kind: str | None = None  # an analysis kind, for gold-vs-predicted rows


def stylesheet() -> str:
    """The stylesheet shared with the web page."""
    return resources.files("nerkit.server").joinpath("static", "style.css").read_text("utf-8")


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to a temporary name beside ``path`` and rename it: never half a file."""
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)


def colour(label: str, colours: dict[str, int]) -> int:
    """A label's colour class number; a label not yet in ``colours`` gets the next one."""
    return colours.setdefault(label, len(colours)) % PALETTE


def highlight(text: str, marks: Sequence[Mark], colours: dict[str, int], where: str) -> str:
    """``text`` escaped, each mark wrapped in ``<mark class="entity cN">``.

    Marks must lie inside the text and not overlap; else :class:`NerkitError` naming ``where``.
    """
    parts = []
    cursor = 0
    for mark in sorted(marks, key=lambda m: m.start):
        if mark.start < cursor or mark.end > len(text) or mark.start >= mark.end:
            raise NerkitError(
                f"{where}: entity {mark.label} at characters [{mark.start}, {mark.end}) "
                f"overlaps another or lies outside the text ({len(text)} characters); give "
                "the entities the tagger returned for this very text"
            )
        classes = f"entity c{colour(mark.label, colours)}"
        kind = ""
        if mark.kind is not None:
            classes += "" if mark.kind == "correct" else " diff"
            kind = f' data-kind="{mark.kind}"'
        parts.append(html.escape(text[cursor : mark.start]))
        parts.append(
            f'<mark class="{classes}" data-label="{html.escape(mark.label)}"{kind} '
            f'title="{html.escape(mark.title)}">{html.escape(text[mark.start : mark.end])}</mark>'
        )
        cursor = mark.end
    parts.append(html.escape(text[cursor:]))
    return "".join(parts)


def _fields(entity: Entity | Mapping[str, Any]) -> tuple[str, int, int, float | None]:
    """(label, start, end, score) of an :class:`Entity` or of its ``to_dict()`` form."""
    if isinstance(entity, Mapping):
        return entity["label"], entity["start"], entity["end"], entity.get("score")
    return entity.label, entity.start, entity.end, entity.score


def document_html(
    index: int, text: str, entities: Sequence[Any], colours: dict[str, int], where: str = ""
) -> str:
    """One text with its entities (:class:`Entity` objects or their dicts)."""
    marks = []
    for entity in entities:
        label, start, end, score = _fields(entity)
        title = label if score is None else f"{label} · score {score:.3f}"
        marks.append(Mark(start, end, label, title))
    body = highlight(text, marks, colours, where or f"document {index}")
    return f'<div class="nerkit-doc" id="doc-{index}">{body}</div>'


def comparison_html(
    words: Sequence[str],
    pairs: Sequence[Mapping[str, Any]],
    colours: dict[str, int],
    *,
    where: str = "",
    line: int | None = None,
) -> str:
    """A sentence drawn twice, gold entities above predicted ones, each mark with its kind.

    ``pairs`` are :func:`nerkit.conll.analysis.analyze`'s sentence pairs (``kind``, ``gold``
    and ``pred`` spans as ``[label, start, end]`` in words, or ``None``). The text is the
    words joined by spaces. Marks of pairs that are not ``correct`` get the class ``diff``.
    """
    starts = []
    offset = 0
    for word in words:
        starts.append(offset)
        offset += len(word) + 1
    text = " ".join(words)
    rows = []
    for side, name in ROWS:
        marks = [
            Mark(starts[span[1]], starts[span[2] - 1] + len(words[span[2] - 1]), span[0],
                 f"{span[0]} · {KIND_NAMES[pair['kind']]}", pair["kind"])
            for pair in pairs
            if (span := pair[side]) is not None
        ]
        body = highlight(text, marks, colours, where or "sentence")
        rows.append(f'<div class="nerkit-doc {side}" data-row="{name}">{body}</div>')
    line_attr = f' data-line="{line}"' if line is not None else ""
    title = f' title="{html.escape(where)}"' if where else ""
    return f'<div class="nerkit-compare sentence"{line_attr}{title}>{"".join(rows)}</div>'


def legend_html(colours: Mapping[str, int], *, kinds: bool = False) -> str:
    """The type legend (colours), and with ``kinds`` the legend of the difference marks."""
    items = "".join(
        f'<li class="legend-item c{i % PALETTE}" data-label="{html.escape(label)}">'
        f"{html.escape(label)}</li>"
        for label, i in colours.items()
    )
    legend = f'<ul class="legend">{items}</ul>'
    if kinds:
        legend += '<ul class="legend kinds">' + "".join(
            f'<li class="kind-item{"" if kind == "correct" else " diff"}" data-kind="{kind}">'
            f"{KIND_NAMES[kind]}</li>"
            for kind in KINDS
        ) + "</ul>"
    return legend


def page_html(
    title: str, summary: str, body: Sequence[str], *, legend: str = "", lang: str | None = None,
    head: str = "",
) -> str:
    """A whole page around some blocks, with the shared stylesheet inlined.

    ``title`` and ``summary`` are escaped here; ``body``, ``legend`` and ``head`` are HTML
    already built (and escaped) by this module's functions.
    """
    lang_attr = f' lang="{html.escape(lang)}"' if lang else ""
    return "\n".join(
        [
            "<!doctype html>",
            f"<html{lang_attr}>",
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{html.escape(title)}</title>",
            f"<style>\n{stylesheet()}</style>",
            head,
            "</head>",
            "<body>",
            f"<header><h1>{html.escape(title)}</h1>",
            f'<p class="muted">{html.escape(summary)}</p>',
            f"{legend}</header>",
            "<main>",
            *body,
            "</main>",
            "</body>",
            "</html>",
            "",
        ]
    )


def render_html(
    texts: Sequence[str],
    results: Sequence[Sequence[Entity | Mapping[str, Any]]],
    title: str = "nerkit",
    *,
    types: Sequence[str] = (),
    lang: str | None = None,
    where: Sequence[str] = (),
) -> str:
    """One HTML page showing each text with its entities highlighted.

    ``results[i]`` are the entities of ``texts[i]`` (:class:`~nerkit.tagging.tagger.Entity` objects
    or their dicts; character offsets, end exclusive). ``types`` fixes the colour order (pass
    ``tagger.labels.types`` to match the web page); other labels follow in order of appearance.
    ``where[i]`` (such as ``file:line``) names a text in errors.
    """
    if len(texts) != len(results):
        raise NerkitError(
            f"{len(texts)} texts but {len(results)} entity lists; give one list per text"
        )
    colours = {label: i for i, label in enumerate(dict.fromkeys(types))}
    documents = [
        document_html(i, text, entities, colours, where[i - 1] if where else "")
        for i, (text, entities) in enumerate(zip(texts, results, strict=True), start=1)
    ]
    n_entities = sum(len(r) for r in results)
    summary = f"{len(texts):,} documents, {n_entities:,} entities"
    return page_html(title, summary, documents, legend=legend_html(colours), lang=lang)
