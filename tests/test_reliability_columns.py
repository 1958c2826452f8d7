"""Column files and outputs: bad tags at file:line everywhere, score's own needs, outputs that
cannot be written refused before the work, never a .tmp left behind."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from conftest import DATA

from nerkit.cli import main
from nerkit.conll.corpus import read_column_file
from nerkit.conll.labels import LabelSet
from nerkit.conll.outputs import atomic_output, check_output
from nerkit.errors import DataFormatError, LabelError, OutputError


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code: int, err: str) -> str:
    assert code == 2, err
    assert err.startswith("nerkit: error:") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


BAD_TAGS = {
    "X-PER": "unknown tag 'X-PER': a tag is O, or B-, I-, E-, S- (BILOU: L-, U-) and a type",
    "PER": "unknown tag 'PER'",
    "B-": "tag 'B-' has an empty type; write B-TYPE, as in B-PER",
    "B": "tag 'B' has no entity type; write B-TYPE, as in B-PER",
}


@pytest.mark.parametrize("tag", list(BAD_TAGS))
def test_bad_tag_named_at_file_line(tmp_path: Path, tag: str) -> None:
    path = tmp_path / "f.conll"
    path.write_text(f"-DOCSTART- O\n\nLa O\nONU B-ORG\n\nAna {tag}\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=rf"f\.conll:6: {BAD_TAGS[tag][:40]}"):
        read_column_file(path)


@pytest.mark.parametrize("tag", list(BAD_TAGS))
def test_data_stats_score_and_train_agree_on_bad_tags(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_encoder: Path, tag: str
) -> None:
    data = tmp_path / "train.conll"
    data.write_text(f"La O O\nAna O {tag}\n", encoding="utf-8")
    errors = [
        run(capsys, "data", "stats", str(data)),
        run(capsys, "score", str(data)),
        run(capsys, "train", "--model", str(tiny_encoder), "--train", str(data),
            "--output-dir", str(tmp_path / "out")),
    ]
    for code, _, err in errors:
        assert "train.conll:2: " in one_line_error(code, err) and BAD_TAGS[tag] in err
    # the output folder is checked (and its run recorded) before the data is read, but a
    # refused run leaves no model in it
    assert not (tmp_path / "out" / "config.json").exists()


def test_untyped_tags_refused_by_the_label_set() -> None:
    with pytest.raises(LabelError, match="tag 'B' has no entity type"):
        LabelSet.from_tags([["B", "I", "O"]])


def test_score_on_a_word_and_tag_file_says_what_it_needs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "train.conll"
    path.write_text("La O\nONU B-ORG\n", encoding="utf-8")
    err = one_line_error(*run(capsys, "score", str(path))[::2])
    assert "train.conll:1: score needs gold and predicted tag columns (the last two)" in err
    assert "looks like a file of words and tags" in err
    path.write_text("La\nONU\n", encoding="utf-8")
    err = one_line_error(*run(capsys, "score", str(path))[::2])
    assert "score needs gold and predicted tag columns" in err and "has 1 column" in err


def test_score_names_the_bad_column_and_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "pred.conll"
    path.write_text("La O O\nONU B-ORG B-ORG\n\nAna B-PER PER\n", encoding="utf-8")
    err = one_line_error(*run(capsys, "score", str(path))[::2])
    assert "pred.conll:4: the predicted tag column (3 of 3): unknown tag 'PER'" in err
    path.write_text("La O O\nONU NC B-ORG\n", encoding="utf-8")
    err = one_line_error(*run(capsys, "score", str(path))[::2])
    assert "pred.conll:2: the gold tag column (2 of 3): unknown tag 'NC'" in err


def test_score_accepts_a_utf16_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "pred.conll"
    path.write_bytes("España B-LOC B-LOC\nes O O\n".encode("utf-16"))
    code, out, err = run(capsys, "score", str(path), "--json")
    assert code == 0, err
    assert json.loads(out)["entity"]["micro"]["f1"] == 100.0


def test_no_function_over_80_lines_in_the_readers() -> None:
    src = Path(__file__).parents[1] / "src" / "nerkit"
    for module in ("conll/corpus.py", "conll/text.py", "conll/outputs.py", "tagging/files.py",
                   "tagging/evaluate.py", "modeling/folder.py", "modeling/folder_check.py",
                   "modeling/manifest.py"):
        tree = ast.parse((src / module).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1  # type: ignore[operator]
                assert length <= 80, f"{module}: {node.name} has {length} lines"


# ------------------------------------------------------------------ outputs


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("missing/out.jsonl", "folder missing does not exist; create it first"),
        (".", "is a folder; name a file to write"),
        ("/proc/x.jsonl", "cannot create a file in /proc"),
        ("docs.txt", "is also the input; write the output to another file"),
        ("docs.txt/out.jsonl", "docs.txt is a file, not a folder"),
    ],
)
def test_unwritable_output_refused_before_the_model_loads(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, output: str, message: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs.txt").write_text("Ana vive en Sevilla.\n", encoding="utf-8")
    # the model does not exist: an error about the output proves it came first
    code, _, err = run(capsys, "predict", "--model", "no-such-model", "--input", "docs.txt",
                       "--output", output)
    assert message in one_line_error(code, err)
    assert not list(tmp_path.glob("**/*.tmp"))


def test_failure_mid_output_leaves_neither_file_nor_tmp(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_model: Path
) -> None:
    docs = tmp_path / "docs.jsonl"
    docs.write_text('{"text": "Ana"}\n{"text": "Lima"}\n{"texto": "no"}\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    code, _, err = run(capsys, "predict", "--model", str(tiny_model), "--input", str(docs),
                       "--format", "jsonl", "--output", str(out), "--quiet")
    assert "docs.jsonl:3:" in one_line_error(code, err)
    assert not out.exists() and not (tmp_path / "out.jsonl.tmp").exists()


def test_stale_tmp_from_a_killed_run_is_reused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_model: Path
) -> None:
    out = tmp_path / "out.jsonl"
    (tmp_path / "out.jsonl.tmp").write_text("half a line from a killed run", encoding="utf-8")
    code, _, err = run(capsys, "predict", "--model", str(tiny_model), "Ana vive en Lima.",
                       "--output", str(out))
    assert code == 0, err
    assert json.loads(out.read_text(encoding="utf-8"))["text"] == "Ana vive en Lima."
    assert not (tmp_path / "out.jsonl.tmp").exists()


def test_conll_output_checked_before_tagging(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="does not exist"):
        check_output(tmp_path / "no" / "out.conll", inputs=[DATA / "tiny.dev"])


def test_atomic_output_keeps_the_old_file_on_error(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_output(target) as f:
        f.write("new, half")
        raise RuntimeError("crash while writing")
    assert target.read_text(encoding="utf-8") == "old"
    assert not (tmp_path / "out.txt.tmp").exists()
