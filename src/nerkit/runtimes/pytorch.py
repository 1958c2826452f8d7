"""Run a PyTorch token classifier (a ``nerkit train`` folder) as a :class:`~.base.Backend`.

The model runs under ``inference_mode`` on one thread per physical core, unless the user chose
a count (``threads=``, ``OMP_NUM_THREADS``, or an earlier ``torch.set_num_threads``); see
:func:`~nerkit.runtimes.cpu.configure_torch_threads`. torch is imported when the backend runs,
never at module import.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nerkit.runtimes.cpu import check_threads, configure_torch_threads


class TorchBackend:
    """A PyTorch token classifier as a :class:`~nerkit.runtimes.base.Backend`.

    ``threads``: see :func:`~nerkit.runtimes.cpu.configure_torch_threads` (left alone when the
    model is on a GPU). ``bf16=True`` runs the model under CPU autocast to bfloat16 (logits come
    back as float32). It is only fast on CPUs with native bf16 and changes results slightly, so
    it is off by default; ``benchmarks/tagging_speed.py --bf16`` measures its speed and F1.
    """

    def __init__(self, model: Any, *, threads: int | None = None, bf16: bool = False) -> None:
        self.model = model
        self.bf16 = bf16
        check_threads(threads)
        if not on_gpu(model):
            configure_torch_threads(threads)

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        import torch

        device = next(self.model.parameters()).device
        with (
            torch.inference_mode(),
            torch.autocast(device.type, dtype=torch.bfloat16, enabled=self.bf16),
        ):
            logits = self.model(
                input_ids=torch.from_numpy(input_ids).to(device),
                attention_mask=torch.from_numpy(attention_mask).to(device),
            ).logits
        return logits.float().cpu().numpy()

    def __repr__(self) -> str:
        return f"TorchBackend({type(self.model).__name__}, bf16={self.bf16})"


def on_gpu(model: Any) -> bool:
    """Whether ``model``'s parameters live on an accelerator (CPU thread settings then don't
    apply)."""
    try:
        return next(model.parameters()).device.type != "cpu"
    except (StopIteration, AttributeError):
        return False
