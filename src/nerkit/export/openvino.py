"""Export a trained model to OpenVINO (fp32, or int8 quantized statically with NNCF), and check it.

``nerkit export --model my-ner-model --openvino my-ner-ov --quantize int8`` writes a folder
that :meth:`nerkit.tagging.tagger.Tagger.load` (and so ``nerkit predict``) runs on OpenVINO::

    model.xml, model.bin  the network (dynamic batch and sequence axes)
    config.json           copied from the model (labels: id2label)
    nerkit.json           copied, plus how it was exported (extra.openvino)
    tokenizer files       the model's tokenizer
    export_report.json    parity with the PyTorch model: logits, tags, and entity F1 if asked

How, and why:

1. The same ONNX graph as ``nerkit export --onnx`` (:func:`nerkit.export.onnx._torch_export`),
   read by OpenVINO's converter. Weights stay fp32 in ``model.bin`` (OpenVINO's default would
   store them as fp16, which changes the logits).
2. ``quantize="int8"``: NNCF's post-training quantization (``nncf.quantize`` with
   ``ModelType.TRANSFORMER``): int8 weights per output channel, and int8 activations with
   scales *fixed* from calibration windows, with NNCF's SmoothQuant for the outlier channels
   that per-tensor scales handle badly (see :mod:`nerkit.export.onnx`). Static scales are what make
   this model fast: each window's result no longer depends on the other windows of its run,
   so :class:`~nerkit.runtimes.openvino.OpenVinoBackend` runs many windows at a time.
   Calibration reads sentences of the *training* data (by default the corpus or train file the
   model was trained on, from its ``training_args.json``), never the evaluation data.
   e5-small on CoNLL-2002 Spanish, 1,000 calibration sentences, SmoothQuant strength 0.8: entity
   F1 on esp.testa 82.47 (PyTorch 82.43, 74 words tagged differently), esp.testb 84.06
   (PyTorch 84.19, 30 words).
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

from nerkit.errors import ConfigError
from nerkit.export.onnx import (
    REPORT_FILE,
    _torch_export,
    check_folders,
    parity_report,
    staging,
    versions,
    write_model_files,
)
from nerkit.runtimes.openvino import OPENVINO_FILE

# Calibration sentences for int8 (about as many windows): with NNCF's defaults, e5-small on
# CoNLL-2002 Spanish had dev F1 82.61 from 1,000 against 82.24 from 300 (PyTorch 82.43), for
# under a minute more on 2 cores.
CALIBRATION_SENTENCES = 1000
CALIBRATION_SEED = 0
# NNCF SmoothQuant's migration strength for the products' inputs. Chosen on esp.testa (dev)
# by agreement with the PyTorch model, e5-small, 1,000 sentences (words whose tag differs, of
# 52,923): 0.7: 103, 0.8: 74, 0.9: 81, NNCF's default 0.95: 111 (a one-off sweep).
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
    from nerkit.conll.corpus import load_split

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
    source, target = check_folders(model_dir, out_dir, quantize, "OpenVINO", OPENVINO_FILE)
    if calibration_size < 1:
        raise ConfigError(f"calibration size must be at least 1, got {calibration_size}")
    try:
        import openvino as ov
    except ImportError as err:
        raise ConfigError(
            'OpenVINO export needs the openvino package: pip install "nerkit[openvino]"'
        ) from err
    from nerkit.conll.corpus import load_split
    from nerkit.modeling.folder import load_classifier
    from nerkit.runtimes.openvino import OpenVinoBackend

    # read the data first, so a missing corpus fails before the slow part
    sentences = load_split(check_data, split, data_dir) if check_data else None
    calibration = (
        calibration_sentences(source, calibration_data, data_dir, calibration_size)
        if quantize == "int8"
        else None
    )
    model, tokenizer, labels, meta = load_classifier(source)

    with staging(target) as work:
        raw = work / "raw.onnx"
        _torch_export(model, tokenizer, raw)
        network = ov.convert_model(raw)
        if calibration is not None:
            network = _quantize_int8(network, tokenizer, meta, calibration)
        ov.save_model(network, work / OPENVINO_FILE, compress_to_fp16=False)
        raw.unlink()
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
        backend = OpenVinoBackend(work / OPENVINO_FILE)
        report = parity_report(
            model, work, labels, meta, sentences, backend=backend, batch_size=batch_size
        )
        report.update(
            source=str(source),
            format="openvino",
            quantize=quantize,
            calibration=info["calibration"],
            smooth_quant_alpha=info["smooth_quant_alpha"],
            model_bytes=(work / OPENVINO_FILE).stat().st_size
            + (work / OPENVINO_FILE).with_suffix(".bin").stat().st_size,
            check_data=check_data,
            split=split if check_data else None,
            versions=versions("openvino", "nncf"),
        )
        (work / REPORT_FILE).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return target


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
