"""Error reports: report.json parses and adds up, report.html escapes and draws every error
sentence, the PNG plots open, and the commands (report, evaluate --report) write them."""

from __future__ import annotations

import json
import random
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from nerkit.cli import main
from nerkit.conll.analysis import ERROR_KINDS, KINDS
from nerkit.errors import DataFormatError
from nerkit.report.build import report_from_file, training_curves
from nerkit.report.write import write_report

Image = pytest.importorskip("PIL.Image", reason="Pillow comes with matplotlib (test extras)")
pytest.importorskip("matplotlib", reason="pip install 'nerkit[report]' (in the test extras)")

DATA = Path(__file__).parent / "data"
PLOTS = ["confusion.png", "per_type.png", "error_kinds.png"]
WORDS = ["Ana", "<script>alert(1)</script>", "&amp;", '"Madrid"', "Banco", "de", "España",
         "😀", "la", "ONU", "y", "Lima"]
TAGS = ["O", "O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-MISC"]


def predictions_file(folder: Path, seed: int = 0, sentences: int = 40) -> Path:
    """A `word gold pred` file of random sentences whose predictions mostly copy gold."""
    rng = random.Random(seed)
    lines = ["-DOCSTART- O O", ""]
    for _ in range(sentences):
        for _ in range(rng.randint(1, 12)):
            gold = rng.choice(TAGS)
            pred = gold if rng.random() < 0.75 else rng.choice(TAGS)
            lines.append(f"{rng.choice(WORDS)} {gold} {pred}")
        lines.append("")
    path = folder / "test_predictions.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def first_word(error: dict[str, Any]) -> str:
    """The error's first word (of its gold or predicted entity, whichever starts first)."""
    start = min(e["start"] for e in (error["gold"], error["pred"]) if e is not None)
    return error["sentence_text"].split(" ")[start]


class Page(HTMLParser):
    """Comparison blocks (their data-line), marks (label, kind), images and URLs of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks: list[str] = []
        self.marks: list[tuple[str, str]] = []
        self.images: list[str] = []
        self.urls: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.tags.append(tag)
        self.urls += [values[k] for k in ("href", "src") if k in values]
        if tag == "div" and "nerkit-compare" in values.get("class", ""):
            self.blocks.append(values["data-line"])
        if tag == "mark":
            self.marks.append((values["data-label"], values["data-kind"]))
        if tag == "img":
            self.images.append(values["src"])


def test_report_files_are_written_and_valid(tmp_path: Path) -> None:
    source = predictions_file(tmp_path)
    report = report_from_file(source)
    paths = write_report(report, tmp_path / "report")
    assert [p.name for p in paths] == ["report.json", "report.html", *PLOTS]
    saved = json.loads((tmp_path / "report" / "report.json").read_text("utf-8"))
    assert saved["files"] == {"json": "report.json", "html": "report.html", "plots": PLOTS}
    assert saved["scale"] == "percent" and saved["training"] is None
    # the counts add up to the conlleval scores in the same report
    counts, micro = saved["analysis"]["counts"], saved["scores"]["micro"]
    assert counts["correct"] == micro["correct"]
    wrong = sum(counts[k] for k in ERROR_KINDS if k.startswith("wrong"))
    assert wrong + counts["missed"] == micro["support"] - micro["correct"]
    assert wrong + counts["spurious"] == micro["predicted"] - micro["correct"]
    # every error names the line of its first word in the predictions file
    lines = source.read_text("utf-8").splitlines()
    for error in saved["analysis"]["errors"]:
        path, line = error["where"].rsplit(":", 1)
        assert path == str(source)
        assert lines[int(line) - 1].split(" ")[0] == first_word(error)
    for name in PLOTS:
        with Image.open(tmp_path / "report" / name) as image:
            assert image.format == "PNG" and image.width > 300 and image.height > 200
            image.verify()


def test_report_html_escapes_and_draws_every_error_sentence(tmp_path: Path) -> None:
    report = report_from_file(predictions_file(tmp_path, seed=1))
    write_report(report, tmp_path / "out")
    page = (tmp_path / "out" / "report.html").read_text("utf-8")
    parsed = Page()
    parsed.feed(page)
    assert "script" not in parsed.tags  # the words' <script> stayed text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&amp;amp;" in page
    sentences = report["analysis"]["sentences"]
    assert parsed.blocks == [s["where"].rsplit(":", 1)[1] for s in sentences]
    expected = [  # each row's marks in text order
        (pair[side][0], pair["kind"])
        for s in sentences for side in ("gold", "pred")
        for pair in sorted((p for p in s["pairs"] if p[side]), key=lambda p: p[side][1])
    ]
    assert parsed.marks == expected
    errors = sum(report["analysis"]["counts"][k] for k in ERROR_KINDS)
    assert page.count("<li>") == errors  # one line per error
    # nothing is fetched from anywhere: the plots are files beside the page
    assert parsed.images == PLOTS and parsed.urls == PLOTS
    assert not re.search(r"https?://", page)


def _history_file(folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    history = [
        {"loss": 1.2, "learning_rate": 1e-4, "epoch": 0.5, "step": 10},
        {"loss": 0.7, "learning_rate": 5e-5, "epoch": 1.0, "step": 20},
        {"eval_f1": 61.5, "eval_precision": 60.0, "epoch": 1.0, "step": 20},
        {"loss": 0.4, "epoch": 1.5, "step": 30},
        {"eval_f1": 70.25, "epoch": 2.0, "step": 40},
        {"train_runtime": 9.0, "train_loss": 0.6, "epoch": 2.0, "step": 40},
    ]
    (folder / "eval_results.json").write_text(json.dumps({"log_history": history}), "utf-8")
    return folder


def test_training_curves_from_the_log_history(tmp_path: Path) -> None:
    run = _history_file(tmp_path / "run")
    curves = training_curves(run)
    assert curves is not None
    assert [(p["step"], p["loss"]) for p in curves["loss"]] == [(10, 1.2), (20, 0.7), (30, 0.4)]
    assert [(p["epoch"], p["f1"]) for p in curves["dev_f1"]] == [(1.0, 61.5), (2.0, 70.25)]
    assert training_curves(tmp_path) is None  # no eval_results.json
    (tmp_path / "eval_results.json").write_text('{"log_history": [{"epoch": 1}]}', "utf-8")
    assert training_curves(tmp_path) is None  # nothing to draw
    (tmp_path / "eval_results.json").write_text("{", "utf-8")
    with pytest.raises(DataFormatError, match="eval_results.json: not valid JSON"):
        training_curves(tmp_path)
    # a predictions file in a model folder takes that folder's curves
    report = report_from_file(predictions_file(run))
    assert report["training"] == curves
    names = [p.name for p in write_report(report, tmp_path / "out")]
    assert names[-1] == "training.png"
    with Image.open(tmp_path / "out" / "training.png") as image:
        image.verify()


def test_report_command(tmp_path: Path, capsys: Any) -> None:
    source = predictions_file(tmp_path)
    out = tmp_path / "out"
    assert main(["report", str(source), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("F1 ") and "spurious" in text and str(out / "report.html") in text
    assert main(["report", str(source), "--out", str(out), "--no-plots", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["files"]["plots"] == [] and set(printed["counts"]) == set(KINDS)
    assert json.loads((out / "report.json").read_text("utf-8"))["files"]["plots"] == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "missing.txt: file not found"),
        ("Ana B-PER\n", "has 2 columns; a predictions file has a word, a gold and a predicted"),
        ("Ana B-PER B-PER\nvive NC O\n", r"p.txt:2: gold column: unknown tag 'NC'"),
    ],
)
def test_report_command_refuses_bad_files(
    tmp_path: Path, capsys: Any, content: str | None, message: str
) -> None:
    source = tmp_path / ("missing.txt" if content is None else "p.txt")
    if content is not None:
        source.write_text(content, "utf-8")
    assert main(["report", str(source), "--out", str(tmp_path / "out")]) == 2
    assert re.search(message, capsys.readouterr().err)
    assert not (tmp_path / "out").exists()


def test_report_folder_must_not_be_a_file(tmp_path: Path, capsys: Any) -> None:
    source = predictions_file(tmp_path)
    (tmp_path / "taken").write_text("", "utf-8")
    assert main(["report", str(source), "--out", str(tmp_path / "taken")]) == 2
    assert "taken is a file; name a folder" in capsys.readouterr().err
    # evaluate says so before loading any model (this one does not even exist)
    args = ["evaluate", "--model", str(tmp_path / "no-model"), "--data", str(source)]
    assert main([*args, "--report", str(tmp_path / "taken")]) == 2
    assert "taken is a file; name a folder" in capsys.readouterr().err


def test_evaluate_writes_a_report(tiny_model: Path, tmp_path: Path, capsys: Any) -> None:
    data = DATA / "tiny.test"
    out = tmp_path / "report"
    args = ["evaluate", "--model", str(tiny_model), "--data", str(data), "--report", str(out),
            "--output-dir", str(tmp_path / "eval")]
    assert main([*args, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    report = json.loads((out / "report.json").read_text("utf-8"))
    assert printed["report"]["counts"] == report["analysis"]["counts"]
    assert report["scores"] == printed["entity"]  # the same scores evaluate prints
    assert report["source"]["data"] == str(data) and report["training"] is not None
    assert report["files"]["plots"] == [*PLOTS, "training.png"]
    # errors point into the corpus file, not the predictions file
    lines = data.read_text("utf-8").splitlines()
    for error in report["analysis"]["errors"]:
        path, line = error["where"].rsplit(":", 1)
        assert path == str(data)
        assert lines[int(line) - 1].split()[0] == first_word(error)
