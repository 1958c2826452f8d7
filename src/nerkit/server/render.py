"""Texts with their entities as one static, self-contained HTML file (like displaCy's ``ent``).

The file inlines the stylesheet of the web page (``nerkit/server/static/style.css``), so a
rendered file and ``nerkit serve``'s page look the same, and it loads nothing from anywhere:
it opens offline and can be mailed as is. Every piece of user text is HTML-escaped. A type's
colour is its place in ``types`` (the model's type list), as on the page.

>>> lima = {"text": "Lima", "label": "LOC", "start": 12, "end": 16, "score": 0.9}
>>> html = render_html(["Ana vive en Lima."], [[lima]])
>>> '<mark class="entity c0" data-label="LOC" title="LOC · score 0.900">Lima</mark>' in html
True
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nerkit.errors import NerkitError

if TYPE_CHECKING:  # pragma: no cover
    from nerkit.tagging.tagger import Entity, Tagger

PALETTE = 8  # colour classes c0..c7 in style.css


def stylesheet() -> str:
    """The stylesheet shared with the web page."""
    return resources.files("nerkit.server").joinpath("static", "style.css").read_text("utf-8")


def _fields(entity: Entity | Mapping[str, Any]) -> tuple[str, int, int, float | None]:
    """(label, start, end, score) of an :class:`Entity` or of its ``to_dict()`` form."""
    if isinstance(entity, Mapping):
        return entity["label"], entity["start"], entity["end"], entity.get("score")
    return entity.label, entity.start, entity.end, entity.score


def _document(index: int, text: str, entities: Sequence[Any], colours: dict[str, int]) -> str:
    parts = []
    cursor = 0
    for entity in sorted(entities, key=lambda e: _fields(e)[1]):
        label, start, end, score = _fields(entity)
        if start < cursor or end > len(text) or start >= end:
            raise NerkitError(
                f"document {index}: entity {label} at characters [{start}, {end}) overlaps "
                f"another or lies outside the text ({len(text)} characters); give the "
                "entities the tagger returned for this very text"
            )
        colour = colours.setdefault(label, len(colours)) % PALETTE
        title = label if score is None else f"{label} · score {score:.3f}"
        parts.append(html.escape(text[cursor:start]))
        parts.append(
            f'<mark class="entity c{colour}" data-label="{html.escape(label)}" '
            f'title="{html.escape(title)}">{html.escape(text[start:end])}</mark>'
        )
        cursor = end
    parts.append(html.escape(text[cursor:]))
    return f'<div class="nerkit-doc" id="doc-{index}">{"".join(parts)}</div>'


def render_html(
    texts: Sequence[str],
    results: Sequence[Sequence[Entity | Mapping[str, Any]]],
    title: str = "nerkit",
    *,
    types: Sequence[str] = (),
    lang: str | None = None,
) -> str:
    """One HTML page showing each text with its entities highlighted.

    ``results[i]`` are the entities of ``texts[i]`` (:class:`~nerkit.tagging.tagger.Entity` objects
    or their dicts; character offsets, end exclusive). ``types`` fixes the colour order (pass
    ``tagger.labels.types`` to match the web page); other labels follow in order of appearance.
    """
    if len(texts) != len(results):
        raise NerkitError(
            f"{len(texts)} texts but {len(results)} entity lists; give one list per text"
        )
    colours = {label: i for i, label in enumerate(dict.fromkeys(types))}
    documents = [
        _document(i, text, entities, colours)
        for i, (text, entities) in enumerate(zip(texts, results, strict=True), start=1)
    ]
    legend = "".join(
        f'<li class="legend-item c{i % PALETTE}" data-label="{html.escape(label)}">'
        f"{html.escape(label)}</li>"
        for label, i in colours.items()
    )
    n_entities = sum(len(r) for r in results)
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
            "</head>",
            "<body>",
            f"<header><h1>{html.escape(title)}</h1>",
            f'<p class="muted">{len(texts):,} documents, {n_entities:,} entities</p>',
            f'<ul class="legend">{legend}</ul></header>',
            "<main>",
            *documents,
            "</main>",
            "</body>",
            "</html>",
            "",
        ]
    )


def render_file(
    tagger: Tagger,
    input_path: str | os.PathLike[str],
    fmt: str = "txt",
    html_out: str | os.PathLike[str] = "entities.html",
) -> int:
    """Tag a ``txt`` (one document per line) or ``jsonl`` (``{"text": ...}``) file and write
    the highlighted HTML to ``html_out``; returns the number of documents.

    The file is read the way ``nerkit predict`` reads it, so the same inputs are accepted.
    """
    from nerkit.tagging.files import TEXT_FORMATS, check_input, read_records

    source = check_input(input_path, fmt, TEXT_FORMATS)
    texts = [record["text"] for _, record in read_records(source, fmt)]
    results = list(tagger.tag_many(texts))
    page = render_html(
        texts, results, title=source.name, types=tagger.labels.types, lang=tagger.meta.language
    )
    target = Path(html_out)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, target)
    return len(texts)
