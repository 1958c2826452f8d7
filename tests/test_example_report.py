"""The error-analysis example in ``docs/examples/quick-report/`` (written by
``benchmarks/example_report.py`` from the quick-start model on esp.testb).

The docs keep the predicted tags and the report's counts, not the corpus; here the tags are
joined with esp.testb again (from ``../shared``), the analysis rebuilt, and checked to equal the
committed ``summary.json`` and to add up to conlleval's counts (conlleval.pl's own when perl is
installed): correct = true positives, the wrong kinds + missed = false negatives, the wrong kinds
+ spurious = false positives, overall and per type.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from conftest import SHARED_DATA
from test_analysis import assert_adds_up, assert_adds_up_to_conlleval_pl, needs_perl

from nerkit.conll.formats import load_split
from nerkit.report.build import build_report

EXAMPLE = Path(__file__).parents[1] / "docs" / "examples" / "quick-report"


@pytest.fixture(scope="module")
def rebuilt() -> tuple[dict, list, list]:
    """(the rebuilt report, gold tags, predicted tags) of the example."""
    if not (SHARED_DATA / "conll2002" / "esp.testb").exists():
        pytest.skip(f"{SHARED_DATA}/conll2002/esp.testb not found; set NERKIT_DATA")
    sentences = load_split("conll2002-es", "test", SHARED_DATA)
    text = gzip.decompress((EXAMPLE / "predicted-tags.txt.gz").read_bytes()).decode("utf-8")
    pred = [block.split("\n") for block in text.strip("\n").split("\n\n")]
    assert [len(p) for p in pred] == [len(s) for s in sentences], "one tag per esp.testb token"
    report = build_report(sentences, pred, title="example", source={})
    return report, [list(s.tags) for s in sentences], pred


def test_example_summary_is_what_its_tags_give(rebuilt: tuple[dict, list, list]) -> None:
    report, _, _ = rebuilt
    summary = json.loads((EXAMPLE / "summary.json").read_text("utf-8"))
    kept = {k: v for k, v in summary["analysis"].items()
            if k not in ("errors_listed", "sentences_with_errors")}
    assert kept == {k: v for k, v in report["analysis"].items()
                    if k not in ("errors", "sentences")}
    assert summary["analysis"]["errors_listed"] == len(report["analysis"]["errors"])
    assert summary["analysis"]["sentences_with_errors"] == len(report["analysis"]["sentences"])
    assert summary["scores"] == report["scores"]
    assert (summary["sentences"], summary["tokens"]) == (1517, 51533)


def test_example_counts_add_up_to_conlleval(rebuilt: tuple[dict, list, list]) -> None:
    report, gold, pred = rebuilt
    assert_adds_up(report["analysis"], gold, pred)
    assert report["analysis"]["counts"]["correct"] == report["scores"]["micro"]["correct"]


@needs_perl
def test_example_counts_add_up_to_conlleval_pl(rebuilt: tuple[dict, list, list]) -> None:
    report, gold, pred = rebuilt
    assert_adds_up_to_conlleval_pl(report["analysis"], gold, pred)


def test_example_files_are_there() -> None:
    names = {p.name for p in EXAMPLE.iterdir()}
    assert {"summary.json", "predicted-tags.txt.gz", "confusion.png", "per_type.png",
            "error_kinds.png", "training.png", "report-top.png",
            "report-sentences.png"} <= names
