"""CPU tagging speed: nerkit (PyTorch, ONNX, OpenVINO) against the transformers pipeline.

One fine-tuned model, one machine, one run. Every variant tags the same raw texts: the
sentences of CoNLL-2002 esp.testb with their gold words joined by single spaces (no
detokenization, so each gold word has exact character offsets in the text). The variants:

- ``pipeline-bN``: ``pipeline("ner", model=DIR, aggregation_strategy="first")`` given the list
  of texts with ``batch_size=N`` (the documented way to batch on a dataset); ``N`` from
  ``--pipeline-batch-sizes``; the faster one is the reference (1);
- ``nerkit-torch``: ``Tagger.load(DIR).tag_many(texts)`` (splits words, windows, decodes);
- ``nerkit-onnx-fp32`` / ``nerkit-onnx-int8``: the same on folders from ``nerkit export``
  (written into ``--onnx-dir``, or a cache folder in the temp directory), with
  :class:`~nerkit.runtimes.onnx.OnnxBackend`'s default (batch-parallel on several cores);
- ``nerkit-openvino-int8``: the same on ``nerkit export --openvino OUT --quantize int8``
  (static int8, calibrated on the model's training data: set ``NERKIT_DATA`` so that the
  corpus is found), with :class:`~nerkit.runtimes.openvino.OpenVinoBackend`'s default
  (throughput: several windows per request, requests side by side); skipped, with a message,
  when the ``[openvino]`` extra is not installed;
- ``nerkit-onnx-int8-intraop`` with ``--intra-op``: one run per batch spread over all cores;
- ``nerkit-torch-bf16`` with ``--bf16``: PyTorch under bf16 autocast.

Each variant lives in its own worker process (so its peak RSS, ``VmHWM``, is its own: model,
libraries, buffers), is warmed up, then the workers take turns, in a rotating order, for
``--reps`` repetitions; the median is reported. Speed counts gold words per second, end to end
from text to entities. Timings on a shared VM drift: compare variants within one run only.

Entity F1, column "F1 text": every variant's character-offset entities are mapped back to the
gold words (a word belongs to an entity when their characters overlap; the first word gets B-,
the others I-) and scored with :func:`nerkit.conll.metrics.score`, the same rule for all variants.
Column "F1 words": nerkit variants also tag the gold words directly (``tag_sentences``, what
``nerkit evaluate`` does), which does not depend on word splitting.

The FLOP bound: this CPU's fp32 matmul rate (2048 x 2048, torch) divided by the model's FLOPs
per word, ``(2 x non-embedding parameters + 4 x layers x hidden x window length)`` per piece
times the pieces per word the model is fed (special tokens included). int8 can exceed it.

The last line printed is ``speedup_vs_pipeline=X f1_delta=Y``: the fastest nerkit variant over
the faster pipeline, and its "F1 text" minus that of ``nerkit-torch``.

Examples::

    python benchmarks/tagging_speed.py --model /work/out/e5-es-full --quick
    python benchmarks/tagging_speed.py --model /work/out/e5-es-full --reps 3 \\
        --onnx-dir /tmp/e5-es-onnx
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import os
import resource
import shlex
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import env_info

HERE = Path(__file__).resolve().parent
PROJECT_ROOT = HERE.parent
RESULTS = HERE / "results"
BUSY_MARKERS = ("nerkit train", "hf_recipe")
QUICK_SENTENCES = 100
WARMUP_TEXTS = 32

Span = tuple[int, int, str]  # character start, end (exclusive), label


# ------------------------------------------------------------------ data


def data_file(path: str | None) -> Path:
    if path:
        return Path(path)
    base = Path(os.environ.get("NERKIT_DATA", PROJECT_ROOT.parent / "shared" / "data"))
    return base / "conll2002" / "esp.testb"


def load_texts(path: Path, limit: int | None) -> tuple[list[list[str]], list[list[str]]]:
    """Gold words and tags of each sentence (first ``limit`` sentences)."""
    from nerkit.conll.corpus import read_sentences

    sentences = read_sentences(path)
    if limit:
        sentences = sentences[:limit]
    return [list(s.words) for s in sentences], [list(s.tags) for s in sentences]


def word_offsets(words: list[str]) -> list[tuple[int, int]]:
    """Character ranges of the words in ``" ".join(words)``."""
    out, pos = [], 0
    for w in words:
        out.append((pos, pos + len(w)))
        pos += len(w) + 1
    return out


def spans_to_word_tags(words: list[str], spans: list[Span]) -> list[str]:
    """IOB2 tags of the gold words from character spans (overlap rule; first span wins)."""
    tags = ["O"] * len(words)
    offsets = word_offsets(words)
    for start, end, label in sorted(spans):
        inside = [i for i, (a, b) in enumerate(offsets) if a < end and start < b]
        if not inside or any(tags[i] != "O" for i in inside):
            continue
        tags[inside[0]] = f"B-{label}"
        for i in inside[1:]:
            tags[i] = f"I-{label}"
    return tags


# ------------------------------------------------------------------ machine


def busy_processes() -> list[str]:
    """Command lines of running training jobs that would make timings meaningless."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(marker in cmd for marker in BUSY_MARKERS) and "tagging_speed" not in cmd:
            found.append(cmd.strip()[:160])
    return found


def cpu_has_native_bf16() -> bool:
    """Whether this x86 CPU computes in bf16 natively (AVX512-BF16 or AMX), per /proc/cpuinfo:
    ``--bf16`` is only worth measuring where it is."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def matmul_gflops(dtype: str = "float32", size: int = 2048, seconds: float = 2.0) -> float:
    """Best rate of a ``size`` x ``size`` torch matmul, in GFLOP/s."""
    import torch

    from nerkit.runtimes.cpu import configure_torch_threads

    configure_torch_threads()
    kind = getattr(torch, dtype)
    a = torch.randn(size, size).to(kind)
    b = torch.randn(size, size).to(kind)
    torch.mm(a, b)
    best = float("inf")
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        t = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t)
    return 2 * size**3 / best / 1e9


def int8_gops(size: int = 2048, seconds: float = 2.0) -> float:
    """Best rate of an onnxruntime u8 x s8 ``MatMulInteger`` (int8 peak of this CPU), GOP/s."""
    import numpy as np
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    from nerkit.runtimes.cpu import physical_cores

    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.integers(-127, 127, (size, size), dtype=np.int8), "B")
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["A", "B"], ["Y"])],
        "mm",
        [helper.make_tensor_value_info("A", TensorProto.UINT8, [size, size])],
        [helper.make_tensor_value_info("Y", TensorProto.INT32, [size, size])],
        [weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    options = ort.SessionOptions()
    options.intra_op_num_threads = physical_cores()
    session = ort.InferenceSession(model.SerializeToString(), options)
    a = rng.integers(0, 255, (size, size), dtype=np.uint8)
    session.run(None, {"A": a})
    best = float("inf")
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        t = time.perf_counter()
        session.run(None, {"A": a})
        best = min(best, time.perf_counter() - t)
    return 2 * size**3 / best / 1e9


def model_flops(model_dir: Path, sentences: list[list[str]]) -> dict[str, float]:
    """FLOPs per piece and pieces per word for the windows nerkit feeds this model."""
    from safetensors import safe_open

    from nerkit.modeling.encoding import WindowEncoder
    from nerkit.modeling.folder import ModelMeta, load_tokenizer

    config = json.loads((model_dir / "config.json").read_text())
    total = embedding = 0
    for file in model_dir.glob("*.safetensors"):
        with safe_open(str(file), "pt") as f:
            for name in f.keys():  # noqa: SIM118 (safe_open has no __iter__)
                shape = f.get_slice(name).get_shape()
                n = 1
                for d in shape:
                    n *= d
                total += n
                if "embeddings" in name:
                    embedding += n
    meta = ModelMeta.read(model_dir)
    encoder = WindowEncoder(load_tokenizer(model_dir), meta.max_length)
    windows = encoder.windows(sentences)
    lengths = [len(w.input_ids) for w in windows]
    pieces = sum(lengths)
    words = sum(len(s) for s in sentences)
    # attention: QK^T and softmax x V, 2 x T x hidden multiply-adds per piece and layer
    mean_context = sum(n * n for n in lengths) / pieces
    layers, hidden = config["num_hidden_layers"], config["hidden_size"]
    attention = 4 * layers * hidden * mean_context
    return {
        "parameters": total,
        "non_embedding_parameters": total - embedding,
        "attention_flops_per_piece": attention,
        "flops_per_piece": 2 * (total - embedding) + attention,
        "pieces_per_word": pieces / words,
        "windows": len(windows),
        "mean_window_pieces": pieces / len(windows),
    }


# ------------------------------------------------------------------ workers


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM), in MB.

    ``ru_maxrss`` is not used: Linux keeps it across ``exec``, so a worker started by the
    parent would report the parent's peak (the exports) when that is larger than its own.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _worker(variant: dict[str, Any], texts: list[str], words: list[list[str]], conn: Any) -> None:
    """Load one variant, then tag ``texts`` each time the parent says "run"."""
    try:
        run = _make_runner(variant)
        run(texts[:WARMUP_TEXTS])
        extra: dict[str, Any] = {}
        if variant["kind"] != "pipeline":
            extra["gold_word_tags"] = variant["tagger"].tag_sentences(words)
        conn.send({"ready": True, **extra})
        while conn.recv() == "run":
            started = time.perf_counter()
            spans = run(texts)
            seconds = time.perf_counter() - started
            conn.send({"seconds": seconds, "spans": spans})
        conn.send({"peak_rss_mb": peak_rss_mb()})
    except (EOFError, OSError):
        return  # the parent stopped (another variant failed): nothing to report to
    except Exception as err:  # report any failure to the parent, which stops the run
        import traceback

        conn.send({"error": f"{type(err).__name__}: {err}", "traceback": traceback.format_exc()})


def _make_runner(variant: dict[str, Any]) -> Any:
    if variant["kind"] == "pipeline":
        from transformers import pipeline

        # the recipe as users run it: PyTorch's default thread count
        pipe = pipeline("ner", model=variant["model"], aggregation_strategy="first")
        size = variant["batch_size"]

        def run_pipeline(texts: list[str]) -> list[list[Span]]:
            out = pipe(texts, batch_size=size)
            return [[(e["start"], e["end"], e["entity_group"]) for e in ents] for ents in out]

        return run_pipeline

    from nerkit.runtimes.pytorch import TorchBackend
    from nerkit.tagging.tagger import Tagger

    tagger = Tagger.load(variant["model"])
    if variant.get("intra_op"):
        from nerkit.runtimes.onnx import OnnxBackend

        tagger.predictor.backend = OnnxBackend(variant["model"], parallel_batches=False)
    if variant.get("bf16"):
        tagger.predictor.backend = TorchBackend(tagger.predictor.backend.model, bf16=True)
    variant["tagger"] = tagger

    def run_nerkit(texts: list[str]) -> list[list[Span]]:
        return [[(e.start, e.end, e.label) for e in ents] for ents in tagger.tag_many(texts)]

    return run_nerkit


class WorkerError(RuntimeError):
    pass


class Worker:
    def __init__(self, variant: dict[str, Any], texts: list[str], words: list[list[str]]):
        ctx = mp.get_context("spawn")
        self.name = variant["name"]
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker, args=(variant, texts, words, child), daemon=True)
        self.process.start()
        self.times: list[float] = []
        self.spans: list[list[Span]] | None = None
        self.gold_word_tags: list[list[str]] | None = None
        self.peak_rss_mb: float | None = None

    def receive(self) -> dict[str, Any]:
        message = self.conn.recv()
        if "error" in message:
            raise WorkerError(f"{self.name} failed: {message['error']}\n{message['traceback']}")
        return message

    def wait_ready(self) -> None:
        self.gold_word_tags = self.receive().get("gold_word_tags")

    def run_once(self) -> None:
        self.conn.send("run")
        message = self.receive()
        self.times.append(message["seconds"])
        if self.spans is None:
            self.spans = message["spans"]

    def stop(self) -> None:
        self.conn.send("stop")
        self.peak_rss_mb = self.receive()["peak_rss_mb"]
        self.process.join(timeout=60)


# ------------------------------------------------------------------ exports


def ensure_exports(model: Path, onnx_dir: Path | None) -> tuple[dict[str, Path], dict[str, Any]]:
    """ONNX fp32/int8 and OpenVINO int8 exports of ``model`` (reused when made from it)."""
    from nerkit.export import REPORT_FILE
    from nerkit.export.onnx import export_onnx

    if onnx_dir is None:
        stamp = f"{model.resolve()}:{(model / 'config.json').stat().st_mtime_ns}"
        for f in model.glob("*.safetensors"):
            stamp += f":{f.stat().st_mtime_ns}"
        key = hashlib.sha256(stamp.encode()).hexdigest()[:12]
        onnx_dir = Path(tempfile.gettempdir()) / "nerkit-tagging-speed" / key
    kinds = ["fp32", "int8"]
    if openvino_installed():
        kinds.append("openvino-int8")
    else:
        print("openvino/nncf not installed (pip install -e '.[openvino]'): "
              "skipping nerkit-openvino-int8", flush=True)
    folders, info = {}, {}
    for kind in kinds:
        folder = onnx_dir / kind
        report_path = folder / REPORT_FILE
        model_file = "model.xml" if kind.startswith("openvino") else "model.onnx"
        current = "format" if kind.startswith("openvino") else "int8_smoothed"
        reused = False
        if report_path.exists():
            report = json.loads(report_path.read_text())
            reused = (
                report.get("source") == str(model)
                # written by the current export code
                and current in report
                and (folder / model_file).exists()
            )
        if not reused:
            started = time.perf_counter()
            if kind == "openvino-int8":
                from nerkit.export.openvino import export_openvino

                export_openvino(model, folder, "int8")
            else:
                export_onnx(model, folder, None if kind == "fp32" else kind)
            print(
                f"exported {kind} to {folder} in {time.perf_counter() - started:.0f} s", flush=True
            )
        report = json.loads(report_path.read_text())
        folders[kind] = folder
        info[kind] = {
            "folder": str(folder),
            "reused": reused,
            "sample": report["sample"],
            "model_mb": round(report.get("onnx_bytes", report.get("model_bytes", 0)) / 1e6, 1),
        }
        if report.get("calibration"):
            info[kind]["calibration"] = report["calibration"]
    return folders, info


def openvino_installed() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("openvino", "nncf"))


# ------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="fine-tuned nerkit model folder")
    parser.add_argument("--data", help="column file (default $NERKIT_DATA/conll2002/esp.testb)")
    parser.add_argument(
        "--onnx-dir", help="folder for the fp32/, int8/ and openvino-int8/ exports"
    )
    parser.add_argument("--reps", type=int, default=3, help="timed repetitions per variant")
    parser.add_argument("--limit", type=int, help="first N sentences only")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_SENTENCES} sentences, 1 rep, pipeline batch 8 only",
    )
    parser.add_argument(
        "--pipeline-batch-sizes",
        default="8,32",
        help="comma-separated batch sizes for the pipeline (default 8,32)",
    )
    parser.add_argument("--bf16", action="store_true", help="add nerkit-torch-bf16")
    parser.add_argument(
        "--intra-op",
        action="store_true",
        help="add nerkit-onnx-int8-intraop: one run per batch on all cores (latency mode)",
    )
    parser.add_argument("--variants", help="comma-separated subset of variant names")
    parser.add_argument(
        "--json",
        help="results file (default benchmarks/results/"
        "tagging_speed.json, tagging_speed_quick.json with --quick)",
    )
    args = parser.parse_args(argv)
    command = "python " + " ".join(shlex.quote(a) for a in [sys.argv[0], *(argv or sys.argv[1:])])

    busy = busy_processes()
    if busy:
        print("WARNING: training is running; timings are meaningless until it ends:", flush=True)
        for cmd in busy:
            print(f"  {cmd}")
    limit = QUICK_SENTENCES if args.quick else args.limit
    reps = 1 if args.quick else args.reps
    batch_sizes = [8] if args.quick else [int(x) for x in args.pipeline_batch_sizes.split(",")]
    model = Path(args.model)
    path = data_file(args.data)
    words, gold = load_texts(path, limit)
    texts = [" ".join(w) for w in words]
    n_words = sum(len(w) for w in words)
    print(f"{path}: {len(texts)} sentences, {n_words} words; {reps} rep(s)", flush=True)

    folders, export_info = ensure_exports(model, Path(args.onnx_dir) if args.onnx_dir else None)
    variants: list[dict[str, Any]] = [
        {"name": f"pipeline-b{b}", "kind": "pipeline", "model": str(model), "batch_size": b}
        for b in batch_sizes
    ]
    variants += [
        {"name": "nerkit-torch", "kind": "nerkit", "model": str(model)},
        {"name": "nerkit-onnx-fp32", "kind": "nerkit", "model": str(folders["fp32"])},
        {"name": "nerkit-onnx-int8", "kind": "nerkit", "model": str(folders["int8"])},
    ]
    if "openvino-int8" in folders:
        variants.append(
            {
                "name": "nerkit-openvino-int8",
                "kind": "nerkit",
                "model": str(folders["openvino-int8"]),
            }
        )
    if args.intra_op:
        variants.append(
            {
                "name": "nerkit-onnx-int8-intraop",
                "kind": "nerkit",
                "model": str(folders["int8"]),
                "intra_op": True,
            }
        )
    if args.bf16:
        variants.append(
            {"name": "nerkit-torch-bf16", "kind": "nerkit", "model": str(model), "bf16": True}
        )
    if args.variants:
        keep = set(args.variants.split(","))
        variants = [v for v in variants if v["name"] in keep]

    from nerkit.runtimes.cpu import physical_cores

    gflops = matmul_gflops("float32")
    gops_int8 = int8_gops()
    flops = model_flops(model, words)
    bound = gflops * 1e9 / (flops["flops_per_piece"] * flops["pieces_per_word"])
    print(
        f"fp32 matmul {gflops:.0f} GFLOP/s, int8 MatMulInteger {gops_int8:.0f} GOP/s; "
        f"{flops['flops_per_piece'] / 1e6:.1f} MFLOP per piece x "
        f"{flops['pieces_per_word']:.3f} pieces per word -> fp32 bound {bound:.0f} words/s",
        flush=True,
    )

    workers = [Worker(v, texts, words) for v in variants]
    try:
        for w in workers:
            w.wait_ready()
        for rep in range(reps):
            order = workers[rep % len(workers) :] + workers[: rep % len(workers)]
            for w in order:
                w.run_once()
                print(f"  rep {rep + 1} {w.name}: {n_words / w.times[-1]:.0f} words/s", flush=True)
        for w in workers:
            w.stop()
    except WorkerError as err:
        for w in workers:
            w.process.terminate()
        print(err, file=sys.stderr)
        return 1
    busy_after = busy_processes()

    from nerkit.conll.metrics import score

    rows = []
    for w in workers:
        assert w.spans is not None
        pred = [spans_to_word_tags(ws, sp) for ws, sp in zip(words, w.spans, strict=True)]
        median = statistics.median(w.times)
        row = {
            "variant": w.name,
            "words_per_s": n_words / median,
            "seconds": w.times,
            "peak_rss_mb": round(w.peak_rss_mb or 0, 1),
            "f1_text": score(gold, pred)["micro"]["f1"],
            "f1_words": score(gold, w.gold_word_tags)["micro"]["f1"] if w.gold_word_tags else None,
            "share_of_fp32_bound": n_words / median / bound,
        }
        rows.append(row)
    pipelines = [r for r in rows if r["variant"].startswith("pipeline")]
    reference = max(pipelines, key=lambda r: r["words_per_s"]) if pipelines else None
    for r in rows:
        r["x_pipeline"] = r["words_per_s"] / reference["words_per_s"] if reference else None

    header = (
        f"{'variant':<26}{'words/s':>9}{'x pipe':>8}{'peak RSS':>10}{'F1 text':>9}"
        f"{'F1 words':>10}{'of fp32 bound':>15}"
    )
    print()
    print(header)
    for r in rows:
        x = f"{r['x_pipeline']:.2f}" if r["x_pipeline"] is not None else "-"
        f1w = f"{r['f1_words']:.2f}" if r["f1_words"] is not None else "-"
        print(
            f"{r['variant']:<26}{r['words_per_s']:>9.0f}{x:>8}{r['peak_rss_mb']:>8.0f}MB"
            f"{r['f1_text']:>9.2f}{f1w:>10}{r['share_of_fp32_bound']:>14.0%}"
        )
    print(
        f"fp32 bound: {bound:.0f} words/s ({gflops:.0f} GFLOP/s / "
        f"({flops['flops_per_piece'] / 1e6:.1f} MFLOP x {flops['pieces_per_word']:.3f}))"
    )
    if busy or busy_after:
        print("WARNING: a training job ran during this benchmark; do not quote these timings")

    result = {
        "command": command,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "cpu": env_info.cpu_model(),
            "logical_cpus": os.cpu_count(),
            "physical_cores": physical_cores(),
            "native_bf16": cpu_has_native_bf16(),
            "avx512_vnni": "avx512_vnni" in Path("/proc/cpuinfo").read_text()
            if Path("/proc/cpuinfo").exists()
            else None,
        },
        "versions": _versions(),
        "data": {
            "file": str(path),
            "sentences": len(texts),
            "words": n_words,
            "text": "gold words joined by single spaces",
        },
        "reps": reps,
        "cpu_busy": bool(busy or busy_after),
        "matmul_fp32_gflops": round(gflops, 1),
        "matmul_int8_gops": round(gops_int8, 1),
        "flops": flops,
        "fp32_bound_words_per_s": round(bound, 1),
        "exports": export_info,
        "variants": rows,
    }
    nerkit_rows = [r for r in rows if r["variant"].startswith("nerkit")]
    torch_row = next((r for r in rows if r["variant"] == "nerkit-torch"), None)
    summary = ""
    if nerkit_rows and reference and torch_row:
        fastest = max(nerkit_rows, key=lambda r: r["words_per_s"])
        speedup = fastest["words_per_s"] / reference["words_per_s"]
        delta = fastest["f1_text"] - torch_row["f1_text"]
        result["summary"] = {
            "fastest": fastest["variant"],
            "reference": reference["variant"],
            "speedup_vs_pipeline": speedup,
            "f1_delta": delta,
        }
        summary = f"speedup_vs_pipeline={speedup:.2f} f1_delta={delta:+.2f}"
    out = (
        Path(args.json)
        if args.json
        else RESULTS / ("tagging_speed_quick.json" if args.quick else "tagging_speed.json")
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    print(f"reproduce: {command}")
    if summary:
        print(summary)
    return 0


def _versions() -> dict[str, str]:
    return env_info.versions(
        ("nerkit", "torch", "transformers", "tokenizers", "onnxruntime", "openvino", "nncf",
         "numpy")
    )


if __name__ == "__main__":
    sys.exit(main())
