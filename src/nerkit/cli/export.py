"""``nerkit export``: write an ONNX or OpenVINO folder (fp32 or int8) and check it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from nerkit.errors import ConfigError
from nerkit.export import QUANTIZATIONS, REPORT_FILE, export_model
from nerkit.runtimes import EXPORTED_FILES, RUNTIME_NAMES


def run(args: argparse.Namespace) -> int:
    if args.calibration_data and not (args.openvino and args.quantize):
        raise ConfigError(
            "--calibration-data is for int8 OpenVINO exports (--openvino OUT --quantize int8); "
            "ONNX int8 quantizes activations at run time and needs none"
        )
    runtime = "openvino" if args.openvino else "onnx"
    out = export_model(
        args.model,
        args.openvino or args.onnx,
        runtime=runtime,
        quantize=args.quantize,
        calibration_data=args.calibration_data,
        check_data=args.check_data,
        split=args.split,
        data_dir=args.data_dir,
        batch_size=args.batch_size,
    )
    report = json.loads((out / REPORT_FILE).read_text(encoding="utf-8"))
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print_summary(report, out / EXPORTED_FILES[runtime], RUNTIME_NAMES[runtime], args)
    return 0


def print_summary(
    report: dict[str, Any], written: Path, runtime: str, args: argparse.Namespace
) -> None:
    """The report in three lines: what was written, parity on the sample, F1 on the data."""
    size = report.get("onnx_bytes", report.get("model_bytes", 0))
    sample = report["sample"]
    print(
        f"wrote {written} ({report['quantize'] or 'fp32'}, {size / 1e6:.0f} MB) and {REPORT_FILE}"
    )
    print(
        f"sample of {sample['sentences']} texts: max |logit difference| "
        f"{sample['max_abs_logit_diff']:.2g}, tags "
        + (
            "identical"
            if sample["tags_identical"]
            else f"differ on {sample['words_with_different_tags']} words"
        )
    )
    if "check" in report:
        check = report["check"]
        print(
            f"{args.check_data} {args.split}: entity F1 PyTorch {check['f1_torch']:.2f}, "
            f"{runtime} {check['f1_export']:.2f} ({check['f1_delta']:+.2f}); "
            f"{check['sentences_with_different_tags']} of {check['sentences']} sentences differ"
        )


def register(commands: Any) -> None:
    """Add ``export`` to the ``nerkit`` parser."""
    # fmt: off
    export = commands.add_parser(
        "export",
        help="export a trained model to ONNX or OpenVINO (fp32 or int8) for fast CPU tagging",
    )
    export.add_argument("--model", required=True, help="trained model folder")
    target = export.add_mutually_exclusive_group(required=True)
    target.add_argument("--onnx", metavar="OUT",
                        help="output folder: model.onnx, tokenizer, config, export_report.json")
    target.add_argument("--openvino", metavar="OUT",
                        help="output folder: model.xml/.bin, tokenizer, config, "
                        "export_report.json (needs nerkit[openvino])")
    export.add_argument("--quantize", choices=QUANTIZATIONS,
                        help="int8: with --onnx dynamic int8; with --openvino static int8 "
                        "calibrated on training sentences (fastest on CPUs with AVX512-VNNI)")
    export.add_argument("--calibration-data", metavar="NAME_OR_FILE",
                        help="--openvino --quantize int8: corpus name or column file whose "
                        "train split calibrates int8 (default: the model's training data)")
    export.add_argument("--check-data", metavar="NAME_OR_FILE",
                        help="corpus name (conll2002-es) or column file: compare entity F1")
    export.add_argument("--split", default="test", choices=["train", "dev", "test"],
                        help="split of --check-data (default test)")
    export.add_argument("--data-dir", help="folder holding conll2002/ (else $NERKIT_DATA)")
    export.add_argument("--batch-size", type=int, default=32, help="windows per batch")
    export.add_argument("--json", action="store_true", help="print the report as JSON")
    # fmt: on
    export.set_defaults(func=run)
