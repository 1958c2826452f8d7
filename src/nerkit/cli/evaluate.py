"""``nerkit evaluate``: score a trained model on a corpus split."""

from __future__ import annotations

import argparse
from typing import Any

from nerkit.cli.common import print_json, print_results
from nerkit.conll.documents import DOCUMENT_MODES


def run(args: argparse.Namespace) -> int:
    from nerkit.tagging.evaluate import default_output_dir, evaluate_model

    output_dir = args.output_dir or default_output_dir(args.model, args.data)
    if args.report:
        from nerkit.report.write import check_report_folder

        check_report_folder(args.report, plots=not args.no_plots)  # before the slow part
    results = evaluate_model(
        args.model, args.data, args.split, data_dir=args.data_dir,
        batch_size=args.batch_size, decoding=args.decoding, output_dir=output_dir,
        documents=args.documents,
    )
    written = []
    if args.report:
        from nerkit.report.build import report_for_evaluation
        from nerkit.report.write import write_report

        report = report_for_evaluation(args.model, args.data, args.split, args.data_dir,
                                      output_dir)
        written = write_report(report, args.report, plots=not args.no_plots)
        results["report"] = {"folder": str(args.report), "counts": report["analysis"]["counts"]}
    if args.json:
        print_json(results)
    else:
        print_results(results)
        print(f"\nwrote {output_dir}/{args.split}_predictions.txt and "
              f"{args.split}_results.json")
        if written:
            print(f"wrote the error report: {', '.join(str(p) for p in written)}")
    return 0


def register(commands: Any) -> None:
    """Add ``evaluate`` to the ``nerkit`` parser."""
    evaluate = commands.add_parser("evaluate", help="score a trained model on a corpus split")
    evaluate.add_argument("--model", required=True, help="trained model folder (only read)")
    evaluate.add_argument("--data", required=True,
                          help="corpus name, or a labelled file: CoNLL columns, JSON with spans "
                               "(.jsonl/.json), spaCy DocBin (.spacy)")
    evaluate.add_argument("--split", default="test", choices=["train", "dev", "test"])
    evaluate.add_argument("--data-dir")
    evaluate.add_argument("--output-dir",
                          help="folder for <split>_predictions.txt and <split>_results.json "
                               "(default evaluations/<model>/<data>; never the model folder)")
    evaluate.add_argument("--documents", choices=DOCUMENT_MODES, default="boundaries",
                          help="how the data is cut into documents, which a model trained with "
                               "context reads as context (default: the file's own boundaries)")
    evaluate.add_argument("--batch-size", type=int, default=32)
    evaluate.add_argument("--decoding", choices=["viterbi", "argmax"])
    evaluate.add_argument("--json", action="store_true", help="print results as JSON")
    evaluate.add_argument("--report", metavar="DIR",
                          help="also write an error report (report.json, report.html, plots)")
    evaluate.add_argument("--no-plots", action="store_true",
                          help="with --report: skip the PNG plots")
    evaluate.set_defaults(func=run)
