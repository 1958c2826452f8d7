"""Progress and output: bars and logs on stderr, stdout clean for ``--json``, ``--quiet``, and
scores in percent with two decimals wherever they are printed."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
from conftest import DATA

from nerkit.cli import build_parser, main
from nerkit.modeling import progress


@pytest.fixture(autouse=True)
def bars_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts with bars shown, whatever the environment says."""
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    progress.set_enabled(True)


def test_train_json_prints_json_alone_and_progress_on_stderr(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture, tmp_path: Path,
    tiny_encoder: Path,
) -> None:
    """``train --json``: stdout is the summary and nothing else (the Trainer's log dicts used
    to come first); the layer probe and the loop show bars on stderr; each log is a line with
    dev F1 in percent."""
    caplog.set_level(logging.INFO, logger="nerkit")
    code = main(["train", "--model", str(tiny_encoder), "--output-dir", str(tmp_path / "m"),
                 "--train", str(DATA / "tiny.train"), "--dev", str(DATA / "tiny.dev"),
                 "--epochs", "2", "--batch-size", "2", "--max-length", "16", "--lr", "1e-3",
                 "--logging-steps", "1", "--json"])
    out, err = capsys.readouterr()
    assert code == 0
    summary = json.loads(out)
    assert set(summary) == {"best_dev_f1", "dev_f1", "train_seconds"}
    assert 0.0 <= summary["dev_f1"] <= 100.0
    assert "layer probe" in err and "training" in err and "100%" in err
    logged = [r.getMessage() for r in caplog.records if r.name == "nerkit"]
    dev_lines = [m for m in logged if "dev F1" in m]
    assert len(dev_lines) == 2, logged  # one per epoch
    assert re.fullmatch(r"epoch 1 \(step 2/4\): dev F1 \d+\.\d\d \(precision \d+\.\d\d, "
                        r"recall \d+\.\d\d; \d+\.\d s\)", dev_lines[0]), dev_lines[0]
    assert any(re.match(r"epoch 0\.50 \(step 1/4\): loss \d\.\d{4}, learning rate", m)
               for m in logged), logged
    assert not any("{'" in m for m in logged)  # no Python dicts, in the log either


def test_quiet_before_or_after_the_command() -> None:
    parser = build_parser()
    common = ["--model", "m", "--data", "d"]
    assert parser.parse_args(["evaluate", *common, "--quiet"]).quiet
    assert parser.parse_args(["-q", "evaluate", *common]).quiet
    assert not parser.parse_args(["evaluate", *common]).quiet
    assert parser.parse_args(["predict", "--model", "m", "x", "-q"]).quiet
    for command in ("train", "tune", "export", "render", "score", "data"):  # every command
        sub = next(a for a in parser._actions if a.dest == "command").choices[command]
        assert "--quiet" in sub.format_help(), command


def test_quiet_leaves_stderr_empty_and_stdout_json(
    capsys: pytest.CaptureFixture[str], tiny_model: Path, tmp_path: Path
) -> None:
    code = main(["evaluate", "--model", str(tiny_model), "--data", str(DATA / "tiny.test"),
                 "--json", "--quiet", "--output-dir", str(tmp_path / "eval")])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    assert json.loads(out)["entity"]["micro"]["f1"] >= 0.0
    assert progress.enabled(), "main() puts the switch back for its caller"
    predictions = tmp_path / "pred.conll"
    code = main(["--quiet", "predict", "--model", str(tiny_model), "--input",
                 str(DATA / "tiny.test"), "--format", "conll", "--output", str(predictions)])
    out, err = capsys.readouterr()
    assert code == 0 and (out, err) == ("", "")
    assert predictions.read_text(encoding="utf-8").split("\n")[0].split()[0] == "Ana"


def test_the_tagging_bar_counts_every_word(tiny_model: Path) -> None:
    """The bar's total and count are the words tagged, in one call or over many, and from the
    worker thread ``tag_many`` tags on; outside a bar nothing is counted."""
    from nerkit.tagging.tagger import Tagger

    tagger = Tagger.load(tiny_model)
    sentences = [["Ana", "vive", "en", "Madrid"], ["Hola"], ["El", "Real", "Madrid", "ganó"]]
    with progress.tagging_progress("test") as bar:
        tagger.tag_sentences(sentences)
        assert (bar.n, bar.total) == (9, 9)
        tagger.tag_sentences(sentences[:1])
        assert (bar.n, bar.total) == (13, 13)
    texts = [f"Ana {i} vive en Madrid ." for i in range(40)]
    with progress.tagging_progress("texts") as bar:
        found = list(tagger.tag_many(texts, batch_size=2))  # 3 chunks: a worker thread tags
        assert len(found) == 40
        assert bar.n == bar.total == 40 * 6
    tagger.tag_sentences(sentences)  # no bar open: nothing to count, nothing fails


def test_an_inner_bar_takes_over_until_it_closes(tiny_model: Path) -> None:
    from nerkit.tagging.tagger import Tagger

    tagger = Tagger.load(tiny_model)
    with progress.tagging_progress("outer") as outer:
        with progress.tagging_progress("inner") as inner:
            tagger.tag_sentences([["Ana", "vive"]])
        tagger.tag_sentences([["Madrid"]])
    assert (inner.n, outer.n) == (2, 1)


def test_export_shows_its_steps_and_the_parity_scoring(
    capsys: pytest.CaptureFixture[str], tiny_model: Path, tmp_path: Path
) -> None:
    """``nerkit export``: a bar over its steps names each one (graph, int8, parity check), the
    parity check's tagging counts words; stdout keeps only the summary; ``--quiet`` hides all."""
    pytest.importorskip("onnxruntime")
    args = ["export", "--model", str(tiny_model), "--quantize", "int8",
            "--check-data", str(DATA / "tiny.test")]
    assert main([*args, "--onnx", str(tmp_path / "int8")]) == 0
    out, err = capsys.readouterr()
    for step in ("ONNX graph", "int8 quantization", "parity check"):
        assert step in err, step
    assert "export:" in err and "step" in err
    assert "parity: PyTorch" in err and "parity: export" in err
    assert out.startswith("wrote ") and "%|" not in out and "\r" not in out
    assert main(["--quiet", *args, "--onnx", str(tmp_path / "quiet")]) == 0
    assert capsys.readouterr().err == ""


def test_disabled_bars_print_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    progress.set_enabled(False)
    bar = progress.progress_bar(total=3, desc="hidden")
    bar.update(3)
    bar.close()
    assert capsys.readouterr().err == ""


def test_text_reports_print_every_score_in_percent(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """conlleval's report is in percent; the token table (fractions in the JSON, sklearn's
    scale) is printed in percent too, two decimals, so no printed score is on another scale."""
    path = tmp_path / "pred.txt"
    path.write_text("Felipe B-PER B-PER\nGonzález I-PER O\nen O O\nMadrid B-LOC B-LOC\n")
    assert main(["score", str(path)]) == 0
    out = capsys.readouterr().out
    assert "FB1:  50.00" in out  # conlleval: LOC right, PER's boundary wrong
    table = out.split("token-level scores (percent):")[1]
    assert re.search(r"\n\s+I-PER\s+0\.00\s+0\.00\s+0\.00\s+1\n", table), table
    assert re.search(r"\n\s+B-PER\s+100\.00\s+100\.00\s+100\.00\s+1\n", table), table
    assert " 0.75 " not in table and "75.00" in table  # token accuracy 3/4, as a percentage
