"""Export a trained model to OpenVINO (fp32, or int8 quantized statically with NNCF), and check it.

``nerkit export --model my-ner-model --openvino my-ner-ov --quantize int8`` writes a folder
that :func:`nerkit.runtimes.open_model` (and so :meth:`~nerkit.tagging.tagger.Tagger.load` and
``nerkit predict``) runs on OpenVINO::

    model.xml, model.bin  the network (dynamic batch and sequence axes)
    config.json           copied from the model (labels: id2label)
    nerkit.json           copied, plus how it was exported (extra.openvino)
    tokenizer files       the model's tokenizer
    export_report.json    parity with the PyTorch model: logits, tags, and entity F1 if asked

How, and why:

1. The same ONNX graph as the ONNX export (:mod:`nerkit.export.graph`), read by OpenVINO's
   converter. Weights stay fp32 in ``model.bin`` (OpenVINO's default would store them as fp16,
   which changes the logits).
2. ``quantize="int8"``: NNCF's post-training quantization (``nncf.quantize`` with
   ``ModelType.TRANSFORMER``): int8 weights per output channel, and int8 activations with
   scales *fixed* from calibration windows, with NNCF's SmoothQuant for the outlier channels
   that per-tensor scales handle badly (see :mod:`nerkit.export.smoothquant`). Static scales
   are what make this model fast: each window's result no longer depends on the other windows
   of its run, so :class:`~nerkit.runtimes.openvino.OpenVinoBackend` runs many windows at a
   time. Calibration reads sentences of the *training* data (by default the corpus or train
   file the model was trained on, from its ``training_args.json``), never the evaluation data.
   ``nerkit export --check-data`` reports the entity F1 of both models, so the cost of int8 on
   a given model is always measured, not assumed.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

from nerkit.errors import ConfigError
from nerkit.export.common import (
    check_folders,
    export_steps,
    staging,
    versions,
    write_model_files,
    write_report,
)
from nerkit.export.graph import export_graph
from nerkit.runtimes.base import OPENVINO_FILE, OPENVINO_WEIGHTS

# Calibration sentences for int8 (about as many windows): more sentences gave a dev F1 closer
# to PyTorch's, for little more export time.
CALIBRATION_SENTENCES = 1000
CALIBRATION_SEED = 0
# NNCF SmoothQuant's migration strength for the products' inputs. Chosen on the development
# split by agreement with the PyTorch model (fewest words tagged differently) among 0.7, 0.8,
# 0.9 and NNCF's default 0.95.
SMOOTH_QUANT_ALPHA = 0.8


def training_data(model_dir: Path) -> str | None:
    """The corpus name or train file the model in ``model_dir`` was trained on, if recorded."""
    path = model_dir / "training_args.json"
    if not path.is_file():
        return None
    try:
        args = json.loads(path.read_text(encoding="utf-8")).get("nerkit") or {}
    except (OSError, json.JSONDecodeError):
        return None
    return args.get("train") or args.get("data")


def calibration_sentences(
    model_dir: Path,
    calibration_data: str | None,
    data_dir: str | os.PathLike[str] | None,
    size: int,
) -> list[list[str]]:
    """Up to ``size`` training sentences (a seeded random sample) as word lists."""
    from nerkit.conll.formats import load_split

    data = calibration_data or training_data(model_dir)
    if data is None:
        raise ConfigError(
            f"{model_dir}: int8 calibration needs training sentences and the model does not "
            "record its training data; pass --calibration-data NAME_OR_FILE (a corpus name "
            "such as conll2002-es, or a column file)"
        )
    sentences = [list(s.words) for s in load_split(data, "train", data_dir) if s.words]
    if not sentences:
        raise ConfigError(f"{data}: no sentences to calibrate int8 on; pass another file")
    random.Random(CALIBRATION_SEED).shuffle(sentences)
    return sentences[:size]


def export_openvino(
    model_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    quantize: str | None = None,
    *,
    calibration_data: str | None = None,
    calibration_size: int = CALIBRATION_SENTENCES,
    check_data: str | None = None,
    split: str = "test",
    data_dir: str | os.PathLike[str] | None = None,
    batch_size: int = 32,
) -> Path:
    """Export the model folder ``model_dir`` to OpenVINO in ``out_dir``; returns ``out_dir``.

    ``quantize``: ``None`` (fp32) or ``"int8"`` (static, calibrated on ``calibration_size``
    sentences of ``calibration_data``'s train split, default the model's own training data).
    ``check_data`` adds the entity F1 of both models on ``split`` to ``export_report.json``.
    Nothing is written to ``out_dir`` until the export has succeeded.
    """
    source, target = check_folders(model_dir, out_dir, quantize, "openvino")
    if calibration_size < 1:
        raise ConfigError(f"calibration size must be at least 1, got {calibration_size}")
    try:
        import openvino  # noqa: F401  (checked here, before the slow part)
    except ImportError as err:
        raise ConfigError(
            'OpenVINO export needs the openvino package: pip install "nerkit[openvino]"'
        ) from err
    from nerkit.conll.formats import load_split
    from nerkit.export.parity import parity_report
    from nerkit.modeling.folder import load_classifier
    from nerkit.runtimes import open_model

    # read the data first, so a missing corpus fails before the slow part
    sentences = load_split(check_data, split, data_dir) if check_data else None
    calibration = (
        calibration_sentences(source, calibration_data, data_dir, calibration_size)
        if quantize == "int8"
        else None
    )
    model, tokenizer, _, meta = load_classifier(source)

    names = ["OpenVINO graph" if calibration is None else "OpenVINO int8 graph", "parity check"]
    with staging(target) as work, export_steps(*names) as steps:
        write_network(model, tokenizer, meta, work, calibration)
        info = {
            "source": str(source),
            "quantize": quantize,
            "calibration": {
                "data": calibration_data or training_data(source),
                "sentences": len(calibration),
                "seed": CALIBRATION_SEED,
            }
            if calibration is not None
            else None,
            "smooth_quant_alpha": SMOOTH_QUANT_ALPHA if calibration is not None else None,
        }
        write_model_files(source, work, tokenizer, meta, "openvino", info)
        steps.next()
        report = parity_report(model, open_model(work), sentences, batch_size=batch_size)
        report.update(
            source=str(source),
            format="openvino",
            quantize=quantize,
            calibration=info["calibration"],
            smooth_quant_alpha=info["smooth_quant_alpha"],
            model_bytes=(work / OPENVINO_FILE).stat().st_size
            + (work / OPENVINO_WEIGHTS).stat().st_size,
            check_data=check_data,
            split=split if check_data else None,
            versions=versions("openvino", "nncf"),
        )
        write_report(work, report)
    return target


def write_network(
    model: Any, tokenizer: Any, meta: Any, work: Path, calibration: list[list[str]] | None
) -> None:
    """``work/model.xml`` and ``model.bin``: the ONNX graph converted by OpenVINO, int8 when
    ``calibration`` sentences are given; weights kept in fp32."""
    import openvino as ov

    raw = work / "raw.onnx"
    try:
        export_graph(model, tokenizer, raw)
        network = ov.convert_model(raw)
        if calibration is not None:
            network = _quantize_int8(network, tokenizer, meta, calibration)
        ov.save_model(network, work / OPENVINO_FILE, compress_to_fp16=False)
    finally:
        raw.unlink(missing_ok=True)


def _quantize_int8(network: Any, tokenizer: Any, meta: Any, sentences: list[list[str]]) -> Any:
    """NNCF static int8 quantization, calibrated on the windows of ``sentences``."""
    import logging

    import nncf
    import numpy as np

    from nerkit.modeling.encoding import WindowEncoder

    # a --context model calibrates on windows with neighbours, as it runs (the sample is
    # shuffled, so they are other training sentences: fine for activation ranges)
    windows = WindowEncoder(tokenizer, meta.max_length, meta.context).windows(sentences)
    names = {i.get_any_name() for i in network.inputs}

    def feeds(window: Any) -> dict[str, np.ndarray]:
        ids = np.array([window.input_ids], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
        if "token_type_ids" in names:
            feed["token_type_ids"] = np.zeros_like(ids)
        return feed

    # NNCF logs each ignored node at INFO; its progress bars are enough for a CLI user
    logging.getLogger("nncf").setLevel(logging.WARNING)
    return nncf.quantize(
        network,
        nncf.Dataset(windows, feeds),
        model_type=nncf.ModelType.TRANSFORMER,
        preset=nncf.QuantizationPreset.MIXED,
        subset_size=len(windows),
        advanced_parameters=nncf.AdvancedQuantizationParameters(
            smooth_quant_alphas=nncf.AdvancedSmoothQuantParameters(matmul=SMOOTH_QUANT_ALPHA)
        ),
    )
