"""Hub ids wherever a model folder goes, tested on a real hub cache layout (no network here)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import socket
from pathlib import Path
from typing import Any

import pytest

from nerkit.cli import main
from nerkit.errors import ModelError
from nerkit.modeling.hub import model_files, resolve_model
from nerkit.modeling.manifest import MANIFEST_FILE

COMMIT = "1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c"
TEXT = "Ana González viajó a Sevilla con la ONU."


def build_hub_cache(
    model: Path, cache: Path, repo_id: str = "org/name", commit: str = COMMIT,
    skip: tuple[str, ...] = (),
) -> Path:
    """A hub cache holding ``model`` as ``huggingface_hub`` lays it out after a download.

    ``models--ORG--NAME/blobs/<hash>`` holds each file once; ``snapshots/<commit>/<file>`` are
    relative links to the blobs; ``refs/main`` names the commit. Returns the snapshot folder.
    """
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / commit
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    snapshot.mkdir(parents=True, exist_ok=True)
    listed = json.loads((model / MANIFEST_FILE).read_text())["files"]
    for name in [*listed, MANIFEST_FILE, "README.md", "eval_results.json"]:
        if name in skip or not (model / name).is_file():
            continue
        data = (model / name).read_bytes()
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        os.symlink(os.path.relpath(blob, snapshot), snapshot / name)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(commit)  # no newline, as the hub client writes it
    return snapshot


@pytest.fixture
def offline_cache(tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The tiny model cached as ``org/name``, with the hub switched off by HF_HUB_OFFLINE."""
    cache = tmp_path / "hub-cache"
    build_hub_cache(tiny_model, cache)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)  # no local folder ./org/name to shadow the hub id
    return cache


def one_line(err: BaseException | str) -> str:
    text = str(err).strip()
    assert "\n" not in text and "Traceback" not in text, text
    return text


def test_the_layout_is_the_hub_clients_own(offline_cache: Path) -> None:
    from huggingface_hub import scan_cache_dir

    info = scan_cache_dir(offline_cache)
    (repo,) = info.repos
    assert (repo.repo_id, repo.repo_type) == ("org/name", "model")
    assert [r.commit_hash for r in repo.revisions] == [COMMIT]
    assert {f.file_name for f in next(iter(repo.revisions)).files} >= {
        "config.json", "model.safetensors", "nerkit.json", MANIFEST_FILE}


def test_tagger_loads_a_hub_id_offline_from_the_cache(
    offline_cache: Path, torch_tagger: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from nerkit.tagging.tagger import Tagger

    with caplog.at_level(logging.INFO, logger="nerkit"):
        tagger = Tagger.load("org/name")
    assert tagger(TEXT) == torch_tagger(TEXT)
    assert tagger.meta.language == torch_tagger.meta.language
    said = caplog.text
    assert "org/name: HF_HUB_OFFLINE is set; using the cached snapshot" in said
    assert COMMIT[:12] in said and str(offline_cache) in said


def test_a_revision_loads_that_commit(offline_cache: Path) -> None:
    folder = resolve_model(f"org/name@{COMMIT}")
    assert folder == offline_cache / "models--org--name" / "snapshots" / COMMIT
    with pytest.raises(ModelError, match="org/name at revision v2 is not in the hub cache"):
        resolve_model("org/name@v2")


def test_an_uncached_id_offline_is_one_line(
    offline_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from nerkit.tagging.tagger import Tagger

    with pytest.raises(ModelError) as err:
        Tagger.load("org/missing")
    message = one_line(err.value)
    assert message.startswith("org/missing: no local folder of that name, and org/missing is "
                              f"not in the hub cache {offline_cache} while HF_HUB_OFFLINE is set")
    assert "hf download org/missing" in message
    assert main(["predict", "--model", "org/missing", TEXT]) == 2
    assert "not in the hub cache" in one_line(capsys.readouterr().err)
    assert main(["serve", "--model", "org/missing", "--workers", "2"]) == 2
    assert "not in the hub cache" in one_line(capsys.readouterr().err)


def test_predict_and_export_checks_take_a_hub_id(
    offline_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from nerkit.export.common import check_folders

    assert main(["predict", "--model", "org/name", TEXT]) == 0
    out = capsys.readouterr().out
    assert TEXT in out
    source, _ = check_folders("org/name", tmp_path / "onnx", None, "onnx")
    assert source == offline_cache / "models--org--name" / "snapshots" / COMMIT
    # evaluate reads the cached model and writes under evaluations/<name>/, not into the cache
    test = Path(__file__).parent / "data" / "tiny.test"
    assert main(["evaluate", "--model", "org/name", "--data", str(test), "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert results["entity"]["micro"]["f1"] >= 0
    assert (tmp_path / "evaluations" / "name" / "tiny.test" / "test_results.json").is_file()


def test_an_unreachable_hub_falls_back_to_the_cache(
    offline_cache: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Not declared offline, but the hub does not answer: the cached snapshot, said so."""
    from huggingface_hub import HfApi

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    with socket.socket() as s:  # a loopback port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    api = HfApi(endpoint=f"http://127.0.0.1:{port}", token=False)
    with caplog.at_level(logging.WARNING, logger="nerkit"):
        folder = resolve_model("org/name", api=api)
    assert folder.name == COMMIT
    assert "org/name: the hub cannot be reached (" in caplog.text
    with pytest.raises(ModelError, match="not in the hub cache .* while the hub cannot be reached"):
        resolve_model("org/other", api=api)


def test_an_incomplete_cached_snapshot_is_refused(
    tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nerkit.tagging.tagger import Tagger

    cache = tmp_path / "cache"
    build_hub_cache(tiny_model, cache, skip=("model.safetensors",))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelError, match="model.safetensors is missing") as err:
        Tagger.load("org/name")
    one_line(err.value)


def test_a_local_folder_wins_over_a_hub_id(
    tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "org").mkdir()
    os.symlink(tiny_model, tmp_path / "org" / "name")
    assert resolve_model("org/name") == Path("org/name")
    # a name that is no hub id comes back for the caller's "model folder not found"
    assert resolve_model("missing-model") == Path("missing-model")
    assert resolve_model("./org/missing") == Path("./org/missing")


def test_one_weight_format_is_downloaded() -> None:
    legacy = ["config.json", "pytorch_model.bin", "tf_model.h5", "vocab.txt"]
    assert model_files(legacy) == ["config.json", "pytorch_model.bin", "vocab.txt"]
    sharded = ["config.json", "model-00001-of-00002.safetensors",
               "model-00002-of-00002.safetensors", "model.safetensors.index.json",
               "pytorch_model-00001-of-00002.bin", "pytorch_model.bin.index.json",
               "flax_model.msgpack", "checkpoint-500/model.safetensors"]
    assert model_files(sharded) == [
        "config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
        "model.safetensors.index.json"]
    exported = ["config.json", "model.xml", "model.bin", "nerkit.json", "tokenizer.json"]
    assert model_files(exported) == sorted(exported)


def test_a_hub_model_without_nerkit_json_splits_words_in_its_cards_language(
    tiny_model: Path, tmp_path: Path
) -> None:
    """A plain Hugging Face model (no nerkit.json) names its language in its card's metadata."""
    from nerkit.tagging.tagger import Tagger

    plain = tmp_path / "plain"
    shutil.copytree(tiny_model, plain, ignore=shutil.ignore_patterns(
        "nerkit.json", MANIFEST_FILE, "runs", "README.md"))
    (plain / "README.md").write_text("---\nlanguage:\n- en\nlicense: mit\n---\n# A model\n")
    with pytest.warns(UserWarning, match="words split as language 'en' \\(its model card's\\)"):
        tagger = Tagger.load(plain)
    assert [w.text for w in tagger.splitter("New York's")] == ["New", "York", "'s"]
    (plain / "README.md").write_text("---\nlanguage: [en, de]\n---\n")
    with pytest.warns(UserWarning, match="words split as language 'es'; write"):
        assert Tagger.load(plain).meta.language == "es"
