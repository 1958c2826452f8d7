"""Export a trained model to ONNX (fp32 or dynamic int8) for fast CPU tagging, and check it.

``nerkit export --model my-ner-model --onnx my-ner-onnx --quantize int8`` writes a folder that
:func:`nerkit.runtimes.open_model` (and so :meth:`~nerkit.tagging.tagger.Tagger.load` and
``nerkit predict``) runs on onnxruntime::

    model.onnx           the network, dynamic batch and sequence axes
    config.json          copied from the model (labels: id2label)
    nerkit.json          copied, plus how it was exported (extra.onnx)
    tokenizer files      the model's tokenizer
    export_report.json   parity with the PyTorch model: logits, tags, and entity F1 if asked

How the file is built, and why (``benchmarks/tagging_speed.py`` measures the speeds):

1. The standard ONNX graph of :mod:`nerkit.export.graph`. onnxruntime fuses layer norms, GELU
   and the quantized products itself when it loads it; fusing offline with onnxruntime's
   transformer optimizer (its ``Attention`` operator) was slower.
2. ``quantize="int8"``: dynamic quantization (:func:`onnxruntime.quantization.quantize_dynamic`):
   the weights of every MatMul with a constant weight become int8 (QInt8, per output channel);
   activations are quantized to uint8 at run time, one scale per tensor and run
   (:class:`~nerkit.runtimes.onnx.OnnxBackend` runs each window alone, so that scale belongs
   to one window and never to its batch mates). On x86 CPUs with AVX512-VNNI the u8 x s8
   products run on ``vpdpbusd``, up to four times the multiply-adds of fp32. The attention
   products (QK^T, softmax x V) stay fp32: both sides are activations, and they are a small
   share of the work at NER lengths. The layers whose inputs have outlier channels are
   smoothed first (:mod:`nerkit.export.smoothquant`), then every layer is quantized; the
   report lists the smoothed layers. The fp32 intermediate file is deleted; the folder holds
   only the quantized ``model.onnx``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from nerkit.export.common import (
    ExportSteps,
    check_folders,
    export_steps,
    staging,
    versions,
    write_model_files,
    write_report,
)
from nerkit.export.graph import OPSET, export_graph
from nerkit.export.smoothquant import SMOOTH_ALPHA, outlier_layers, smooth_layers
from nerkit.runtimes.base import ONNX_FILE


def export_onnx(
    model_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    quantize: str | None = None,
    *,
    check_data: str | None = None,
    split: str = "test",
    data_dir: str | os.PathLike[str] | None = None,
    batch_size: int = 32,
) -> Path:
    """Export the model folder ``model_dir`` to ONNX in ``out_dir``; returns ``out_dir``.

    ``quantize``: ``None`` (fp32) or ``"int8"``. ``check_data`` (a corpus name such as
    ``conll2002-es`` or a column file) adds the entity F1 of the PyTorch and the ONNX model on
    ``split`` to ``export_report.json``. Files already in ``out_dir`` that the export does not
    write are kept; nothing is written there until the export has succeeded.
    """
    source, target = check_folders(model_dir, out_dir, quantize, "onnx")
    from nerkit.conll.formats import load_split
    from nerkit.export.parity import parity_report
    from nerkit.modeling.folder import load_classifier
    from nerkit.runtimes import open_model

    # read the check data first, so a missing corpus fails before the slow part
    sentences = load_split(check_data, split, data_dir) if check_data else None
    model, tokenizer, _, meta = load_classifier(source)

    names = ["ONNX graph", *(["int8 quantization"] if quantize else []), "parity check"]
    with staging(target) as work, export_steps(*names) as steps:
        smoothed = write_network(model, tokenizer, meta, work, quantize, steps)
        onnx_info = {
            "source": str(source),
            "quantize": quantize,
            "opset": OPSET,
            "smoothed": [k["layer"] for k in smoothed],
            "smooth_alpha": SMOOTH_ALPHA if quantize == "int8" else None,
        }
        write_model_files(source, work, tokenizer, meta, "onnx", onnx_info)
        steps.next()
        report = parity_report(model, open_model(work), sentences, batch_size=batch_size)
        report.update(
            source=str(source),
            quantize=quantize,
            opset=OPSET,
            int8_smoothed=[
                {k: v for k, v in layer.items() if k != "channel_max"} for layer in smoothed
            ]
            if quantize == "int8"
            else None,
            onnx_bytes=(work / ONNX_FILE).stat().st_size,
            check_data=check_data,
            split=split if check_data else None,
            versions=versions("onnx", "onnxruntime"),
        )
        write_report(work, report)
    return target


def write_network(
    model: Any,
    tokenizer: Any,
    meta: Any,
    work: Path,
    quantize: str | None,
    steps: ExportSteps | None = None,
) -> list[dict[str, Any]]:
    """``work/model.onnx``: the graph, smoothed and quantized for int8; returns the smoothed
    layers (see :func:`~nerkit.export.smoothquant.outlier_layers`), none for fp32. ``steps``
    moves on once the graph is written, before quantizing."""
    raw = work / "raw.onnx"
    smoothed: list[dict[str, Any]] = []
    try:
        if quantize == "int8":
            smoothed = outlier_layers(model, tokenizer, meta)
            export_graph(smooth_layers(model, smoothed), tokenizer, raw)
            if steps is not None:
                steps.next()
            _quantize_int8(raw, work / ONNX_FILE)
        else:
            export_graph(model, tokenizer, raw)
            os.replace(raw, work / ONNX_FILE)
    finally:
        raw.unlink(missing_ok=True)
    return smoothed


def _quantize_int8(fp32: Path, out: Path) -> None:
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # quantize_dynamic advises shape-inference pre-processing on the root logger; the shapes
    # here are symbolic and the default tensor type is given instead, so the advice is noise
    root = logging.getLogger()
    advice = _DropMessage("pre-processing before quantization")
    root.addFilter(advice)
    try:
        quantize_dynamic(
            str(fp32),
            str(out),
            op_types_to_quantize=["MatMul"],
            per_channel=True,
            weight_type=QuantType.QInt8,
            extra_options={
                "MatMulConstBOnly": True,
                "DefaultTensorType": onnx.TensorProto.FLOAT,
            },
        )
    finally:
        root.removeFilter(advice)


class _DropMessage:
    """A logging filter that drops records containing ``text``."""

    def __init__(self, text: str) -> None:
        self.text = text

    def filter(self, record: Any) -> bool:
        return self.text not in record.getMessage()
