"""Text in, any encoding, one rule: files by BOM/UTF-8/Latin-1, binary refused, lines at \\n only,
lone surrogates refused with their position (library, CLI arguments, JSONL)."""

from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path

import pytest

from nerkit import Tagger
from nerkit.cli import main
from nerkit.conll.corpus import read_column_file
from nerkit.conll.text import iter_lines, open_text, split_lines
from nerkit.conll.words import WhitespaceSplitter, split_words
from nerkit.errors import DataFormatError, TextError
from nerkit.tagging.files import read_records

# characters that str.splitlines() breaks at but a file's lines do not
NOT_LINE_BREAKS = ["\x85", "\x0b", "\x0c", "\u2028", "\u2029", "\x1c", "\r"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code: int, err: str) -> str:
    assert code == 2, err
    assert err.startswith("nerkit: error:") and err.count("\n") == 1, err
    return err


@pytest.mark.parametrize("char", NOT_LINE_BREAKS)
def test_only_newline_breaks_lines(tmp_path: Path, char: str) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(f"uno{char}dos\r\ntres\n".encode())
    assert [line for _, line in iter_lines(open_text(path))] == [f"uno{char}dos", "tres"]
    assert split_lines(f"uno{char}dos\r\ntres\n") == [f"uno{char}dos", "tres"]


@pytest.mark.parametrize("char", NOT_LINE_BREAKS)
def test_column_file_line_numbers_survive_odd_characters(tmp_path: Path, char: str) -> None:
    """A U+0085 (a cp1252 "…" read as Latin-1) in a word no longer shifts later line numbers;
    ASCII whitespace (VT, FF, a lone CR) separates columns, as it always did."""
    path = tmp_path / "f.conll"
    first = f"Hola{char}mundo O" if not char.isascii() else f"Hola{char}O"
    path.write_bytes(f"{first}\n\nAna B-PER\nX-PER\n".encode())
    with pytest.raises(DataFormatError, match=r"f\.conll:4: "):
        read_column_file(path)


def test_word_keeps_a_no_break_space(tmp_path: Path) -> None:
    path = tmp_path / "f.conll"
    path.write_text("10\u00a0000 O\nEuros\tO\n", encoding="utf-8")
    assert read_column_file(path).sentences[0].words == ("10\u00a0000", "Euros")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32", "utf-32-be", "utf-8-sig"])
def test_column_file_in_utf16_and_utf32_by_bom(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "f.conll"
    text = "España B-LOC\nes O\n\n€uro O\n"
    bom = {"utf-16-be": "\ufeff", "utf-32-be": "\ufeff"}.get(encoding, "")
    path.write_bytes((bom + text).encode(encoding))
    f = read_column_file(path)
    assert [s.words for s in f.sentences] == [("España", "es"), ("€uro",)]
    assert [s.line for s in f.sentences] == [1, 4]
    assert f.encoding == encoding[:6].replace("utf-8-", "utf-8")


def test_invalid_utf16_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "f.conll"
    path.write_bytes("a O\nb O\n".encode("utf-16") + b"\x00\xd8c\x00")  # a lone high surrogate
    with pytest.raises(DataFormatError, match=r"f\.conll:3: not valid UTF-16"):
        read_column_file(path)


def test_binary_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(b"PK\x03\x04\x14\x00\x00\x00binary")
    for read in (read_column_file, lambda p: list(read_records(p, "txt"))):
        with pytest.raises(DataFormatError, match=r"model\.bin:1: holds a NUL byte, so it is bin"):
            read(path)


def test_latin1_text_file_falls_back_and_warns(tmp_path: Path) -> None:
    path = tmp_path / "docs.txt"
    path.write_bytes("Hola\nEspaña\u2026\n".encode("cp1252"))
    with pytest.warns(UserWarning, match=r"docs\.txt:2: not valid UTF-8; read the file as Latin-1"):
        records = [r["text"] for _, r in read_records(path, "txt")]
    assert records == ["Hola", "España\x85"]  # U+0085 stays inside its line


def test_utf8_split_across_read_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("nerkit.conll.text._CHUNK", 3)
    path = tmp_path / "docs.txt"
    path.write_text("ñañaña\r\nü\n€€\n", encoding="utf-8")
    assert [line for _, line in iter_lines(open_text(path))] == ["ñañaña", "ü", "€€"]
    path.write_bytes("ñañaña\n".encode() + b"\xff\n")
    with pytest.warns(UserWarning, match=":2: not valid UTF-8"):
        assert open_text(path).encoding == "latin-1"


def test_jsonl_surrogate_escape_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl"
    path.write_text('{"text": "ok \\ud83d\\ude00"}\n{"text": "a \\ud800 b"}\n', encoding="utf-8")
    records = read_records(path, "jsonl")
    assert next(records)[1]["text"] == "ok \U0001f600"  # a proper pair is one character
    with pytest.raises(DataFormatError, match=r'docs\.jsonl:2: the "text" field has a lone '
                                              r"surrogate U\+D800 at character 2"):
        next(records)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"text": "ok", "id": "\\udfff"}', "a string field holds a lone surrogate"),
        ("[" * 100_000, "not valid JSON \\(nested too deeply\\)"),
        ('{"text": "x", "n": ' + "1" * 5000 + "}", "not valid JSON \\(a number with too many"),
        ('{"text": 3}', 'no "text" string field'),
    ],
)
def test_jsonl_hostile_lines(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "docs.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=rf"docs\.jsonl:1: {message}"):
        list(read_records(path, "jsonl"))


def test_splitters_refuse_lone_surrogates_naming_the_position() -> None:
    with pytest.raises(TextError, match="lone surrogate U\\+D800 at character 2"):
        split_words("a \ud800 b")
    with pytest.raises(TextError, match=r"a byte that is not UTF-8 \(0xE9\) at character 3"):
        WhitespaceSplitter()("caf\udce9")


def test_tagger_refuses_lone_surrogates(tiny_model: Path) -> None:
    tagger = Tagger.load(tiny_model)
    with pytest.raises(TextError, match="at character 2"):
        tagger("a \ud800 b")
    assert tagger("a \U0001f600 b") == tagger("a \U0001f600 b")  # a real emoji is fine


def test_cli_argument_with_a_non_utf8_byte(
    capsys: pytest.CaptureFixture[str], tiny_model: Path
) -> None:
    # what Python makes of the Latin-1 byte 0xE9 in argv on a UTF-8 system
    code, out, err = run(capsys, "predict", "--model", str(tiny_model), "ok", "caf\udce9")
    err = one_line_error(code, err)
    assert "argument 2 has a byte that is not UTF-8 (0xE9) at character 3" in err
    assert out == ""


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16", "utf-32"])
def test_predict_and_render_read_any_encoding(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_model: Path, encoding: str
) -> None:
    docs = tmp_path / "docs.txt"
    docs.write_bytes("Ana vive en Sevilla.\nEspaña\n".encode(encoding))
    out_path = tmp_path / "out.jsonl"
    with pytest.warns(UserWarning) if encoding == "latin-1" else nullcontext():
        code, _, err = run(capsys, "predict", "--model", str(tiny_model), "--input", str(docs),
                           "--output", str(out_path), "--quiet")
    assert code == 0, err
    texts = [json.loads(line)["text"] for line in out_path.read_text("utf-8").splitlines()]
    assert texts == ["Ana vive en Sevilla.", "España"]
    html = tmp_path / "page.html"
    with pytest.warns(UserWarning) if encoding == "latin-1" else nullcontext():
        code, _, err = run(capsys, "render", "--model", str(tiny_model), "--input", str(docs),
                           "--html", str(html))
    assert code == 0, err
    assert "España" in html.read_text("utf-8")


def test_predict_binary_input_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_model: Path
) -> None:
    docs = tmp_path / "docs.txt"
    docs.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    code, _, err = run(capsys, "predict", "--model", str(tiny_model), "--input", str(docs))
    assert "docs.txt:3: holds a NUL byte" in one_line_error(code, err)
