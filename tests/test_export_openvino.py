"""OpenVINO export: fp32 tags exactly like PyTorch, static int8 loads, tags, and keeps each window
independent of its batch mates; calibration reads training data; the CLI works.

The tiny model's scores mean nothing, so int8 is only checked for what it is (int8 weights,
fixed activation scales, well-formed output) here; its accuracy on the real model is measured by
``nerkit export --check-data`` and ``benchmarks/tagging_speed.py``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("openvino", reason="OpenVINO export needs the [openvino] extra")
pytest.importorskip("nncf", reason="OpenVINO int8 export needs the [openvino] extra")
pytest.importorskip("onnx", reason="the export goes through ONNX: [export] extra")

from conftest import EXPORT_TEXTS, random_windows  # noqa: E402

from nerkit.cli import main  # noqa: E402
from nerkit.conll.corpus import read_sentences  # noqa: E402
from nerkit.errors import ConfigError, ModelError  # noqa: E402
from nerkit.export import REPORT_FILE, export_model  # noqa: E402
from nerkit.export.openvino import export_openvino, training_data  # noqa: E402
from nerkit.export.parity import sample_sentences  # noqa: E402
from nerkit.runtimes.openvino import OpenVinoBackend  # noqa: E402
from nerkit.tagging.tagger import Tagger  # noqa: E402

DATA = Path(__file__).parent / "data"



@pytest.fixture(scope="module")
def exports(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("openvino")
    return {
        "fp32": export_openvino(tiny_model, out / "fp32", check_data=str(DATA / "tiny.test")),
        "int8": export_model(
            tiny_model, out / "int8", runtime="openvino", quantize="int8", calibration_size=20
        ),
    }


def test_folder_holds_model_tokenizer_labels_and_report(exports: dict[str, Path]) -> None:
    for kind, folder in exports.items():
        names = {p.name for p in folder.iterdir()}
        assert {"model.xml", "model.bin", "config.json", "nerkit.json", REPORT_FILE} <= names
        assert any(n.startswith("tokenizer") for n in names)
        assert not [n for n in names if n.startswith(".exporting") or n.endswith(".onnx")], (
            "no intermediate files are left"
        )
        meta = json.loads((folder / "nerkit.json").read_text())
        assert meta["extra"]["openvino"]["quantize"] == (None if kind == "fp32" else "int8")


def test_fp32_report_shows_parity(exports: dict[str, Path]) -> None:
    report = json.loads((exports["fp32"] / REPORT_FILE).read_text())
    assert report["format"] == "openvino" and report["quantize"] is None
    assert report["sample"]["max_abs_logit_diff"] < 1e-3
    assert report["sample"]["tags_identical"] is True
    assert report["sample"]["sentences"] == len(sample_sentences())
    check = report["check"]
    assert check["f1_export"] == pytest.approx(check["f1_torch"])
    assert check["sentences_with_different_tags"] == 0


def test_fp32_export_tags_like_pytorch(exports: dict[str, Path], torch_tagger: Tagger) -> None:
    tagger = Tagger.load(exports["fp32"])
    assert isinstance(tagger.predictor.backend, OpenVinoBackend)
    assert tagger.labels == torch_tagger.labels
    expected = list(torch_tagger.tag_many(EXPORT_TEXTS))
    got = list(tagger.tag_many(EXPORT_TEXTS))
    assert [[(e.start, e.end, e.label) for e in es] for es in got] == [
        [(e.start, e.end, e.label) for e in es] for es in expected
    ]
    for es, gs in zip(expected, got, strict=True):
        for e, g in zip(es, gs, strict=True):
            assert g.score == pytest.approx(e.score, abs=2e-4)
    sentences = sample_sentences()
    assert tagger.tag_sentences(sentences) == torch_tagger.tag_sentences(sentences)


@pytest.mark.parametrize("per_request", [1, 3, 16])
def test_requests_of_any_size_give_the_same_logits(
    exports: dict[str, Path], per_request: int
) -> None:
    """Cutting a batch into requests (each trimmed to its own longest window) changes fp32
    logits only by rounding, and padding comes back as 0."""
    ids, mask = random_windows(19, per_request)
    whole = OpenVinoBackend(exports["fp32"], threads=2, latency=True)(ids, mask)
    cut = OpenVinoBackend(exports["fp32"], threads=2, windows_per_request=per_request)(ids, mask)
    assert cut.shape == whole.shape == (*ids.shape, whole.shape[-1])
    real = mask.astype(bool)
    np.testing.assert_allclose(cut[real], whole[real], rtol=1e-4, atol=1e-4)
    assert not cut[~real].any()


def test_int8_weights_and_fixed_activation_scales(exports: dict[str, Path]) -> None:
    graph = (exports["int8"] / "model.xml").read_text()
    assert 'element_type="i8"' in graph, "int8 weights"
    assert "FakeQuantize" in graph, "activations quantized with fixed ranges"
    assert "FakeQuantize" not in (exports["fp32"] / "model.xml").read_text()
    int8_bytes = (exports["int8"] / "model.bin").stat().st_size
    assert int8_bytes < (exports["fp32"] / "model.bin").stat().st_size


def test_int8_window_does_not_depend_on_its_batch_mates(exports: dict[str, Path]) -> None:
    """Static scales: a window's logits are the same alone or run beside other windows."""
    backend = OpenVinoBackend(exports["int8"], threads=2, windows_per_request=4)
    ids, mask = random_windows(4, 7)
    batch = backend(ids, mask)
    for row in range(len(ids)):
        n = int(mask[row].sum())
        alone = backend(ids[row : row + 1, :n], mask[row : row + 1, :n])
        np.testing.assert_allclose(batch[row, :n], alone[0], rtol=1e-4, atol=1e-4)


def test_int8_export_loads_and_tags(exports: dict[str, Path], torch_tagger: Tagger) -> None:
    tagger = Tagger.load(exports["int8"], threads=1)
    assert tagger.predictor.backend.threads == 1
    for text, entities in zip(EXPORT_TEXTS, tagger.tag_many(EXPORT_TEXTS), strict=True):
        for e in entities:
            assert text[e.start : e.end] == e.text
            assert e.label in torch_tagger.labels.types
    sentences = sample_sentences()
    assert [len(t) for t in tagger.tag_sentences(sentences)] == [len(s) for s in sentences]


def test_int8_calibrates_on_the_training_data(tiny_model: Path, exports: dict[str, Path]) -> None:
    assert training_data(tiny_model) == str(DATA / "tiny.train")
    report = json.loads((exports["int8"] / REPORT_FILE).read_text())
    assert report["calibration"]["data"] == str(DATA / "tiny.train")
    assert 0 < report["calibration"]["sentences"] <= 20


def test_int8_without_known_training_data_asks_for_it(tiny_model: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    shutil.copytree(tiny_model, bare)
    (bare / "training_args.json").unlink()
    with pytest.raises(ConfigError, match="--calibration-data"):
        export_openvino(bare, tmp_path / "out", "int8")
    assert not (tmp_path / "out").exists(), "nothing written before the slow part"
    other = str(DATA / "tiny.train")
    out = export_openvino(bare, tmp_path / "out", "int8", calibration_data=other,
                          calibration_size=3)
    report = json.loads((out / REPORT_FILE).read_text())
    assert len(read_sentences(other)) > 3
    assert report["calibration"] == {"data": other, "sentences": 3, "seed": 0}


def test_latency_mode_gives_the_same_tags(exports: dict[str, Path]) -> None:
    throughput = Tagger.load(exports["fp32"], threads=2)
    latency = Tagger.load(exports["fp32"], threads=2, latency=True)
    assert latency.predictor.backend.latency and latency.predictor.backend.windows_per_request == 1
    assert not throughput.predictor.backend.latency
    assert list(latency.tag_many(EXPORT_TEXTS)) == list(throughput.tag_many(EXPORT_TEXTS))


def test_tagger_batch_size_defaults_to_the_backends(
    exports: dict[str, Path], torch_tagger: Tagger
) -> None:
    from nerkit.runtimes.openvino import BATCH_WINDOWS

    assert Tagger.load(exports["fp32"]).batch_size == BATCH_WINDOWS
    assert Tagger.load(exports["fp32"], batch_size=8).batch_size == 8
    assert torch_tagger.batch_size == 32


def test_missing_or_broken_model_is_a_model_error(exports: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        OpenVinoBackend(tmp_path)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.xml").write_text("<net>not a model")
    with pytest.raises(ModelError, match="export it again"):
        OpenVinoBackend(broken)


def test_export_refuses_its_own_model_folder(tiny_model: Path) -> None:
    with pytest.raises(ConfigError, match="must differ"):
        export_openvino(tiny_model, tiny_model)
    assert not (tiny_model / "model.xml").exists()


def test_cli_export_and_predict(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cli-ov"
    assert main(["export", "--model", str(tiny_model), "--openvino", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "model.xml" in printed and "tags identical" in printed
    assert main(["predict", "--model", str(out), "Ana viajó a Sevilla."]) == 0


def test_cli_calibration_data_needs_openvino_int8(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["export", "--model", str(tiny_model), "--onnx", str(tmp_path / "o"),
                 "--calibration-data", str(DATA / "tiny.train")])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert "--calibration-data" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_open_model_runs_the_export(exports: dict[str, Path], torch_tagger: Tagger) -> None:
    from nerkit.runtimes import open_model
    from nerkit.runtimes.openvino import BATCH_WINDOWS

    opened = open_model(exports["int8"], threads=1, latency=True)
    assert opened.runtime == "openvino" and opened.batch_size == BATCH_WINDOWS
    assert isinstance(opened.backend, OpenVinoBackend)
    assert opened.backend.threads == 1 and opened.backend.latency
    assert opened.labels == torch_tagger.labels
    assert opened.meta.extra["openvino"]["quantize"] == "int8"
