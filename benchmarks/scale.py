"""Corpus tagging at scale: local Ray Data (N actors) against one ``nerkit predict`` process.

Both tag the same JSONL shards (sentences of CoNLL-2002 Spanish and Dutch train files, words
joined by spaces, at least 20,000 texts by default) with the same model folder and runtime, in one
run, end to end: Ray's time includes starting Ray and loading the model in every actor; the
single process's includes loading the model once. Words per second count whitespace words. The
outputs of both are compared record by record (texts, entities, offsets, scores).

``ray_vs_single_process`` in the JSON is Ray's words/s over the single process's. On the
2-core machines of this project the single process runs PyTorch on both cores (one thread
each) and Ray runs 2 actors of one thread each, so the ratio measures the engine's overhead
(scheduling, serialising batches through the object store, the driver writing shards), not a
gain in compute. On N machines (or N GPUs) the actors multiply the throughput; what bounds it is
described in the docs (model load per actor, shard size, the driver writing every shard).

    python benchmarks/scale.py --model models/e5-conll2002-es --texts 20000
    python benchmarks/scale.py --untrained-e5 --texts 20000   # speed only: an untrained head
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import env_info

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SHARED = Path(os.environ.get("NERKIT_DATA", HERE.parents[1] / "shared" / "data"))
SOURCES = ("esp.train", "ned.train")


def corpus_texts(limit: int) -> list[str]:
    """Up to ``limit`` training sentences of both CoNLL-2002 languages, words joined by spaces."""
    from nerkit.conll.corpus import read_sentences

    texts: list[str] = []
    for name in SOURCES:
        texts += [" ".join(s.words) for s in read_sentences(SHARED / "conll2002" / name)]
    texts = [t for t in texts if t]
    if len(texts) < limit:
        sys.exit(f"scale: only {len(texts)} sentences in {SOURCES}; lower --texts")
    return texts[:limit]


def write_shards(texts: list[str], folder: Path, shards: int) -> list[Path]:
    """``texts`` as ``shards`` JSONL files of consecutive texts."""
    folder.mkdir(parents=True, exist_ok=True)
    size = -(-len(texts) // shards)
    paths = []
    for i in range(shards):
        path = folder / f"part-{i:03d}.jsonl"
        part = texts[i * size:(i + 1) * size]
        path.write_text("".join(json.dumps({"id": i * size + j, "text": t}, ensure_ascii=False)
                                + "\n" for j, t in enumerate(part)), encoding="utf-8")
        paths.append(path)
    return paths


def untrained_e5(folder: Path) -> Path:
    """multilingual-e5-small with an untrained CoNLL head (speed only), built once."""
    if (folder / "nerkit.json").is_file():
        return folder
    from nerkit.conll.labels import LabelSet
    from nerkit.modeling.folder import ModelMeta, new_classifier, save_classifier

    build = HERE.parents[1] / "shared" / "models" / "build-e5-small"
    encoder = subprocess.run([sys.executable, str(build)], check=True, capture_output=True,
                             text=True).stdout.strip().splitlines()[-1]
    labels = LabelSet.from_tags([[f"{p}-{t}" for t in ("PER", "ORG", "LOC", "MISC")
                                  for p in "BI"] + ["O"]])
    model, tokenizer = new_classifier(encoder, labels)
    save_classifier(folder, model, tokenizer, ModelMeta(encoder=encoder))
    return folder


def run_single(model: Path, inputs: list[Path], out: Path) -> float:
    """One process: ``nerkit predict`` on every shard, the model loaded once; seconds."""
    from nerkit.tagging.files import predict_file
    from nerkit.tagging.tagger import Tagger

    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    tagger = Tagger.load(model)
    for path in inputs:
        predict_file(tagger, path, "jsonl", out / path.name, progress=False)
    return time.perf_counter() - start


def run_ray(model: Path, inputs: Path, out: Path, workers: int) -> tuple[float, float]:
    """Local Ray with ``workers`` actors; (seconds in all, seconds to start Ray)."""
    import ray

    from nerkit.ray import tag_files

    start = time.perf_counter()
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    started = time.perf_counter() - start
    try:
        tag_files(str(inputs / "*.jsonl"), out, model, workers=workers, progress=False)
    finally:
        seconds = time.perf_counter() - start
        ray.shutdown()
    return seconds, started


def same_outputs(a: Path, b: Path) -> dict[str, int]:
    """Records compared shard by shard: how many, and how many differ."""
    records = differ = 0
    for path in sorted(a.glob("*.jsonl")):
        left = path.read_text(encoding="utf-8").splitlines()
        right = (b / path.name).read_text(encoding="utf-8").splitlines()
        records += len(left)
        differ += sum(json.loads(x) != json.loads(y) for x, y in zip(left, right, strict=True))
    return {"records": records, "records_that_differ": differ}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="nerkit model folder (any runtime nerkit loads)")
    source.add_argument("--untrained-e5", action="store_true",
                        help="e5-small with an untrained head (speed only)")
    parser.add_argument("--texts", type=int, default=20_000)
    parser.add_argument("--shards", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", default=str(RESULTS / "scale-ray.json"))
    args = parser.parse_args(argv)
    command = "python " + " ".join(shlex.quote(a) for a in [sys.argv[0], *(argv or sys.argv[1:])])
    work = Path(tempfile.mkdtemp(prefix="nerkit-scale-"))
    model = (Path(args.model) if args.model else
             untrained_e5(Path(tempfile.gettempdir()) / "nerkit-e5-untrained"))
    texts = corpus_texts(args.texts)
    words = sum(len(t.split()) for t in texts)
    inputs = write_shards(texts, work / "in", args.shards)
    print(f"{len(texts)} texts, {words} words in {args.shards} shards; model {model}", flush=True)
    single = run_single(model, inputs, work / "single")
    print(f"one process: {single:.1f} s, {words / single:.0f} words/s", flush=True)
    ray_seconds, ray_start = run_ray(model, work / "in", work / "ray", args.workers)
    print(f"ray, {args.workers} workers: {ray_seconds:.1f} s (Ray start {ray_start:.1f} s), "
          f"{words / ray_seconds:.0f} words/s", flush=True)
    result: dict[str, Any] = {
        "command": command,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": env_info.machine(),
        "versions": env_info.versions(["torch", "transformers", "ray", "nerkit"]),
        "model": str(model),
        "texts": len(texts), "words": words, "shards": args.shards, "workers": args.workers,
        "single_process": {"seconds": round(single, 1), "words_per_s": round(words / single)},
        "ray": {"seconds": round(ray_seconds, 1), "ray_start_seconds": round(ray_start, 1),
                "words_per_s": round(words / ray_seconds)},
        "ray_vs_single_process": round(single / ray_seconds, 3),
        "outputs": same_outputs(work / "single", work / "ray"),
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("ray_vs_single_process", "outputs")}))
    print(f"reproduce: {command}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
