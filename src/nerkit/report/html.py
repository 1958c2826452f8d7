"""``report.html``: the report for people, one static page with the web page's look.

Tables of scores, error kinds and the worst confusions, the PNG plots (files beside the page),
then every sentence holding an error, drawn as the web page draws a predictions file: gold
above predicted, differences outlined (:func:`nerkit.server.render.comparison_html`), with its
``file:line`` and a line per error. Every piece of user text is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from nerkit.conll.analysis import ERROR_KINDS, KIND_NAMES
from nerkit.report.build import type_name
from nerkit.report.plots import PLOTS, TYPE_ERRORS
from nerkit.server.render import comparison_html, legend_html, page_html

MAX_SENTENCES = 2000  # error sentences drawn; report.json lists every error
TOP_CONFUSIONS = 15


def _table(head: Sequence[str], rows: Sequence[Sequence[Any]], css: str = "scores") -> str:
    def cell(value: Any, tag: str) -> str:
        text = f"{value:.2f}" if isinstance(value, float) else (
            f"{value:,}" if isinstance(value, int) else str(value))
        return f"<{tag}>{html.escape(text)}</{tag}>"

    lines = ["<tr>" + "".join(cell(h, "th") for h in head) + "</tr>"]
    lines += ["<tr>" + "".join(cell(v, "td") for v in row) + "</tr>" for row in rows]
    return f'<table class="{css}">{"".join(lines)}</table>'


def _scores_section(report: dict[str, Any]) -> str:
    scores = report["scores"]
    keys = ("precision", "recall", "f1", "support", "predicted", "correct")
    rows = [[type_name(name), *(s[k] for k in keys)] for name, s in scores["per_type"].items()]
    rows.append(["all (micro)", *(scores["micro"][k] for k in keys)])
    rows.append(["macro average", *(scores["macro"][k] for k in keys[:3]), "", "", ""])
    head = ["type", "precision", "recall", "F1", "gold", "predicted", "correct"]
    return "<h2>Scores (percent, as conlleval)</h2>" + _table(head, rows)


def _errors_section(report: dict[str, Any]) -> str:
    analysis = report["analysis"]
    counts = analysis["counts"]
    errors = sum(counts[k] for k in ERROR_KINDS) or 1
    rows = [[KIND_NAMES[k], counts[k], f"{100 * counts[k] / errors:.1f}%"] for k in ERROR_KINDS]
    shapes = ", ".join(f"{shape} {n:,}" for shape, n in analysis["boundary"].items())
    c = analysis["conlleval"]
    per_type_rows = [
        [type_name(t), *(fates[side][kind] for side, kind in TYPE_ERRORS)]
        for t, fates in analysis["per_type"].items()
    ]
    worst = [
        [type_name(c_["gold"]), type_name(c_["pred"]), KIND_NAMES[c_["kind"]], c_["count"]]
        for c_ in analysis["confusions"][:TOP_CONFUSIONS]
    ]
    return "".join([
        "<h2>Errors by kind</h2>",
        f'<p class="muted">correct {counts["correct"]:,} = true positives '
        f'{c["true_positives"]:,}; wrong + missed = false negatives {c["false_negatives"]:,}; '
        f'wrong + spurious = false positives {c["false_positives"]:,}. Boundary errors: '
        f"{html.escape(shapes)} (the prediction against the gold words).</p>",
        _table(["kind", "errors", "share"], rows),
        "<h2>Errors per type</h2>",
        '<p class="muted">Pairs count under the gold type, spurious entities under the '
        "predicted type.</p>",
        _table(["type", *(KIND_NAMES[k] for _, k in TYPE_ERRORS)], per_type_rows),
        f"<h2>Worst confusions (top {TOP_CONFUSIONS})</h2>",
        _table(["gold", "predicted", "kind", "count"], worst),
    ])


def _plots_section(plots: Sequence[str]) -> str:
    figures = [
        f'<figure class="plot"><img src="{html.escape(name)}" alt="{html.escape(PLOTS[name][0])}">'
        f"<figcaption class=\"muted\">{html.escape(PLOTS[name][0])}</figcaption></figure>"
        for name in plots
    ]
    return "<h2>Plots</h2>" + "".join(figures) if figures else ""


def _entity(record: dict[str, Any] | None) -> str:
    return "none" if record is None else f"{type_name(record['label'])} «{record['text']}»"


def _error_line(error: dict[str, Any]) -> str:
    kind = KIND_NAMES[error["kind"]]
    if error["boundary"]:
        kind += f" ({error['boundary']})"
    text = f"{error['where']}: {kind}: gold {_entity(error['gold'])} → predicted " \
           f"{_entity(error['pred'])}"
    return f"<li>{html.escape(text)}</li>"


def _sentences_section(report: dict[str, Any], colours: dict[str, int]) -> str:
    analysis = report["analysis"]
    by_sentence: dict[int, list[str]] = {}
    for error in analysis["errors"]:
        by_sentence.setdefault(error["sentence"], []).append(_error_line(error))
    shown = analysis["sentences"][:MAX_SENTENCES]
    blocks = []
    for sentence in shown:
        where = sentence["where"] or ""
        line = int(where.rsplit(":", 1)[1]) if where else None
        blocks.append(
            f'<p class="where">{html.escape(where)}</p>'
            + comparison_html(sentence["words"], sentence["pairs"], colours, where=where,
                              line=line)
            + f'<ul class="error-list">{"".join(by_sentence[sentence["sentence"]])}</ul>'
        )
    more = len(analysis["sentences"]) - len(shown)
    note = (f'<p class="muted">{more:,} more sentences with errors are listed in report.json.'
            "</p>" if more > 0 else "")
    return (f"<h2>Sentences with errors ({len(analysis['sentences']):,})</h2>"
            + legend_html(colours, kinds=True) + "".join(blocks) + note)


def report_html(report: dict[str, Any], plots: Sequence[str] = ()) -> str:
    """The page for a report dict; ``plots`` are the PNG file names written beside it."""
    scores = report["scores"]
    micro = scores["micro"]
    summary = (
        f"{report['source']['sentences']:,} sentences, {scores['gold_entities']:,} gold "
        f"entities, {scores['pred_entities']:,} predicted; F1 {micro['f1']:.2f}, precision "
        f"{micro['precision']:.2f}, recall {micro['recall']:.2f} (percent)"
    )
    colours = {t: i for i, t in enumerate(scores["per_type"])}
    body = [
        "<section>", _scores_section(report), _errors_section(report), "</section>",
        "<section>", _plots_section(plots), "</section>",
        "<section>", _sentences_section(report, colours), "</section>",
    ]
    return page_html(f"nerkit report: {report['title']}", summary, body)
