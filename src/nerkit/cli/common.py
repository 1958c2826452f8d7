"""Helpers shared by the command modules: argument types and output."""

from __future__ import annotations

import argparse
import json
from typing import Any


def print_json(data: Any) -> None:
    """``data`` as indented JSON on stdout, non-ASCII kept readable."""
    print(json.dumps(data, indent=2, ensure_ascii=False))


def positive_int(value: str) -> int:
    """An argparse type: an integer of at least 1."""
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return number


def positive_float(value: str) -> float:
    """An argparse type: a number above 0."""
    number = float(value)
    if not number > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {value}")
    return number


def print_results(results: dict[str, Any]) -> None:
    """An evaluation's reports as text: conlleval's, the token table, the type confusions.

    Every score is printed in percent with two decimals, conlleval's scale; the token table's
    fractions (sklearn's scale, kept in the JSON) are shown as percentages too.
    """
    from nerkit.conll.metrics import format_confusion, format_report, format_token_report

    print(format_report(results["entity"]))
    print()
    print("token-level scores (percent):")
    print(format_token_report(percent_token_report(results["token"])))
    print()
    print(format_confusion(results["confusion"]))


def percent_token_report(report: dict[str, Any]) -> dict[str, Any]:
    """:func:`~nerkit.conll.metrics.token_report`'s fractions as percentages.

    >>> percent_token_report({"O": {"precision": 0.5, "recall": 1.0, "f1": 0.6667, "support": 1}})
    {'O': {'precision': 50.0, 'recall': 100.0, 'f1': 66.67, 'support': 1}}
    """
    return {
        name: {k: round(100 * v, 4) if k != "support" else v for k, v in scores.items()}
        for name, scores in report.items()
    }
