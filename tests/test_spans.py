"""Texts with character-offset spans: every tool's shape, alignment errors by file:line, and the
round trip in -> train -> predict -> out keeping every entity."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import DATA

from nerkit.cli import main
from nerkit.conll.formats import detect_format, read_labelled, write_labelled
from nerkit.conll.schemes import tags_to_spans
from nerkit.conll.spans import TextSentence, char_spans
from nerkit.errors import DataFormatError

TEXT = "Ana Pérez vive en Sevilla."
GOLD = [(0, 9, "PER"), (18, 25, "LOC")]


def entities(sentences: list) -> list[list[tuple[int, int, str]]]:
    return [char_spans(s) for s in sentences]


def write_lines(path: Path, records: list) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    return path


@pytest.mark.parametrize(
    "record",
    [
        {"text": TEXT, "entities": [[0, 9, "PER"], [18, 25, "LOC"]]},  # spaCy-style
        {"text": TEXT, "entities": [{"start": 0, "end": 9, "label": "PER"},
                                    {"start": 18, "end": 25, "label": "LOC"}]},
        [TEXT, {"entities": [[0, 9, "PER"], [18, 25, "LOC"]]}],  # spaCy v2 training tuple
        {"text": TEXT, "label": [[0, 9, "PER"], [18, 25, "LOC"]]},  # doccano
        {"text": TEXT, "labels": [[0, 9, "PER"], [18, 25, "LOC"]]},  # older doccano
        {"text": TEXT, "answer": "accept",  # Prodigy
         "spans": [{"start": 0, "end": 9, "label": "PER", "token_start": 0, "token_end": 1},
                   {"start": 18, "end": 25, "label": "LOC"}]},
        {"text": TEXT, "label": [{"start": 0, "end": 9, "text": "Ana Pérez", "labels": ["PER"]},
                                 {"start": 18, "end": 25, "labels": ["LOC"]}]},  # LS JSON-MIN
        {"id": 3, "data": {"text": TEXT}, "annotations": [  # Label Studio export
            {"was_cancelled": True, "result": []},
            {"result": [
                {"from_name": "label", "to_name": "text", "type": "labels",
                 "value": {"start": 0, "end": 9, "text": "Ana Pérez", "labels": ["PER"]}},
                {"type": "labels", "value": {"start": 18, "end": 25, "labels": ["LOC"]}},
                {"type": "choices", "value": {"choices": ["news"]}},
            ]}]},
    ],
)
def test_every_tool_shape_reads_the_same(tmp_path: Path, record: object) -> None:
    path = write_lines(tmp_path / "a.jsonl", [record])
    (sentence,) = read_labelled(path).sentences
    assert sentence.words == ("Ana", "Pérez", "vive", "en", "Sevilla", ".")
    assert sentence.tags == ("B-PER", "I-PER", "O", "O", "B-LOC", "O")
    assert isinstance(sentence, TextSentence) and sentence.text == TEXT
    assert char_spans(sentence) == GOLD


def test_json_array_names_the_line_of_each_record(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text(
        '[\n  {"text": "Ana vive", "label": [[0, 3, "PER"]]},\n'
        '  {"text": "Madrid", "label": [[0, 5, "LOC"]]}\n]\n'
    )
    with pytest.raises(DataFormatError, match=r"export.json:3: span \[0, 5\) 'Madri' LOC ends "
                                              r"inside the word 'Madrid' \[0, 6\)"):
        read_labelled(path)


def test_prodigy_tokens_are_the_words_and_rejects_are_skipped(tmp_path: Path) -> None:
    text = "New York's mayor"
    tokens = [{"text": "New", "start": 0, "end": 3}, {"text": "York", "start": 4, "end": 8},
              {"text": "'s", "start": 8, "end": 10}, {"text": "mayor", "start": 11, "end": 16}]
    path = write_lines(tmp_path / "p.jsonl", [
        {"text": text, "tokens": tokens, "spans": [{"start": 0, "end": 8, "label": "LOC"}],
         "answer": "accept"},
        {"text": "nope", "spans": [], "answer": "reject"},
    ])
    (sentence,) = read_labelled(path).sentences
    assert sentence.words == ("New", "York", "'s", "mayor")
    assert sentence.tags == ("B-LOC", "I-LOC", "O", "O")


def test_whitespace_at_span_edges_is_trimmed_and_duplicates_count_once(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "a.jsonl", [
        {"text": TEXT, "label": [[0, 10, "PER"], [17, 25, "LOC"], [17, 25, "LOC"]]}])
    assert entities(read_labelled(path).sentences) == [GOLD]


def test_every_problem_is_reported_with_its_line(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "bad.jsonl", [
        {"text": TEXT, "label": [[0, 9, "PER"]]},  # fine
        {"text": TEXT, "label": [[1, 9, "PER"]]},  # starts inside "Ana"
        {"text": TEXT, "label": [[0, 9, "PER"], [4, 14, "ORG"]]},  # overlap
        {"text": TEXT, "label": [[20, 99, "LOC"]]},  # outside the text
        {"text": TEXT},  # no spans at all
        {"texto": TEXT, "label": []},  # no text
        {"text": TEXT, "label": [[0, 9, "PER"]]},  # fine
    ])
    with pytest.raises(DataFormatError) as info:
        read_labelled(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}:2: span [1, 9) 'na Pérez' PER starts inside the word "
                              "'Ana' [0, 3); 4 more problems, at lines 3, 4, 5, 6")
    problems = info.value.problems  # type: ignore[attr-defined]
    assert [p.split(": ")[0] for p in problems] == [f"{path}:{n}" for n in (2, 3, 4, 5, 6)]
    assert "overlaps span [0, 9) 'Ana Pérez' PER" in problems[1]
    assert "outside the text (length 26)" in problems[2]
    assert "no spans field" in problems[3] and 'no "text" string' in problems[4]


def test_misaligned_span_says_how_to_fix_it(capsys: pytest.CaptureFixture[str],
                                             tmp_path: Path) -> None:
    path = write_lines(tmp_path / "en.jsonl", [
        {"text": "ok", "entities": []},
        {"text": "New York's mayor", "entities": [[0, 8, "LOC"]]}])
    code = main(["data", "stats", str(path)])  # the Spanish rules keep "York's" whole
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "en.jsonl:2: span [0, 8) 'New York' LOC ends inside the word \"York's\"" in err
    assert "choose the language" in err
    assert main(["data", "stats", str(path), "--language", "en"]) == 0


def test_format_is_detected_and_checked(tmp_path: Path) -> None:
    jsonl = write_lines(tmp_path / "x.jsonl", [{"text": "a", "entities": []}])
    assert detect_format(jsonl) == "jsonl"
    named_conll = write_lines(tmp_path / "x.conll", [{"text": "a", "entities": []}])
    with pytest.raises(DataFormatError, match=r"x.conll: the name \(.conll\) says CoNLL columns, "
                                              r"but the content is JSON with spans"):
        detect_format(named_conll)
    text = tmp_path / "y.jsonl"
    text.write_text("Ana B-PER\n")
    with pytest.raises(DataFormatError, match="says JSON with spans, but the content is plain"):
        read_labelled(text)
    with pytest.raises(DataFormatError, match="--format spacy says a spaCy DocBin"):
        read_labelled(DATA / "tiny.dev", fmt="spacy")
    unnamed = write_lines(tmp_path / "train.data", [{"text": "a", "entities": []}])
    assert detect_format(unnamed) == "jsonl"


def test_conll_to_jsonl_and_back_keeps_words_tags_and_documents(tmp_path: Path) -> None:
    conll = tmp_path / "two-docs.conll"
    conll.write_text((DATA / "tiny.train").read_text() + "-DOCSTART- -X- O\n\n"
                     + (DATA / "tiny.dev").read_text())
    original = read_labelled(conll).sentences
    write_labelled(tmp_path / "x.jsonl", original, "jsonl")
    again = read_labelled(tmp_path / "x.jsonl").sentences
    assert [(s.words, s.tags, s.doc_id) for s in again] == [
        (s.words, s.tags, s.doc_id) for s in original]
    write_labelled(tmp_path / "back.conll", again, "conll")
    assert (tmp_path / "back.conll").read_text().count("-DOCSTART-") == 2


@pytest.fixture(scope="module")
def span_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny training sentences as raw text with spans (doccano shape), detokenized."""
    records = []
    for s in read_labelled(DATA / "tiny.train").sentences:
        text = " ".join(s.words).replace(" .", ".")
        spans, offset = [], 0
        starts = []
        for w in s.words:
            offset = text.index(w, offset)
            starts.append(offset)
            offset += len(w)
        for label, a, b in tags_to_spans(s.tags):
            spans.append([starts[a], starts[b - 1] + len(s.words[b - 1]), label])
        records.append({"text": text, "label": spans})
    return write_lines(tmp_path_factory.mktemp("spans") / "train.jsonl", records)


def test_round_trip_in_train_predict_out_keeps_every_entity(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_encoder: Path, span_file: Path
) -> None:
    """Train the tiny model on the JSON spans until it knows them, tag the same texts with
    `nerkit predict`, and read its JSON Lines back: the same entities at the same offsets."""
    from nerkit.training.train import TrainConfig, train

    model = tmp_path / "model"
    train(TrainConfig(model=str(tiny_encoder), output_dir=str(model), train=str(span_file),
                      max_steps=25, batch_size=4, learning_rate=5e-3, head_learning_rate=1e-2,
                      max_length=32, context=0, encoder_layers="all", logging_steps=100))
    out = tmp_path / "predicted.jsonl"
    assert main(["predict", "--model", str(model), "--input", str(span_file), "--output",
                 str(out), "--quiet"]) == 0
    gold = read_labelled(span_file).sentences
    predicted = read_labelled(out).sentences  # nerkit's own output is a span file too
    assert [s.text for s in predicted] == [s.text for s in gold]
    assert entities(predicted) == entities(gold)
    assert sum(len(e) for e in entities(gold)) == 9
