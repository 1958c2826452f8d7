"""Documents: how a file is cut (boundaries, one, sentence), stated in the log, and -DOCSTART-
kept by every CoNLL write (data convert, evaluate's predictions, predict)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from conftest import DATA, conll2002

from nerkit.cli import main
from nerkit.conll.corpus import read_column_file, write_column_file
from nerkit.conll.documents import assign_documents, count_documents
from nerkit.conll.formats import load_split, read_labelled
from nerkit.errors import ConfigError

THREE_DOCS = (
    "Ana B-PER\nvive O\n\nen O\nSevilla B-LOC\n\n"
    "-DOCSTART- O\n\nLa O\nONU B-ORG\n\n"
    "-DOCSTART- O\nEl O\nMundial B-MISC\n\nempieza O\n\n"  # Dutch style: glued to the sentence
)


@pytest.fixture
def three_docs(tmp_path: Path) -> Path:
    path = tmp_path / "docs.conll"
    path.write_text(THREE_DOCS)
    return path


def test_modes(three_docs: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="nerkit"):
        boundaries = read_labelled(three_docs).sentences
    assert [s.doc_id for s in boundaries] == [0, 0, 1, 2, 2]
    assert "5 sentences in 3 documents (documents=boundaries: at its -DOCSTART- lines)" in (
        caplog.text)
    one = read_labelled(three_docs, documents="one")
    assert one.documents == "one" and {s.doc_id for s in one.sentences} == {0}
    alone = load_split(str(three_docs), "train", documents="sentence")
    assert [s.doc_id for s in alone] == [1, 2, 3, 4, 5]
    assert count_documents(alone) == 5
    with pytest.raises(ConfigError, match="'paragraph'.*boundaries, one, sentence"):
        assign_documents(alone, "paragraph")


def test_written_file_keeps_exactly_its_boundaries(three_docs: Path, tmp_path: Path) -> None:
    for mode, docstarts in (("boundaries", 2), ("one", 0), ("sentence", 5)):
        sentences = read_labelled(three_docs, documents=mode).sentences
        out = tmp_path / f"{mode}.conll"
        write_column_file(out, (s.columns for s in sentences), [s.doc_id for s in sentences])
        assert out.read_text().count("-DOCSTART- O\n\n") == docstarts
        again = read_column_file(out).sentences
        assert [(s.words, s.doc_id) for s in again] == [(s.words, s.doc_id) for s in sentences]


def test_data_convert_keeps_documents(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    source = conll2002("ned.testa")
    out = tmp_path / "ned.testa.bioes"
    assert main(["data", "convert", str(source), str(out), "--to", "bioes"]) == 0
    assert "(2895 sentences, 74 documents, conll, bioes)" in capsys.readouterr().out
    before, after = read_column_file(source), read_column_file(out)
    assert after.documents == before.documents == 74
    assert [s.doc_id for s in after.sentences] == [s.doc_id for s in before.sentences]
    assert out.read_text().splitlines()[0] == "-DOCSTART- -X- O"
    # one document per sentence, on request
    assert main(["data", "convert", str(source), str(tmp_path / "alone.conll"),
                 "--documents", "sentence"]) == 0
    assert read_column_file(tmp_path / "alone.conll").documents == 2895


def test_evaluate_and_predict_keep_documents(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_model: Path, three_docs: Path
) -> None:
    out = tmp_path / "eval"
    assert main(["evaluate", "--model", str(tiny_model), "--data", str(three_docs),
                 "--output-dir", str(out)]) == 0
    predictions = (out / "test_predictions.txt").read_text()
    assert predictions.count("-DOCSTART- O O\n\n") == 2  # word, gold, predicted: conlleval's
    assert read_column_file(out / "test_predictions.txt").documents == 2

    words = tmp_path / "words.conll"
    words.write_text("".join(line.split()[0] + "\n" if line else "\n"
                             for line in THREE_DOCS.splitlines()))
    capsys.readouterr()
    assert main(["predict", "--model", str(tiny_model), "--input", str(words)]) == 0
    tagged = capsys.readouterr().out
    assert tagged.count("-DOCSTART- O\n\n") == 2 and len(read_column_file(
        write(tmp_path / "tagged.conll", tagged)).sentences) == 5


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_documents_reach_the_context_model(tiny_context_model: Path, three_docs: Path) -> None:
    """The mode changes what a model with context reads: each sentence alone equals tagging the
    sentences one by one."""
    from nerkit.tagging.tagger import Tagger

    tagger = Tagger.load(tiny_context_model)
    alone = read_labelled(three_docs, documents="sentence").sentences
    tags = tagger.tag_sentences([list(s.words) for s in alone],
                                documents=[s.doc_id for s in alone])
    assert tags == [tagger.tag_tokens(list(s.words)) for s in alone]


def test_tiny_train_has_one_document() -> None:
    assert {s.doc_id for s in read_labelled(DATA / "tiny.train").sentences} == {1}
