"""Corpus tagging on a local 2-CPU Ray: same entities as ``nerkit predict``, sharded output that
a rerun completes, and no text lost or written twice when a worker is killed mid-job."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import EXPORT_TEXTS

ray = pytest.importorskip("ray")

TEXTS = [t for t in EXPORT_TEXTS if t] + [
    "Ana y Pedro viven en Sevilla.", "La ONU y la Comisión Europea.", "Sin entidades aquí.",
]


@pytest.fixture(scope="module")
def local_ray() -> Any:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def write_jsonl(path: Path, texts: list[str], **extra: Any) -> Path:
    path.write_text("".join(json.dumps({"text": t, "id": i, **extra}, ensure_ascii=False) + "\n"
                            for i, t in enumerate(texts)), encoding="utf-8")
    return path


def predict_reference(model: Path, source: Path, out: Path) -> list[dict[str, Any]]:
    from nerkit.tagging.files import predict_file
    from nerkit.tagging.tagger import Tagger

    predict_file(Tagger.load(model), source, "jsonl", out, progress=False)
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_shards_equal_nerkit_predict(local_ray: Any, tiny_model: Path, tmp_path: Path) -> None:
    from nerkit.ray import tag_files

    inputs = tmp_path / "in"
    inputs.mkdir()
    write_jsonl(inputs / "a.jsonl", TEXTS * 3)
    write_jsonl(inputs / "b.jsonl", list(reversed(TEXTS)), source="b")
    (inputs / "empty.jsonl").write_text("", encoding="utf-8")
    out = tmp_path / "out"
    counts = tag_files(str(inputs / "*.jsonl"), out, tiny_model, workers=2, batch_size=4,
                       progress=False)
    assert counts == {"shards": 3, "skipped": 0, "written": 3, "rows": 3 * len(TEXTS) + len(TEXTS)}
    for name in ("a", "b"):
        expected = predict_reference(tiny_model, inputs / f"{name}.jsonl", tmp_path / f"{name}.ref")
        assert read_jsonl(out / f"{name}.jsonl") == expected  # fields, order, entities, offsets
    assert read_jsonl(out / "empty.jsonl") == []
    assert sorted(p.name for p in out.iterdir()) == ["a.jsonl", "b.jsonl", "empty.jsonl"]


def test_rerun_skips_finished_shards(local_ray: Any, tiny_model: Path, tmp_path: Path) -> None:
    from nerkit.ray import tag_files

    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("a", "b", "c"):
        write_jsonl(inputs / f"{name}.jsonl", TEXTS)
    out = tmp_path / "out"
    tag_files(str(inputs / "*.jsonl"), out, tiny_model, workers=2, progress=False)
    finished = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    # a crash after one shard: its output missing, a half-written temporary file left
    (out / "b.jsonl").unlink()
    (out / "b.jsonl.tmp").write_text('{"text": "half', encoding="utf-8")
    counts = tag_files(str(inputs / "*.jsonl"), out, tiny_model, workers=2, progress=False)
    assert counts["skipped"] == 2 and counts["written"] == 1 and counts["rows"] == len(TEXTS)
    assert {p.name for p in out.iterdir()} == {"a.jsonl", "b.jsonl", "c.jsonl"}
    for name in ("a.jsonl", "c.jsonl"):
        assert (out / name).stat().st_mtime_ns == finished[name]
    assert read_jsonl(out / "b.jsonl") == read_jsonl(out / "a.jsonl")


def test_parquet_output(local_ray: Any, tiny_model: Path, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from nerkit.ray import tag_files

    source = write_jsonl(tmp_path / "docs.jsonl", TEXTS)
    tag_files(str(source), tmp_path / "out", tiny_model, out_format="parquet", progress=False)
    rows = pq.read_table(tmp_path / "out" / "docs.parquet").to_pylist()
    expected = predict_reference(tiny_model, source, tmp_path / "ref.jsonl")
    assert [r["text"] for r in rows] == TEXTS
    assert [r["entities"] for r in rows] == [r["entities"] for r in expected]


def test_tag_dataset_adds_entities(local_ray: Any, tiny_model: Path) -> None:
    from nerkit.ray import tag_dataset
    from nerkit.tagging.tagger import Tagger

    ds = ray.data.from_items([{"body": t, "n": i} for i, t in enumerate(TEXTS)])
    rows = tag_dataset(ds, tiny_model, text_column="body", workers=2, batch_size=3).take_all()
    rows.sort(key=lambda r: r["n"])
    tagger = Tagger.load(tiny_model)
    assert [r["entities"] for r in rows] == [
        [e.to_dict() for e in ents] for ents in tagger.tag_many(TEXTS)
    ]


def test_bad_inputs_are_one_line_errors(local_ray: Any, tiny_model: Path, tmp_path: Path) -> None:
    from nerkit.errors import NerkitError
    from nerkit.ray import tag_files

    with pytest.raises(NerkitError, match="no input file matches"):
        tag_files(str(tmp_path / "missing" / "*.jsonl"), tmp_path / "out", tiny_model)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.jsonl").write_text('{"text": "Ana"}\n{"body": "Pedro"}\n', encoding="utf-8")
    with pytest.raises(NerkitError, match=r"x\.jsonl:2: no \"text\" string field"):
        tag_files(str(bad / "*.jsonl"), tmp_path / "out2", tiny_model, progress=False)
    assert not (tmp_path / "out2" / "x.jsonl").exists()  # nothing half-written looks finished
    with pytest.raises(NerkitError, match="cannot write the output folder"):
        tag_files(str(bad / "*.jsonl"), "/proc/nerkit-out", tiny_model)


def test_killed_worker_loses_and_repeats_nothing(
    local_ray: Any, tiny_model: Path, tmp_path: Path
) -> None:
    """SIGKILL one tagging actor while the job runs: Ray restarts it and runs its batch again;
    every shard is complete, in order, with no duplicate."""
    from nerkit.ray import tag_files

    inputs = tmp_path / "in"
    inputs.mkdir()
    texts = [f"{t} ({i})" for i in range(80) for t in TEXTS]
    names = "abcdef"
    for name in names:
        write_jsonl(inputs / f"{name}.jsonl", texts)
    out = tmp_path / "out"
    killed: list[int] = []
    # only this job's actors: a Ray worker that exists already belongs to someone else
    others = set(subprocess.run(["pgrep", "-f", "MapWorker"], capture_output=True,
                                text=True).stdout.split())

    def kill_one_worker() -> None:
        deadline = time.time() + 120
        while time.time() < deadline and not killed:
            found = subprocess.run(["pgrep", "-f", "MapWorker"], capture_output=True, text=True)
            pids = [int(p) for p in found.stdout.split() if p not in others]
            # the job is under way once a first shard is finished (shards finish in any order)
            if pids and any(out.glob("*.jsonl")):
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])
            time.sleep(0.05)

    killer = threading.Thread(target=kill_one_worker)
    killer.start()
    counts = tag_files(str(inputs / "*.jsonl"), out, tiny_model, workers=2, batch_size=16,
                       progress=False)
    killer.join()
    assert killed, "no worker was killed: the job ended before the killer found one"
    assert counts["written"] == len(names)
    for name in names:
        rows = read_jsonl(out / f"{name}.jsonl")
        assert [r["id"] for r in rows] == list(range(len(texts)))
        assert [r["text"] for r in rows] == texts


def test_data_format_error_survives_pickling() -> None:
    """Errors raised in Ray tasks are pickled back to the driver: they keep their message."""
    import pickle

    from nerkit.errors import DataFormatError

    err = pickle.loads(pickle.dumps(DataFormatError("x.jsonl", 2, "no text", "add one")))
    assert str(err) == "x.jsonl:2: no text; add one" and err.line == 2


def test_cli_engine_ray(local_ray: Any, tiny_model: Path, tmp_path: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    from nerkit.cli import main

    source = write_jsonl(tmp_path / "docs.jsonl", TEXTS)
    out = tmp_path / "shards"
    argv = ["predict", "--model", str(tiny_model), "--engine", "ray", "--input",
            str(tmp_path / "*.jsonl"), "--format", "jsonl", "--output", str(out), "--workers", "2",
            "--quiet"]
    assert main(argv) == 0
    assert f"1 shards written ({len(TEXTS)} documents)" in capsys.readouterr().err
    expected = predict_reference(tiny_model, source, tmp_path / "ref.out")
    assert read_jsonl(out / "docs.jsonl") == expected
    assert main(argv) == 0  # a rerun finds the shard finished
    assert "0 shards written (0 documents), 1 finished shards skipped" in capsys.readouterr().err
    assert main(["predict", "--model", str(tiny_model), "--engine", "ray", "Ana"]) == 2
    assert "--engine ray tags files" in capsys.readouterr().err
