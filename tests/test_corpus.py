"""Reading column files: real CoNLL layouts, messy input, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import conll2002

from nerkit.conll.corpus import corpus_stats, read_column_file, resolve_corpus
from nerkit.errors import CorpusNotFoundError, DataFormatError


def write(tmp_path: Path, text: str, name: str = "f.conll", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_three_columns_with_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "El DA O\nRey NC B-PER\n\n\nMadrid NP B-LOC\n")
    f = read_column_file(path)
    assert [s.words for s in f.sentences] == [("El", "Rey"), ("Madrid",)]
    assert [s.tags for s in f.sentences] == [("O", "B-PER"), ("B-LOC",)]
    assert [s.line for s in f.sentences] == [1, 5]


def test_conll2003_docstart_block_and_tabs(tmp_path: Path) -> None:
    text = "-DOCSTART- -X- -X- O\n\nEU\tNNP\tB-NP\tB-ORG\nrejects VBZ B-VP O\n\n"
    text += "-DOCSTART- -X- -X- O\n\nPeter NNP B-NP B-PER\n"
    f = read_column_file(write(tmp_path, text))
    assert f.n_columns == 4
    assert [s.doc_id for s in f.sentences] == [1, 2]
    assert f.sentences[0].tags == ("B-ORG", "O")


def test_dutch_docstart_glued_to_sentence(tmp_path: Path) -> None:
    """CoNLL-2002 Dutch puts -DOCSTART- on the first line of a sentence block."""
    f = read_column_file(write(tmp_path, "-DOCSTART- -DOCSTART- O\nDe Art O\nZon N B-MISC\n"))
    assert f.sentences[0].words == ("De", "Zon")
    assert f.documents == 1


def test_crlf_and_bom(tmp_path: Path) -> None:
    f = read_column_file(write(tmp_path, "\ufeffHola X O\r\nJuan X B-PER\r\n"))
    assert f.sentences[0].words == ("Hola", "Juan")


def test_latin1_fallback_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "España NP B-LOC\n", encoding="latin-1")
    with pytest.warns(UserWarning, match="Latin-1"):
        f = read_column_file(path)
    assert f.sentences[0].words == ("España",)
    assert f.encoding == "latin-1"


def test_tag_column_option(tmp_path: Path) -> None:
    f = read_column_file(write(tmp_path, "EU B-ORG NNP\n"), tag_column=1)
    assert f.sentences[0].tags == ("B-ORG",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "file is empty"),
        ("  \n\n", "file is empty"),
        ("a X O\nb O\n", r"f.conll:2: expected 3 columns like the first line, found 2"),
        ("a\nb\n", r"f.conll:1: found 1 column"),
        ("-DOCSTART- -X- O\n\n", "no sentences found"),
    ],
)
def test_bad_files(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(DataFormatError, match=message):
        read_column_file(write(tmp_path, text))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="file not found"):
        read_column_file(tmp_path / "nope.conll")


def test_unknown_corpus_names_known_ones() -> None:
    with pytest.raises(CorpusNotFoundError, match="conll2002-es"):
        resolve_corpus("conll2099", "train")


def test_corpus_not_found_says_how_to_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NERKIT_DATA", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    # no network here: the download fails and the message names NERKIT_DATA
    monkeypatch.setattr("nerkit.conll.corpus._download", _no_network)
    with pytest.raises(CorpusNotFoundError, match="set NERKIT_DATA"):
        resolve_corpus("conll2002-es", "test")


def _no_network(url: str, target: Path, sha256: str | None) -> None:
    raise OSError("network unreachable")


def test_resolve_from_data_dir(tmp_path: Path) -> None:
    (tmp_path / "conll2002").mkdir()
    (tmp_path / "conll2002" / "esp.testb").write_text("a X O\n", encoding="utf-8")
    assert resolve_corpus("conll2002-es", "test", tmp_path) == tmp_path / "conll2002" / "esp.testb"


def test_esp_testb_stats() -> None:
    """The figures the issue requires: conlleval counts the stray I-MISC as an entity."""
    stats = corpus_stats(read_column_file(conll2002("esp.testb")).sentences)
    assert stats["sentences"] == 1517
    assert stats["tokens"] == 51533
    assert stats["entities"] == 3559
    assert stats["entities_per_type"] == {"LOC": 1084, "MISC": 340, "ORG": 1400, "PER": 735}
    assert stats["longest_sentence_words"] == 202
    assert stats["ill_formed"] == 1
    assert "esp.testb:9291" in stats["ill_formed_examples"][0]


def test_ned_train_documents() -> None:
    f = read_column_file(conll2002("ned.train"))
    assert f.documents == 287
    assert len(f.sentences) == 15806
    assert sum(len(s) for s in f.sentences) == 202644
