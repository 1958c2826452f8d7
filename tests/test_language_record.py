"""The language a model records: --language, the named corpus's, or detected and said so."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from conftest import DATA, conll2002

from nerkit.cli import main
from nerkit.conll.corpus import Sentence, read_column_file
from nerkit.errors import ConfigError
from nerkit.training.config import TrainConfig
from nerkit.training.data import Splits
from nerkit.training.language import choose_language, detect_language
from nerkit.training.train import train

ENGLISH = """-DOCSTART- O

EU B-ORG
rejects O
German B-MISC
call O
to O
boycott O
British B-MISC
lamb O
. O

Peter B-PER
Blackburn I-PER
said O
on O
Thursday O
that O
the O
commission O
would O
not O
follow O
the O
advice O
of O
the O
German B-MISC
farm O
ministry O
. O

The O
company O
reported O
higher O
profits O
for O
the O
third O
quarter O
and O
expects O
its O
sales O
to O
grow O
in O
the O
United B-LOC
States I-LOC
next O
year O
. O
"""


def splits_of(path: Path) -> Splits:
    return Splits(read_column_file(path).sentences, None, None)


def test_language_given_is_recorded(tmp_path: Path, tiny_encoder: Path,
                                    caplog: pytest.LogCaptureFixture) -> None:
    data = tmp_path / "en.conll"
    data.write_text(ENGLISH, encoding="utf-8")
    out = tmp_path / "model"
    with caplog.at_level(logging.INFO, logger="nerkit"):
        train(TrainConfig(model=str(tiny_encoder), output_dir=str(out), train=str(data),
                          language="en", max_steps=1, batch_size=4, max_length=16, context=0,
                          encoder_layers="all"))
    assert json.loads((out / "nerkit.json").read_text())["language"] == "en"
    recorded = json.loads((out / "eval_results.json").read_text())["language"]
    assert recorded["code"] == "en" and recorded["source"] == "given"
    assert "language: en (given with --language)" in caplog.text
    assert "\nlanguage: en\n" in (out / "README.md").read_text()
    # the tagger splits raw text by the language recorded: English rules, not CoNLL-2002's
    from nerkit.tagging.tagger import Tagger

    words = [w.text for w in Tagger.load(out).splitter("New York's mayor.")]
    assert words == ["New", "York", "'s", "mayor", "."]


def test_custom_data_gets_a_detected_language_stated_in_the_log(
    tiny_model: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The seed recorded every custom-data model as Spanish; now it is detected and said."""
    assert json.loads((tiny_model / "nerkit.json").read_text())["language"] == "es"
    recorded = json.loads((tiny_model / "eval_results.json").read_text())["language"]
    assert recorded["source"] == "detected" and recorded["code"] == "es"
    config = TrainConfig(model="m", output_dir="o", train=str(DATA / "tiny.train"))
    with caplog.at_level(logging.INFO, logger="nerkit"):
        choice = choose_language(config, splits_of(DATA / "tiny.train"))
    assert choice.code == "es"
    assert "language: es, detected from" in caplog.text
    assert "pass --language CODE to set it" in caplog.text


def test_english_and_dutch_are_told_apart(tmp_path: Path) -> None:
    english = tmp_path / "en.conll"
    english.write_text(ENGLISH, encoding="utf-8")
    choice = detect_language(read_column_file(english).sentences)
    assert choice.code == "en" and choice.source == "detected"
    assert choice.words is not None and choice.words > 20
    dutch = read_column_file(conll2002("ned.testa")).sentences[:200]
    found = detect_language(dutch)
    assert (found.code, found.confidence is not None and found.confidence > 0.99) == ("nl", True)


def test_a_named_corpus_gives_its_language(caplog: pytest.LogCaptureFixture) -> None:
    no_data = Splits([], None, None)
    config = TrainConfig(model="m", output_dir="o", data="conll2002-nl")
    with caplog.at_level(logging.INFO, logger="nerkit"):
        assert choose_language(config, no_data).code == "nl"
    assert "language: nl (the language of the named corpus)" in caplog.text
    caplog.clear()
    config.language = "es"
    with caplog.at_level(logging.WARNING, logger="nerkit"):
        assert choose_language(config, no_data).code == "es"
    assert "--language es differs from corpus conll2002-nl, which is nl" in caplog.text


def test_an_uncertain_detection_is_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    few = [Sentence(("Ok", "Mario", "!"), ("O", "B-PER", "O"))]
    with caplog.at_level(logging.WARNING, logger="nerkit"):
        choose_language(TrainConfig(model="m", output_dir="o", train="t"), Splits(few, None, None))
    assert "the detection is uncertain" in caplog.text


def test_a_language_without_word_splitter(caplog: pytest.LogCaptureFixture) -> None:
    """Detected: refused before training (no tagger would load the model); given: a warning."""
    from nerkit.training.language import LanguageChoice, check_splitter

    guess = LanguageChoice("ext", "detected", 0.41, 12, ("es", 0.39))
    with pytest.raises(ConfigError, match="language: ext, detected from 12 training words .* "
                       "has no word splitter.*pass --language") as err:
        check_splitter(guess)
    assert "\n" not in str(err.value)
    with caplog.at_level(logging.WARNING, logger="nerkit"):
        check_splitter(LanguageChoice("qaa", "given"))
    assert "'qaa' has no word splitter" in caplog.text and "the model trains" in caplog.text


def test_data_without_words_asks_for_the_language() -> None:
    numbers = [Sentence(("12", "-", "3.5", "Madrid"), ("O", "O", "O", "B-LOC"))]
    with pytest.raises(ConfigError, match="cannot detect the language .* pass --language CODE"):
        detect_language(numbers)


@pytest.mark.parametrize("code", ["English", "EN", "e", "en_US", "pt-BR"])
def test_a_bad_language_code_is_one_line(capsys: pytest.CaptureFixture[str], code: str) -> None:
    argv = ["train", "--model", "m", "--output-dir", "o", "--data", "conll2002-es",
            "--language", code]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert f"language must be an ISO 639 code such as en, es or de, not {code!r}" in err
    assert "\n" not in err
    TrainConfig(model="m", output_dir="o", data="conll2002-es", language="pt").check()
