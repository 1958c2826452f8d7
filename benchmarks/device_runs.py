"""Training runs on the lent GPU machine: one prepared plan, several runs in a row.

GPU time comes in short leases (15 minutes of device time a session at present, start-up
included, 10 minutes a command), on a machine that reaches no registry and receives at most
64 MiB. So the work is split in two:

- ``prepare`` (here): packs the encoder with ``../shared/models/e5-travel`` (only the
  embedding rows the corpora use travel), copies the corpora and the plan, and fetches the
  wheels the device image lacks, all into the ignored ``.travel/``; it prints the ``run``
  call to make.
- ``run`` (there): unpacks the encoder at the path it has here, so that the runs record the
  same model as local ones (``accuracy.py`` and ``screening.py`` compare that path), then
  trains the plan's runs in order with ``nerkit train`` and leaves their small files (scores,
  settings, the end of each log) in ``$OUT/runs.tar.gz`` with a ``summary.json``, rewritten
  after every run so that a command stopped at its limit still returns the runs it finished.
  A run is not started when the time left is less than the longest run so far.

A plan holds one run per line, ``LABEL: nerkit train flags`` (``#`` starts a comment)::

    es-epochs5-seed43: --data conll2002-es --epochs 5 --seed 43

Back here, ``tar -xzf runs.tar.gz -C models/`` gives run folders that ``screening.py`` and
``accuracy.py --reuse`` read (without weights: ``--rescore`` needs the model itself).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import compute

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
TRAVEL = ROOT / ".travel"
# what the device image lacks of nerkit's dependencies (its own list: the device README)
WHEELS = ("py3langid==0.4.0",)
# what comes back of a run folder: enough to score, compare and count it, not the weights
SMALL_FILES = ("eval_results.json", "training_args.json", "label_map.json", "README.md")
LABEL = re.compile(r"^[A-Za-z0-9._-]+$")


def read_plan(path: str | Path) -> list[tuple[str, list[str]]]:
    """The runs of a plan file, as (label, flags); a malformed line is an error naming it."""
    runs: list[tuple[str, list[str]]] = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        label, sep, flags = line.partition(":")
        label = label.strip()
        if not sep or not LABEL.match(label):
            raise SystemExit(f"{path}:{number}: want 'LABEL: nerkit train flags' with a label "
                             f"of letters, digits, '.', '_' and '-', got {line!r}")
        if label in {r[0] for r in runs}:
            raise SystemExit(f"{path}:{number}: label {label!r} is used twice")
        words = shlex.split(flags)
        taken = {"--model", "--output-dir", "--data-dir"} & set(words)
        if taken:
            raise SystemExit(f"{path}:{number}: {', '.join(sorted(taken))} is set by the "
                             "runner (the travelled encoder, data and run folder): drop it")
        runs.append((label, words))
    if not runs:
        raise SystemExit(f"{path}: the plan has no runs")
    return runs


def prepare(plan: str, corpora: Sequence[str], encoder: str, data_dir: str) -> None:
    """Fill ``.travel/`` with what ``run`` needs there."""
    from nerkit.conll.corpus import CORPORA  # here only: nerkit is not installed there

    read_plan(plan)
    files = [Path(data_dir) / CORPORA[c].folder / name
             for c in corpora for name in CORPORA[c].files.values()]
    for f in files:
        target = TRAVEL / "data" / f.parent.name / f.name  # .travel/ is .gitignore'd
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, target)
    (TRAVEL / "e5-travel").unlink(missing_ok=True)  # read-only, as copied before
    shutil.copy2(SHARED / "models" / "e5-travel", TRAVEL / "e5-travel")
    subprocess.run([sys.executable, str(TRAVEL / "e5-travel"), "pack", str(TRAVEL / "e5.npz"),
                    *map(str, files)], check=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                    "--only-binary=:all:", "-d", str(TRAVEL / "wheels"), *WHEELS], check=True)
    shutil.copy2(plan, TRAVEL / "plan.txt")
    (TRAVEL / "encoder_path").write_text(str(Path(encoder).expanduser().resolve()))
    size = sum(p.stat().st_size for p in TRAVEL.rglob("*") if p.is_file())
    print(f"{TRAVEL}: {size / 2**20:.1f} MiB (the limit is 64 MiB with the working tree)")
    print('device run: carry [".travel"], command: PYTHONUNBUFFERED=1 python3 '
          "benchmarks/device_runs.py run .travel/plan.txt --out $OUT --budget-s 540")


def _environment() -> dict[str, str]:
    """PYTHONPATH with the travelled wheels and the project's source (nothing is installed)."""
    paths = [str(ROOT / "src")]
    wheels = sorted((TRAVEL / "wheels").glob("*.whl"))
    if wheels:
        site = Path("/tmp/nerkit-site")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps",
                        "--no-compile", "--upgrade", "--target", str(site), *map(str, wheels)],
                       check=True)
        paths.append(str(site))
    old = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths + ([old] if old else []))}


def _encoder(model: str | None) -> str:
    """The encoder folder: ``--model``, or the travelled pack unpacked at its path here."""
    if model:
        return model
    target = (TRAVEL / "encoder_path").read_text().strip()
    if not (Path(target) / "config.json").exists():
        subprocess.run([sys.executable, str(TRAVEL / "e5-travel"), "unpack",
                        str(TRAVEL / "e5.npz"), target], check=True)
    return target


def _bundle(done: list[dict[str, Any]], runs_dir: Path, out: Path, device: str) -> None:
    """Write what came of the finished runs to ``out`` (small files and a summary)."""
    with tarfile.open(out / "runs.tar.gz", "w:gz") as tar:
        for run in (r for r in done if r["rc"] is not None):
            folder = runs_dir / run["label"]
            for name in SMALL_FILES:
                if (folder / name).is_file():
                    tar.add(folder / name, arcname=f"{run['label']}/{name}")
            log = (runs_dir / f"{run['label']}.log").read_bytes()[-20000:]
            info = tarfile.TarInfo(f"{run['label']}/train.log.tail")
            info.size = len(log)
            tar.addfile(info, io.BytesIO(log))
    summary = {"device": device, "python": sys.version.split()[0], "runs": done}
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")


def _scores(folder: Path) -> dict[str, Any]:
    path = folder / "eval_results.json"
    if not path.exists():
        return {}
    results = json.loads(path.read_text(encoding="utf-8"))
    return {k: results.get(k) for k in ("dev_f1", "test_f1", "train_seconds", "encoder_layers")}


def run(plan: str, out: str, budget_s: float, model: str | None, data_dir: str | None) -> None:
    """Train the plan's runs in order, while the time left allows another."""
    start = time.monotonic()
    runs = read_plan(plan)
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    env = _environment()
    encoder = _encoder(model)
    device = subprocess.run(
        [sys.executable, "-c", "import torch; print(torch.cuda.get_device_name(0) "
         "if torch.cuda.is_available() else 'cpu')"], capture_output=True, text=True,
        env=env).stdout.strip()
    # the run folders (weights included) stay out of $OUT: only their small files go back
    runs_dir = Path(tempfile.mkdtemp(prefix="nerkit-runs-"))
    done: list[dict[str, Any]] = []
    for label, flags in runs:
        left = budget_s - (time.monotonic() - start)
        longest = max((r["seconds"] or 0.0 for r in done), default=0.0)
        if left <= longest:
            done.append({"label": label, "flags": flags, "rc": None, "seconds": None,
                         "not_started": f"{left:.0f} s left, the longest run took "
                                        f"{longest:.0f} s"})
            print(json.dumps(done[-1]), flush=True)
            _bundle(done, runs_dir, out_dir, device)
            continue
        command = [sys.executable, "-m", "nerkit.cli", "train", "--model", encoder,
                   "--data-dir", data_dir or str(TRAVEL / "data"), *flags,
                   "--output-dir", str(runs_dir / label), "--report-to", "none"]
        began = time.monotonic()
        with (runs_dir / f"{label}.log").open("w", encoding="utf-8") as log:
            rc = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=env).returncode
        done.append({"label": label, "flags": flags, "rc": rc,
                     "seconds": round(time.monotonic() - began, 1), **_scores(runs_dir / label)})
        print(json.dumps(done[-1]), flush=True)
        _bundle(done, runs_dir, out_dir, device)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="step", required=True)
    prep = sub.add_parser("prepare", help="here: fill .travel/ for a plan")
    prep.add_argument("plan")
    prep.add_argument("--corpora", nargs="+", default=["conll2002-es", "conll2002-nl"],
                      choices=["conll2002-es", "conll2002-nl"])
    prep.add_argument("--encoder", help="the encoder folder here (default: what "
                      "build-e5-small prints last)")
    go = sub.add_parser("run", help="there: train the plan's runs")
    go.add_argument("plan")
    go.add_argument("--out", required=True, help="where the results go ($OUT on the device)")
    go.add_argument("--budget-s", type=float, default=540.0,
                    help="seconds this command may take: no run starts that would not fit")
    go.add_argument("--model", help="an encoder folder to use instead of the travelled pack")
    go.add_argument("--data-dir", help="corpora folder (default: .travel/data)")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.step == "prepare":
        prepare(args.plan, args.corpora, args.encoder or compute.default_model(),
                compute.default_data_dir())
    else:
        run(args.plan, args.out, args.budget_s, args.model, args.data_dir)


if __name__ == "__main__":
    main()
