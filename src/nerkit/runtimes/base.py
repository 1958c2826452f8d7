"""What every runtime shares: the :class:`Backend` protocol and the exported model file names.

The file names live here, once: :func:`nerkit.runtimes.open_model` reads them to decide how a
folder is run, and :mod:`nerkit.export` writes them, so a folder written by one is always
recognised by the other.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from nerkit.errors import ModelError

if TYPE_CHECKING:
    import numpy as np

ONNX_FILE = "model.onnx"
OPENVINO_FILE = "model.xml"  # its weights are in OPENVINO_WEIGHTS beside it
OPENVINO_WEIGHTS = "model.bin"
# the network file of each exported runtime, in the order open_model looks for them (a folder
# holding both kinds runs on ONNX, as it always has)
EXPORTED_FILES = {"onnx": ONNX_FILE, "openvino": OPENVINO_FILE}
# how messages name each runtime
RUNTIME_NAMES = {"pytorch": "PyTorch", "onnx": "ONNX", "openvino": "OpenVINO"}


class Backend(Protocol):
    """Runs the network: ``(input_ids, attention_mask)`` int64 arrays to float logits.

    Inputs are right-padded ``(batch, sequence)`` arrays; logits come back as
    ``(batch, sequence, labels)`` float32. A backend may also have ``run_batches(list of
    (input_ids, attention_mask)) -> list of logits``: the
    :class:`~nerkit.tagging.predictor.Predictor` then hands it many batches at once, so that it
    can keep every core busy across batch boundaries
    (:class:`~nerkit.runtimes.openvino.OpenVinoBackend` does). A ``batch_size`` attribute is the
    number of windows per batch the backend runs best with.
    """

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray: ...


def exported_model_file(path: str | os.PathLike[str], runtime: str) -> Path:
    """The network file of an exported model: ``path`` itself, or the runtime's file in it.

    ``runtime`` is a key of :data:`EXPORTED_FILES`. A missing file is a
    :class:`~nerkit.errors.ModelError` that says how to write one.
    """
    file = Path(path)
    if file.is_dir():
        file = file / EXPORTED_FILES[runtime]
    if not file.is_file():
        raise ModelError(
            f"{file}: {RUNTIME_NAMES[runtime]} model not found; write one with `nerkit export`"
        )
    return file


def exported_runtime(folder: Path) -> str | None:
    """Which exported runtime runs ``folder`` (a key of :data:`EXPORTED_FILES`), or None for a
    folder without an exported network (a PyTorch model folder)."""
    for runtime, name in EXPORTED_FILES.items():
        if (folder / name).is_file():
            return runtime
    return None
