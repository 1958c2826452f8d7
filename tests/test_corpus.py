"""Reading column files: real CoNLL layouts, messy input, and clear errors."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
from conftest import conll2002

from nerkit.conll.corpus import corpus_stats, read_column_file, resolve_corpus, write_column_file
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


# ---------------------------------------------------------------- checksums and writing

def test_checksum_table_matches_the_shared_files() -> None:
    """Every file of the named corpora has a sha256, and it is that of the documented copy
    (tests/../shared/data/conll2002, see its SOURCE.md)."""
    import hashlib

    from nerkit.conll.corpus import CORPORA

    for corpus in CORPORA.values():
        assert set(corpus.sha256) == set(corpus.files.values())
        for name, digest in corpus.sha256.items():
            assert hashlib.sha256(conll2002(name).read_bytes()).hexdigest() == digest, name


def test_download_checks_the_checksum(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real download through urllib (from a file:// mirror): the right bytes land in the cache,
    changed bytes or an unknown checksum land nowhere."""
    from nerkit.conll import corpus

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("NERKIT_DATA", raising=False)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    shutil.copy(conll2002("esp.testb"), mirror / "esp.testb")
    real = corpus.CORPORA["conll2002-es"]
    monkeypatch.setitem(corpus.CORPORA, "conll2002-es",
                        dataclasses.replace(real, url=mirror.as_uri() + "/"))
    got = resolve_corpus("conll2002-es", "test")
    assert got == tmp_path / "cache" / "nerkit" / "data" / "conll2002" / "esp.testb"
    assert got.read_bytes() == (mirror / "esp.testb").read_bytes()

    (mirror / "esp.testa").write_text("a X O\n")  # not the real dev file
    with pytest.raises(CorpusNotFoundError, match="checksum mismatch .*esp.testa: sha256 "):
        resolve_corpus("conll2002-es", "dev")
    assert not any((tmp_path / "cache").rglob("esp.testa*"))
    monkeypatch.setitem(corpus.CORPORA, "conll2002-es",
                        dataclasses.replace(real, url=mirror.as_uri() + "/", sha256={}))
    with pytest.raises(CorpusNotFoundError, match="no checksum is known"):
        resolve_corpus("conll2002-es", "dev")


def test_docstart_blocks_are_written_back(tmp_path: Path) -> None:
    source = write(tmp_path, "a X O\n\n-DOCSTART- -X- O\n\nb X B-PER\n\nc X O\n"
                             "-DOCSTART- -X- O\nd X O\n")
    column_file = read_column_file(source)
    out = tmp_path / "out.conll"
    write_column_file(out, (s.columns for s in column_file.sentences),
                      [s.doc_id for s in column_file.sentences])
    assert out.read_text() == ("a X O\n\n-DOCSTART- -X- O\n\nb X B-PER\n\nc X O\n\n"
                               "-DOCSTART- -X- O\n\nd X O\n\n")
    again = read_column_file(out)
    assert again.documents == 2
    assert [(s.words, s.doc_id) for s in again.sentences] == [
        (s.words, s.doc_id) for s in column_file.sentences]


def test_unwritable_outputs_are_one_line_errors(tmp_path: Path) -> None:
    from nerkit.errors import OutputError

    blocker = tmp_path / "file"
    blocker.write_text("x")
    for path, message in (
        (tmp_path / "missing" / "out.conll", "the folder .*missing does not exist"),
        (blocker / "out.conll", "file is a file, not a folder"),
        (tmp_path, "it is a folder; name a file"),
    ):
        with pytest.raises(OutputError, match=message) as info:
            write_column_file(path, [[("a", "O")]])
        assert "\n" not in str(info.value) and ".tmp" not in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]  # no temporary left behind
