"""``nerkit report``: error analysis of a saved predictions file, no model needed."""

from __future__ import annotations

import argparse
from typing import Any

from nerkit.cli.common import print_json


def run(args: argparse.Namespace) -> int:
    from nerkit.report.build import report_from_file
    from nerkit.report.write import summary_lines, write_report

    report = report_from_file(args.file, run_dir=args.run)
    paths = write_report(report, args.out, plots=not args.no_plots)
    if args.json:
        print_json({key: report[key] for key in ("title", "source", "scale", "files")}
                   | {"counts": report["analysis"]["counts"]})
        return 0
    print("\n".join(summary_lines(report)))
    print(f"\nwrote {', '.join(str(p) for p in paths)}")
    return 0


def register(commands: Any) -> None:
    """Add ``report`` to the ``nerkit`` parser."""
    # fmt: off
    report = commands.add_parser(
        "report", help="error analysis of a predictions file: JSON, HTML page and plots",
        description="Classify every gold/predicted entity pair (correct, wrong type, wrong "
                    "boundary, wrong type and boundary, missed, spurious) and write "
                    "report.json, report.html and PNG plots into a folder.",
    )
    report.add_argument("file", help="column file whose last two columns are gold and "
                                     "predicted tags, as SPLIT_predictions.txt of evaluate")
    report.add_argument("--out", required=True, metavar="DIR", help="folder to write into")
    report.add_argument("--run", metavar="DIR",
                        help="model folder whose eval_results.json gives the training curves "
                             "(default: the file's folder, if it has one)")
    report.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    report.add_argument("--json", action="store_true",
                        help="print what was written and the counts as JSON")
    report.set_defaults(func=run)
    # fmt: on
