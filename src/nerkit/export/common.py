"""What every export does besides building its network: checks, staging, the files beside the
network, the report and the versions it records.

Shared by :mod:`nerkit.export.onnx` and :mod:`nerkit.export.openvino`, so both write folders of
the same shape that :func:`nerkit.runtimes.open_model` runs.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nerkit.errors import ConfigError, ModelError
from nerkit.modeling.hub import resolve_model
from nerkit.modeling.progress import progress_bar
from nerkit.runtimes.base import EXPORTED_FILES, RUNTIME_NAMES

REPORT_FILE = "export_report.json"
QUANTIZATIONS = ("int8",)


def check_folders(
    model_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    quantize: str | None,
    runtime: str,
) -> tuple[Path, Path]:
    """The checks every export makes before its slow part; returns (source, target) folders.

    ``runtime`` is a key of :data:`~nerkit.runtimes.base.EXPORTED_FILES`.
    """
    if quantize not in (None, *QUANTIZATIONS):
        raise ConfigError(
            f"unknown quantization {quantize!r}; use {', '.join(QUANTIZATIONS)} or none (fp32)"
        )
    source, target = resolve_model(model_dir), Path(out_dir)  # a hub id: its cached folder
    if not source.is_dir():
        raise ModelError(f"{model_dir}: model folder not found; check the path")
    if target.exists() and target.resolve() == source.resolve():
        name = RUNTIME_NAMES[runtime]
        raise ConfigError(
            f"{out_dir}: the {name} folder must differ from the model folder (a "
            f"{EXPORTED_FILES[runtime]} there would make Tagger.load use it); choose another "
            f"--{name.lower()} folder"
        )
    return source, target


@contextmanager
def staging(target: Path) -> Iterator[Path]:
    """A temporary folder inside ``target``; its files move into ``target`` only on success,
    so a failed export never leaves a half-written model where a good one was."""
    target.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".exporting-", dir=target))
    try:
        yield work
        for item in work.iterdir():
            os.replace(item, target / item.name)
    finally:
        shutil.rmtree(work, ignore_errors=True)


class ExportSteps:
    """A bar over the steps of one export (on stderr, hidden by ``--quiet``), naming the step
    that runs: tracing the graph, quantizing and checking parity each take from seconds to
    minutes and print nothing of their own. The parity check's tagging has its own word bar.
    """

    def __init__(self, names: list[str]) -> None:
        self.bar = progress_bar(total=len(names), desc="export", unit="step")
        self.names = iter(names)
        self.bar.set_postfix_str(next(self.names, ""), refresh=True)

    def next(self) -> None:
        """The current step is done; the next one starts."""
        self.bar.update(1)
        self.bar.set_postfix_str(next(self.names, ""), refresh=True)

    def close(self) -> None:
        self.bar.close()


@contextmanager
def export_steps(*names: str) -> Iterator[ExportSteps]:
    """:class:`ExportSteps` over ``names``, closed (cleared) when the export ends or fails."""
    steps = ExportSteps(list(names))
    try:
        yield steps
    finally:
        steps.close()


def write_model_files(
    source: Path, work: Path, tokenizer: Any, meta: Any, key: str, info: dict[str, Any]
) -> None:
    """What every exported folder holds beside the network: the source's config.json (labels),
    the tokenizer, and nerkit.json with how it was exported under ``extra[key]``."""
    shutil.copyfile(source / "config.json", work / "config.json")
    tokenizer.save_pretrained(work)
    meta.extra = {**meta.extra, key: info}
    meta.write(work)


def write_report(work: Path, report: dict[str, Any]) -> None:
    """``export_report.json`` in the staging folder (it moves with the model files)."""
    (work / REPORT_FILE).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


def versions(*runtimes: str) -> dict[str, str]:
    """Package versions an export report records: nerkit, torch, transformers and ``runtimes``.

    A report is read long after the export; the versions say which converter and runtime made
    the numbers in it, since a newer runtime can round differently.
    """
    from importlib.metadata import version

    from nerkit._version import __version__

    return {"nerkit": __version__} | {
        name: version(name) for name in ("torch", "transformers", *runtimes)
    }
