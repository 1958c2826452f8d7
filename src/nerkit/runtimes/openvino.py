"""Run an OpenVINO model (``nerkit export --openvino``) instead of PyTorch.

:class:`OpenVinoBackend` is a :class:`~nerkit.runtimes.base.Backend` like
:class:`~nerkit.runtimes.onnx.OnnxBackend`: the same :class:`~nerkit.tagging.predictor.Predictor`
(windows, decoding) runs on top of it. OpenVINO is imported when a backend is built, never at
module import.

Why a second runtime: the int8 model that ``nerkit export --openvino OUT --quantize int8``
writes is quantized *statically* (NNCF, activation scales calibrated once on training
sentences), which onnxruntime's dynamic int8 is not. Fixed scales make a window's result
independent of the other windows in its run, so windows can be run several at a time: the
products then have enough rows to keep the int8 units busy. OpenVINO's CPU plugin runs such
graphs with fused int8 kernels (the attention included), which is faster than onnxruntime's
dynamic int8 one window at a time (``benchmarks/tagging_speed.py`` measures both).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from nerkit.errors import ConfigError, ModelError
from nerkit.runtimes.base import exported_model_file
from nerkit.runtimes.cpu import check_threads, physical_cores

# windows per inference request: enough rows for the int8 products, few enough that the
# requests of a batch still spread over the streams (chosen by measuring 1, 4 and 16)
WINDOWS_PER_REQUEST = 16
# windows per batch that open_model gives this backend: four requests per batch keep both
# streams of a 2-core CPU busy (chosen by measuring 32, 64 and 128 end to end)
BATCH_WINDOWS = 64


class OpenVinoBackend:
    """An OpenVINO compiled model over ``model.xml`` (a file, or the folder holding it).

    ``threads``: CPU cores to use, default one per physical core. ``latency=False`` (default)
    asks OpenVINO for throughput: one stream per core, and each batch is cut into requests of
    :data:`WINDOWS_PER_REQUEST` windows that run side by side. ``latency=True``: one stream
    that spreads each request over all cores, the sooner answer for one short text.

    Computation stays in fp32 wherever the model is not quantized (OpenVINO would otherwise
    switch to bf16 on CPUs that have it, and results would depend on the CPU).

    Inputs are right-padded ``(batch, sequence)`` int64 arrays, as the
    :class:`~nerkit.tagging.predictor.Predictor` builds them; each request is cut to its own longest
    window, and logits at padded positions come back 0.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        threads: int | None = None,
        *,
        latency: bool = False,
        windows_per_request: int = WINDOWS_PER_REQUEST,
    ) -> None:
        try:
            import openvino as ov
        except ImportError as err:
            raise ModelError(
                f"{path}: an OpenVINO model needs the openvino package; "
                'install it with pip install "nerkit[openvino]"'
            ) from err

        file = exported_model_file(path, "openvino")
        cores = check_threads(threads) or physical_cores()
        if windows_per_request < 1:
            raise ConfigError(f"windows_per_request must be at least 1, got {windows_per_request}")
        config = {
            "PERFORMANCE_HINT": "LATENCY" if latency else "THROUGHPUT",
            "INFERENCE_NUM_THREADS": cores,
            "INFERENCE_PRECISION_HINT": "f32",
        }
        core = ov.Core()
        try:
            self.compiled = core.compile_model(core.read_model(file), "CPU", config)
        except Exception as err:  # OpenVINO raises RuntimeError with its own long messages
            raise ModelError(
                f"{file}: OpenVINO cannot load it ({str(err).strip().splitlines()[0]}); "
                "export it again with `nerkit export --openvino`"
            ) from err
        self.path = file
        self.threads = cores
        self.latency = latency
        self.windows_per_request = 1 if latency else windows_per_request
        self.batch_size = BATCH_WINDOWS  # what the Tagger uses unless told otherwise
        self.input_names = {i.get_any_name() for i in self.compiled.inputs}
        self._queue = ov.AsyncInferQueue(self.compiled)
        # one batch at a time: the queue's callback and wait_all are per queue, not per call
        self._lock = threading.Lock()

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        return self.run_batches([(input_ids, attention_mask)])[0]

    def run_batches(self, batches: Sequence[tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray]:
        """Logits for several padded batches, queued together so the streams never wait.

        Called per batch, every batch ends on a barrier: the streams idle while the last
        request of the batch finishes and while Python gathers its rows; queued together, the
        backend spends less time on the same batches. The
        :class:`~nerkit.tagging.predictor.Predictor` hands over many batches at once when its
        backend has this method.
        """
        with self._lock:
            return self._run(batches)

    def _run(self, batches: Sequence[tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray]:
        step = self.windows_per_request
        requests = [
            (b, start) for b, (ids, _) in enumerate(batches) for start in range(0, len(ids), step)
        ]
        results: list[np.ndarray | None] = [None] * len(requests)

        def done(request: Any, index: int) -> None:
            results[index] = request.get_output_tensor(0).data.copy()

        self._queue.set_callback(done)
        for index, (b, start) in enumerate(requests):
            ids, mask = batches[b][0][start : start + step], batches[b][1][start : start + step]
            n = max(int(mask.sum(axis=1).max()), 1)
            feeds = {"input_ids": ids[:, :n], "attention_mask": mask[:, :n]}
            if "token_type_ids" in self.input_names:
                feeds["token_type_ids"] = np.zeros_like(feeds["input_ids"])
            self._queue.start_async({k: np.ascontiguousarray(v) for k, v in feeds.items()}, index)
        self._queue.wait_all()
        labels = results[0].shape[-1] if results else 0  # type: ignore[union-attr]
        outs = [np.zeros((*ids.shape, labels), dtype=np.float32) for ids, _ in batches]
        for (b, start), logits in zip(requests, results, strict=True):
            assert logits is not None
            outs[b][start : start + len(logits), : logits.shape[1]] = logits
        for out, (_, mask) in zip(outs, batches, strict=True):
            out[mask == 0] = 0.0  # a shorter window's padding inside a request
        return outs

    def __repr__(self) -> str:
        return (
            f"OpenVinoBackend({str(self.path)!r}, threads={self.threads}, latency={self.latency})"
        )
