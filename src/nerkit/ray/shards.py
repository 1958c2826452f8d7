"""Tag files of documents on Ray into one finished output shard per input file.

Input files are ``txt`` (one document per line) or ``jsonl`` (``{"text": ...}`` per line, other
fields kept), read by the same reader as ``nerkit predict``, so a bad line is the same one-line
error naming the file and the line. Each input file becomes one shard ``OUT_DIR/<name>.jsonl`` (or
``.parquet``) with the records in input order, each with its ``entities``.

How a crash or a lost worker leaves the output:

- Reading runs in Ray tasks (one per file), tagging in :class:`~nerkit.ray.dataset.TagBatches`
  actors; only this driver writes, in input order. A shard is written to a temporary name and
  renamed when its last row is in: a file with the final name is always complete. A rerun
  skips the finished shards, so it redoes only the files that were not done.
- A killed actor is restarted by Ray and its batch run again; rows are keyed by (shard, row),
  so a row that would arrive twice is written once, and a shard with a missing row is an error,
  never a finished file.
"""

from __future__ import annotations

import glob
import json
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nerkit.errors import ConfigError, DataFormatError, NerkitError
from nerkit.ray.dataset import ray_ready, tag_dataset

logger = logging.getLogger("nerkit")

OUTPUT_FORMATS = ("jsonl", "parquet")
INPUT_FORMATS = ("jsonl", "txt")
# rows per block handed from the reading tasks to the actors: several blocks per file so that
# every actor gets work even from one large file
BLOCK_ROWS = 1024


@dataclass
class Shard:
    """One input file and the output file it becomes."""

    index: int
    source: Path
    target: Path
    rows: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    records: dict[int, str] = field(default_factory=dict)
    total: int | None = None


def find_inputs(pattern: str | Sequence[str]) -> list[Path]:
    """The input files of a glob (or several), sorted; an error if none match."""
    patterns = [pattern] if isinstance(pattern, str) else list(pattern)
    paths = sorted({Path(p) for pat in patterns for p in glob.glob(str(pat), recursive=True)
                    if Path(p).is_file()})
    if not paths:
        raise DataFormatError(", ".join(map(str, patterns)), None, "no input file matches",
                              "check the path or the glob (quote it so the shell leaves it)")
    return paths


def plan_shards(inputs: Sequence[Path], out_dir: Path, out_format: str) -> list[Shard]:
    """One shard per input, named after it; two inputs with the same name are refused."""
    shards: list[Shard] = []
    seen: dict[str, Path] = {}
    for i, source in enumerate(inputs):
        name = f"{source.stem}.{out_format}"
        if name in seen:
            raise DataFormatError(source, None, f"same output name {name} as {seen[name]}",
                                  "rename one of the inputs or tag them in two runs")
        seen[name] = source
        shards.append(Shard(i, source, out_dir / name))
    return shards


def read_shard(batch: dict[str, Any], *, fmt: str) -> Iterator[dict[str, Any]]:
    """A Ray task: one input file's rows as blocks of (shard, row, total, text, record)."""
    from nerkit.tagging.files import read_records

    for shard, path in zip(batch["shard"], batch["path"], strict=True):
        rows = [(number, record) for number, record in read_records(Path(str(path)), fmt)]
        total = len(rows)
        for start in range(0, max(total, 1), BLOCK_ROWS):
            part = rows[start:start + BLOCK_ROWS]
            yield {
                "shard": [int(shard)] * len(part),
                "row": list(range(start, start + len(part))),
                "total": [total] * len(part),
                "text": [record["text"] for _, record in part],
                "record": [json.dumps(record, ensure_ascii=False) for _, record in part],
            }


def write_shard(shard: Shard, out_format: str) -> None:
    """Write a complete shard under a temporary name, then rename it to its final name."""
    missing = [i for i in range(shard.total or 0) if i not in shard.rows]
    if missing:
        raise NerkitError(f"{shard.source}: rows {missing[:5]} never came back from the workers; "
                          "rerun the same command to finish the missing shards")
    ordered = [{**json.loads(shard.records[i]), "entities": shard.rows[i]}
               for i in range(shard.total or 0)]
    tmp = shard.target.with_name(shard.target.name + ".tmp")
    if out_format == "jsonl":
        with tmp.open("w", encoding="utf-8") as f:
            for record in ordered:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(ordered), tmp)
    os.replace(tmp, shard.target)


def check_output_dir(out_dir: Path) -> None:
    """Create ``out_dir`` and make sure it can be written, before any work starts."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".nerkit-write-test"
        probe.write_text("", encoding="utf-8")
        probe.unlink()
    except OSError as err:
        raise ConfigError(f"{out_dir}: cannot write the output folder ({err.strerror}); "
                          "choose a writable --output") from err


def collect(
    batches: Any, shards: list[Shard], out_format: str, progress: Any
) -> tuple[int, int]:
    """Receive tagged rows (any order, possibly repeated) and write each shard once complete;
    returns the shards written and the rows received."""
    by_index = {s.index: s for s in shards}
    written = received = 0
    for batch in batches:
        columns = {name: batch.column(name).to_pylist()
                   for name in ("shard", "row", "total", "record", "entities")}
        for s, row, total, record, entities in zip(*columns.values(), strict=True):
            shard = by_index[s]
            shard.total = total
            if row not in shard.rows:  # a batch run again after a lost worker: keep one copy
                shard.rows[row] = entities
                shard.records[row] = record
                received += 1
                progress.update(1)
            if len(shard.rows) == total:
                write_shard(shard, out_format)
                written += 1
                del by_index[s]
    for shard in by_index.values():  # empty files, and files whose rows never all came back
        if shard.total is None and not shard.rows:
            shard.total = 0
        write_shard(shard, out_format)
        written += 1
    return written, received


def tag_files(
    inputs: str | Sequence[str],
    out_dir: str | os.PathLike[str],
    model_dir: str | os.PathLike[str],
    *,
    input_format: str = "jsonl",
    out_format: str = "jsonl",
    workers: int | None = None,
    batch_size: int = 256,
    threads: int = 1,
    address: str | None = None,
    progress: bool = True,
) -> dict[str, int]:
    """Tag every file matching ``inputs`` into ``out_dir``; returns shard and row counts.

    ``address``: a running Ray cluster (``"auto"``, ``"ray://head:10001"``); without it, Ray
    starts locally on this machine's CPUs. Finished shards of an earlier run are skipped.
    """
    if input_format not in INPUT_FORMATS or out_format not in OUTPUT_FORMATS:
        raise ConfigError(f"input format must be one of {', '.join(INPUT_FORMATS)} and output "
                          f"format one of {', '.join(OUTPUT_FORMATS)}")
    out = Path(out_dir)
    check_output_dir(out)
    shards = plan_shards(find_inputs(inputs), out, out_format)
    todo = [s for s in shards if not s.target.exists()]
    logger.info("%d input files: %d finished shards skipped, %d to tag",
                len(shards), len(shards) - len(todo), len(todo))
    if not todo:
        return {"shards": len(shards), "skipped": len(shards), "written": 0, "rows": 0}
    ray = ray_ready()
    if not ray.is_initialized():
        ray.init(address=address, log_to_driver=False, include_dashboard=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)  # our bar and summary say it all
    files = ray.data.from_items([{"shard": s.index, "path": str(s.source)} for s in todo])
    # reading takes no CPU reservation: it is light, it must not wait for the actors' CPUs,
    # and a different reservation keeps Ray from fusing it into the actors (then one file would
    # go to one actor only)
    rows = files.map_batches(read_shard, fn_kwargs={"fmt": input_format}, batch_size=1,
                             num_cpus=0)
    tagged = tag_dataset(rows, model_dir, workers=workers, batch_size=batch_size,
                         threads=threads)
    from tqdm import tqdm

    bar = tqdm(unit="doc", disable=not progress, file=sys.stderr)
    try:
        written, received = collect(tagged.iter_batches(batch_format="pyarrow", batch_size=None),
                          todo, out_format, bar)
    except Exception as err:  # a NerkitError raised in a Ray task comes back wrapped
        raise unwrap(err) from None
    finally:
        bar.close()
    return {"shards": len(shards), "skipped": len(shards) - len(todo), "written": written,
            "rows": received}


def unwrap(err: Exception) -> Exception:
    """The :class:`NerkitError` raised inside a Ray task (Ray wraps it with the task's
    traceback), so that the CLI prints its one line; ``err`` itself if there is none."""
    current: BaseException | None = err
    while current is not None:
        inner = getattr(current, "cause", None)  # a Ray task error holds the original here
        if isinstance(inner, BaseException) and inner is not current:
            current = inner
        elif isinstance(current, NerkitError):
            return current
        else:
            current = current.__cause__
    return err
