"""Running a saved model: :func:`open_model` is the one place that knows how a folder is run.

A model folder written by ``nerkit train`` runs on PyTorch; a folder written by
``nerkit export`` holds an ONNX or OpenVINO network (file names in :mod:`nerkit.runtimes.base`)
and runs on that runtime, with the same tokenizer, labels and ``nerkit.json``. Everything above
this package (the :class:`~nerkit.tagging.tagger.Tagger`, the server, the CLI) asks
:func:`open_model` and never looks for runtime files itself. A hub id (``ORG/NAME[@REV]``) is
resolved here to its folder in the local hub cache (:func:`nerkit.modeling.hub.resolve_model`),
so everything above takes one wherever it takes a folder. Nothing heavy is imported until a
model is opened.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nerkit.conll.labels import LabelSet
from nerkit.errors import ModelError
from nerkit.modeling.folder import ModelMeta
from nerkit.modeling.hub import resolve_model
from nerkit.runtimes.base import EXPORTED_FILES, RUNTIME_NAMES, Backend, exported_runtime
from nerkit.runtimes.cpu import check_threads

__all__ = ["OpenedModel", "open_model", "EXPORTED_FILES", "RUNTIME_NAMES", "Backend"]


@dataclass(frozen=True)
class OpenedModel:
    """A model folder ready to run: what the :class:`~nerkit.tagging.predictor.Predictor` needs.

    ``runtime`` is ``"pytorch"``, ``"onnx"`` or ``"openvino"``. ``batch_size`` is the number of
    windows per batch the backend runs best with, or None where it has no preference.
    """

    backend: Backend
    tokenizer: Any
    labels: LabelSet
    meta: ModelMeta
    runtime: str
    batch_size: int | None = None


def open_model(
    path: str | os.PathLike[str], *, threads: int | None = None, latency: bool = False
) -> OpenedModel:
    """Open the model folder ``path`` (or hub id) on the runtime its files call for.

    A hub id is downloaded into the hub cache, or found there offline. A folder with
    ``model.onnx`` runs on onnxruntime, one with ``model.xml`` on OpenVINO (ONNX
    first when both are there), any other on PyTorch (a ``nerkit train`` folder or any Hugging
    Face token classifier). ``threads`` defaults to one per physical core. ``latency=True``
    makes an exported model spread each run over all threads, which answers one short text
    sooner; by default it runs the windows of a batch on the cores side by side, the most words
    per second on many texts. A PyTorch model always uses all threads on each batch.
    """
    check_threads(threads)
    folder = resolve_model(path)
    runtime = exported_runtime(folder) if folder.is_dir() else None
    if runtime is None:
        return _open_pytorch(folder, threads)
    from nerkit.modeling.folder import load_tokenizer

    labels = _exported_labels(folder, runtime)
    meta = ModelMeta.read(folder)
    backend: Any
    if runtime == "onnx":
        from nerkit.runtimes.onnx import OnnxBackend

        backend = OnnxBackend(folder, threads, parallel_batches=False if latency else None)
    else:
        from nerkit.runtimes.openvino import OpenVinoBackend

        backend = OpenVinoBackend(folder, threads, latency=latency)
    return OpenedModel(
        backend,
        load_tokenizer(folder),
        labels,
        meta,
        runtime,
        getattr(backend, "batch_size", None),
    )


def _open_pytorch(path: str | os.PathLike[str], threads: int | None) -> OpenedModel:
    from nerkit.modeling.folder import load_classifier
    from nerkit.runtimes.pytorch import TorchBackend

    model, tokenizer, labels, meta = load_classifier(path)
    return OpenedModel(TorchBackend(model, threads=threads), tokenizer, labels, meta, "pytorch")


def _exported_labels(folder: Path, runtime: str) -> LabelSet:
    """The labels of an exported folder, from the ``config.json`` the export copied."""
    config = folder / "config.json"
    id2label = {}
    if config.is_file():
        id2label = json.loads(config.read_text(encoding="utf-8")).get("id2label") or {}
    if not id2label:
        raise ModelError(
            f"{folder}: {EXPORTED_FILES[runtime]} without a config.json holding id2label; "
            "export the model again with `nerkit export`"
        )
    return LabelSet.from_config(id2label)
