"""Languages: raw text split for any language through spaCy's rule-based tokenizers (the
CoNLL-2002 rules stay for es/nl), no silent fallback, and English as a first-class case: a
CoNLL-2003-layout sample (4 columns, IOB1, -DOCSTART-) reads, trains and evaluates."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import DATA, build_tiny_encoder
from hypothesis import given
from test_words import FAST, check_words, detokenize, latin_text, random_text, read_sentences

pytest.importorskip("spacy")

from nerkit.cli import main  # noqa: E402
from nerkit.conll.corpus import corpus_stats  # noqa: E402
from nerkit.conll.formats import read_labelled  # noqa: E402
from nerkit.conll.schemes import tags_to_spans  # noqa: E402
from nerkit.conll.words import (  # noqa: E402
    ConllWordSplitter,
    SpacyWordSplitter,
    languages,
    split_words,
    splitter_for,
)
from nerkit.errors import ConfigError  # noqa: E402

SAMPLE = DATA / "en.conll2003-layout"
SPACY_SPLITTERS = [splitter_for(code) for code in ("en", "de", "fr", "xx")]


def texts(text: str, language: str) -> list[str]:
    return [w.text for w in split_words(text, language)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("New York's mayor didn't say.", "New York 's mayor did n't say ."),
        ("Russian-held U.S. firms rose 3.5% on 1996-08-22.",
         "Russian-held U.S. firms rose 3.5 % on 1996-08-22 ."),
        ('"We aren\'t worried," said Mr. Smith (Reuters).',
         '" We are n\'t worried , " said Mr. Smith ( Reuters ) .'),
        ("Leeds won 2-1.\u200bNext", "Leeds won 2-1 . Next"),
    ],
)
def test_english_splits_as_conll2003(text: str, expected: str) -> None:
    assert texts(text, "en") == expected.split()


def test_es_nl_keep_the_conll2002_rules_and_others_use_spacy() -> None:
    assert isinstance(splitter_for("es"), ConllWordSplitter)
    assert isinstance(splitter_for("nl"), ConllWordSplitter)
    assert isinstance(splitter_for("en"), SpacyWordSplitter)
    assert splitter_for("en") is splitter_for("en")
    assert texts("New York's", "es") == ["New", "York's"]  # why English needs its own rules
    assert texts("Der Bundesrat tagte in Berlin-Mitte.", "de") == [
        "Der", "Bundesrat", "tagte", "in", "Berlin-Mitte", "."]
    assert {"es", "nl", "en", "de", "fr", "it", "pt"} <= set(languages())


def test_unknown_language_names_the_choices() -> None:
    with pytest.raises(ConfigError, match=r"'klingon' has no word splitter; choose es or nl "
                                          r"\(CoNLL-2002 rules\) or one of spaCy's: af, .*en, "):
        splitter_for("klingon")
    with pytest.raises(ConfigError, match="'es'"):
        SpacyWordSplitter("es")  # es has the CoNLL-2002 rules, never spaCy's by accident


@FAST
@given(random_text)
def test_spacy_words_keep_the_contract(text: str) -> None:
    for splitter in SPACY_SPLITTERS:
        check_words(text, splitter(text))


@FAST
@given(latin_text)
def test_spacy_words_keep_the_contract_on_realistic_text(text: str) -> None:
    for splitter in SPACY_SPLITTERS:
        check_words(text, splitter(text))


def english_raw(tokens: list[str]) -> str:
    """Raw English for a CoNLL-2003 sentence: the Spanish detokenizer plus English clitics
    and currency glued on."""
    raw = detokenize(tokens)
    return raw.replace(" n't", "n't").replace(" 's", "'s").replace("$ ", "$")


def test_agreement_with_the_conll2003_sample() -> None:
    """Every sentence of the sample, detokenized, splits back into its tokens (7/7); the Spanish
    rules get 3/7 (they keep "wouldn't", "York's", "company's" whole)."""
    sentences = read_sentences(SAMPLE)
    agree = {lang: sum(texts(english_raw(t), lang) == t for t in sentences)
             for lang in ("en", "es")}
    print(f"{SAMPLE.name}: en {agree['en']}/{len(sentences)}, es {agree['es']}/{len(sentences)}")
    assert agree == {"en": 7, "es": 3}


def test_conll2003_layout_reads() -> None:
    labelled = read_labelled(SAMPLE)
    assert labelled.n_columns == 4 and labelled.format == "conll"
    stats = corpus_stats(labelled.sentences)
    assert stats["scheme"] == "iob1" and stats["documents"] == 3
    assert stats["entities_per_type"] == {"LOC": 6, "MISC": 3, "ORG": 5, "PER": 2}


def test_english_trains_evaluates_and_tags_with_english_rules(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Train the tiny model on the English sample, evaluate it with `nerkit evaluate`, and tag
    raw English with a model whose nerkit.json says "en": English words, English offsets."""
    from nerkit.tagging.tagger import Tagger
    from nerkit.training.train import TrainConfig, train

    words = [line.split()[0] for line in SAMPLE.read_text().splitlines() if line.strip()]
    encoder = build_tiny_encoder(tmp_path / "encoder", words)
    model = tmp_path / "model"
    results = train(TrainConfig(model=str(encoder), output_dir=str(model), train=str(SAMPLE),
                                dev=str(SAMPLE), max_steps=4, batch_size=2, max_length=32,
                                learning_rate=1e-3, logging_steps=100))
    assert 0 <= results["dev_f1"] <= 100
    assert set(json.loads((model / "config.json").read_text())["label2id"]) == {
        "O", *(f"{p}-{t}" for p in "BI" for t in ("LOC", "MISC", "ORG", "PER"))}
    capsys.readouterr()
    assert main(["evaluate", "--model", str(model), "--data", str(SAMPLE), "--json",
                 "--output-dir", str(tmp_path / "eval")]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["sentences"] == 7 and scores["entity"]["micro"]["support"] == 16

    english = tmp_path / "english"
    shutil.copytree(model, english)
    meta = json.loads((english / "nerkit.json").read_text())
    (english / "nerkit.json").write_text(json.dumps({**meta, "language": "en"}))
    (english / "nerkit-manifest.json").unlink()  # changed on purpose, as the refusal advises
    tagger = Tagger.load(english)
    assert isinstance(tagger.splitter, SpacyWordSplitter)
    text = "New York's mayor didn't say."
    split = tagger.splitter(text)
    assert [w.text for w in split] == ["New", "York", "'s", "mayor", "did", "n't", "say", "."]
    tags = tagger.tag_tokens([w.text for w in split])
    expected = [(label, split[a].start, split[b - 1].end) for label, a, b in tags_to_spans(tags)]
    assert [(e.label, e.start, e.end) for e in tagger(text)] == expected
