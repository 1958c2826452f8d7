"""nerkit.conll.metrics checked against conlleval.pl (tests/data/conlleval.pl), sklearn and
seqeval."""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from nerkit.conll.metrics import (
    EntityCounts,
    entity_confusion,
    entity_counts,
    format_confusion,
    format_report,
    format_token_report,
    score,
    token_report,
)
from nerkit.conll.schemes import spans_to_tags
from nerkit.errors import LabelError, SchemeError

CONLLEVAL = Path(__file__).parent / "data" / "conlleval.pl"
DATA = Path(os.environ.get("NERKIT_DATA", Path(__file__).parents[2] / "shared" / "data"))
PERL = shutil.which("perl")
needs_perl = pytest.mark.skipif(PERL is None, reason="perl is not installed; conlleval.pl needs it")

HEAD = re.compile(
    r"processed (\d+) tokens with (\d+) phrases; found: (\d+) phrases; correct: (\d+)\.\n"
)
OVERALL = re.compile(
    r"accuracy: *([\d.]+)%; precision: *([\d.]+)%; recall: *([\d.]+)%; FB1: *([\d.]+)"
)
TYPE_LINE = re.compile(
    r"^ *(.*?): precision: *([\d.]+)%; recall: *([\d.]+)%; FB1: *([\d.]+)  (\d+)$", re.M
)


def run_conlleval(gold: list[list[str]], pred: list[list[str]]) -> str:
    """conlleval.pl's report for these sentences: one `word gold pred` line per token."""
    lines = []
    for gold_tags, pred_tags in zip(gold, pred, strict=True):
        lines += [f"w {g} {p}\n" for g, p in zip(gold_tags, pred_tags, strict=True)] + ["\n"]
    text = "".join(lines)
    result = subprocess.run(
        [PERL, str(CONLLEVAL)], input=text.encode(), capture_output=True, check=True
    )
    return result.stdout.decode()


def assert_same_as_conlleval(gold: list[list[str]], pred: list[list[str]]) -> None:
    """Counts exactly, scores within 0.01 points, overall and per type."""
    out = run_conlleval(gold, pred)
    s = score(gold, pred)
    tokens, phrases, found, correct = map(int, HEAD.match(out).groups())
    micro = s["micro"]
    assert (s["tokens"], micro["support"], micro["predicted"], micro["correct"]) == (
        tokens, phrases, found, correct,
    ), out  # fmt: skip
    assert (s["gold_entities"], s["pred_entities"]) == (phrases, found)
    if tokens:
        accuracy, precision, recall, f1 = map(float, OVERALL.search(out).groups())
        assert s["token_accuracy"] == pytest.approx(accuracy, abs=0.01)
        assert micro["precision"] == pytest.approx(precision, abs=0.01)
        assert micro["recall"] == pytest.approx(recall, abs=0.01)
        assert micro["f1"] == pytest.approx(f1, abs=0.01)
    per_type = {m[0]: m[1:] for m in TYPE_LINE.findall(out)}
    assert set(per_type) == set(s["per_type"]), out
    for name, (precision, recall, f1, n_found) in per_type.items():
        mine = s["per_type"][name]
        assert mine["precision"] == pytest.approx(float(precision), abs=0.01), name
        assert mine["recall"] == pytest.approx(float(recall), abs=0.01), name
        assert mine["f1"] == pytest.approx(float(f1), abs=0.01), name
        assert mine["predicted"] == int(n_found), name
    # With typed ASCII names conlleval prints each type once (untyped ones it prints twice,
    # a quirk of its sort-and-dedupe loop), so its whole report must match ours byte for byte.
    if all(name.isascii() and name not in ("", "0") for name in s["per_type"]):
        assert format_report(s) == out


def sentences(text: str) -> list[list[str]]:
    """'B-PER I-PER | O I-LOC' -> [['B-PER', 'I-PER'], ['O', 'I-LOC']]; '' -> []."""
    return [part.split() for part in text.split("|")] if text else []


HAND_CASES = {
    "perfect": ("B-PER I-PER O B-LOC", "B-PER I-PER O B-LOC"),
    "partial span": ("B-PER I-PER O B-LOC", "B-PER O O B-LOC"),
    "wrong type": ("B-PER I-PER O", "B-ORG I-ORG O"),
    "longer prediction": ("B-PER O", "B-PER I-PER"),
    "I after O in gold": ("O I-PER I-PER O", "O B-PER I-PER O"),
    "I-ORG after B-PER in gold": ("B-PER I-ORG O", "B-PER B-ORG O"),
    "sentence starts with I": ("I-LOC I-LOC O | I-MISC", "B-LOC I-LOC O | B-MISC"),
    "iob1 gold and pred": ("I-PER I-PER B-PER O I-LOC", "I-PER B-PER B-PER O I-LOC"),
    "iob1 gold, iob2 pred": ("I-PER I-PER B-PER O I-LOC", "B-PER I-PER B-PER O B-LOC"),
    "entity open at sentence end": ("O B-PER | I-PER O", "O B-PER | B-PER O"),
    "bioes": ("B-PER E-PER O S-LOC O B-ORG I-ORG E-ORG", "B-PER E-PER O S-LOC O B-ORG E-ORG O"),
    "bioes types change": ("S-PER S-LOC B-ORG E-ORG", "S-PER B-LOC E-LOC S-ORG"),
    "bioes vs iob2": ("B-PER E-PER O S-LOC", "B-PER I-PER O B-LOC"),
    "hyphenated types": ("B-ORG-COMPANY I-ORG-COMPANY I-ORG", "B-ORG-COMPANY I-ORG-COMPANY B-ORG"),
    "untyped": ("B I O I B", "B I O B I"),
    "no gold entities": ("O O | O", "B-PER O | O"),
    "no predictions": ("B-PER O | I-LOC", "O O | O"),
    "all O": ("O O O", "O O O"),
    "empty sentences": ("| O B-PER |", "| O B-PER |"),
    "no sentences": ("", ""),
    "non-ASCII types": ("B-人名 I-人名 O B-ÉVÉNEMENT", "B-人名 O O B-ÉVÉNEMENT"),
}


@needs_perl
@pytest.mark.parametrize(("gold", "pred"), HAND_CASES.values(), ids=HAND_CASES.keys())
def test_hand_cases_match_conlleval(gold, pred):
    assert_same_as_conlleval(sentences(gold), sentences(pred))
    assert_same_as_conlleval(sentences(pred), sentences(gold))


@needs_perl
@pytest.mark.parametrize(
    ("gold", "pred"),
    [(a, b) for a in ("O", "B-X", "I-X", "B-Y", "I-Y") for b in ("O", "B-X", "I-X", "B-Y", "I-Y")],
)
def test_tag_pairs_match_conlleval(gold, pred):
    """Every (previous, current) pair of IOB tags, in gold and in predictions."""
    for first in ("O", "B-X", "I-X", "I-Y"):
        assert_same_as_conlleval([[first, gold, "O"]], [[first, pred, pred]])


def _random_sentences(rng: random.Random, prefixes: str) -> tuple[list, list]:
    # half the files use only typed ASCII tags, so the whole report text is compared too
    plain = rng.random() < 0.5
    types = ["PER", "LOC", "ORG-X", "MISC"] + ([] if plain else ["Été"])
    untyped = [] if plain else list(prefixes)
    tags = ["O"] * 4 + [f"{p}-{t}" for p in prefixes for t in types] + untyped
    gold, pred = [], []
    for _ in range(rng.randint(1, 6)):
        g = [rng.choice(tags) for _ in range(rng.randint(0, 15))]
        # mostly copy gold, so that many entities are correct and partial matches are common
        p = [t if rng.random() < 0.7 else rng.choice(tags) for t in g]
        gold.append(g)
        pred.append(p)
    return gold, pred


@needs_perl
def test_random_iob_files_match_conlleval():
    """Several hundred random files of IOB1/IOB2 tags (ill-formed ones included)."""
    rng = random.Random(20240601)
    for _ in range(300):
        gold, pred = _random_sentences(rng, "BI")
        assert_same_as_conlleval(gold, pred)


def _tidy(spans: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Drop spans that overlap the previous one or touch a previous one of the same type."""
    kept: list[tuple[str, int, int]] = []
    for span in sorted(spans, key=lambda x: x[1:]):
        last = kept[-1] if kept else ("", -1, -1)
        if span[1] > last[2] or (span[1] == last[2] and span[0] != last[0]):
            kept.append(span)
    return kept


@needs_perl
def test_random_well_formed_bioes_files_match_conlleval():
    """Well-formed, typed BIOES where no entity touches one of its own type.

    That is where the 2004 conlleval.pl, which knows no S- and lets E- run into a same-type
    B-, reads BIOES as nerkit and seqeval do (the differences are the next test).
    """
    rng = random.Random(11)
    types = ["PER", "LOC", "ORG-X", "Été"]
    for _ in range(100):
        gold, pred = [], []
        for _ in range(rng.randint(1, 5)):
            length = rng.randint(0, 15)
            cuts = sorted(rng.sample(range(length + 1), min(length + 1, rng.randint(0, 8))))
            spans = _tidy([(rng.choice(types), a, b) for a, b in itertools.pairwise(cuts)])
            guess = [
                (rng.choice(types), a, b) if rng.random() < 0.2
                else (t, a, min(length, b + rng.choice((-1, 0, 0, 1)))) if b - a > 1
                else (t, a, b)
                for t, a, b in spans
                if rng.random() < 0.9
            ]  # fmt: skip
            gold.append(spans_to_tags(spans, length, "bioes"))
            pred.append(spans_to_tags(_tidy(guess), length, "bioes"))
        assert_same_as_conlleval(gold, pred)


@needs_perl
@pytest.mark.parametrize(
    ("tags", "conlleval_phrases", "nerkit_phrases"),
    [
        ("S-PER S-PER", 1, 2),
        ("B-PER E-PER B-PER E-PER", 1, 2),
        ("B-PER E-PER S-PER", 1, 2),
    ],
)
def test_bioes_where_conlleval_pl_differs(tags, conlleval_phrases, nerkit_phrases):
    """The 2004 conlleval.pl predates BIOES: it lets S-X/E-X run into a same-type entity.

    nerkit follows seqeval (default mode) there: E- and S- close an entity, B- and S- open one.
    """
    sents = sentences(tags)
    assert HEAD.match(run_conlleval(sents, sents))[2] == str(conlleval_phrases)
    assert score(sents, sents)["gold_entities"] == nerkit_phrases


@needs_perl
def test_esp_testb_against_conlleval():
    path = DATA / "conll2002" / "esp.testb"
    if not path.exists():
        pytest.skip(f"{path} not found; set NERKIT_DATA to the folder holding conll2002/")
    gold = _read_tags(path)
    rng = random.Random(3)
    tags = sorted({t for s in gold for t in s})
    pred = [[t if rng.random() < 0.9 else rng.choice(tags) for t in s] for s in gold]
    assert_same_as_conlleval(gold, pred)


def _read_tags(path: Path) -> list[list[str]]:
    result: list[list[str]] = [[]]
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if not fields:
            if result[-1]:
                result.append([])
        elif fields[0] != "-DOCSTART-":
            result[-1].append(fields[-1])
    return [s for s in result if s]


def test_esp_testb_gold_against_itself():
    """CoNLL-2002 Spanish test: 3558 B- tags plus one entity opened by a stray I-MISC."""
    path = DATA / "conll2002" / "esp.testb"
    if not path.exists():
        pytest.skip(f"{path} not found; set NERKIT_DATA to the folder holding conll2002/")
    gold = _read_tags(path)
    s = score(gold, gold)
    assert s["gold_entities"] == s["pred_entities"] == s["micro"]["correct"] == 3559
    assert {t: v["support"] for t, v in s["per_type"].items()} == {
        "LOC": 1084, "MISC": 340, "ORG": 1400, "PER": 735,
    }  # fmt: skip
    assert s["tokens"] == 51533
    assert s["micro"]["f1"] == s["token_accuracy"] == 100.0


def test_score_is_json_and_percent():
    s = score(sentences("B-PER I-PER O B-LOC | I-ORG"), sentences("B-PER I-PER O O | B-ORG"))
    assert json.loads(json.dumps(s)) == s
    assert s["micro"] == {
        "precision": 100.0, "recall": 200 / 3, "f1": 80.0,
        "support": 3, "predicted": 2, "correct": 2,
    }  # fmt: skip
    assert s["macro"]["recall"] == pytest.approx((100 + 0 + 100) / 3)
    assert s["per_type"]["LOC"] == {
        "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1, "predicted": 0, "correct": 0,
    }  # fmt: skip
    assert s["token_accuracy"] == 60.0  # B-PER I-PER O right; B-LOC, I-ORG wrong


def test_score_zero_division():
    assert score([], [])["micro"]["f1"] == 0.0
    assert score([], [])["macro"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert format_report(score([], [])) == (
        "processed 0 tokens with 0 phrases; found: 0 phrases; correct: 0.\n"
    )
    nothing_found = score([["B-PER"]], [["O"]])["micro"]
    assert (nothing_found["precision"], nothing_found["recall"], nothing_found["f1"]) == (0, 0, 0)


def test_entity_counts():
    counts = entity_counts(sentences("B-PER I-PER | I-PER O"), sentences("B-PER I-PER | B-LOC O"))
    assert counts == EntityCounts(
        tokens=4, correct_tags=3, gold={"PER": 2}, pred={"LOC": 1, "PER": 1}, correct={"PER": 1}
    )


def test_entity_never_crosses_sentences():
    # one sentence "B-PER I-PER" would hold one entity; split in two, it holds two
    assert entity_counts([["B-PER"], ["I-PER"]], [["B-PER"], ["I-PER"]]).gold == {"PER": 2}


@pytest.mark.parametrize(
    "function", [score, entity_counts, token_report, entity_confusion], ids=lambda f: f.__name__
)
def test_length_errors(function):
    with pytest.raises(LabelError, match=r"sentence 1: gold has 3 tags but the prediction has 2"):
        function([["O"], ["O", "O", "O"]], [["O"], ["O", "O"]])
    with pytest.raises(LabelError, match=r"gold has 2 sentences but the predictions have 1"):
        function([["O"], ["O"]], [["O"]])
    with pytest.raises(TypeError, match=r"gold must be a list of sentences"):
        function(["O", "O"], [["O"], ["O"]])
    with pytest.raises(SchemeError, match=r"unknown tag 'B_PER'"):
        function([["B_PER"]], [["O"]])


def test_token_report_table():
    gold = sentences("B-PER I-PER O O B-LOC | O")
    pred = sentences("B-PER O O B-LOC B-LOC | B-PER")
    report = token_report(gold, pred)
    assert list(report) == [
        "B-LOC", "B-PER", "I-PER", "O", "micro avg", "macro avg", "weighted avg",
    ]  # fmt: skip
    assert report["B-PER"] == {"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1}
    assert report["micro avg"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 6}
    assert format_token_report(report) == (
        "              precision    recall  f1-score   support\n"
        "\n"
        "       B-LOC       0.50      1.00      0.67         1\n"
        "       B-PER       0.50      1.00      0.67         1\n"
        "       I-PER       0.00      0.00      0.00         1\n"
        "           O       0.50      0.33      0.40         3\n"
        "\n"
        "   micro avg       0.50      0.50      0.50         6\n"
        "   macro avg       0.38      0.58      0.43         6\n"
        "weighted avg       0.42      0.50      0.42         6\n"
    )


def test_token_report_matches_sklearn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = random.Random(5)
    for _ in range(20):
        gold, pred = _random_sentences(rng, "BI")
        flat_gold = [t for s in gold for t in s]
        flat_pred = [t for s in pred for t in s]
        if not flat_gold:
            continue
        expected = metrics.classification_report(
            flat_gold, flat_pred, output_dict=True, zero_division=0
        )
        mine = token_report(gold, pred)
        for name in (*sorted(set(flat_gold) | set(flat_pred)), "macro avg", "weighted avg"):
            for key in ("precision", "recall", "f1"):
                theirs = expected[name]["f1-score" if key == "f1" else key]
                assert mine[name][key] == pytest.approx(theirs), (name, key)
            assert mine[name]["support"] == expected[name]["support"]
        assert mine["micro avg"]["f1"] == pytest.approx(expected["accuracy"])


def test_score_matches_seqeval_on_bioes():
    """seqeval's default mode reads mixed BIOES like nerkit; its micro scores must agree."""
    seqeval = pytest.importorskip("seqeval.metrics")
    rng = random.Random(9)
    for _ in range(50):
        gold, pred = _random_sentences(rng, "BIES")
        s = score(gold, pred)["micro"]
        for key, function in (
            ("precision", seqeval.precision_score),
            ("recall", seqeval.recall_score),
            ("f1", seqeval.f1_score),
        ):
            assert s[key] / 100 == pytest.approx(function(gold, pred, zero_division=0)), key


def test_entity_confusion():
    gold = sentences("B-PER I-PER O B-LOC O | B-ORG")
    pred = sentences("B-LOC I-LOC O B-LOC B-PER | O")
    conf = entity_confusion(gold, pred)
    assert conf == {
        "labels": ["LOC", "ORG", "PER", "O"],
        "matrix": [
            [1, 0, 0, 0],  # gold LOC: found as LOC
            [0, 0, 0, 1],  # gold ORG: missed
            [1, 0, 0, 0],  # gold PER: found as LOC on the same span
            [0, 0, 1, 0],  # spurious PER
        ],
    }
    assert format_confusion(conf) == (
        "gold \\ pred  LOC  ORG  PER    O\n"
        "        LOC    1    0    0    0\n"
        "        ORG    0    0    0    1\n"
        "        PER    1    0    0    0\n"
        "          O    0    0    1    0\n"
    )


def test_entity_confusion_agrees_with_counts():
    rng = random.Random(1)
    for _ in range(50):
        gold, pred = _random_sentences(rng, "BIES")
        conf, counts = entity_confusion(gold, pred), entity_counts(gold, pred)
        labels, matrix = conf["labels"], conf["matrix"]
        for i, name in enumerate(labels[:-1]):
            assert sum(matrix[i]) == counts.gold.get(name, 0)
            assert sum(row[i] for row in matrix) == counts.pred.get(name, 0)
            assert matrix[i][i] == counts.correct.get(name, 0)
        assert matrix[-1][-1] == 0


def test_entity_confusion_refuses_type_named_o():
    with pytest.raises(LabelError, match=r"entity type is named 'O'"):
        entity_confusion([["B-O"]], [["O"]])
