"""The Tagger: whole entities with exact character offsets, any length, same tags as evaluate."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import conll2002
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nerkit import Entity, Tagger
from nerkit.conll.corpus import read_sentences
from nerkit.errors import ModelError
from nerkit.tagging.evaluate import evaluate_model


@pytest.fixture(scope="module")
def tagger(tiny_model: Path) -> Tagger:
    return Tagger.load(tiny_model)


SEED_SENTENCE = (
    "La recuperación económica de los Estados Unidos después de la pandemia del coronavirus "
    "será cuestión de meses, afirmó el Secretario del Tesoro, Steven Mnuchin."
)


def check_offsets(text: str, entities: list[Entity]) -> None:
    previous_end = 0
    for e in entities:
        assert e.text == text[e.start : e.end]
        assert e.text == e.text.strip() and e.text
        assert e.start >= previous_end
        assert 0.0 <= e.score <= 1.0
        previous_end = e.end


def test_seed_sentence(tagger: Tagger) -> None:
    entities = tagger(SEED_SENTENCE)
    check_offsets(SEED_SENTENCE, entities)
    assert all(e.label in tagger.labels.types for e in entities)


@pytest.mark.parametrize("text", ["", " ", "\n\t\r\n", "\u200b\u200b", "\ufeff"])
def test_empty_text_has_no_entities(tagger: Tagger, text: str) -> None:
    assert tagger(text) == []


# pieces, not single characters: accents in both normal forms, emoji with modifiers, zero-width
# and format characters, CRLF, tabs, names the splitter knows, and any other code point
unicode_piece = st.one_of(
    st.sampled_from(list("aeiouñáéíóúüÑÁ ,.;:¿?¡!()\"'-\t\r\n") + ["e\u0301", "n\u0303"]),
    st.sampled_from(["\u200b", "\u200d", "\ufeff", "\u00a0", "😀", "👍🏽", "🇪🇸", "\r\n"]),
    st.sampled_from(["Madrid", "Felipe", "González", "ONU", "Telefónica", "EE.UU.", "Sr."]),
    st.characters(codec="utf-8"),
)
unicode_text = st.lists(unicode_piece, max_size=60).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(unicode_text, min_size=1, max_size=6).map(" ".join))
def test_offsets_round_trip_on_random_unicode(tagger: Tagger, text: str) -> None:
    entities = tagger(text)
    check_offsets(text, entities)


def test_every_word_can_be_an_entity(tagger: Tagger) -> None:
    """With argmax on an untrained model, offsets must still hold for every span produced."""
    text = "Madrid\u00a0y\tFelipe  González,\r\nONU 👍🏽 e\u0301l."
    for entities in tagger.tag_many([text] * 3, batch_size=2):
        check_offsets(text, entities)


def test_long_document_loses_no_word(tiny_model: Path) -> None:
    """20,000 words with 16-piece windows: every word gets a tag, in bounded memory."""
    tagger = Tagger.load(tiny_model)
    words = ["Felipe", "González", "viajó", "a", "Madrid", "con", "la", "ONU", "."] * 2223
    words = words[:20_000]
    tags = tagger.tag_tokens(words)
    assert len(tags) == 20_000
    text = " ".join(words)
    entities = tagger(text)
    check_offsets(text, entities)
    windows = tagger.predictor.encoder.stats
    assert windows.split_sentences >= 1 and windows.windows > 1000


def test_tag_many_keeps_order_and_streams(tagger: Tagger) -> None:
    texts = [f"Felipe viajó a Madrid {i} veces." for i in range(300)]
    results = tagger.tag_many(iter(texts), batch_size=8)
    first = next(results)
    check_offsets(texts[0], first)
    rest = list(results)
    assert len(rest) == 299
    assert rest[-1] == tagger(texts[-1])


def test_overlapping_chunks_equal_one_text_at_a_time(tagger: Tagger) -> None:
    """Chunks of 8 texts (batch 1) overlap on the worker thread; the results are those of
    tagging each text alone, in order, and a bad text in a later chunk still raises."""
    words = ["Felipe", "viajó", "a", "Madrid", "con", "la", "ONU", "y", "Telefónica", "."]
    texts = [" ".join(words[i % 7 : i % 7 + 1 + i % 5]) for i in range(37)]
    assert list(tagger.tag_many(texts, batch_size=1)) == [tagger(t) for t in texts]
    assert list(tagger.tag_many(iter([]))) == []
    results = tagger.tag_many([*texts[:20], 42], batch_size=1)  # type: ignore[list-item]
    assert len([next(results) for _ in range(8)]) == 8
    with pytest.raises(TypeError, match="str"):
        list(results)


def test_tag_tokens_equals_evaluate_on_esp_testb(tmp_path: Path, tiny_model: Path) -> None:
    """The API and `nerkit evaluate` use the same windows, context and decoding: same tags.

    The tiny model is trained with the default context, so evaluate reads each sentence's
    neighbours (the file is one document); the API does too when given the document ids, and a
    sentence tagged on its own is read alone."""
    path = conll2002("esp.testb")
    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    results = evaluate_model(model, str(path), "test", output_dir=tmp_path / "eval")
    predicted = [
        [line.split()[-1] for line in block.splitlines()]
        for block in (tmp_path / "eval" / "test_predictions.txt").read_text().split("\n\n")
        if block.strip()
    ]
    sentences = read_sentences(path)
    assert results["sentences"] == len(sentences) == len(predicted) == 1517
    tagger = Tagger.load(model)
    assert tagger.predictor.encoder.context == 32
    words = [list(s.words) for s in sentences]
    assert tagger.tag_sentences(words, 16, [s.doc_id for s in sentences]) == predicted
    alone = tagger.tag_sentences(words, 16)
    for s, expected in list(zip(words, alone, strict=True))[:150]:
        assert tagger.tag_tokens(s) == expected


def test_bare_encoder_is_refused_with_a_fix(tiny_encoder: Path) -> None:
    match = "without a trained token-classification head.*nerkit train"
    with pytest.raises(ModelError, match=match):
        Tagger.load(tiny_encoder)


def test_missing_model_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        Tagger.load(tmp_path / "nope")


def test_settings_a_user_can_reach_are_config_errors(tiny_model: Path, tmp_path: Path) -> None:
    """An unknown decoding or a thread count below 1 is a one-line ConfigError, raised before
    the model is read (here: a folder that does not exist)."""
    from nerkit.errors import ConfigError

    for options, match in (
        ({"decoding": "x"}, "unknown decoding 'x'; choose one of viterbi, argmax"),
        ({"threads": 0}, "threads must be at least 1, got 0"),
    ):
        with pytest.raises(ConfigError, match=match) as err:
            Tagger.load(tmp_path / "nope", **options)
        assert len(str(err.value).splitlines()) == 1
    assert Tagger.load(tiny_model, decoding="argmax").predictor.decoder.method == "argmax"


def test_load_runs_the_model_as_recorded(tiny_model: Path, tagger: Tagger) -> None:
    """Tagger.load is open_model plus the model's recorded windows, scheme and decoding."""
    from nerkit.modeling.folder import ModelMeta

    meta = ModelMeta.read(tiny_model)
    assert tagger.meta == meta
    assert tagger.predictor.encoder.max_length == meta.max_length
    assert tagger.predictor.decoder.method == meta.decoding
    assert type(tagger.predictor.backend).__name__ == "TorchBackend"
    assert tagger.batch_size == 32
