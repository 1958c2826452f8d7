"""Run an exported model (``nerkit export``) with onnxruntime instead of PyTorch.

:class:`OnnxBackend` is a :class:`~nerkit.runtimes.base.Backend`, so the same
:class:`~nerkit.tagging.predictor.Predictor` (windows, decoding) runs on top of it and gives the
same outputs as the PyTorch model, up to the export's rounding (``export_report.json`` says how
much). onnxruntime is imported when a backend is built, never at module import.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from nerkit.errors import ModelError
from nerkit.runtimes.base import exported_model_file
from nerkit.runtimes.cpu import check_threads, physical_cores


class OnnxBackend:
    """An onnxruntime session over ``model.onnx`` (a file, or the folder holding it).

    ``threads``: CPU cores to use; default one per physical core (see
    :mod:`nerkit.runtimes.cpu`). All graph optimizations are on, and operators run one after
    another (an encoder is a chain of operators).

    Each window runs alone, cut to its own length. Two reasons. An int8 model quantizes its
    activations with one scale per tensor, per run: in a run of several windows, one window
    with large activations coarsens the others' and their tags change with their batch mates;
    alone, a window's tags depend on it only. And it is not slower: no padding, and a window's
    activations stay in the core's cache.

    ``parallel_batches`` (default: whenever there are several cores) chooses how the cores are
    used. True: each run is single-threaded and the windows of a batch go to the cores side by
    side; nothing waits on a barrier between operators, so throughput is higher and holds up
    when other processes compete for the cores; but a window alone runs on one core, so it is
    answered later. False: each run spreads every operator over all cores
    (``intra_op_num_threads``), the lower latency for a single short text.

    Inputs are right-padded ``(batch, sequence)`` int64 arrays, as the
    :class:`~nerkit.tagging.predictor.Predictor` builds them; logits at padded positions come
    back 0.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        threads: int | None = None,
        *,
        parallel_batches: bool | None = None,
    ) -> None:
        try:
            import onnxruntime as ort
        except ImportError as err:
            raise ModelError(
                f"{path}: an ONNX model needs the onnxruntime package; "
                'install it with pip install "nerkit[export]"'
            ) from err

        file = exported_model_file(path, "onnx")
        cores = check_threads(threads) or physical_cores()
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
        lengths = attention_mask.sum(axis=1).astype(int).tolist()

        def one(row: int) -> np.ndarray:
            n = max(lengths[row], 1)
            return self._run(input_ids[row : row + 1, :n], attention_mask[row : row + 1, :n])

        rows = range(len(input_ids))
        results = list(self._pool.map(one, rows) if self._pool is not None else map(one, rows))
        labels = results[0].shape[-1] if results else 0
        out = np.zeros((len(input_ids), input_ids.shape[1], labels), dtype=np.float32)
        for row, logits in zip(rows, results, strict=True):
            out[row, : logits.shape[1]] = logits[0]
        return out

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
