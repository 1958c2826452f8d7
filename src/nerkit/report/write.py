"""Write a report folder: ``report.json``, ``report.html`` and the PNG plots.

Each file is written under a temporary name and renamed, so a crash never leaves half a file;
the plots are drawn first, so the page and the JSON name only plots that exist.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any

from nerkit.errors import ConfigError
from nerkit.report.build import type_name
from nerkit.report.html import report_html
from nerkit.server.render import write_atomic


def check_report_folder(folder: str | os.PathLike[str], *, plots: bool = True) -> None:
    """Refuse, before any slow work, a report folder that is a file, or plots without
    matplotlib."""
    out = Path(folder)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out} is a file; name a folder for the report")
    if plots and importlib.util.find_spec("matplotlib") is None:
        raise ConfigError("the report's plots need matplotlib: pip install 'nerkit[report]' "
                          "(or pass --no-plots)")


def write_report(
    report: dict[str, Any], folder: str | os.PathLike[str], *, plots: bool = True
) -> list[Path]:
    """Write ``report`` into ``folder`` (created if needed); returns the paths written.

    ``report["files"]`` is set to the file names, relative to the folder.
    """
    check_report_folder(folder, plots=plots)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    names: list[str] = []
    if plots:
        from nerkit.report.plots import write_plots

        names = write_plots(report, out)
    report["files"] = {"json": "report.json", "html": "report.html", "plots": names}
    write_atomic(out / "report.json", json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    write_atomic(out / "report.html", report_html(report, names))
    return [out / "report.json", out / "report.html", *(out / name for name in names)]


def summary_lines(report: dict[str, Any], top: int = 5) -> list[str]:
    """A few lines for the terminal: F1, errors by kind, the worst confusions."""
    scores, analysis = report["scores"], report["analysis"]
    counts = analysis["counts"]
    lines = [
        f"F1 {scores['micro']['f1']:.2f} (percent) on {report['source']['sentences']:,} "
        f"sentences; {counts['correct']:,} correct entities",
        "errors: " + ", ".join(f"{kind.replace('_', ' ')} {n:,}"
                               for kind, n in counts.items() if kind != "correct"),
    ]
    for c in analysis["confusions"][:top]:
        lines.append(f"  {c['count']:>6,}  {c['kind'].replace('_', ' ')}: gold "
                     f"{type_name(c['gold'])} -> predicted {type_name(c['pred'])}")
    return lines
