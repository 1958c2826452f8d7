"""Run an exported model (``nerkit export``) with onnxruntime instead of PyTorch.

:class:`OnnxBackend` is a :class:`~nerkit.inference.Backend`, so the same
:class:`~nerkit.inference.Predictor` (windows, decoding) runs on top of it and gives the same
outputs as the PyTorch model, up to the export's rounding (``export_report.json`` says how much).
onnxruntime is imported when a backend is built, never at module import.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from nerkit.errors import ModelError
from nerkit.inference import physical_cores

ONNX_FILE = "model.onnx"
# windows per onnxruntime run in batch-parallel mode; 8-12 was fastest for e5-small on a 2-core
# AVX-512 CPU (the activations of a run stay in the core's cache), 32 was 15% slower
SUB_BATCH = 8


class OnnxBackend:
    """An onnxruntime session over ``model.onnx`` (a file, or the folder holding it).

    ``threads``: CPU cores to use; default one per physical core, since hyper-threads share the
    vector units that the matrix products saturate. All graph optimizations are on, and
    operators run one after another (an encoder is a chain of operators).

    ``parallel_batches`` (default: whenever there are several cores) chooses how the cores are
    used. True: each onnxruntime run is single-threaded, and a batch is cut into runs of
    :data:`SUB_BATCH` windows that go to the cores side by side. Nothing waits on a barrier
    between operators, so throughput is higher (+28% for e5-small int8 on 2 cores) and holds up
    when other processes compete for the cores; but one window alone runs on one core (18 ms
    instead of 12 ms for 48 pieces). False: one run per batch, each operator spread over all
    cores (``intra_op_num_threads``), the lower latency for a single short text.

    Inputs are right-padded ``(batch, sequence)`` int64 arrays, as the
    :class:`~nerkit.inference.Predictor` builds them. With int8 models the activation scale is
    computed per run, so results depend a little on which windows share a run.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        threads: int | None = None,
        *,
        parallel_batches: bool | None = None,
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
        if parallel_batches is None:
            parallel_batches = cores > 1
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
        self.parallel_batches = parallel_batches and cores > 1
        self._pool = ThreadPoolExecutor(cores) if self.parallel_batches else None
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_name = self.session.get_outputs()[0].name

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        rows = len(input_ids)
        if self._pool is None or rows < 2:
            return self._run(input_ids, attention_mask)
        parts = max(min(rows, self.threads), -(-rows // SUB_BATCH))
        bounds = np.linspace(0, rows, parts + 1).astype(int).tolist()
        spans = list(zip(bounds[:-1], bounds[1:], strict=True))
        results = list(
            self._pool.map(lambda s: self._run_trimmed(input_ids, attention_mask, *s), spans)
        )
        out = np.zeros((rows, input_ids.shape[1], results[0].shape[-1]), dtype=results[0].dtype)
        for (start, end), logits in zip(spans, results, strict=True):
            out[start:end, : logits.shape[1]] = logits
        return out

    def _run_trimmed(
        self, input_ids: np.ndarray, attention_mask: np.ndarray, start: int, end: int
    ) -> np.ndarray:
        """Rows ``start:end``, cut to their own longest row (the rest is padding)."""
        mask = attention_mask[start:end]
        used = np.flatnonzero(mask.any(axis=0))
        width = int(used[-1]) + 1 if len(used) else 1
        return self._run(input_ids[start:end, :width], mask[:, :width])

    def _run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        feeds = {"input_ids": input_ids, "attention_mask": attention_mask}
        if "token_type_ids" in self.input_names:
            feeds["token_type_ids"] = np.zeros_like(input_ids)
        feeds = {k: v for k, v in feeds.items() if k in self.input_names}
        return self.session.run([self.output_name], feeds)[0]

    def __repr__(self) -> str:
        return (
            f"OnnxBackend({str(self.path)!r}, threads={self.threads}, "
            f"parallel_batches={self.parallel_batches})"
        )
