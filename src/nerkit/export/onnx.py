"""Export a trained model to ONNX (fp32 or dynamic int8) for fast CPU tagging, and check it.

(``nerkit export --openvino`` is :mod:`nerkit.export.openvino`; it shares this module's graph
export, parity report and command line.)

``nerkit export --model my-ner-model --onnx my-ner-onnx --quantize int8`` writes a folder that
:meth:`nerkit.tagging.tagger.Tagger.load` (and so ``nerkit predict``) runs on onnxruntime::

    model.onnx           the network, dynamic batch and sequence axes
    config.json          copied from the model (labels: id2label)
    nerkit.json          copied, plus how it was exported (extra.onnx)
    tokenizer files      the model's tokenizer
    export_report.json   parity with the PyTorch model: logits, tags, and entity F1 if asked

How the file is built, and why (speeds measured with ``benchmarks/tagging_speed.py``):

1. ``torch.onnx.export`` with the TorchScript-based exporter (``dynamo=False``, opset 17). The
   model runs with eager attention for the trace, which gives a plain MatMul/Softmax graph;
   the dummy batch has a padded row, so that the masking path is traced, not a shortcut for
   unpadded input. The file is standard ONNX: onnxruntime fuses layer norms, GELU and the
   quantized products itself when it loads it. (Fusing offline with onnxruntime's transformer
   optimizer, with its ``Attention`` operator, was 13-16% slower on a 2-core AVX-512 CPU.)
2. ``quantize="int8"``: dynamic quantization (:func:`onnxruntime.quantization.quantize_dynamic`):
   the weights of every MatMul with a constant weight become int8 (QInt8, per output channel);
   activations are quantized to uint8 at run time, one scale per tensor and run
   (:class:`~nerkit.runtimes.onnx.OnnxBackend` runs each window alone, so that scale belongs
   to one window and never to its batch mates). On x86 CPUs with
   AVX512-VNNI the u8 x s8 products run on ``vpdpbusd``, up to four times the multiply-adds of
   fp32. The attention products (QK^T, softmax x V) stay fp32: both sides are activations, and
   they are a small share of the work at NER lengths.
   One scale per tensor fails where a few channels of the input dwarf the others: the ordinary
   values get only a few levels. That happens at the input of some feed-forward output
   projections (GELU outputs; in e5-small, layers 0, 4 and 5), and quantizing them as they are
   cost e5-small 0.45 F1 on CoNLL-2002 Spanish. So the export runs the fixed sample through the
   PyTorch model and measures each linear layer's input range over its RMS; for the layers
   above :data:`OUTLIER_RATIO` it moves the outliers from the activations into the weights
   (SmoothQuant, Xiao et al. 2023): input channel ``j`` is divided by
   ``s_j = max|x_j| ** a / max|W_j| ** (1 - a)`` (``a`` = :data:`SMOOTH_ALPHA`) and the weight's
   column ``j`` multiplied by it, the same function in exact arithmetic, one elementwise
   multiply more. Then every layer is quantized. (Earlier exports kept those layers in fp32:
   0.18 F1 lower on esp.testb, and the three fp32 products took about a sixth of the int8
   model's time in onnxruntime's profile.) The
   report lists the smoothed layers. The fp32 intermediate file is deleted; the folder holds
   only the quantized ``model.onnx``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nerkit.errors import ConfigError, ModelError

ONNX_FILE = "model.onnx"  # same name as nerkit.runtimes.onnx.ONNX_FILE, without importing it
REPORT_FILE = "export_report.json"
OPSET = 17
QUANTIZATIONS = ("int8",)
# A linear layer whose input's range (max - min) is above this many times its RMS, on the
# sample, is smoothed before int8 quantization (see step 2 above). e5-small: 111-165 for the
# three layers smoothed, at most 77 for all others.
OUTLIER_RATIO = 100.0
# SmoothQuant's migration strength: 0.5 splits each outlier channel's range evenly between the
# activation and the weight (the paper's default for BERT-sized models).
SMOOTH_ALPHA = 0.5

# A fixed sample for the logit and tag comparison: entities of each type, accents, numbers,
# punctuation, a one-word text, and (added in code) a text longer than one window.
SAMPLE_TEXTS = (
    "El presidente del Gobierno, José María Aznar, llegó ayer a Bruselas.",
    "La Unión Europea y la ONU firmaron el acuerdo en Nueva York el 3 de mayo de 2000.",
    "Telefónica ganó 1.234 millones de pesetas, según informó la compañía a la CNMV.",
    "Madrid",
    "Los jugadores del Real Madrid viajaron a Barcelona para la final de la Copa del Rey.",
    "«Es un día histórico», dijo Kofi Annan tras reunirse con el Parlamento Europeo.",
    "Microsoft, Intel y la Universidad Politécnica de Cataluña presentaron el proyecto Linux.",
    "La Liga de Campeones empieza el martes ; el Atlético de Madrid juega en Roma .",
)


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
    write are kept.
    """
    source, target = check_folders(model_dir, out_dir, quantize, "ONNX", ONNX_FILE)
    from nerkit.conll.corpus import load_split
    from nerkit.modeling.folder import load_classifier

    # read the check data first, so a missing corpus fails before the slow part
    sentences = load_split(check_data, split, data_dir) if check_data else None
    model, tokenizer, labels, meta = load_classifier(source)

    with staging(target) as work:
        raw = work / "raw.onnx"
        onnx_path = work / ONNX_FILE
        smoothed: list[dict[str, Any]] = []
        if quantize == "int8":
            smoothed = outlier_layers(model, tokenizer, meta)
            _torch_export(smooth_layers(model, smoothed), tokenizer, raw)
            _quantize_int8(raw, onnx_path)
        else:
            _torch_export(model, tokenizer, raw)
            os.replace(raw, onnx_path)
        onnx_info = {
            "source": str(source),
            "quantize": quantize,
            "opset": OPSET,
            "smoothed": [k["layer"] for k in smoothed],
            "smooth_alpha": SMOOTH_ALPHA if quantize == "int8" else None,
        }
        write_model_files(source, work, tokenizer, meta, "onnx", onnx_info)
        report = parity_report(model, work, labels, meta, sentences, batch_size=batch_size)
        report.update(
            source=str(source),
            quantize=quantize,
            opset=OPSET,
            int8_smoothed=[
                {k: v for k, v in layer.items() if k != "channel_max"} for layer in smoothed
            ] if quantize == "int8" else None,
            onnx_bytes=onnx_path.stat().st_size,
            check_data=check_data,
            split=split if check_data else None,
            versions=versions("onnx", "onnxruntime"),
        )
        (work / REPORT_FILE).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        raw.unlink(missing_ok=True)
    return target


def check_folders(
    model_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    quantize: str | None,
    runtime: str,
    model_file: str,
) -> tuple[Path, Path]:
    """The checks every export makes before its slow part; returns (source, target) folders."""
    if quantize not in (None, *QUANTIZATIONS):
        raise ConfigError(
            f"unknown quantization {quantize!r}; use {', '.join(QUANTIZATIONS)} or none (fp32)"
        )
    source, target = Path(model_dir), Path(out_dir)
    if not source.is_dir():
        raise ModelError(f"{model_dir}: model folder not found; check the path")
    if target.exists() and target.resolve() == source.resolve():
        option = f"--{runtime.lower()}"
        raise ConfigError(
            f"{out_dir}: the {runtime} folder must differ from the model folder (a {model_file} "
            f"there would make Tagger.load use it); choose another {option} folder"
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


def write_model_files(
    source: Path, work: Path, tokenizer: Any, meta: Any, key: str, info: dict[str, Any]
) -> None:
    """What every exported folder holds beside the network: the source's config.json (labels),
    the tokenizer, and nerkit.json with how it was exported under ``extra[key]``."""
    shutil.copyfile(source / "config.json", work / "config.json")
    tokenizer.save_pretrained(work)
    meta.extra = {**meta.extra, key: info}
    meta.write(work)


def _torch_export(model: Any, tokenizer: Any, path: Path) -> None:
    import torch

    from nerkit.modeling.encoding import WindowEncoder, pad_windows

    encoder = WindowEncoder(tokenizer, 32)
    windows = encoder.windows([["El", "Gobierno", "de", "España", "."], ["Hola"]])
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    ids, mask = (torch.from_numpy(a) for a in pad_windows(windows, pad)[:2])
    # on the encoder: a layer-mix model (nerkit.modeling.layer_mix) holds its encoder's config
    # nested
    encoder = model.base_model
    attention = encoder.config._attn_implementation
    encoder.set_attn_implementation("eager")
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # the tracer warns about Python conditions on shapes; with a padded row in the
            # dummy batch each is taken the way every real batch takes it
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model,
                (ids, mask),
                str(path),
                input_names=["input_ids", "attention_mask"],
                output_names=["logits"],
                dynamic_axes={
                    name: {0: "batch", 1: "sequence"}
                    for name in ("input_ids", "attention_mask", "logits")
                },
                opset_version=OPSET,
                do_constant_folding=True,
                dynamo=False,
            )
    finally:
        encoder.set_attn_implementation(attention)


def outlier_layers(model: Any, tokenizer: Any, meta: Any) -> list[dict[str, Any]]:
    """Linear layers whose input has outlier channels, with what smoothing them needs.

    Each window of :func:`sample_sentences` runs alone (no padding) through the PyTorch model;
    a layer's ratio is the mean over windows of its input's ``(max - min) / RMS``. Layers above
    :data:`OUTLIER_RATIO` are returned, worst first: ``layer`` (module name),
    ``input_range_over_rms`` and ``channel_max`` (each input channel's largest magnitude).
    """
    import torch

    from nerkit.modeling.encoding import WindowEncoder

    ratios: dict[str, list[float]] = {}
    channel_max: dict[str, Any] = {}

    def record(name: str) -> Any:
        def hook(module: Any, inputs: Any, output: Any) -> None:
            x = inputs[0].detach().float()
            rms = float(x.pow(2).mean().sqrt())
            ratios.setdefault(name, []).append(float(x.max() - x.min()) / max(rms, 1e-12))
            peak = x.abs().amax(dim=tuple(range(x.dim() - 1)))
            seen = channel_max.get(name)
            channel_max[name] = peak if seen is None else torch.maximum(seen, peak)

        return hook

    handles = [
        module.register_forward_hook(record(name))
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear)
    ]
    try:
        encoder = WindowEncoder(tokenizer, meta.max_length)
        with torch.inference_mode():
            for window in encoder.windows(sample_sentences(meta.language)):
                ids = torch.tensor([window.input_ids])
                model(input_ids=ids, attention_mask=torch.ones_like(ids))
    finally:
        for handle in handles:
            handle.remove()
    found = [
        {
            "layer": name,
            "input_range_over_rms": round(sum(r) / len(r), 1),
            "channel_max": channel_max[name],
        }
        for name, r in ratios.items()
        if sum(r) / len(r) > OUTLIER_RATIO
    ]
    return sorted(found, key=lambda k: -k["input_range_over_rms"])


def smooth_layers(model: Any, layers: Sequence[dict[str, Any]], alpha: float = SMOOTH_ALPHA) -> Any:
    """A copy of ``model`` where each of ``layers`` (from :func:`outlier_layers`) is smoothed.

    The linear layer ``y = W x + b`` becomes ``y = (W diag(s)) (x / s) + b``: the same function,
    but the input's outlier channels shrink by ``s`` and the weight's columns grow by it, so one
    quantization scale per activation tensor fits again. ``model`` itself is left unchanged.
    Each entry of ``layers`` gets the range of its scales (``scale_min``, ``scale_max``).
    """
    import copy

    import torch

    class SmoothedLinear(torch.nn.Module):
        def __init__(self, linear: Any, scales: Any) -> None:
            super().__init__()
            self.register_buffer("inverse_scales", 1.0 / scales)
            self.linear = copy.deepcopy(linear)
            with torch.no_grad():
                self.linear.weight.mul_(scales.unsqueeze(0))

        def forward(self, x: Any) -> Any:
            return self.linear(x * self.inverse_scales)

    if not layers:
        return model
    smoothed = copy.deepcopy(model)
    for layer in layers:
        parent_name, _, child = layer["layer"].rpartition(".")
        parent = smoothed.get_submodule(parent_name)
        linear = getattr(parent, child)
        weight_max = linear.weight.detach().abs().amax(dim=0).clamp(min=1e-5)
        scales = (
            layer["channel_max"].clamp(min=1e-5) ** alpha / weight_max ** (1 - alpha)
        ).clamp(min=1e-5)
        layer["scale_min"] = round(float(scales.min()), 4)
        layer["scale_max"] = round(float(scales.max()), 4)
        setattr(parent, child, SmoothedLinear(linear, scales))
    return smoothed.eval()


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


def sample_sentences(language: str = "es", long_words: int = 300) -> list[list[str]]:
    """The fixed comparison sample as word lists, plus one text longer than a window."""
    from nerkit.conll.words import split_words

    sentences = [[w.text for w in split_words(t, language)] for t in SAMPLE_TEXTS]
    long_text = [w for s in sentences for w in s]
    sentences.append((long_text * (long_words // len(long_text) + 1))[:long_words])
    return sentences


def parity_report(
    model: Any,
    onnx_dir: Path,
    labels: Any,
    meta: Any,
    sentences: Sequence[Any] | None = None,
    *,
    backend: Any = None,
    batch_size: int = 32,
) -> dict[str, Any]:
    """Compare the PyTorch ``model`` with the exported model in ``onnx_dir``.

    ``backend`` runs the export (default: an :class:`~nerkit.runtimes.onnx.OnnxBackend` over
    ``onnx_dir``; :mod:`nerkit.export.openvino` passes its own). On :func:`sample_sentences`:
    the largest absolute logit difference over real (unpadded) pieces, and whether decoded
    tags are identical. With ``sentences`` (gold :class:`~nerkit.conll.corpus.Sentence` objects):
    entity F1 of both and how many sentences differ.
    """
    import numpy as np

    from nerkit.modeling.folder import load_tokenizer
    from nerkit.tagging.predictor import Predictor, _length_batches

    if backend is None:
        from nerkit.runtimes.onnx import OnnxBackend

        backend = OnnxBackend(onnx_dir / ONNX_FILE)
    tokenizer = load_tokenizer(onnx_dir)
    common = dict(
        max_length=meta.max_length,
        decoding=meta.decoding,
        scheme=meta.scheme,
        crf=meta.crf,
        context=meta.context,
    )
    torch_predictor = Predictor(model, tokenizer, labels, **common)
    export_predictor = Predictor(backend, tokenizer, labels, **common)

    sample = sample_sentences(meta.language)
    max_diff = 0.0
    for batch in _length_batches(torch_predictor.encoder.windows(sample), batch_size):
        expected = torch_predictor._forward_array(batch)
        got = export_predictor._forward_array(batch)
        for i, window in enumerate(batch):
            n = len(window.input_ids)
            max_diff = max(max_diff, float(np.abs(expected[i, :n] - got[i, :n]).max()))
    torch_tags = torch_predictor.predict_tags(sample, batch_size)
    export_tags = export_predictor.predict_tags(sample, batch_size)
    report: dict[str, Any] = {
        "sample": {
            "sentences": len(sample),
            "words": sum(len(s) for s in sample),
            "max_abs_logit_diff": float(f"{max_diff:.3g}"),
            "tags_identical": torch_tags == export_tags,
            "words_with_different_tags": _different_words(torch_tags, export_tags),
        }
    }
    if sentences is not None:
        from nerkit.tagging.evaluate import evaluate_sentences

        torch_results, torch_pred = evaluate_sentences(torch_predictor, sentences, batch_size)
        export_results, export_pred = evaluate_sentences(export_predictor, sentences, batch_size)
        f1_torch = torch_results["entity"]["micro"]["f1"]
        f1_export = export_results["entity"]["micro"]["f1"]
        report["check"] = {
            "sentences": len(sentences),
            "words": sum(len(s.words) for s in sentences),
            "f1_torch": f1_torch,
            "f1_export": f1_export,
            "f1_delta": round(f1_export - f1_torch, 4),
            "sentences_with_different_tags": sum(
                a != b for a, b in zip(torch_pred, export_pred, strict=True)
            ),
            "words_with_different_tags": _different_words(torch_pred, export_pred),
        }
    return report


def _different_words(a: Sequence[Sequence[str]], b: Sequence[Sequence[str]]) -> int:
    return sum(x != y for s, t in zip(a, b, strict=True) for x, y in zip(s, t, strict=True))


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
