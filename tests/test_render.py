"""Static HTML rendering: every entity shows up, user text is escaped, nothing is fetched;
CoNLL files drawn gold vs predicted with the analysis' kinds; saved predictions drawn as saved.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from nerkit.cli import main
from nerkit.conll.analysis import pair_entities
from nerkit.conll.corpus import read_column_file
from nerkit.errors import DataFormatError, NerkitError
from nerkit.server.render import render_html, stylesheet
from nerkit.server.render_files import render_conll, render_file, render_saved, tag_columns

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
    """Collects (label, text, title) of each <mark class="entity">, and every URL attribute;
    in gold-vs-predicted blocks also (row, label, text, kind, is marked as a difference)."""

    def __init__(self) -> None:
        super().__init__()
        self.marks: list[tuple[str, str, str]] = []
        self.rows: list[tuple[str, str, str, str, bool]] = []
        self.row_texts: list[tuple[str, str]] = []
        self.urls: list[str] = []
        self._open: dict[str, str] | None = None
        self._text: list[str] = []
        self._row: str | None = None
        self._row_text: list[str] = []
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.urls += [values[k] for k in ("href", "src") if k in values]
        if self._open is not None:
            raise AssertionError(f"a tag <{tag}> inside an entity: text was not escaped")
        if tag == "div" and "data-row" in values:
            self._row, self._row_text = values["data-row"], []
        if tag == "mark" and "entity" in values.get("class", ""):
            self._open, self._text = values, []

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)
        if self._row is not None:
            self._row_text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "mark" and self._open is not None:
            text = "".join(self._text)
            self.marks.append((self._open["data-label"], text, self._open["title"]))
            if self._row is not None:
                self.rows.append((self._row, self._open["data-label"], text,
                                  self._open["data-kind"], "diff" in self._open["class"]))
            self._open = None
        elif tag == "div" and self._row is not None:
            self.row_texts.append((self._row, "".join(self._row_text)))
            self._row = None


def parse(page: str) -> Marks:
    parser = Marks()
    parser.feed(page)
    return parser


def test_every_entity_is_marked_with_its_label_and_score() -> None:
    page = render_html(TEXTS, ENTITIES, title="demo", types=["LOC", "MISC", "ORG", "PER"])
    marks = parse(page).marks
    assert parse(page).rows == []  # plain documents have no gold/predicted rows
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


# ------------------------------------------------------------------ CoNLL files and saved entities

# word gold predicted, as `nerkit evaluate` writes it; every kind of difference, and words that
# must be escaped
PREDICTIONS = """\
Ana B-PER B-PER
vive O O
en O O
Banco B-ORG B-ORG
de I-ORG O
<España> I-ORG B-LOC

Hola O B-MISC
& B-LOC B-PER
"x" O O
Real B-ORG B-ORG
Madrid I-ORG I-ORG
y O O
Lima B-LOC O
"""


def _write(folder: Path, name: str, content: str) -> Path:
    path = folder / name
    path.write_text(content, encoding="utf-8")
    return path


def test_predictions_file_is_drawn_gold_vs_predicted(tmp_path: Path) -> None:
    source = _write(tmp_path, "test_predictions.txt", PREDICTIONS)
    out = tmp_path / "compare.html"
    summary = render_conll(source, out)
    assert "gold (column 2) vs predicted (column 3)" in summary
    assert "5 gold entities, 6 predicted, 5 differences" in summary
    page = out.read_text("utf-8")
    parsed = parse(page)
    # each row holds the sentence's text exactly, escaped in the page, unescaped when parsed
    sentences = read_column_file(source).sentences
    texts = [" ".join(s.words) for s in sentences]
    assert parsed.row_texts == [(row, t) for t in texts for row in ("gold", "predicted")]
    assert "&lt;España&gt;" in page and "<España>" not in page
    assert "&amp;</mark> &quot;x&quot;" in page
    # every mark carries the kind that nerkit.conll.analysis gives its pair
    expected = []
    for s in sentences:
        gold = [row[1] for row in s.columns]
        pred = [row[2] for row in s.columns]
        pairs = pair_entities(gold, pred)
        for side, row in (("gold", "gold"), ("pred", "predicted")):
            for pair in pairs:
                span = getattr(pair, side)
                if span is not None:
                    text = " ".join(s.words[span[1] : span[2]])
                    expected.append((row, span[0], text, pair.kind, pair.kind != "correct"))
    assert parsed.rows == expected
    kinds = {kind for _, _, _, kind, _ in parsed.rows}
    assert kinds == {"correct", "wrong_boundary", "spurious", "wrong_type", "missed"}
    assert '<div class="nerkit-compare sentence" data-line="8" title="' in page


def test_errors_only_keeps_sentences_with_a_difference(tmp_path: Path) -> None:
    content = PREDICTIONS + "\nTodo O O\nbien B-PER B-PER\n"
    source = _write(tmp_path, "p.txt", content)
    out = tmp_path / "p.html"
    assert "showing the 2 sentences with one" in render_conll(source, out, errors_only=True)
    assert out.read_text("utf-8").count('class="nerkit-compare sentence"') == 2
    render_conll(source, out)
    assert out.read_text("utf-8").count('class="nerkit-compare sentence"') == 3


@pytest.mark.parametrize(
    ("content", "columns"),
    [
        ("Ana B-PER B-PER\nvive O B-LOC\n", (1, 2)),  # word gold pred
        ("Ana B-PER O\nvive O O\n", (1, 2)),  # nothing predicted: still a predictions file
        ("Ana NP B-PER\nvive VMI O\n", (2, None)),  # CoNLL-2002 Dutch: word POS tag
        ("Ana NNP B-NP B-PER\nvive VBZ B-VP O\n", (3, None)),  # CoNLL-2003: chunk types differ
        ("Ana B-PER\nvive O\n", (1, None)),  # word tag
        ("Ana x B-PER B-PER\nvive y O O\n", (2, 3)),  # extra columns before gold and pred
    ],
)
def test_tag_columns_are_guessed_as_on_the_page(
    tmp_path: Path, content: str, columns: tuple[int, int | None]
) -> None:
    assert tag_columns(read_column_file(_write(tmp_path, "f.txt", content))) == columns


def test_tag_columns_can_be_chosen(tmp_path: Path) -> None:
    three = read_column_file(_write(tmp_path, "three.txt", "Ana B-PER B-LOC\n"))
    assert tag_columns(three, "gold") == (2, None)
    assert tag_columns(read_column_file(_write(tmp_path, "nl.txt", "Ana NP B-PER\n")),
                       "gold-pred") == (1, 2)
    two = read_column_file(_write(tmp_path, "two.txt", "Ana B-PER\n"))
    with pytest.raises(DataFormatError, match="two.txt: has 2 columns; gold and predicted"):
        tag_columns(two, "gold-pred")


def test_gold_only_file_and_a_bad_tag(tmp_path: Path) -> None:
    out = tmp_path / "gold.html"
    summary = render_conll(Path(__file__).parent / "data" / "tiny.test", out)
    assert summary.endswith("gold tags from column 3")
    page = out.read_text("utf-8")
    assert ("PER", "Ana González", "PER") in parse(page).marks
    assert parse(page).rows == []
    source = _write(tmp_path, "bad.txt", "Ana B-PER B-PER\nvive O O\n\nya NP O\n")
    with pytest.raises(DataFormatError, match=r"bad.txt:4: gold column: unknown tag 'NP'"):
        render_conll(source, out, columns="gold-pred")


def test_saved_predictions_are_drawn_without_a_model(tmp_path: Path) -> None:
    records = [{"text": t, "entities": e, "id": i}
               for i, (t, e) in enumerate(zip(TEXTS, ENTITIES, strict=True))]
    source = _write(tmp_path, "saved.jsonl", "".join(json.dumps(r) + "\n" for r in records))
    out = tmp_path / "saved.html"
    assert render_saved(source, out) == len(TEXTS)
    page = out.read_text("utf-8")
    assert "<script>" not in page
    assert [(label, text) for label, text, _ in parse(page).marks] == [
        (e["label"], e["text"]) for doc in ENTITIES for e in doc
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"text": "Ana"}', 'saved.jsonl:2: no "entities" list'),
        ('{"text": "Ana", "entities": [{"label": "PER", "start": "0", "end": 3}]}',
         "saved.jsonl:2: entity .* has no string label and integer start and end"),
        ('{"text": "Ana", "entities": [{"label": "PER", "start": 0, "end": 9}]}',
         r"saved.jsonl:2: entity PER at characters \[0, 9\) overlaps another or lies outside"),
        ("not json", "saved.jsonl:2: not valid JSON"),
    ],
)
def test_bad_saved_predictions_name_the_line(tmp_path: Path, line: str, message: str) -> None:
    source = _write(tmp_path, "saved.jsonl", '{"text": "ok", "entities": []}\n' + line + "\n")
    with pytest.raises(NerkitError, match=message):
        render_saved(source, tmp_path / "out.html")
    assert not (tmp_path / "out.html").exists()


def test_saved_predict_output_draws_as_tagged(tiny_model: Path, tmp_path: Path) -> None:
    """`nerkit predict` output rendered without the model shows what the model found."""
    from nerkit.tagging.tagger import Tagger

    texts = ["El presidente Felipe González viajó a Madrid.", "Hola <Ana> & la ONU."]
    source = _write(tmp_path, "in.txt", "\n".join(texts) + "\n")
    saved = tmp_path / "saved.jsonl"
    assert main(["predict", "--model", str(tiny_model), "--input", str(source),
                 "--output", str(saved)]) == 0
    out = tmp_path / "saved.html"
    assert main(["render", "--input", str(saved), "--format", "jsonl", "--html", str(out)]) == 0
    tagger = Tagger.load(tiny_model, threads=1)
    expected = [(e.label, e.text) for doc in tagger.tag_many(texts) for e in doc]
    assert [(label, text) for label, text, _ in parse(out.read_text("utf-8")).marks] == expected


def test_render_command_without_a_model(tmp_path: Path, capsys: Any) -> None:
    source = _write(tmp_path, "test_predictions.txt", PREDICTIONS)
    out = tmp_path / "out.html"
    assert main(["render", "--input", str(source), "--format", "conll", "--html", str(out)]) == 0
    assert "gold (column 2) vs predicted (column 3)" in capsys.readouterr().out
    assert main(["render", "--input", str(source), "--format", "conll", "--columns", "gold",
                 "--html", str(out)]) == 0
    assert "gold tags from column 3" in capsys.readouterr().out
    assert main(["render", "--input", str(source), "--html", str(out)]) == 2
    assert "--format txt tags the texts and needs --model" in capsys.readouterr().err
    assert main(["render", "--input", str(source), "--format", "conll", "--model", "m",
                 "--html", str(out)]) == 2
    assert "takes no --model" in capsys.readouterr().err


def test_unwritable_html_is_refused_before_the_model_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from nerkit.cli import main

    source = tmp_path / "docs.txt"
    source.write_text("Ana vive en Sevilla.\n", encoding="utf-8")
    # the model does not exist: the output is refused first, in one line
    assert main(["render", "--model", str(tmp_path / "no-model"), "--input", str(source),
                 "--html", "/proc/x.html"]) == 2
    err = capsys.readouterr().err
    assert "/proc/x.html" in err and "no-model" not in err and len(err.splitlines()) == 1
