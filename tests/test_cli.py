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
        (["data", "convert", "{tiny}", "/nonexistent/out.conll", "--to", "bioes"],
         "/nonexistent/out.conll: cannot write: the folder /nonexistent does not exist"),
        (["data", "convert", "{tiny}", "{tiny}.x"], "nothing to convert"),
        (["data", "convert", "{tiny}", "{tmp}/out.jsonl", "--to", "bioes"],
         "applies to CoNLL output only"),
        (["evaluate", "--model", "{model}", "--data", "{tiny}", "--output-dir", "{empty}/x"],
         "empty.conll/x: cannot create the folder"),
        (["evaluate", "--model", "{model}", "--data", "{tiny}", "--output-dir", "{model}"],
         "is the model folder, whose dev/test reports the training wrote"),
        (["predict", "--model", "{model}", "hola", "--output", "/nonexistent/x.jsonl"],
         "/nonexistent/x.jsonl: cannot write: the folder /nonexistent does not exist"),
        (["predict", "--model", "{model}", "--input", "{tiny}", "--output-format", "spacy"],
         "a spaCy DocBin is binary; give --output FILE.spacy"),
        (["predict", "--model", "{model}", "--input", "{json_txt}"],
         "json.txt: the name (.txt) says plain text, but the content is JSON Lines"),
        (["predict", "--model", "{model}", "--input", "{ragged}", "--format", "jsonl"],
         "--format jsonl says JSON Lines, but the content is plain text or columns"),
        (["predict", "--model", "{model}", "--input", "{json_txt}", "--format", "conll"],
         "--format conll says CoNLL columns, but the content is JSON Lines"),
        (["data", "stats", "{json_txt}", "--format", "conll"],
         "--format conll says CoNLL columns, but the content is JSON with spans"),
        (["data", "stats", "{spans}"],
         "spans.conll.jsonl:2: span [0, 2) 'Ma' LOC ends inside the word"),
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
        "spans": '{"text": "ok", "label": []}\n{"text": "Madrid", "label": [[0, 2, "LOC"]]}\n',
    }
    paths: dict[str, Path] = {}
    for name, text in files.items():
        paths[name] = tmp_path / f"{name}.conll"
        paths[name].write_text(text)
    paths["spans"] = paths["spans"].rename(tmp_path / "spans.conll.jsonl")
    paths["json_txt"] = tmp_path / "json.txt"
    paths["json_txt"].write_text('{"text": "Ana vive en Sevilla."}\n')
    paths["encoder"] = tiny_encoder
    paths["model"] = tiny_model
    paths["tiny"] = DATA / "tiny.dev"
    paths["tmp"] = tmp_path
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


def test_predict_detects_json_lines_and_reports_a_content_guess(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_model: Path
) -> None:
    """`predict --input docs.jsonl` without --format reads JSON Lines (the name says so and the
    content agrees); a name that says nothing leaves it to the content, and says so."""
    jsonl = tmp_path / "docs.jsonl"
    jsonl.write_text('{"id": 7, "text": "Ana vive en Sevilla."}\n')
    assert main(["predict", "--model", str(tiny_model), "--input", str(jsonl), "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["id"] == 7 and err == ""
    unnamed = tmp_path / "docs.out"
    unnamed.write_text(jsonl.read_text())
    assert main(["predict", "--model", str(tiny_model), "--input", str(unnamed), "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["text"] == "Ana vive en Sevilla."
    assert "docs.out: read as JSON Lines (from its content; --format to choose)" in err
    columns = tmp_path / "words.data"
    columns.write_text("Ana NP\nvive VMI\n\nSevilla NP\n")
    assert main(["predict", "--model", str(tiny_model), "--input", str(columns)]) == 0
    out, err = capsys.readouterr()
    assert "read as CoNLL columns" in err
    assert [line.split()[:2] for line in out.splitlines() if line][0] == ["Ana", "NP"]
    # --format txt is the way to tag JSON as text, on purpose
    assert main(["predict", "--model", str(tiny_model), "--input", str(jsonl), "--format", "txt",
                 "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out)["text"].startswith('{"id": 7')


def test_predict_output_formats(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                tiny_model: Path) -> None:
    from nerkit.conll.formats import read_labelled
    from nerkit.tagging.tagger import Tagger

    texts = tmp_path / "docs.txt"
    texts.write_text("Ana vive en Sevilla.\nFelipe viajó a Madrid con la ONU.\n")
    tagger = Tagger.load(tiny_model)
    expected = [[(e.start, e.end, e.label) for e in tagger(t)]
                for t in texts.read_text().splitlines()]
    studio = tmp_path / "tasks.json"
    assert main(["predict", "--model", str(tiny_model), "--input", str(texts), "--output",
                 str(studio), "--output-format", "label-studio", "--quiet"]) == 0
    tasks = json.loads(studio.read_text())
    assert [t["data"]["text"] for t in tasks] == texts.read_text().splitlines()
    for task, spans in zip(tasks, expected, strict=True):
        (prediction,) = task["predictions"]
        assert prediction["model_version"] == str(tiny_model)
        got = [(r["value"]["start"], r["value"]["end"], r["value"]["labels"][0])
               for r in prediction["result"]]
        assert got == spans
        assert all(r["type"] == "labels" and r["from_name"] == "label" and r["to_name"] == "text"
                   for r in prediction["result"])
    conll = tmp_path / "tagged.conll"
    assert main(["predict", "--model", str(tiny_model), "--input", str(texts), "--output",
                 str(conll), "--quiet"]) == 0  # the name says CoNLL
    assert conll.read_text().count("-DOCSTART- O") == 2  # each text is a document
    sentences = read_labelled(conll).sentences
    assert [s.words[:3] for s in sentences] == [("Ana", "vive", "en"), ("Felipe", "viajó", "a")]
    assert len(sentences) == 2


def test_evaluate_writes_its_own_folder_and_only_reads_the_model(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_model: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """By default evaluate writes evaluations/<model>/<data>/ under the working directory; the
    model folder (the training's dev_results.json, dev_predictions.txt...) is not touched."""
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in tiny_model.iterdir()
              if p.is_file()}
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "evaluate", "--model", str(tiny_model), "--data",
                       str(DATA / "tiny.dev"), "--split", "dev")
    assert code == 0
    folder = Path("evaluations") / tiny_model.name / "tiny.dev"
    assert f"wrote {folder}/dev_predictions.txt and dev_results.json" in out
    results = json.loads((folder / "dev_results.json").read_text())
    assert results["data"] == str(DATA / "tiny.dev") and results["documents"] == "boundaries"
    assert (folder / "dev_predictions.txt").read_text().startswith("Felipe B-PER ")
    after = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in tiny_model.iterdir()
             if p.is_file()}
    assert after == before


def test_data_convert_between_formats(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from nerkit.conll.formats import read_labelled

    original = read_labelled(DATA / "tiny.train").sentences
    steps = ["x.jsonl", "x.spacy", "back.conll"] if _has_spacy() else ["x.jsonl", "back.conll"]
    source = DATA / "tiny.train"
    for name in steps:
        code, out, _ = run(capsys, "data", "convert", str(source), str(tmp_path / name))
        assert code == 0 and "(4 sentences, 1 document," in out
        source = tmp_path / name
    back = read_labelled(source).sentences
    assert [(s.words, s.tags, s.doc_id) for s in back] == [
        (s.words, s.tags, s.doc_id) for s in original]
    assert source.read_text().startswith("-DOCSTART- O\n\nEl O\n")


def _has_spacy() -> bool:
    import importlib.util

    return importlib.util.find_spec("spacy") is not None
