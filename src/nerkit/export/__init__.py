"""Writing an exported model folder and proving it runs like the PyTorch model.

:func:`export_model` is the entry point; the modules below it each do one step:
:mod:`~nerkit.export.common` (checks, staging, the files beside the network, the report),
:mod:`~nerkit.export.graph` (PyTorch to ONNX), :mod:`~nerkit.export.smoothquant` (outlier
layers for ONNX int8), :mod:`~nerkit.export.onnx` and :mod:`~nerkit.export.openvino` (one
runtime each), :mod:`~nerkit.export.parity` (the parity report). Nothing heavy is imported
until an export runs.
"""

from __future__ import annotations

import os
from pathlib import Path

from nerkit.errors import ConfigError
from nerkit.export.common import QUANTIZATIONS, REPORT_FILE
from nerkit.runtimes.base import EXPORTED_FILES

__all__ = ["export_model", "EXPORT_RUNTIMES", "QUANTIZATIONS", "REPORT_FILE"]

EXPORT_RUNTIMES = tuple(EXPORTED_FILES)


def export_model(
    model_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    runtime: str = "onnx",
    quantize: str | None = None,
    calibration_data: str | None = None,
    calibration_size: int | None = None,
    check_data: str | None = None,
    split: str = "test",
    data_dir: str | os.PathLike[str] | None = None,
    batch_size: int = 32,
) -> Path:
    """Export the model folder ``model_dir`` for ``runtime`` into ``out_dir``; returns ``out_dir``.

    ``runtime``: ``"onnx"`` (fp32, or dynamic int8 with ``quantize="int8"``) or ``"openvino"``
    (fp32, or static int8 calibrated on ``calibration_size`` sentences of ``calibration_data``'s
    train split, by default the model's own training data). ``check_data`` (a corpus name such
    as ``conll2002-es`` or a column file) adds the entity F1 of the PyTorch and the exported
    model on ``split`` to ``export_report.json``. Nothing is written to ``out_dir`` until the
    export has succeeded.
    """
    if runtime not in EXPORT_RUNTIMES:
        raise ConfigError(
            f"unknown export runtime {runtime!r}; choose one of {', '.join(EXPORT_RUNTIMES)}"
        )
    calibrating = calibration_data is not None or calibration_size is not None
    if calibrating and not (runtime == "openvino" and quantize == "int8"):
        raise ConfigError(
            "calibration data is for int8 OpenVINO exports (runtime openvino, quantize int8); "
            "ONNX int8 quantizes activations at run time and fp32 needs none"
        )
    common = dict(check_data=check_data, split=split, data_dir=data_dir, batch_size=batch_size)
    if runtime == "onnx":
        from nerkit.export.onnx import export_onnx

        return export_onnx(model_dir, out_dir, quantize, **common)
    from nerkit.export.openvino import CALIBRATION_SENTENCES, export_openvino

    return export_openvino(
        model_dir,
        out_dir,
        quantize,
        calibration_data=calibration_data,
        calibration_size=CALIBRATION_SENTENCES if calibration_size is None else calibration_size,
        **common,
    )
