"""Static HTML rendering: every entity shows up, user text is escaped, nothing is fetched."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from nerkit.cli import main
from nerkit.errors import NerkitError
from nerkit.server.render import render_file, render_html, stylesheet

TEXTS = [
    "Felipe González viajó a Madrid.",
    '<script>alert("x")</script> & Ana <b>García</b>',
    "😀 Emoji y luego Sevilla.",
    "",
]
ENTITIES = [
    [
        {"text": "Felipe González", "label": "PER", "start": 0, "end": 15, "score": 0.98},
        {"text": "Madrid", "label": "LOC", "start": 24, "end": 30, "score": 0.91},
    ],
    [{"text": "Ana <b>García</b>", "label": "PER", "start": 30, "end": 47, "score": 0.5}],
    [{"text": "Sevilla", "label": "LOC", "start": 16, "end": 23, "score": 0.7}],
    [],
]


class Marks(HTMLParser):
    """Collects (label, text, title) of each <mark class="entity">, and every URL attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.marks: list[tuple[str, str, str]] = []
        self.urls: list[str] = []
        self._open: dict[str, str] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.urls += [values[k] for k in ("href", "src") if k in values]
        if self._open is not None:
            raise AssertionError(f"a tag <{tag}> inside an entity: text was not escaped")
        if tag == "mark" and "entity" in values.get("class", ""):
            self._open, self._text = values, []

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "mark" and self._open is not None:
            self.marks.append((self._open["data-label"], "".join(self._text),
                               self._open["title"]))
            self._open = None


def parse(page: str) -> Marks:
    parser = Marks()
    parser.feed(page)
    return parser


def test_every_entity_is_marked_with_its_label_and_score() -> None:
    page = render_html(TEXTS, ENTITIES, title="demo", types=["LOC", "MISC", "ORG", "PER"])
    marks = parse(page).marks
    assert [(label, text) for label, text, _ in marks] == [
        (e["label"], e["text"]) for doc in ENTITIES for e in doc
    ]
    assert marks[0][2] == "PER · score 0.980"
    # colours follow the given type order, as on the web page
    assert 'class="entity c3" data-label="PER"' in page
    assert 'class="entity c0" data-label="LOC"' in page


def test_text_is_escaped() -> None:
    page = render_html(TEXTS, ENTITIES, title="<i>title</i>")
    assert "<script>" not in page and "<b>" not in page and "<i>title" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; " in page
    assert "<title>&lt;i&gt;title&lt;/i&gt;</title>" in page


def test_text_between_entities_is_kept_whole() -> None:
    page = render_html(TEXTS[:1], ENTITIES[:1])
    doc = re.search(r'<div class="nerkit-doc" id="doc-1">(.*?)</div>', page, re.S)
    assert doc is not None
    assert re.sub(r"<[^>]+>", "", doc.group(1)) == TEXTS[0]


def test_self_contained_no_external_urls() -> None:
    page = render_html(TEXTS, ENTITIES)
    assert parse(page).urls == []
    assert not re.search(r"https?://", page)
    assert "@import" not in page and "url(" not in page
    assert stylesheet() in page  # the same stylesheet as the web page


@pytest.mark.parametrize(
    ("entities", "message"),
    [
        ([{"label": "PER", "start": 0, "end": 99}], "outside the text"),
        ([{"label": "PER", "start": 0, "end": 6}, {"label": "LOC", "start": 3, "end": 9}],
         "overlaps"),
        ([{"label": "PER", "start": 4, "end": 4}], "outside the text"),
    ],
)
def test_entities_that_do_not_fit_are_refused(entities: list[Any], message: str) -> None:
    with pytest.raises(NerkitError, match=message):
        render_html(["Felipe González"], [entities])


def test_one_entity_list_per_text() -> None:
    with pytest.raises(NerkitError, match="2 texts but 1 entity lists"):
        render_html(["a", "b"], [[]])


def test_render_file_with_the_tiny_model(tiny_model: Path, tmp_path: Path) -> None:
    from nerkit.tagging.tagger import Tagger

    tagger = Tagger.load(tiny_model, threads=1)
    source = tmp_path / "docs.jsonl"
    texts = ["El presidente Felipe González viajó a Madrid.", "Hola <Ana> & la ONU."]
    source.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), "utf-8")
    out = tmp_path / "docs.html"
    assert render_file(tagger, source, "jsonl", out) == 2
    marks = parse(out.read_text("utf-8")).marks
    expected = [(e.label, e.text) for doc in tagger.tag_many(texts) for e in doc]
    assert [(label, text) for label, text, _ in marks] == expected
    assert expected, "the tiny model should find something"


def test_render_command(tiny_model: Path, tmp_path: Path, capsys: Any) -> None:
    source = tmp_path / "docs.txt"
    source.write_text("Felipe González viajó a Madrid.\nLa ONU y Telefónica.\n", "utf-8")
    out = tmp_path / "out.html"
    args = ["render", "--model", str(tiny_model), "--input", str(source), "--html", str(out)]
    assert main(args) == 0
    assert "2 documents" in capsys.readouterr().out
    assert out.read_text("utf-8").count('class="nerkit-doc"') == 2
    assert main([*args[:-4], "--input", str(tmp_path / "missing.txt"), "--html", str(out)]) == 2
    assert "file not found" in capsys.readouterr().err
