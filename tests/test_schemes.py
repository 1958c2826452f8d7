"""Truth tables for nerkit.conll.schemes: tag pairs, sequences, conversion, validation, masks."""

from __future__ import annotations

import itertools
import os
import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nerkit.conll.schemes import (
    convert_tags,
    detect_scheme,
    find_ill_formed,
    normalize_scheme,
    spans_to_tags,
    split_tag,
    tags_to_spans,
    transition_masks,
)
from nerkit.errors import LabelError, SchemeError

DATA = Path(os.environ.get("NERKIT_DATA", Path(__file__).parents[2] / "shared" / "data"))


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("O", ("O", "")),
        ("B-PER", ("B", "PER")),
        ("I-PER", ("I", "PER")),
        ("E-PER", ("E", "PER")),
        ("S-PER", ("S", "PER")),
        ("L-PER", ("E", "PER")),  # BILOU last = E
        ("U-PER", ("S", "PER")),  # BILOU unit = S
        ("B", ("B", "")),
        ("I", ("I", "")),
        ("I-ORG-COMPANY", ("I", "ORG-COMPANY")),
        ("B-ÉVÉNEMENT", ("B", "ÉVÉNEMENT")),
        ("S-人名", ("S", "人名")),
    ],
)
def test_split_tag(tag, expected):
    assert split_tag(tag) == expected


@pytest.mark.parametrize(
    ("tag", "match"),
    [
        ("X-PER", r"unknown tag 'X-PER'"),
        ("b-PER", r"unknown tag 'b-PER'"),
        ("O-PER", r"unknown tag 'O-PER'"),
        ("-PER", r"unknown tag '-PER'"),
        ("", r"unknown tag ''"),
        ("PER", r"unknown tag 'PER'"),
        ("B-", r"tag 'B-' has an empty type"),
    ],
)
def test_split_tag_errors(tag, match):
    with pytest.raises(SchemeError, match=match):
        split_tag(tag)


# Every (previous, current) pair of prefixes, same type (X X) or another type (X Y), with the
# entities conlleval-style reading gives. Columns: previous tag, current tag, expected spans.
X0, X1, X01, Y1 = ("X", 0, 1), ("X", 1, 2), ("X", 0, 2), ("Y", 1, 2)
PAIRS = [
    ("O", "O", []),
    ("O", "B-X", [X1]),
    ("O", "I-X", [X1]),  # conlleval quirk: I- after O opens an entity
    ("O", "E-X", [X1]),
    ("O", "S-X", [X1]),
    ("B-X", "O", [X0]),
    ("B-X", "B-X", [X0, X1]),
    ("B-X", "I-X", [X01]),
    ("B-X", "E-X", [X01]),
    ("B-X", "S-X", [X0, X1]),
    ("I-X", "O", [X0]),
    ("I-X", "B-X", [X0, X1]),
    ("I-X", "I-X", [X01]),
    ("I-X", "E-X", [X01]),
    ("I-X", "S-X", [X0, X1]),
    ("E-X", "O", [X0]),
    ("E-X", "B-X", [X0, X1]),
    ("E-X", "I-X", [X0, X1]),
    ("E-X", "E-X", [X0, X1]),
    ("E-X", "S-X", [X0, X1]),
    ("S-X", "O", [X0]),
    ("S-X", "B-X", [X0, X1]),
    ("S-X", "I-X", [X0, X1]),
    ("S-X", "E-X", [X0, X1]),
    ("S-X", "S-X", [X0, X1]),
    ("B-X", "B-Y", [X0, Y1]),
    ("B-X", "I-Y", [X0, Y1]),  # another type's I- opens a new entity
    ("B-X", "E-Y", [X0, Y1]),
    ("I-X", "I-Y", [X0, Y1]),
    ("I-X", "S-Y", [X0, Y1]),
    ("E-X", "I-Y", [X0, Y1]),
    ("S-X", "E-Y", [X0, Y1]),
    ("B", "I", [("", 0, 2)]),  # untyped tags
    ("I", "B", [("", 0, 1), ("", 1, 2)]),
    ("O", "I", [("", 1, 2)]),
    ("I", "I-X", [("", 0, 1), X1]),
    ("L-X", "U-X", [X0, X1]),
]


@pytest.mark.parametrize(("prev", "cur", "spans"), PAIRS)
def test_tag_pairs(prev, cur, spans):
    assert tags_to_spans([prev, cur]) == spans


@pytest.mark.parametrize(
    ("tags", "spans"),
    [
        ([], []),
        (["O", "O"], []),
        (["I-PER", "I-PER", "B-PER", "O", "I-LOC"], [("PER", 0, 2), ("PER", 2, 3), ("LOC", 4, 5)]),
        (["B-PER", "I-PER", "B-PER", "O", "B-LOC"], [("PER", 0, 2), ("PER", 2, 3), ("LOC", 4, 5)]),
        (["B-PER", "E-PER", "S-PER", "O", "S-LOC"], [("PER", 0, 2), ("PER", 2, 3), ("LOC", 4, 5)]),
        (["B-PER", "I-PER", "I-PER"], [("PER", 0, 3)]),  # open at the end: closed by the end
        (["B-PER", "I-LOC", "E-LOC"], [("PER", 0, 1), ("LOC", 1, 3)]),
        (["I-ORG-COMPANY", "I-ORG-COMPANY", "I-ORG"], [("ORG-COMPANY", 0, 2), ("ORG", 2, 3)]),
        (["B-人名", "I-人名", "B-地名"], [("人名", 0, 2), ("地名", 2, 3)]),
        (["B-ÉV", "L-ÉV", "U-ÉV"], [("ÉV", 0, 2), ("ÉV", 2, 3)]),
        (["B", "I", "O", "I"], [("", 0, 2), ("", 3, 4)]),
    ],
)
def test_tags_to_spans(tags, spans):
    assert tags_to_spans(tags) == spans


def test_tags_to_spans_rejects_unknown_tag():
    with pytest.raises(SchemeError, match=r"unknown tag 'Z-PER'"):
        tags_to_spans(["O", "Z-PER"])


def test_tags_to_spans_matches_seqeval():
    """seqeval's default-mode get_entities is the reference for mixed BIOES input."""
    seqeval = pytest.importorskip("seqeval.metrics.sequence_labeling")
    rng = random.Random(7)
    tags = ["O", "B", "I", *(f"{p}-{t}" for p in "BIES" for t in ("PER", "LOC-X", "人"))]
    for _ in range(2000):
        seq = [rng.choice(tags) for _ in range(rng.randint(0, 10))]
        expected = [(t if t != "_" else "", s, e + 1) for t, s, e in seqeval.get_entities(seq)]
        assert tags_to_spans(seq) == sorted(expected, key=lambda x: x[1]), seq


@pytest.mark.parametrize(
    ("scheme", "tags"),
    [
        ("iob2", ["B-PER", "I-PER", "B-PER", "O", "B-LOC", "O"]),
        ("iob1", ["I-PER", "I-PER", "B-PER", "O", "I-LOC", "O"]),
        ("bioes", ["B-PER", "E-PER", "S-PER", "O", "S-LOC", "O"]),
        ("iobes", ["B-PER", "E-PER", "S-PER", "O", "S-LOC", "O"]),
        ("bilou", ["B-PER", "E-PER", "S-PER", "O", "S-LOC", "O"]),  # written with E-/S-
        ("IOB2", ["B-PER", "I-PER", "B-PER", "O", "B-LOC", "O"]),
    ],
)
def test_spans_to_tags(scheme, tags):
    spans = [("PER", 0, 2), ("PER", 2, 3), ("LOC", 4, 5)]
    assert spans_to_tags(spans, 6, scheme) == tags
    assert spans_to_tags(reversed(spans), 6, scheme) == tags  # order of spans does not matter


@pytest.mark.parametrize(
    ("spans", "length", "match"),
    [
        ([("PER", 0, 2), ("LOC", 1, 3)], 4, r"spans \('PER', 0, 2\) and \('LOC', 1, 3\) overlap"),
        ([("PER", 0, 2), ("PER", 0, 2)], 4, r"overlap"),
        ([("PER", 2, 5)], 4, r"span \('PER', 2, 5\) is empty or outside a sentence of 4 words"),
        ([("PER", 2, 2)], 4, r"is empty or outside"),
        ([("PER", -1, 1)], 4, r"is empty or outside"),
    ],
)
def test_spans_to_tags_errors(spans, length, match):
    with pytest.raises(SchemeError, match=match):
        spans_to_tags(spans, length)


@pytest.mark.parametrize("bad", ["iob3", "bio", "", "ioe2"])
def test_unknown_scheme(bad):
    with pytest.raises(SchemeError, match=r"use one of iob1, iob2, bioes"):
        normalize_scheme(bad)
    with pytest.raises(SchemeError, match=rf"unknown tag scheme '{bad}'"):
        spans_to_tags([], 1, bad)


@st.composite
def spans_and_length(draw):
    """Non-overlapping spans over a sentence, with types drawn from a small mixed set."""
    length = draw(st.integers(0, 12))
    cuts = sorted(draw(st.sets(st.integers(0, length), max_size=8)))
    spans = []
    for start, end in itertools.pairwise(cuts):
        if draw(st.booleans()):
            spans.append((draw(st.sampled_from(["PER", "ORG-X", "Été", ""])), start, end))
    return spans, length


@given(spans_and_length(), st.sampled_from(["iob1", "iob2", "bioes"]))
def test_spans_round_trip(data, scheme):
    spans, length = data
    tags = spans_to_tags(spans, length, scheme)
    assert len(tags) == length
    assert tags_to_spans(tags) == spans
    assert find_ill_formed(tags, scheme) == []
    for other in ("iob1", "iob2", "bioes"):
        assert convert_tags(tags, other, source=scheme) == spans_to_tags(spans, length, other)


@pytest.mark.parametrize(
    ("sentences", "scheme"),
    [
        ([["I-PER", "B-PER", "O"], ["I-LOC"]], "iob1"),
        ([["I-PER", "I-PER", "O", "I-LOC", "B-LOC"]], "iob1"),
        ([["B-PER", "I-PER", "O"], ["B-LOC"]], "iob2"),
        ([["B-PER", "I-PER", "O"], ["I-LOC", "O"]], "iob2"),  # a stray I- opener stays iob2
        ([["O", "I-PER", "B-PER"], ["O", "B-LOC"]], "iob2"),  # B- outside the iob1 position
        ([["I-PER", "B-PER"], ["S-LOC"]], "bioes"),
        ([["B-PER", "L-PER"]], "bioes"),
        ([["U-PER"]], "bioes"),
        ([["O", "O"], []], "iob2"),
        ([], "iob2"),
    ],
)
def test_detect_scheme(sentences, scheme):
    assert detect_scheme(sentences) == scheme
    assert detect_scheme(iter(sentences)) == scheme  # any iterable, read once


def test_detect_scheme_errors():
    with pytest.raises(TypeError, match="list of sentences"):
        detect_scheme(["B-PER", "O"])
    with pytest.raises(SchemeError, match="unknown tag 'Q-PER'"):
        detect_scheme([["O"], ["Q-PER"]])


def _read_tags(path: Path) -> list[list[str]]:
    sentences: list[list[str]] = [[]]
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if not fields:
            if sentences[-1]:
                sentences.append([])
        elif fields[0] != "-DOCSTART-":
            sentences[-1].append(fields[-1])
    return [s for s in sentences if s]


@pytest.mark.parametrize("name", ["esp.testa", "esp.testb", "ned.testb"])
def test_detect_scheme_conll2002(name):
    """CoNLL-2002 is IOB2; the Spanish files each have one stray I- opener (one per file)."""
    path = DATA / "conll2002" / name
    if not path.exists():
        pytest.skip(f"{path} not found; set NERKIT_DATA to the folder holding conll2002/")
    sentences = _read_tags(path)
    assert detect_scheme(sentences) == "iob2"
    problems = [p for s in sentences for p in find_ill_formed(s, "iob2")]
    assert len(problems) == (1 if name.startswith("esp") else 0)


@pytest.mark.parametrize(
    ("tags", "to", "expected"),
    [
        ("I-PER I-PER B-PER O I-LOC", "iob2", "B-PER I-PER B-PER O B-LOC"),
        ("B-PER I-PER B-PER O B-LOC", "iob1", "I-PER I-PER B-PER O I-LOC"),
        ("B-PER I-PER B-PER O B-LOC", "bioes", "B-PER E-PER S-PER O S-LOC"),
        ("B-PER L-PER U-PER O U-LOC", "iob2", "B-PER I-PER B-PER O B-LOC"),
        ("O I-PER I-LOC", "iob2", "O B-PER B-LOC"),  # lenient without a source scheme
    ],
)
def test_convert_tags(tags, to, expected):
    assert convert_tags(tags.split(), to) == expected.split()


def test_convert_tags_checks_source():
    with pytest.raises(SchemeError, match=r"word 1: I-PER after O: iob2 starts every entity"):
        convert_tags(["O", "I-PER", "I-LOC"], "bioes", source="iob2")


IOB2_START = "iob2 starts every entity with"
IOB1_B = "iob1 uses B- only right after an entity of the same type; write"
BIOES_START = "bioes starts an entity with"
BIOES_END = "bioes ends an entity with"


@pytest.mark.parametrize(
    ("tags", "scheme", "problems"),
    [
        ("B-PER I-PER O B-LOC", "iob2", []),
        ("I-PER", "iob2", [(0, f"I-PER at the start of the sentence: {IOB2_START} B-PER")]),
        ("O I-PER", "iob2", [(1, f"I-PER after O: {IOB2_START} B-PER")]),
        ("B-PER I-ORG", "iob2", [(1, f"I-ORG after B-PER: {IOB2_START} B-ORG")]),
        ("B-PER E-PER", "iob2", [(1, "E-PER: iob2 has no E- tags; they belong to bioes")]),
        ("O I", "iob2", [(1, f"I after O: {IOB2_START} B")]),
        ("I-PER B-PER I-PER O I-LOC", "iob1", []),
        ("O B-PER", "iob1", [(1, f"B-PER after O: {IOB1_B} I-PER")]),
        ("I-LOC B-PER", "iob1", [(1, f"B-PER after I-LOC: {IOB1_B} I-PER")]),
        ("S-PER", "iob1", [(0, "S-PER: iob1 has no S- tags; they belong to bioes")]),
        ("B-PER I-PER E-PER S-PER O", "bioes", []),
        ("U-PER B-PER L-PER", "bilou", []),
        ("B-PER", "bioes", [
            (0, f"B-PER at the end of the sentence: {BIOES_END} E-PER (S-PER for one word)"),
        ]),
        ("B-PER O", "bioes", [(0, f"B-PER followed by O: {BIOES_END} E-PER (S-PER for one word)")]),
        ("O I-PER E-PER", "bioes", [
            (1, f"I-PER after O: {BIOES_START} B-PER (S-PER for one word)"),
        ]),
        ("O E-PER", "bioes", [(1, f"E-PER after O: {BIOES_START} B-PER (S-PER for one word)")]),
        ("S-PER I-PER E-PER", "bioes", [
            (1, f"I-PER after S-PER: {BIOES_START} B-PER (S-PER for one word)"),
        ]),
        ("B-PER I-LOC E-LOC", "bioes", [
            (0, f"B-PER followed by I-LOC: {BIOES_END} E-PER (S-PER for one word)"),
            (1, f"I-LOC after B-PER: {BIOES_START} B-LOC (S-LOC for one word)"),
        ]),
        ("B-ORG-X E-ORG-X I-ORG", "bioes", [
            (2, f"I-ORG after E-ORG-X: {BIOES_START} B-ORG (S-ORG for one word)"),
            (2, f"I-ORG at the end of the sentence: {BIOES_END} E-ORG (S-ORG for one word)"),
        ]),
    ],
)  # fmt: skip
def test_find_ill_formed(tags, scheme, problems):
    assert find_ill_formed(tags.split(), scheme) == problems


def test_find_ill_formed_errors():
    with pytest.raises(SchemeError, match=r"unknown tag scheme 'bilo'"):
        find_ill_formed(["O"], "bilo")
    with pytest.raises(SchemeError, match=r"unknown tag 'B_PER'"):
        find_ill_formed(["B_PER"])


IOB2_LABELS = ["O", "B-PER", "I-PER", "B-LOC-X", "I-LOC-X"]
BIOES_LABELS = ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-地", "I-地", "E-地", "S-地"]


def test_transition_masks_iob2_table():
    start, allowed, end = transition_masks(IOB2_LABELS, "iob2")
    assert start == [True, True, False, True, False]
    assert end == [True] * 5
    t, f = True, False
    assert allowed == [
        # O  B-PER I-PER B-LOC-X I-LOC-X
        [t, t, f, t, f],  # O
        [t, t, t, t, f],  # B-PER
        [t, t, t, t, f],  # I-PER
        [t, t, f, t, t],  # B-LOC-X
        [t, t, f, t, t],  # I-LOC-X
    ]


def test_transition_masks_bioes_table():
    start, allowed, end = transition_masks(["O", "B-PER", "I-PER", "E-PER", "S-PER"], "iobes")
    t, f = True, False
    assert start == [t, t, f, f, t]
    assert end == [t, f, f, t, t]
    assert allowed == [
        # O B  I  E  S
        [t, t, f, f, t],  # O
        [f, f, t, t, f],  # B-PER
        [f, f, t, t, f],  # I-PER
        [t, t, f, f, t],  # E-PER
        [t, t, f, f, t],  # S-PER
    ]


def test_transition_masks_iob1_allows_everything():
    start, allowed, end = transition_masks(["O", "I-PER", "B-PER"], "iob1")
    assert start == end == [True] * 3
    assert allowed == [[True] * 3] * 3


@pytest.mark.parametrize(("scheme", "labels"), [("iob2", IOB2_LABELS), ("bioes", BIOES_LABELS)])
def test_transition_masks_agree_with_find_ill_formed(scheme, labels):
    """A path is allowed by the masks exactly when find_ill_formed finds nothing in it."""
    start, allowed, end = transition_masks(labels, scheme)
    for length in range(1, 4):
        for path in itertools.product(range(len(labels)), repeat=length):
            ok = start[path[0]] and end[path[-1]]
            ok = ok and all(allowed[i][j] for i, j in itertools.pairwise(path))
            assert ok == (find_ill_formed([labels[i] for i in path], scheme) == []), path


@pytest.mark.parametrize(
    ("labels", "scheme", "error", "match"),
    [
        (["B-PER", "I-PER"], "iob2", LabelError, r"has no 'O'"),
        (["O", "B-PER", "E-PER"], "iob2", SchemeError, r"label 'E-PER' uses the E- prefix"),
        (["O", "S-PER"], "iob1", SchemeError, r"label 'S-PER' uses the S- prefix"),
        (["O", "X-PER"], "bioes", SchemeError, r"unknown tag 'X-PER'"),
        (["O"], "bio", SchemeError, r"unknown tag scheme 'bio'"),
    ],
)
def test_transition_masks_errors(labels, scheme, error, match):
    with pytest.raises(error, match=match):
        transition_masks(labels, scheme)
