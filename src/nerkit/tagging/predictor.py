"""Run a token classifier over word lists: windows in, one score row per word out.

Shared by evaluation, training (dev F1 each epoch) and the :class:`~nerkit.tagging.tagger.Tagger`,
so the three can never disagree. Windows are sorted by length and padded per batch (no work spent
on padding a short window to the longest in the corpus), and each word's scores come from the
window that owns it (see :mod:`nerkit.modeling.encoding`).

Speed on a CPU: the network dominates, so the rest avoids Python work per word. The owned rows
of a whole batch are gathered with one fancy index into one array for all sentences, the
log-softmax runs once over that array, and decoding is vectorized across sentences
(:meth:`~nerkit.tagging.decode.Decoder.decode_batch`). PyTorch runs under ``inference_mode`` on one
thread per physical core (hyper-threads only contend for the same vector units), unless the
user chose a count (``threads=``, ``OMP_NUM_THREADS``, or an earlier ``torch.set_num_threads``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from nerkit.conll.labels import LabelSet
from nerkit.modeling.encoding import Window, WindowEncoder, pad_windows
from nerkit.modeling.progress import words_expected, words_tagged
from nerkit.tagging.decode import Decoder, log_softmax

_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


class Backend(Protocol):
    """Runs the network: ``(input_ids, attention_mask)`` int64 arrays to float logits.

    A backend may also have ``run_batches(list of (input_ids, attention_mask)) -> list of
    logits``: the :class:`Predictor` then hands it up to :data:`QUEUED_BATCHES` batches at
    once, so that it can keep every core busy across batch boundaries
    (:class:`~nerkit.runtimes.openvino.OpenVinoBackend` does).
    """

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray: ...


# batches handed together to a backend with ``run_batches``: 16 x 32 windows of at most 128
# pieces is at most 8 MB of input and 2.4 MB of logits per label
QUEUED_BATCHES = 16


def exported_model_file(path: str | os.PathLike[str], filename: str, runtime: str) -> Path:
    """The network file of an exported model: ``path`` itself, or ``path/filename`` for a
    folder; a :class:`~nerkit.errors.ModelError` that says how to write one if it is missing."""
    from nerkit.errors import ModelError

    file = Path(path)
    if file.is_dir():
        file = file / filename
    if not file.is_file():
        raise ModelError(f"{file}: {runtime} model not found; write one with `nerkit export`")
    return file


def usable_cpus() -> list[int]:
    """Logical CPUs this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def physical_cores() -> int:
    """Physical cores among the CPUs this process may use (hyper-threads counted once).

    Reads the Linux CPU topology; elsewhere, or if it is unreadable, every logical CPU counts.
    """
    cpus = usable_cpus()
    cores: set[tuple[str, str]] = set()
    for cpu in cpus:
        topology = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
        try:
            package = (topology / "physical_package_id").read_text().strip()
            core = (topology / "core_id").read_text().strip()
        except OSError:
            return len(cpus)
        cores.add((package, core))
    return max(1, len(cores))


def configure_torch_threads(threads: int | None = None) -> int:
    """Set PyTorch's intra-op threads: ``threads`` if given, else one per physical core.

    Without ``threads`` the count is only changed while it is still PyTorch's own default (one
    per logical CPU) and no ``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` is set, so a choice the
    user made elsewhere is kept. Returns the count in effect.
    """
    import torch

    if threads is not None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        torch.set_num_threads(threads)
    elif not any(os.environ.get(v) for v in _THREAD_VARIABLES):
        cores = physical_cores()
        if torch.get_num_threads() == len(usable_cpus()) and cores < torch.get_num_threads():
            torch.set_num_threads(cores)
    return torch.get_num_threads()


def cpu_has_native_bf16() -> bool:
    """Whether this x86 CPU computes in bf16 natively (AVX512-BF16 or AMX), per /proc/cpuinfo."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


class TorchBackend:
    """A PyTorch token classifier as a :class:`Backend`.

    ``threads``: see :func:`configure_torch_threads`. ``bf16=True`` runs the model under CPU
    autocast to bfloat16 (logits come back as float32). It is only fast on CPUs with native
    bf16 (:func:`cpu_has_native_bf16`) and changes results slightly, so it is off by default;
    ``benchmarks/tagging_speed.py --bf16`` measures its speed and F1.
    """

    def __init__(self, model: Any, *, threads: int | None = None, bf16: bool = False) -> None:
        self.model = model
        self.bf16 = bf16
        if not _on_gpu(model):
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


def _on_gpu(model: Any) -> bool:
    try:
        return next(model.parameters()).device.type != "cpu"
    except (StopIteration, AttributeError):
        return False


class Predictor:
    """A network (a PyTorch model or any :class:`Backend`) plus window encoder and decoder."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        labels: LabelSet,
        *,
        max_length: int = 128,
        decoding: str = "viterbi",
        scheme: str = "iob2",
        crf: dict[str, Any] | None = None,
        context: int = 0,
    ) -> None:
        # a torch module (it has parameters) is wrapped; anything else is already a Backend
        self.backend: Backend = TorchBackend(model) if hasattr(model, "parameters") else model
        self.tokenizer = tokenizer
        self.labels = labels
        self.encoder = WindowEncoder(tokenizer, max_length, context)
        self.decoder = Decoder(labels.labels, decoding, scheme, crf=crf)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    def word_log_probs(
        self,
        sentences: Sequence[Sequence[str]],
        batch_size: int = 32,
        documents: Sequence[int] | None = None,
    ) -> list[np.ndarray]:
        """Log-probabilities ``(words, labels)`` for each sentence, in input order.

        ``documents``: each sentence's document id, for a model trained with context (see
        :mod:`nerkit.modeling.encoding`); without it sentences are independent.
        """
        lengths = np.array([len(s) for s in sentences], dtype=np.int64)
        offsets = np.zeros(len(sentences) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        words_expected(int(offsets[-1]))  # an open progress bar counts them
        # one row per word of every sentence; filled from the window that owns the word
        scores = np.zeros((int(offsets[-1]), len(self.labels)), dtype=np.float32)
        batches = _length_batches(self.encoder.windows(sentences, documents=documents), batch_size)
        run_batches = getattr(self.backend, "run_batches", None)
        if run_batches is None:
            for batch in batches:
                self._gather(batch, self._forward_array(batch), offsets, scores)
        else:  # queued together (see Backend); in groups, so memory stays bounded
            for i in range(0, len(batches), QUEUED_BATCHES):
                group = batches[i : i + QUEUED_BATCHES]
                padded = [pad_windows(batch, self.pad_id)[:2] for batch in group]
                for batch, logits in zip(group, run_batches(padded), strict=True):
                    self._gather(batch, np.asarray(logits), offsets, scores)
        log_probs = log_softmax(scores)
        return np.split(log_probs, offsets[1:-1]) if len(sentences) else []

    @staticmethod
    def _gather(
        batch: list[Window], logits: np.ndarray, offsets: np.ndarray, scores: np.ndarray
    ) -> None:
        """Copy the rows of the words each window owns into ``scores`` (one fancy index)."""
        batch_rows: list[int] = []
        positions: list[int] = []
        targets: list[int] = []
        for i, window in enumerate(batch):
            first = window.own_start - window.word_start
            owned = window.first_piece[first : first + window.own_end - window.own_start]
            positions.extend(owned)
            batch_rows.extend([i] * len(owned))
            base = int(offsets[window.sentence])
            targets.extend(range(base + window.own_start, base + window.own_end))
        scores[targets] = logits[batch_rows, positions]
        words_tagged(len(targets))

    def _forward_array(self, batch: list[Window]) -> np.ndarray:
        """Logits ``(windows, pieces, labels)`` for one batch, right-padded to its longest."""
        ids, mask, _ = pad_windows(batch, self.pad_id)
        return np.asarray(self.backend(ids, mask))

    def predict_ids(
        self,
        sentences: Sequence[Sequence[str]],
        batch_size: int = 32,
        documents: Sequence[int] | None = None,
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Decoded label ids and the log-probabilities behind them, per sentence."""
        log_probs = self.word_log_probs(sentences, batch_size, documents)
        return self.decoder.decode_batch(log_probs), log_probs

    def predict_tags(
        self,
        sentences: Sequence[Sequence[str]],
        batch_size: int = 32,
        documents: Sequence[int] | None = None,
    ) -> list[list[str]]:
        """One IOB2 tag per word for each sentence."""
        ids, _ = self.predict_ids(sentences, batch_size, documents)
        names = np.array(self.labels.labels, dtype=object)
        return [names[row].tolist() for row in ids]


def _length_batches(windows: list[Window], batch_size: int) -> list[list[Window]]:
    ordered = sorted(windows, key=lambda w: len(w.input_ids))
    return [ordered[i : i + batch_size] for i in range(0, len(ordered), batch_size)]
