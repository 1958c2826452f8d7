"""Run an exported model (``nerkit export``) with onnxruntime instead of PyTorch.

:class:`OnnxBackend` is a :class:`~nerkit.inference.Backend`, so the same
:class:`~nerkit.inference.Predictor` (windows, decoding) runs on top of it and gives the same
outputs as the PyTorch model, up to the export's rounding (``export_report.json`` says how much).
onnxruntime is imported when a backend is built, never at module import.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from nerkit.errors import ModelError
from nerkit.inference import physical_cores

ONNX_FILE = "model.onnx"


class OnnxBackend:
    """An onnxruntime session over ``model.onnx`` (a file, or the folder holding it).

    ``threads``: intra-op threads; default one per physical core, since hyper-threads share the
    vector units that the matrix products saturate. Operators run one after another
    (sequential execution, one inter-op thread): an encoder is a chain, so parallel operator
    scheduling only adds contention. All graph optimizations are on.

    Inputs are right-padded ``(batch, sequence)`` int64 arrays, as the
    :class:`~nerkit.inference.Predictor` builds them: the fused attention of an exported model
    reads the mask as a length per row.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        threads: int | None = None,
        *,
        parallel_batches: bool = False,
    ) -> None:
        import onnxruntime as ort

        file = Path(path)
        if file.is_dir():
            file = file / ONNX_FILE
        if not file.is_file():
            raise ModelError(f"{file}: ONNX model not found; write one with `nerkit export`")
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        cores = threads or physical_cores()
        # batch-parallel: one thread per run and ``cores`` runs at once (Predictor's pool)
        self.parallel_calls = cores if parallel_batches else 1
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1 if parallel_batches else cores
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = ort.InferenceSession(
                str(file), options, providers=["CPUExecutionProvider"]
            )
        except Exception as err:  # onnxruntime raises its own untyped errors on bad files
            raise ModelError(
                f"{file}: onnxruntime cannot load it ({str(err).splitlines()[0]}); "
                "export it again with `nerkit export`"
            ) from err
        self.path = file
        self.threads = cores
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_name = self.session.get_outputs()[0].name

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        feeds = {"input_ids": input_ids, "attention_mask": attention_mask}
        if "token_type_ids" in self.input_names:
            feeds["token_type_ids"] = np.zeros_like(input_ids)
        feeds = {k: v for k, v in feeds.items() if k in self.input_names}
        return self.session.run([self.output_name], feeds)[0]

    def __repr__(self) -> str:
        mode = ", parallel_batches=True" if self.parallel_calls > 1 else ""
        return f"OnnxBackend({str(self.path)!r}, threads={self.threads}{mode})"
