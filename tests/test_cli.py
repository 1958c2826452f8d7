"""The command line: figures users check, and one-line errors with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DATA, conll2002

from nerkit.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_data_stats_esp_testb(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "data", "stats", str(conll2002("esp.testb")))
    assert code == 0
    assert "sentences 1517, tokens 51533" in out
    assert "entities 3559 (LOC 1084, MISC 340, ORG 1400, PER 735)" in out
    assert "scheme iob2" in out
    assert "ill-formed IOB2 tags: 1" in out


def test_data_stats_json_by_corpus_name(capsys: pytest.CaptureFixture[str]) -> None:
    data_dir = conll2002("esp.testb").parents[1]
    code, out, _ = run(capsys, "data", "stats", "conll2002-es", "--data-dir", str(data_dir),
                       "--json")
    assert code == 0
    stats = json.loads(out)
    testb = next(v for k, v in stats.items() if k.endswith("esp.testb"))
    assert testb["entities_per_type"]["MISC"] == 340
    train = next(v for k, v in stats.items() if k.endswith("esp.train"))
    assert train["longest_sentence_words"] == 1238


def test_data_stats_subwords(capsys: pytest.CaptureFixture[str], tiny_encoder: Path) -> None:
    code, out, _ = run(capsys, "data", "stats", str(DATA / "tiny.train"), "--model",
                       str(tiny_encoder))
    assert code == 0 and "subwords" in out


def test_score_matches_hand_count(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "pred.txt"
    # gold: PER(Felipe González), LOC(Madrid), stray I-ORG opens an ORG (conlleval)
    # pred: PER(Felipe) wrong span, LOC(Madrid) right, ORG right
    path.write_text(
        "Felipe B-PER B-PER\nGonzález I-PER O\nen O O\nMadrid B-LOC B-LOC\n\n"
        "ONU I-ORG B-ORG\n. O O\n"
    )
    code, out, _ = run(capsys, "score", str(path), "--json")
    assert code == 0
    entity = json.loads(out)["entity"]
    assert entity["micro"]["correct"] == 2
    assert entity["micro"]["predicted"] == 3
    assert entity["micro"]["support"] == 3
    assert entity["micro"]["f1"] == pytest.approx(200 / 3)
    code, out, _ = run(capsys, "score", str(path))
    assert "found: 3 phrases; correct: 2." in out


def test_data_convert(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "bioes.conll"
    code, _, _ = run(capsys, "data", "convert", str(DATA / "tiny.dev"), str(out), "--to", "bioes")
    assert code == 0
    assert out.read_text().splitlines()[0] == "Felipe NP S-PER"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["score", "missing.conll"], "missing.conll: file not found"),
        (["data", "stats", "{empty}"], "file is empty"),
        (["score", "{ragged}"], ":2: expected 3 columns like the first line, found 2"),
        (["score", "{badtag}"], "X-PER"),
        (["predict", "--model", "{encoder}", "hola"], "token-classification head"),
        (["evaluate", "--model", "{model}", "--data", "{unknown_type}"], "type 'EVENT'"),
        (["train", "--model", "x", "--output-dir", "o"], "no data given"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_encoder: Path, tiny_model: Path,
    argv: list[str], message: str,
) -> None:
    files = {
        "empty": "",
        "ragged": "a X O\nb O\n",
        "badtag": "a O X-PER\n",
        "unknown_type": "Mundial B-EVENT\n",
    }
    paths = {}
    for name, text in files.items():
        paths[name] = tmp_path / f"{name}.conll"
        paths[name].write_text(text)
    paths["encoder"] = tiny_encoder
    paths["model"] = tiny_model
    argv = [a.format(**paths) for a in argv]
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert err.startswith("nerkit: error:") and err.count("\n") == 1, err
    assert message in err
    assert "Traceback" not in err


def test_predict_text_and_files(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                tiny_model: Path) -> None:
    code, out, _ = run(capsys, "predict", "--model", str(tiny_model), "Felipe viajó a Madrid.")
    assert code == 0
    record = json.loads(out)
    assert record["text"] == "Felipe viajó a Madrid."
    assert isinstance(record["entities"], list)

    txt = tmp_path / "docs.txt"
    txt.write_text("Felipe viajó a Madrid.\n\nLa ONU firmó.\n")
    out_path = tmp_path / "out.jsonl"
    code, _, _ = run(capsys, "predict", "--model", str(tiny_model), "--input", str(txt),
                     "--output", str(out_path), "--quiet")
    lines = [json.loads(x) for x in out_path.read_text().splitlines()]
    assert [x["text"] for x in lines] == ["Felipe viajó a Madrid.", "", "La ONU firmó."]
    assert lines[1]["entities"] == []

    jsonl = tmp_path / "docs.jsonl"
    jsonl.write_text('{"id": 7, "text": "Ana vive en Sevilla."}\n')
    code, out, _ = run(capsys, "predict", "--model", str(tiny_model), "--input", str(jsonl),
                       "--format", "jsonl", "--quiet")
    record = json.loads(out)
    assert record["id"] == 7 and "entities" in record

    conll = tmp_path / "words.conll"
    conll.write_text("Ana\nvive\n\nSevilla\n")
    code, out, _ = run(capsys, "predict", "--model", str(tiny_model), "--input", str(conll),
                       "--format", "conll")
    rows = [line.split() for line in out.splitlines() if line]
    assert [r[0] for r in rows] == ["Ana", "vive", "Sevilla"]
    assert all(len(r) == 2 for r in rows)


def test_bad_jsonl_names_the_line(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                  tiny_model: Path) -> None:
    jsonl = tmp_path / "docs.jsonl"
    jsonl.write_text('{"text": "ok"}\n{"texto": "no"}\n')
    code, _, err = run(capsys, "predict", "--model", str(tiny_model), "--input", str(jsonl),
                       "--format", "jsonl", "--quiet")
    assert code == 2 and 'docs.jsonl:2: no "text" string field' in err


def test_console_script_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "nerkit.cli", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0 and result.stdout.startswith("nerkit ")
