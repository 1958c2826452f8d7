"""The PyTorch model as a standard ONNX graph: the starting point of both exports.

``torch.onnx.export`` with the TorchScript-based exporter (``dynamo=False``, opset
:data:`OPSET`). The model runs with eager attention for the trace, which gives a plain
MatMul/Softmax graph; the dummy batch has a padded row, so that the masking path is traced, not
a shortcut for unpadded input. The file is standard ONNX: onnxruntime fuses layer norms, GELU and
the quantized products itself when it loads it, and OpenVINO's converter reads it as it is.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

OPSET = 17
INPUT_NAMES = ("input_ids", "attention_mask")
OUTPUT_NAME = "logits"


def export_graph(model: Any, tokenizer: Any, path: Path) -> None:
    """Write ``model`` (a PyTorch token classifier) to ``path`` as ONNX with dynamic batch and
    sequence axes; ``model`` is left as it was (its attention implementation is restored)."""
    import torch

    from nerkit.modeling.encoding import WindowEncoder, pad_windows

    windower = WindowEncoder(tokenizer, 32)
    windows = windower.windows([["El", "Gobierno", "de", "España", "."], ["Hola"]])
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
                input_names=list(INPUT_NAMES),
                output_names=[OUTPUT_NAME],
                dynamic_axes={
                    name: {0: "batch", 1: "sequence"} for name in (*INPUT_NAMES, OUTPUT_NAME)
                },
                opset_version=OPSET,
                do_constant_folding=True,
                dynamo=False,
            )
    finally:
        encoder.set_attn_implementation(attention)
