"""Running a saved model: which runtime a folder calls for, threads, and the PyTorch backend.

The exported runtimes are opened on real exports in ``test_export.py`` (ONNX) and
``test_export_openvino.py`` (OpenVINO); here, what :func:`open_model` decides from a folder's
files and what it refuses before anything slow.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from nerkit.errors import ConfigError, ModelError
from nerkit.runtimes import OpenedModel, open_model
from nerkit.runtimes.base import (
    EXPORTED_FILES,
    ONNX_FILE,
    OPENVINO_FILE,
    exported_model_file,
    exported_runtime,
)
from nerkit.runtimes.cpu import check_threads, configure_torch_threads, physical_cores, usable_cpus


def test_exported_runtime_follows_the_files(tmp_path: Path) -> None:
    """ONNX, then OpenVINO, then none (PyTorch): a folder holding both exports runs on ONNX,
    as ``Tagger.load`` always did."""
    assert exported_runtime(tmp_path) is None
    (tmp_path / OPENVINO_FILE).touch()
    assert exported_runtime(tmp_path) == "openvino"
    (tmp_path / ONNX_FILE).touch()
    assert exported_runtime(tmp_path) == "onnx"
    assert set(EXPORTED_FILES.values()) == {ONNX_FILE, OPENVINO_FILE}


def test_exported_model_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="ONNX model not found; write one with `nerkit export`"):
        exported_model_file(tmp_path, "onnx")
    (tmp_path / OPENVINO_FILE).touch()
    assert exported_model_file(tmp_path, "openvino") == tmp_path / OPENVINO_FILE
    assert exported_model_file(tmp_path / OPENVINO_FILE, "openvino") == tmp_path / OPENVINO_FILE


def test_open_pytorch_folder(tiny_model: Path) -> None:
    from nerkit.modeling.folder import load_classifier
    from nerkit.runtimes.pytorch import TorchBackend

    opened = open_model(tiny_model, threads=1)
    assert isinstance(opened, OpenedModel)
    assert opened.runtime == "pytorch" and opened.batch_size is None
    assert isinstance(opened.backend, TorchBackend)
    _, _, labels, meta = load_classifier(tiny_model)
    assert opened.labels == labels and opened.meta == meta


def test_open_model_refuses_bad_threads_before_loading(tmp_path: Path) -> None:
    for threads in (0, -2):
        with pytest.raises(ConfigError, match="threads must be at least 1") as err:
            open_model(tmp_path / "not-read", threads=threads)
        assert len(str(err.value).splitlines()) == 1


def test_exported_folder_without_labels(tiny_model: Path, tmp_path: Path) -> None:
    folder = tmp_path / "exported"
    folder.mkdir()
    (folder / ONNX_FILE).write_bytes(b"not read")
    with pytest.raises(ModelError, match="model.onnx without a config.json holding id2label"):
        open_model(folder)
    shutil.copyfile(tiny_model / "config.json", folder / "config.json")
    pytest.importorskip("onnxruntime")
    with pytest.raises(ModelError, match="onnxruntime cannot load it"):
        open_model(folder)


def test_missing_folder_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        open_model(tmp_path / "nope")


# ------------------------------------------------------------------ threads


def test_check_threads() -> None:
    assert check_threads(None) is None and check_threads(3) == 3
    with pytest.raises(ConfigError, match="got 0; leave it unset"):
        check_threads(0)


def test_physical_cores_is_sensible() -> None:
    cores = physical_cores()
    assert 1 <= cores <= len(usable_cpus()) <= (os.cpu_count() or 1)


def test_configure_torch_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    try:
        assert configure_torch_threads(1) == 1
        assert torch.get_num_threads() == 1
        # a count chosen elsewhere is kept when no count is given
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
        monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
        assert configure_torch_threads() == 1
        # the untouched default (one per logical CPU) becomes one per physical core
        torch.set_num_threads(len(usable_cpus()))
        assert configure_torch_threads() == min(physical_cores(), len(usable_cpus()))
        # with OMP_NUM_THREADS set, nerkit leaves the count alone
        torch.set_num_threads(len(usable_cpus()))
        monkeypatch.setenv("OMP_NUM_THREADS", str(len(usable_cpus())))
        assert configure_torch_threads() == len(usable_cpus())
        with pytest.raises(ConfigError, match="at least 1"):
            configure_torch_threads(0)
    finally:
        torch.set_num_threads(before)


def test_torch_backend_threads_and_bf16(tiny_model: Path) -> None:
    torch = pytest.importorskip("torch")
    from nerkit.modeling.folder import load_classifier
    from nerkit.runtimes.pytorch import TorchBackend

    model, tokenizer, labels, meta = load_classifier(tiny_model)
    before = torch.get_num_threads()
    try:
        backend = TorchBackend(model, threads=1)
        assert torch.get_num_threads() == 1
        ids = np.array([[2, 10, 11, 3], [2, 12, 3, 0]], dtype=np.int64)
        mask = (np.arange(4) < np.array([[4], [3]])).astype(np.int64)
        fp32 = backend(ids, mask)
        assert fp32.shape == (2, 4, len(labels)) and fp32.dtype == np.float32
        bf16 = TorchBackend(model, threads=1, bf16=True)(ids, mask)
        assert bf16.dtype == np.float32
        assert np.abs(bf16 - fp32).max() < 0.5
        with pytest.raises(ConfigError, match="at least 1"):
            TorchBackend(model, threads=0)
    finally:
        torch.set_num_threads(before)
