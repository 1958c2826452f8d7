"""SmoothQuant for the ONNX int8 export: find the linear layers whose input has outlier
channels, and move those outliers from the activations into the weights.

Dynamic int8 quantizes each activation tensor with one scale per run. That fails where a few
channels of the input dwarf the others: the ordinary values get only a few levels. It happens
at the input of some feed-forward output projections (GELU outputs), and quantizing them as they
are costs a real model visible entity F1. So the export runs the fixed sample through the
PyTorch model and measures each linear layer's input range over its RMS; for the layers above
:data:`OUTLIER_RATIO` it smooths the layer (Xiao et al. 2023): input channel ``j`` is divided
by ``s_j = max|x_j| ** a / max|W_j| ** (1 - a)`` (``a`` = :data:`SMOOTH_ALPHA`) and the
weight's column ``j`` multiplied by it, the same function in exact arithmetic, one elementwise
multiply more. Then every layer is quantized: keeping the outlier layers in fp32 instead was
both less accurate and slower.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nerkit.export.parity import sample_sentences

# A linear layer whose input's range (max - min) is above this many times its RMS, on the
# sample, is smoothed before int8 quantization. On a real encoder the smoothed layers stand
# well above this line and all others well below it.
OUTLIER_RATIO = 100.0
# SmoothQuant's migration strength: 0.5 splits each outlier channel's range evenly between the
# activation and the weight (the paper's default for BERT-sized models).
SMOOTH_ALPHA = 0.5


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
        windower = WindowEncoder(tokenizer, meta.max_length)
        with torch.inference_mode():
            for window in windower.windows(sample_sentences(meta.language)):
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
        scales = (layer["channel_max"].clamp(min=1e-5) ** alpha / weight_max ** (1 - alpha)).clamp(
            min=1e-5
        )
        layer["scale_min"] = round(float(scales.min()), 4)
        layer["scale_max"] = round(float(scales.max()), 4)
        setattr(parent, child, SmoothedLinear(linear, scales))
    return smoothed.eval()
