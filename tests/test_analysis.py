"""nerkit.conll.analysis: the kind of every entity pair, and counts that add up to conlleval's.

The counts are checked against conlleval.pl itself (tests/data/conlleval.pl) on random files, as
tests/test_metrics.py checks the scores, and against nerkit's conlleval counts on files that
conlleval.pl reads differently (BIOES, untyped tags).
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from nerkit.conll.analysis import (
    ERROR_KINDS,
    GOLD_FATES,
    KINDS,
    PRED_FATES,
    Pair,
    analyze,
    pair_entities,
    pair_spans,
)
from nerkit.conll.metrics import entity_counts
from nerkit.errors import LabelError

CONLLEVAL = Path(__file__).parent / "data" / "conlleval.pl"
DATA = Path(os.environ.get("NERKIT_DATA", Path(__file__).parents[2] / "shared" / "data"))
PERL = shutil.which("perl")
needs_perl = pytest.mark.skipif(PERL is None, reason="perl is not installed; conlleval.pl needs it")
HEAD = re.compile(r"processed \d+ tokens with (\d+) phrases; found: (\d+) phrases; correct: (\d+)")
TYPE_LINE = re.compile(
    r"^ *(\S+): precision: *([\d.]+)%; recall: *([\d.]+)%; FB1: *[\d.]+  (\d+)$", re.M
)


# ------------------------------------------------------------------ truth table

# gold tags | predicted tags -> the pairs, as (kind, gold span, predicted span)
CASES = {
    "exact": ("B-PER I-PER O", "B-PER I-PER O", [("correct", ("PER", 0, 2), ("PER", 0, 2))]),
    "type": ("B-PER I-PER O", "B-ORG I-ORG O", [("wrong_type", ("PER", 0, 2), ("ORG", 0, 2))]),
    "narrower": ("B-PER I-PER O", "B-PER O O", [("wrong_boundary", ("PER", 0, 2), ("PER", 0, 1))]),
    "wider": ("O B-PER O", "B-PER I-PER O", [("wrong_boundary", ("PER", 1, 2), ("PER", 0, 2))]),
    "type and boundary": (
        "B-ORG I-ORG O", "O B-LOC I-LOC",
        [("wrong_type_and_boundary", ("ORG", 0, 2), ("LOC", 1, 3))],
    ),
    "missed": ("O B-LOC", "O O", [("missed", ("LOC", 1, 2), None)]),
    "spurious": ("O O", "B-MISC O", [("spurious", None, ("MISC", 0, 1))]),
    "nothing": ("O O", "O O", []),
    "split in two": (
        "B-ORG I-ORG I-ORG", "B-ORG O B-LOC",
        [("wrong_boundary", ("ORG", 0, 3), ("ORG", 0, 1)), ("spurious", None, ("LOC", 2, 3))],
    ),
    "two merged": (
        "B-PER O B-LOC", "B-PER I-PER I-PER",
        [("wrong_boundary", ("PER", 0, 1), ("PER", 0, 3)), ("missed", ("LOC", 2, 3), None)],
    ),
    "larger overlap wins over same type": (
        "B-ORG I-ORG I-ORG I-ORG", "B-LOC I-LOC I-LOC B-ORG",
        [("wrong_type_and_boundary", ("ORG", 0, 4), ("LOC", 0, 3)),
         ("spurious", None, ("ORG", 3, 4))],
    ),
    "same type breaks an overlap tie": (
        "B-ORG I-ORG", "B-LOC B-ORG",
        [("wrong_boundary", ("ORG", 0, 2), ("ORG", 1, 2)), ("spurious", None, ("LOC", 0, 1))],
    ),
    "earlier gold breaks a tie": (
        "B-PER B-PER", "B-PER I-PER",
        [("wrong_boundary", ("PER", 0, 1), ("PER", 0, 2)), ("missed", ("PER", 1, 2), None)],
    ),
    "exact match is never stolen": (
        "B-PER I-PER O B-LOC", "B-PER I-PER O B-ORG",
        [("correct", ("PER", 0, 2), ("PER", 0, 2)), ("wrong_type", ("LOC", 3, 4), ("ORG", 3, 4))],
    ),
    "conlleval reading of I- after O": (
        "O I-PER I-PER", "B-PER I-PER I-PER",
        [("wrong_boundary", ("PER", 1, 3), ("PER", 0, 3))],
    ),
    "bioes": ("S-PER B-LOC E-LOC", "S-PER S-LOC O",
              [("correct", ("PER", 0, 1), ("PER", 0, 1)),
               ("wrong_boundary", ("LOC", 1, 3), ("LOC", 1, 2))]),
}


@pytest.mark.parametrize(("gold", "pred", "expected"), CASES.values(), ids=CASES.keys())
def test_truth_table(gold: str, pred: str, expected: list) -> None:
    pairs = pair_entities(gold.split(), pred.split())
    assert [(p.kind, p.gold, p.pred) for p in pairs] == expected


def test_boundary_shapes() -> None:
    assert Pair("wrong_boundary", ("PER", 1, 2), ("PER", 0, 3)).boundary == "wider"
    assert Pair("wrong_boundary", ("PER", 0, 3), ("PER", 1, 2)).boundary == "narrower"
    assert Pair("wrong_type_and_boundary", ("PER", 0, 2), ("LOC", 1, 3)).boundary == "shifted"
    assert Pair("wrong_type", ("PER", 0, 2), ("LOC", 0, 2)).boundary is None
    assert Pair("missed", ("PER", 0, 2), None).boundary is None


def test_pairs_are_symmetric_in_kind() -> None:
    """Swapping gold and predictions swaps missed and spurious and keeps every other kind."""
    swap = {"missed": "spurious", "spurious": "missed"}
    for gold, pred, _ in CASES.values():
        there = pair_entities(gold.split(), pred.split())
        back = pair_entities(pred.split(), gold.split())
        assert sorted(swap.get(p.kind, p.kind) for p in there) == sorted(p.kind for p in back)


# ------------------------------------------------------------------ the whole report


def test_analyze_lists_errors_with_text_and_line() -> None:
    words = [["Ana", "vive", "en", "Banco", "de", "España"], ["Hola"]]
    gold = [["B-PER", "O", "O", "B-ORG", "I-ORG", "I-ORG"], ["O"]]
    pred = [["B-PER", "O", "O", "B-ORG", "O", "B-LOC"], ["B-MISC"]]
    result = analyze(gold, pred, words=words, where=[("es.txt", 10), ("es.txt", 17)])
    assert result["counts"] == {"correct": 1, "wrong_type": 0, "wrong_boundary": 1,
                                "wrong_type_and_boundary": 0, "missed": 0, "spurious": 2}
    assert result["boundary"] == {"wider": 0, "narrower": 1, "shifted": 0}
    assert result["errors"][0] == {
        "kind": "wrong_boundary",
        "gold": {"label": "ORG", "start": 3, "end": 6, "text": "Banco de España"},
        "pred": {"label": "ORG", "start": 3, "end": 4, "text": "Banco"},
        "boundary": "narrower", "sentence": 0, "where": "es.txt:13",
        "sentence_text": "Ana vive en Banco de España",
    }
    assert [(e["kind"], e["where"]) for e in result["errors"][1:]] == [
        ("spurious", "es.txt:15"), ("spurious", "es.txt:17"),
    ]
    assert [s["where"] for s in result["sentences"]] == ["es.txt:10", "es.txt:17"]
    assert result["sentences"][0]["pairs"][0] == {
        "kind": "correct", "gold": ["PER", 0, 1], "pred": ["PER", 0, 1],
    }
    assert result["confusions"][0] == {"gold": None, "pred": "LOC", "kind": "spurious",
                                       "count": 1}
    # rows are gold types, columns predicted ones, O for none
    assert result["matrix"] == {
        "labels": ["LOC", "MISC", "ORG", "PER", "O"],
        "matrix": [[0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 1, 0],
                   [1, 1, 0, 0, 0]],
    }
    assert json.loads(json.dumps(result)) == result


def test_confusions_are_most_frequent_first() -> None:
    gold = [["B-ORG"], ["B-ORG"], ["B-PER"], ["O"]]
    pred = [["B-LOC"], ["B-LOC"], ["O"], ["B-LOC"]]
    confusions = analyze(gold, pred)["confusions"]
    assert [(c["gold"], c["pred"], c["kind"], c["count"]) for c in confusions] == [
        ("ORG", "LOC", "wrong_type", 2), (None, "LOC", "spurious", 1), ("PER", None, "missed", 1),
    ]


def test_lengths_must_agree() -> None:
    with pytest.raises(LabelError, match="gold has 2 tags"):
        analyze([["O", "O"]], [["O"]])


# ------------------------------------------------------------------ counts add up to conlleval's


def random_sentences(rng: random.Random, prefixes: str, plain: bool) -> tuple[list, list]:
    """Random gold tags, and predictions that mostly copy them (ill-formed tags included)."""
    types = ["PER", "LOC", "ORG-X", "MISC"] + ([] if plain else ["Été"])
    tags = ["O"] * 4 + [f"{p}-{t}" for p in prefixes for t in types]
    tags += [] if plain else list(prefixes)  # untyped tags
    gold, pred = [], []
    for _ in range(rng.randint(1, 6)):
        g = [rng.choice(tags) for _ in range(rng.randint(0, 15))]
        gold.append(g)
        pred.append([t if rng.random() < 0.7 else rng.choice(tags) for t in g])
    return gold, pred


def assert_adds_up(analysis: dict, gold: list, pred: list) -> None:
    """correct = true positives; wrong + missed = false negatives; wrong + spurious = false
    positives: overall, and per type (gold type for FN, predicted type for FP)."""
    counts = entity_counts(gold, pred)
    c = analysis["counts"]
    wrong = sum(c[k] for k in ERROR_KINDS if k.startswith("wrong"))
    tp = sum(counts.correct.values())
    assert c["correct"] == tp == analysis["conlleval"]["true_positives"]
    assert wrong + c["missed"] == sum(counts.gold.values()) - tp
    assert wrong + c["spurious"] == sum(counts.pred.values()) - tp
    assert analysis["conlleval"]["false_negatives"] == wrong + c["missed"]
    assert analysis["conlleval"]["false_positives"] == wrong + c["spurious"]
    assert len(analysis["errors"]) == sum(c[k] for k in ERROR_KINDS)
    assert set(analysis["per_type"]) == set(counts.gold) | set(counts.pred)
    for t, fates in analysis["per_type"].items():
        assert list(fates["gold"]) == list(GOLD_FATES) and list(fates["pred"]) == list(PRED_FATES)
        assert fates["gold"]["correct"] == fates["pred"]["correct"] == counts.correct.get(t, 0)
        assert sum(fates["gold"].values()) == counts.gold.get(t, 0), t
        assert sum(fates["pred"].values()) == counts.pred.get(t, 0), t
    matrix = analysis["matrix"]["matrix"]
    assert sum(map(sum, matrix)) == sum(c[k] for k in KINDS)


def test_counts_add_up_on_random_files() -> None:
    """BIOES, untyped and non-ASCII types too, against nerkit's conlleval counts (which
    tests/test_metrics.py checks against conlleval.pl and seqeval)."""
    rng = random.Random(23)
    for i in range(400):
        gold, pred = random_sentences(rng, "BIES" if i % 2 else "BI", plain=i % 3 == 0)
        assert_adds_up(analyze(gold, pred), gold, pred)


def conlleval_counts(gold: list, pred: list) -> tuple[tuple[int, int, int], dict]:
    """(gold, found, correct) overall from conlleval.pl, and per type (found, precision,
    recall) as it prints them."""
    lines = []
    for gold_tags, pred_tags in zip(gold, pred, strict=True):
        lines += [f"w {g} {p}\n" for g, p in zip(gold_tags, pred_tags, strict=True)] + ["\n"]
    out = subprocess.run([PERL, str(CONLLEVAL)], input="".join(lines).encode(),
                         capture_output=True, check=True).stdout.decode()
    overall = tuple(map(int, HEAD.search(out).groups()))
    per_type = {m[0]: (int(m[3]), float(m[1]), float(m[2])) for m in TYPE_LINE.findall(out)}
    return overall, per_type


def assert_adds_up_to_conlleval_pl(analysis: dict, gold: list, pred: list) -> None:
    (phrases, found, correct), per_type = conlleval_counts(gold, pred)
    c = analysis["counts"]
    wrong = c["wrong_type"] + c["wrong_boundary"] + c["wrong_type_and_boundary"]
    assert c["correct"] == correct
    assert wrong + c["missed"] == phrases - correct
    assert wrong + c["spurious"] == found - correct
    assert set(per_type) == set(analysis["per_type"])
    for t, (found_t, precision, recall) in per_type.items():
        fates = analysis["per_type"][t]
        assert sum(fates["pred"].values()) == found_t
        correct_t = round(precision * found_t / 100)
        assert fates["pred"]["correct"] == correct_t
        if recall > 0:  # else conlleval.pl's line does not say how many gold entities there were
            assert sum(fates["gold"].values()) == round(100 * correct_t / recall)


@needs_perl
def test_counts_add_up_to_conlleval_pl_on_random_files() -> None:
    """Typed IOB1/IOB2 files (ill-formed ones included), read by conlleval.pl itself."""
    rng = random.Random(2002)
    for _ in range(200):
        gold, pred = random_sentences(rng, "BI", plain=True)
        assert_adds_up_to_conlleval_pl(analyze(gold, pred), gold, pred)


@needs_perl
def test_counts_add_up_to_conlleval_pl_on_esp_testb() -> None:
    path = DATA / "conll2002" / "esp.testb"
    if not path.exists():
        pytest.skip(f"{path} not found; set NERKIT_DATA to the folder holding conll2002/")
    from nerkit.conll.corpus import read_sentences

    sentences = read_sentences(path)
    gold = [list(s.tags) for s in sentences]
    rng = random.Random(4)
    tags = sorted({t for s in gold for t in s})
    pred = [[t if rng.random() < 0.9 else rng.choice(tags) for t in s] for s in gold]
    analysis = analyze(gold, pred, words=[s.words for s in sentences],
                       where=[(s.path, s.line) for s in sentences])
    assert_adds_up_to_conlleval_pl(analysis, gold, pred)
    assert_adds_up(analysis, gold, pred)
    first = analysis["errors"][0]
    line = int(first["where"].rsplit(":", 1)[1])
    word = (first["gold"] or first["pred"])["text"].split()[0]
    assert path.read_text("utf-8").splitlines()[line - 1].split()[0] == word


def test_pair_spans_accepts_any_order() -> None:
    pairs = pair_spans([("LOC", 3, 4), ("PER", 0, 2)], [("PER", 0, 2)])
    assert [p.kind for p in pairs] == ["correct", "missed"]
