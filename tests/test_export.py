"""ONNX export: the fp32 export tags exactly like PyTorch, int8 loads and tags, the CLI works.

The tiny model's scores mean nothing, so int8 is only checked to load and produce well-formed
output here; its accuracy is measured on the real model by ``benchmarks/tagging_speed.py`` and
by ``nerkit export --check-data``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("onnxruntime", reason="export needs the [export] extra")
pytest.importorskip("onnx", reason="export needs the [export] extra")

from conftest import EXPORT_TEXTS, random_windows  # noqa: E402

from nerkit.cli import main  # noqa: E402
from nerkit.export import REPORT_FILE, export_model  # noqa: E402
from nerkit.export.onnx import export_onnx  # noqa: E402
from nerkit.export.parity import sample_sentences  # noqa: E402
from nerkit.export.smoothquant import OUTLIER_RATIO  # noqa: E402
from nerkit.tagging.tagger import Tagger  # noqa: E402

DATA = Path(__file__).parent / "data"



@pytest.fixture(scope="module")
def exports(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("onnx")
    return {
        "fp32": export_onnx(tiny_model, out / "fp32", check_data=str(DATA / "tiny.test")),
        "int8": export_model(tiny_model, out / "int8", runtime="onnx", quantize="int8"),
    }


def test_folder_holds_model_tokenizer_labels_and_report(exports: dict[str, Path]) -> None:
    for kind, folder in exports.items():
        names = {p.name for p in folder.iterdir()}
        assert {"model.onnx", "config.json", "nerkit.json", REPORT_FILE} <= names
        assert any(n.startswith("tokenizer") for n in names)
        assert not [
            n
            for n in names
            if n.startswith(".exporting") or n.endswith(".onnx") and n != "model.onnx"
        ], "no intermediate files are left"
        meta = json.loads((folder / "nerkit.json").read_text())
        assert meta["extra"]["onnx"]["quantize"] == (None if kind == "fp32" else "int8")


def test_fp32_report_shows_parity(exports: dict[str, Path]) -> None:
    report = json.loads((exports["fp32"] / REPORT_FILE).read_text())
    assert report["quantize"] is None
    assert report["sample"]["max_abs_logit_diff"] < 1e-3
    assert report["sample"]["tags_identical"] is True
    assert report["sample"]["sentences"] == len(sample_sentences())
    check = report["check"]
    assert check["f1_export"] == pytest.approx(check["f1_torch"])
    assert check["sentences_with_different_tags"] == 0


def test_fp32_export_tags_like_pytorch(exports: dict[str, Path], torch_tagger: Tagger) -> None:
    onnx_tagger = Tagger.load(exports["fp32"])
    assert type(onnx_tagger.predictor.backend).__name__ == "OnnxBackend"
    assert onnx_tagger.labels == torch_tagger.labels
    expected = list(torch_tagger.tag_many(EXPORT_TEXTS))
    got = list(onnx_tagger.tag_many(EXPORT_TEXTS))
    assert [[(e.start, e.end, e.label) for e in es] for es in got] == [
        [(e.start, e.end, e.label) for e in es] for es in expected
    ]
    for es, gs in zip(expected, got, strict=True):
        for e, g in zip(es, gs, strict=True):
            assert g.score == pytest.approx(e.score, abs=2e-4)
    sentences = sample_sentences()
    assert onnx_tagger.tag_sentences(sentences) == torch_tagger.tag_sentences(sentences)


@pytest.mark.parametrize("rows", [1, 2, 5, 19])
def test_parallel_batches_give_the_same_logits(exports: dict[str, Path], rows: int) -> None:
    """Spreading the windows over single-threaded runs (the default on several cores) changes
    fp32 logits only by rounding."""
    import numpy as np

    from nerkit.runtimes.onnx import OnnxBackend

    ids, mask = random_windows(rows, seed=rows)
    serial = OnnxBackend(exports["fp32"], threads=2, parallel_batches=False)(ids, mask)
    parallel_backend = OnnxBackend(exports["fp32"], threads=2, parallel_batches=True)
    assert parallel_backend.parallel_batches
    parallel = parallel_backend(ids, mask)
    assert parallel.shape == serial.shape
    real = mask.astype(bool)
    np.testing.assert_allclose(parallel[real], serial[real], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("parallel", [True, False])
def test_int8_window_does_not_depend_on_its_batch_mates(
    exports: dict[str, Path], parallel: bool
) -> None:
    """int8 activations get one scale per run; each window runs alone, so a window's logits are
    the same whatever else is in its batch (here: a long window of other pieces, and padding)."""
    import numpy as np

    from nerkit.runtimes.onnx import OnnxBackend

    backend = OnnxBackend(exports["int8"], threads=2, parallel_batches=parallel)
    rng = np.random.default_rng(0)
    window = rng.integers(5, 150, 6)
    alone = backend(window[None, :], np.ones((1, 6), dtype=np.int64))
    ids = np.zeros((3, 15), dtype=np.int64)
    mask = np.zeros_like(ids)
    ids[0, :6], mask[0, :6] = window, 1
    ids[1], mask[1] = rng.integers(5, 150, 15), 1
    ids[2, :3], mask[2, :3] = rng.integers(5, 150, 3), 1
    batch = backend(ids, mask)
    np.testing.assert_array_equal(batch[0, :6], alone[0])
    assert not batch[0, 6:].any() and not batch[2, 3:].any(), "padding comes back as 0"


def test_latency_mode_gives_the_same_tags(exports: dict[str, Path]) -> None:
    throughput = Tagger.load(exports["fp32"], threads=2)
    latency = Tagger.load(exports["fp32"], threads=2, latency=True)
    assert throughput.predictor.backend.parallel_batches
    assert not latency.predictor.backend.parallel_batches
    assert latency.predictor.backend.threads == 2
    assert list(latency.tag_many(EXPORT_TEXTS)) == list(throughput.tag_many(EXPORT_TEXTS))


def test_int8_export_loads_and_tags(exports: dict[str, Path], torch_tagger: Tagger) -> None:
    tagger = Tagger.load(exports["int8"], threads=1)
    assert tagger.predictor.backend.threads == 1
    for text, entities in zip(EXPORT_TEXTS, tagger.tag_many(EXPORT_TEXTS), strict=True):
        for e in entities:
            assert text[e.start : e.end] == e.text
            assert e.label in torch_tagger.labels.types
    sentences = sample_sentences()
    tags = tagger.tag_sentences(sentences)
    assert [len(t) for t in tags] == [len(s) for s in sentences]
    onnx_bytes = (exports["int8"] / "model.onnx").stat().st_size
    assert onnx_bytes < (exports["fp32"] / "model.onnx").stat().st_size


def test_int8_report_lists_smoothed_layers(exports: dict[str, Path]) -> None:
    report = json.loads((exports["int8"] / REPORT_FILE).read_text())
    assert report["quantize"] == "int8"
    smoothed = report["int8_smoothed"]
    assert isinstance(smoothed, list)
    assert all(k["input_range_over_rms"] > OUTLIER_RATIO for k in smoothed)
    meta = json.loads((exports["int8"] / "nerkit.json").read_text())
    assert meta["extra"]["onnx"]["smoothed"] == [k["layer"] for k in smoothed]


def test_int8_quantizes_every_linear_layer(exports: dict[str, Path]) -> None:
    """No product with a constant weight is left in fp32 (only activation x activation)."""
    import onnx

    graph = onnx.load(str(exports["int8"] / "model.onnx")).graph
    constants = {t.name for t in graph.initializer}
    fp32_products = [n.name for n in graph.node
                     if n.op_type == "MatMul" and any(i in constants for i in n.input)]
    assert fp32_products == []
    assert any(n.op_type == "MatMulInteger" for n in graph.node)


def test_smoothing_keeps_the_function(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the threshold at 0 every linear layer is smoothed; the logits do not change, and
    the inputs' per-channel peaks get more even (what one quantization scale needs)."""
    import torch

    from nerkit.export import smoothquant as export
    from nerkit.modeling.folder import load_classifier

    model, tokenizer, _, meta = load_classifier(tiny_model)
    monkeypatch.setattr(export, "OUTLIER_RATIO", 0.0)
    found = export.outlier_layers(model, tokenizer, meta)
    n_linear = sum(type(m).__name__ == "Linear" for m in model.modules())
    assert len(found) == n_linear
    smoothed = export.smooth_layers(model, found)
    assert all(k["scale_min"] <= k["scale_max"] for k in found)
    ids = torch.tensor([tokenizer("Ana vive en Madrid")["input_ids"]])
    mask = torch.ones_like(ids)
    with torch.inference_mode():
        before = model(input_ids=ids, attention_mask=mask).logits
        after = smoothed(input_ids=ids, attention_mask=mask).logits
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-4)
    assert type(model.get_submodule(found[0]["layer"])).__name__ == "Linear", "original kept"
    # the spread of channel peaks (largest / median) shrinks for the worst layer
    worst = found[0]
    peaks = worst["channel_max"]
    layer = smoothed.get_submodule(worst["layer"])
    after_peaks = peaks * layer.inverse_scales
    spread = float(peaks.max() / peaks.median())
    assert float(after_peaks.max() / after_peaks.median()) < spread


def test_cli_export_and_predict(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cli-onnx"
    assert main(["export", "--model", str(tiny_model), "--onnx", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "model.onnx" in printed and "tags identical" in printed
    assert (out / "model.onnx").is_file()
    assert main(["predict", "--model", str(out), "Ana viajó a Sevilla."]) == 0


def test_cli_missing_model_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["export", "--model", str(tmp_path / "nope"), "--onnx", str(tmp_path / "o")])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("nerkit: error:") and "not found" in err
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_export_refuses_its_own_model_folder(tiny_model: Path) -> None:
    from nerkit.errors import ConfigError

    with pytest.raises(ConfigError, match="must differ"):
        export_onnx(tiny_model, tiny_model)
    assert not (tiny_model / "model.onnx").exists()


def test_unknown_quantization(tiny_model: Path, tmp_path: Path) -> None:
    from nerkit.errors import ConfigError

    with pytest.raises(ConfigError, match="int8"):
        export_onnx(tiny_model, tmp_path / "x", "int4")


def test_open_model_runs_the_export(exports: dict[str, Path], torch_tagger: Tagger) -> None:
    from nerkit.runtimes import open_model

    opened = open_model(exports["int8"], threads=1, latency=True)
    assert opened.runtime == "onnx" and opened.batch_size is None
    assert opened.backend.threads == 1 and not opened.backend.parallel_batches
    assert opened.labels == torch_tagger.labels
    assert opened.meta.extra["onnx"]["quantize"] == "int8"
    assert opened.meta.max_length == torch_tagger.meta.max_length


def test_export_model_refuses_bad_settings_before_writing(tiny_model: Path, tmp_path: Path) -> None:
    from nerkit.errors import ConfigError

    out = tmp_path / "o"
    for options, match in (
        ({"runtime": "tflite"}, "unknown export runtime 'tflite'; choose one of onnx, openvino"),
        ({"calibration_data": "conll2002-es"}, "calibration data is for int8 OpenVINO"),
        ({"runtime": "openvino", "calibration_size": 10}, "calibration data is for int8"),
        ({"quantize": "int4"}, "unknown quantization 'int4'"),
    ):
        with pytest.raises(ConfigError, match=match):
            export_model(tiny_model, out, **options)
    assert not out.exists()
