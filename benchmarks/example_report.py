"""Rebuild the error-analysis example in ``docs/examples/quick-report/`` from a trained model.

Runs what a user runs, ``nerkit evaluate --model DIR --data conll2002-es --split test --report``,
then keeps in the docs only what is ours to publish: the plots, two screenshots of the HTML
report in headless Chromium (its top, and the first sentences drawn gold above predicted), the
report's counts and scores (``summary.json``: the report without its lists of errors and
sentences, which quote the corpus), and the predicted tag of every token
(``predicted-tags.txt.gz``, one tag per line, an empty line between sentences: no words).
``tests/test_example_report.py`` joins those tags with esp.testb from ``../shared`` again,
rebuilds the analysis and checks it equals ``summary.json`` and adds up to conlleval's counts.

    NERKIT_DATA=../shared/data python3 benchmarks/example_report.py --model models/quick

Screenshots need Debian's ``chromium`` and ``chromium-driver`` and Selenium (test extras);
without them they are skipped with a message and the rest is written.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = ROOT / "docs" / "examples" / "quick-report"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
PLOTS = ("confusion.png", "per_type.png", "error_kinds.png", "training.png")


def evaluate(model: Path, work: Path) -> Path:
    """``nerkit evaluate ... --report``, as a user runs it; returns the report folder."""
    report = work / "report"
    command = [sys.executable, "-m", "nerkit.cli", "--quiet", "evaluate", "--model", str(model),
               "--data", "conll2002-es", "--split", "test", "--output-dir", str(work),
               "--report", str(report)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return report


def summary(report: dict[str, Any], model: Path) -> dict[str, Any]:
    """The report without the corpus text: counts, scores, confusions, training curves."""
    analysis = {k: v for k, v in report["analysis"].items() if k not in ("errors", "sentences")}
    analysis["errors_listed"] = len(report["analysis"]["errors"])
    analysis["sentences_with_errors"] = len(report["analysis"]["sentences"])
    training = report.get("training")
    if training:
        training = {**training, "source": f"{model.name}/eval_results.json"}
    return {
        "nerkit_report": report["nerkit_report"],
        "title": report["title"],
        "scale": report["scale"],
        "model": model.name,
        "data": "conll2002-es (test: esp.testb)",
        "sentences": report["source"]["sentences"],
        "tokens": report["source"]["tokens"],
        "scores": report["scores"],
        "analysis": analysis,
        "training": training,
    }


def tag_column(predictions: Path) -> str:
    """The predicted column of ``nerkit evaluate``'s predictions file: one tag per token line,
    an empty line between sentences (document marks dropped)."""
    lines = []
    for line in predictions.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if not fields:
            if lines and lines[-1]:
                lines.append("")
        elif fields[0] != "-DOCSTART-":
            lines.append(fields[-1])
    return "\n".join(lines).strip("\n") + "\n"


def screenshots(html: Path, out: Path) -> list[str]:
    """The report's top and its first sentences with errors, 1200 px wide, in headless Chromium."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        print(f"example_report: no screenshots ({CHROMIUM} or {CHROMEDRIVER} missing)",
              file=sys.stderr)
        return []
    os.environ.setdefault("SE_OFFLINE", "true")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1200,1500",
                "--disable-dev-shm-usage"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        driver.get(html.as_uri())
        driver.save_screenshot(str(out / "report-top.png"))
        heading = next(h for h in driver.find_elements(By.TAG_NAME, "h2")
                       if h.text.startswith("Sentences with errors"))
        driver.execute_script("arguments[0].scrollIntoView(true);", heading)
        driver.save_screenshot(str(out / "report-sentences.png"))
    finally:
        driver.quit()
    return ["report-top.png", "report-sentences.png"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="a trained model folder")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--evaluation", type=Path,
                        help="the --output-dir of a finished `nerkit evaluate --model MODEL "
                        "--data conll2002-es --split test --report OUTPUT_DIR/report` run, "
                        "used instead of running it again")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="nerkit-example-report-") as tmp:
        evaluation = args.evaluation or Path(tmp)
        report_dir = evaluation / "report" if args.evaluation else evaluate(args.model, evaluation)
        report = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
        kept = summary(report, args.model)
        kept["command"] = "NERKIT_DATA=../shared/data " + shlex.join(
            ["python3", "benchmarks/example_report.py", "--model", str(args.model)])
        kept["date"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        (args.out / "summary.json").write_text(json.dumps(kept, indent=1, ensure_ascii=False)
                                               + "\n", encoding="utf-8")
        tags = tag_column(evaluation / "test_predictions.txt").encode("utf-8")
        with gzip.GzipFile(args.out / "predicted-tags.txt.gz", "wb", mtime=0) as f:
            f.write(tags)
        written = [p for p in PLOTS if (report_dir / p).exists()]
        for name in written:
            shutil.copyfile(report_dir / name, args.out / name)
        written += screenshots(report_dir / "report.html", args.out)
    counts = kept["analysis"]["counts"]
    print(f"F1 {kept['scores']['micro']['f1']:.2f}; " + ", ".join(
        f"{k} {v}" for k, v in counts.items()))
    print("wrote", ", ".join(["summary.json", "predicted-tags.txt.gz", *written]),
          "to", args.out)
    print("reproduce:", kept["command"])


if __name__ == "__main__":
    main()
