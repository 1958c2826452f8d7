"""spaCy DocBin files: read and written through spaCy, documents and sentences kept, bad
annotation refused, and the round trip in -> train -> predict -> out keeping every entity."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import DATA

spacy = pytest.importorskip("spacy")
from spacy.tokens import Doc, DocBin  # noqa: E402
from spacy.vocab import Vocab  # noqa: E402

from nerkit.cli import main  # noqa: E402
from nerkit.conll.docbin import read_docbin  # noqa: E402
from nerkit.conll.formats import detect_format, read_labelled, write_labelled  # noqa: E402
from nerkit.conll.spans import char_spans  # noqa: E402
from nerkit.errors import DataFormatError  # noqa: E402


def docs_of(path: Path) -> list[Doc]:
    return list(DocBin().from_disk(path).get_docs(Vocab()))


def ents_of(path: Path) -> list[list[tuple[int, int, str]]]:
    return [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in docs_of(path)]


def test_spacy_docs_read_as_sentences_and_documents(tmp_path: Path) -> None:
    nlp = spacy.blank("es")
    first = nlp.make_doc("Ana vive en Sevilla. La ONU  firmó.\n")
    first.ents = [first.char_span(0, 3, "PER"), first.char_span(12, 19, "LOC"),
                  first.char_span(24, 27, "ORG")]
    for token in first:
        token.is_sent_start = token.i in (0, 5)
    second = nlp.make_doc("Telefónica firmó")
    second.ents = [second.char_span(0, 10, "ORG")]
    path = tmp_path / "gold.spacy"
    DocBin(docs=[first, second]).to_disk(path)

    assert detect_format(path) == "spacy"
    sentences = read_labelled(path).sentences
    assert [s.words for s in sentences] == [
        ("Ana", "vive", "en", "Sevilla", "."), ("La", "ONU", "firmó", "."),
        ("Telefónica", "firmó")]  # the "  " and "\n" whitespace tokens are no words
    assert [s.doc_id for s in sentences] == [1, 1, 2]
    assert sentences[1].tags == ("O", "B-ORG", "O", "O")
    assert [s.text for s in sentences] == ["Ana vive en Sevilla.", "La ONU  firmó.\n",
                                           "Telefónica firmó"]
    assert f"{sentences[1].path}:{sentences[1].line}".endswith("gold.spacy#1:6")

    out = tmp_path / "again.spacy"
    write_labelled(out, sentences, "spacy")
    assert [d.text for d in docs_of(out)] == [first.text, second.text]
    assert ents_of(out) == ents_of(path)
    assert [[s.text for s in d.sents] for d in docs_of(out)] == [
        [s.text for s in first.sents], ["Telefónica firmó"]]


def test_conll_to_docbin_and_back(tmp_path: Path) -> None:
    original = read_labelled(DATA / "tiny.train").sentences
    write_labelled(tmp_path / "x.spacy", original, "spacy")
    (doc,) = docs_of(tmp_path / "x.spacy")  # one -DOCSTART- document: one Doc
    assert len(list(doc.sents)) == 4 and len(doc.ents) == 9
    again = read_labelled(tmp_path / "x.spacy").sentences
    assert [(s.words, s.tags) for s in again] == [(s.words, s.tags) for s in original]
    write_labelled(tmp_path / "back.conll", again, "conll")
    assert (tmp_path / "back.conll").read_text().startswith("-DOCSTART- O\n\nEl O\n")


def test_missing_annotation_and_crossing_entities_are_errors(tmp_path: Path) -> None:
    vocab = Vocab()
    unannotated = Doc(vocab, words=["Ana", "vive"])
    path = tmp_path / "raw.spacy"
    DocBin(docs=[unannotated]).to_disk(path)
    with pytest.raises(DataFormatError, match=r"raw.spacy: Doc 1, token 1 \('Ana'\): no entity "
                                              r"annotation; 1 more problems like it"):
        read_labelled(path)
    # text to tag needs no annotation
    assert [s.words for s in read_docbin(path, tags=False)] == [("Ana", "vive")]

    crossing = Doc(vocab, words=["Nueva", "York", "."], sent_starts=[True, True, False],
                   ents=["B-LOC", "I-LOC", "O"])
    DocBin(docs=[crossing]).to_disk(tmp_path / "cross.spacy")
    with pytest.raises(DataFormatError, match=r"Doc 1, token 2 \('York'\): a LOC entity crosses "
                                              "the sentence boundary"):
        read_labelled(tmp_path / "cross.spacy")


def test_not_a_docbin_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    fake = tmp_path / "fake.spacy"
    fake.write_text("Ana B-PER\n")
    code = main(["data", "stats", str(fake)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "the name (.spacy) says a spaCy DocBin, but the content is plain text" in err


def test_round_trip_in_train_predict_out_keeps_every_entity(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_encoder: Path
) -> None:
    """Gold Docs -> train the tiny model on the .spacy file -> `nerkit predict` a .spacy copy
    without entities -> the predicted Docs have the gold entities."""
    from nerkit.training.train import TrainConfig, train

    gold = tmp_path / "gold.spacy"
    write_labelled(gold, read_labelled(DATA / "tiny.train").sentences, "spacy")
    model = tmp_path / "model"
    train(TrainConfig(model=str(tiny_encoder), output_dir=str(model), train=str(gold),
                      max_steps=25, batch_size=4, learning_rate=5e-3, head_learning_rate=1e-2,
                      max_length=32, context=0, encoder_layers="all", logging_steps=100))
    bare = tmp_path / "bare.spacy"
    plain = [Doc(d.vocab, words=[t.text for t in d], spaces=[bool(t.whitespace_) for t in d],
                 sent_starts=[t.is_sent_start for t in d]) for d in docs_of(gold)]
    DocBin(docs=plain).to_disk(bare)
    out = tmp_path / "predicted.spacy"
    assert main(["predict", "--model", str(model), "--input", str(bare), "--output", str(out),
                 "--quiet"]) == 0
    assert ents_of(out) == ents_of(gold)
    assert sum(len(e) for e in ents_of(gold)) == 9
    assert [d.text for d in docs_of(out)] == [d.text for d in docs_of(gold)]
    # the same model, JSON Lines out: the same entities
    capsys.readouterr()  # the training's printed logs
    assert main(["predict", "--model", str(model), "--input", str(bare), "--output-format",
                 "jsonl", "--quiet"]) == 0
    predicted = [char_spans(s) for s in read_jsonl(capsys.readouterr().out, tmp_path)]
    assert predicted == [char_spans(s) for s in read_labelled(gold).sentences]


def read_jsonl(text: str, tmp_path: Path) -> list:
    path = tmp_path / "out.jsonl"
    path.write_text(text)
    return read_labelled(path).sentences
