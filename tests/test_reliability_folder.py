"""A model folder is complete or refused: checked at load, saved so that a torn save shows."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from nerkit import Tagger
from nerkit.cli import main
from nerkit.errors import ModelError
from nerkit.modeling.folder import ModelMeta, load_classifier, save_classifier
from nerkit.modeling.manifest import MANIFEST_FILE, SAVING_MARKER

MODEL_FILES = {"config.json", "model.safetensors", "nerkit.json", "tokenizer.json",
               "tokenizer_config.json"}


def copy_model(tiny_model: Path, tmp_path: Path, manifest: bool = True) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(tiny_model, folder)
    if not manifest:
        (folder / MANIFEST_FILE).unlink()
    return folder


def classifier_weight(model: Any) -> list[float]:
    return model.classifier.weight.detach().flatten().tolist()


def test_save_writes_files_then_manifest(tiny_model: Path) -> None:
    manifest = json.loads((tiny_model / MANIFEST_FILE).read_text())
    assert MODEL_FILES <= set(manifest["files"])
    for name, entry in manifest["files"].items():
        assert (tiny_model / name).stat().st_size == entry["size"]
    assert not (tiny_model / SAVING_MARKER).exists()
    assert not list(tiny_model.glob(".saving-*"))
    assert "dev_results.json" not in manifest["files"]  # reports are not the model


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


# (what to do to the folder, with manifest, message; without manifest, message)
BROKEN = {
    "no tokenizer files": (
        lambda f: [(f / n).unlink() for n in ("tokenizer.json", "tokenizer_config.json")],
        "tokenizer.json is missing (the manifest lists it)",
        "no tokenizer (tokenizer_config.json and a vocabulary",
    ),
    "no tokenizer_config.json": (
        lambda f: (f / "tokenizer_config.json").unlink(),
        "tokenizer_config.json is missing",
        "no tokenizer (tokenizer_config.json missing)",
    ),
    "no weights": (
        lambda f: (f / "model.safetensors").unlink(),
        "model.safetensors is missing",
        "no weights (model.safetensors",
    ),
    "truncated weights": (
        lambda f: _truncate(f / "model.safetensors"),
        "model.safetensors: 39,434 bytes where nerkit saved 78,868: truncated or replaced",
        "model.safetensors: 39,434 bytes where its header describes 78,868",
    ),
    "weights that are not safetensors": (
        lambda f: (f / "model.safetensors").write_bytes(
            b"\xff" * (f / "model.safetensors").stat().st_size
        ),
        "model.safetensors: its content differs from what nerkit saved",
        "model.safetensors: not a whole safetensors file",
    ),
    "invalid config.json": (
        lambda f: (f / "config.json").write_text("{"),
        "config.json: 1 bytes where nerkit saved",
        "config.json: config.json is not valid JSON",
    ),
    "invalid nerkit.json": (
        lambda f: (f / "nerkit.json").write_text("[]"),
        "nerkit.json: 2 bytes where nerkit saved",
        "nerkit.json: nerkit.json is not a JSON object",
    ),
}


@pytest.mark.parametrize("manifest", [True, False], ids=["manifest", "no-manifest"])
@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_folder_is_one_model_error(
    tiny_model: Path, tmp_path: Path, case: str, manifest: bool
) -> None:
    mutate, with_manifest, without_manifest = BROKEN[case]
    folder = copy_model(tiny_model, tmp_path, manifest)
    mutate(folder)
    message = with_manifest if manifest else without_manifest
    # the sizes in the messages are the tiny model's; a change of its shape changes them
    if "78,868" in message:
        size = json.loads((tiny_model / MANIFEST_FILE).read_text())["files"][
            "model.safetensors"]["size"]
        message = message.replace("78,868", f"{size:,}").replace("39,434", f"{size // 2:,}")
    with pytest.raises(ModelError) as caught:
        Tagger.load(folder)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ({"context": "32"}, "context is '32', not a int"),
        ({"max_length": True}, "max_length is True"),
        ({"scheme": "bilou"}, "scheme 'bilou' is none of iob1, iob2, bioes"),
        ({"decoding": "beam"}, "decoding 'beam' is neither viterbi nor argmax"),
        ({"crf": {"start": [0.0], "end": [0.0], "transitions": [[0.0, 1.0]]}},
         "crf needs start, end and a square transitions matrix"),
        ({"crf": {"start": [0.0], "end": [0.0], "transitions": [[0.0]]}},
         "CRF scores for 1 labels, but the model has"),
    ],
)
def test_invalid_nerkit_json_is_refused(
    tiny_model: Path, tmp_path: Path, meta: dict[str, Any], message: str
) -> None:
    folder = copy_model(tiny_model, tmp_path, manifest=False)
    data = json.loads((folder / "nerkit.json").read_text())
    (folder / "nerkit.json").write_text(json.dumps({**data, **meta}))
    with pytest.raises(ModelError, match="nerkit.json: ") as caught:
        Tagger.load(folder)
    assert message in str(caught.value)


def test_cli_on_a_broken_folder_is_one_line(
    capsys: pytest.CaptureFixture[str], tiny_model: Path, tmp_path: Path
) -> None:
    folder = copy_model(tiny_model, tmp_path, manifest=False)
    (folder / "tokenizer.json").unlink()
    (folder / "tokenizer_config.json").unlink()
    code = main(["predict", "--model", str(folder), "Ana vive en Sevilla."])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.startswith("nerkit: error:") and err.count("\n") == 1
    assert "no tokenizer" in err


def test_interrupted_save_is_refused_then_repaired(tiny_model: Path, tmp_path: Path) -> None:
    folder = copy_model(tiny_model, tmp_path)
    (folder / SAVING_MARKER).write_text("")
    with pytest.raises(ModelError, match="a save into this folder was interrupted"):
        Tagger.load(folder)
    model, tokenizer, _, meta = load_classifier(tiny_model)
    (tmp_path / "model" / ".saving-x").mkdir()  # staging left by a killed save
    save_classifier(folder, model, tokenizer, meta)
    assert not (folder / SAVING_MARKER).exists() and not (folder / ".saving-x").exists()
    Tagger.load(folder)


def test_changed_file_is_refused_until_the_manifest_goes(tiny_model: Path, tmp_path: Path) -> None:
    folder = copy_model(tiny_model, tmp_path)
    config = json.loads((folder / "config.json").read_text())
    config["id2label"] = {k: v.replace("PER", "PERSON") for k, v in config["id2label"].items()}
    config["label2id"] = {v: int(k) for k, v in config["id2label"].items()}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match=f"config.json: .*delete {MANIFEST_FILE}"):
        Tagger.load(folder)
    (folder / MANIFEST_FILE).unlink()
    assert "B-PERSON" in Tagger.load(folder).labels.labels


def test_manifest_cannot_reach_outside(tiny_model: Path, tmp_path: Path) -> None:
    folder = copy_model(tiny_model, tmp_path)
    outside = tmp_path / "precious.txt"
    outside.write_text("keep me")
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    manifest["files"]["../precious.txt"] = {"size": 7, "sha256": "0" * 64}
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="not a nerkit manifest"):
        Tagger.load(folder)
    model, tokenizer, _, meta = load_classifier(tiny_model)
    save_classifier(folder, model, tokenizer, meta)  # drops the old manifest's files only inside
    assert outside.read_text() == "keep me"


def test_plain_transformers_folder_loads_with_stated_defaults(
    tiny_model: Path, tmp_path: Path
) -> None:
    model, tokenizer, _, _ = load_classifier(tiny_model)
    plain = tmp_path / "plain"
    model.save_pretrained(plain)
    tokenizer.save_pretrained(plain)
    with pytest.warns(UserWarning, match=r"no nerkit.json .* assumes scheme iob2, windows of 128 "
                                         r"subwords, viterbi decoding, no context, no CRF"):
        tagger = Tagger.load(plain)
    assert tagger.meta == ModelMeta()
    assert isinstance(tagger("Ana vive en Sevilla."), list)


def test_older_nerkit_folder_without_manifest_loads(tiny_model: Path, tmp_path: Path) -> None:
    folder = copy_model(tiny_model, tmp_path, manifest=False)
    assert Tagger.load(folder).meta == ModelMeta.read(tiny_model)


class Killed(BaseException):
    """Stands for the process dying: nothing after it runs, no clean-up either."""


@pytest.fixture(scope="module")
def two_models(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    """(model A, model B): the tiny model and a copy with other classifier weights."""
    a = load_classifier(tiny_model)
    b = load_classifier(tiny_model)
    b[0].classifier.weight.data += 1.0
    return a, b


def test_a_save_killed_at_any_step_never_loads_as_a_mix(
    tiny_model: Path, tmp_path: Path, two_models: tuple[Any, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Kill a save of model B over model A at each rename it makes: the folder is refused as
    interrupted, or loads as A or as B, whole; never as a mix."""
    (model_a, tokenizer, _, meta), (model_b, *_) = two_models
    weights = {"A": classifier_weight(model_a), "B": classifier_weight(model_b)}
    real_replace = os.replace
    calls: list[int] = []

    def replace(src: Any, dst: Any) -> None:
        if len(calls) == kill_at:
            raise Killed
        calls.append(1)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    kill_at = -1
    save_classifier(tmp_path / "count", model_b, tokenizer, meta)
    steps = len(calls)
    assert steps >= len(MODEL_FILES) + 1  # each file moved in, then the manifest
    outcomes = []
    for step in range(steps):
        folder = tmp_path / f"kill-{step}"
        kill_at = -1
        save_classifier(folder, model_a, tokenizer, meta)
        calls.clear()
        kill_at = step
        with pytest.raises(Killed):
            save_classifier(folder, model_b, tokenizer, meta)
        try:
            loaded = classifier_weight(load_classifier(folder)[0])
        except ModelError as err:
            assert "interrupted" in str(err)
            outcomes.append("refused")
            continue
        outcomes.append(next(k for k, w in weights.items() if w == loaded))
    assert "refused" in outcomes
    kill_at = -1
    save_classifier(tmp_path / "kill-0", model_b, tokenizer, meta)  # saving again repairs it
    assert classifier_weight(load_classifier(tmp_path / "kill-0")[0]) == weights["B"]


# Saves A and B alternately into one folder, forever: the files of each (without manifest)
# go to a staging folder, then install() moves them in, as save_classifier does.
SAVER = """
import shutil, sys, tempfile
from pathlib import Path
from nerkit.modeling.manifest import MANIFEST_FILE, install
a, b, target = map(Path, sys.argv[1:4])
target.mkdir()
for i in range(1_000_000):
    staging = Path(tempfile.mkdtemp(prefix=".saving-", dir=target))
    for f in (a if i % 2 else b).iterdir():
        if f.name != MANIFEST_FILE:
            shutil.copy(f, staging / f.name)
    install(staging, target)
    shutil.rmtree(staging)
    (target.parent / "saved").write_text(str(i))
"""


def test_kill_9_while_saving_leaves_a_model_or_a_refusal(
    tmp_path: Path, two_models: tuple[Any, Any]
) -> None:
    """A real SIGKILL at random moments of back-to-back saves: the folder loads as one of the
    two models, whole, or is refused as interrupted."""
    (model_a, tokenizer, _, meta), (model_b, *_) = two_models
    weights = [classifier_weight(model_a), classifier_weight(model_b)]
    save_classifier(tmp_path / "a", model_a, tokenizer, meta)
    save_classifier(tmp_path / "b", model_b, tokenizer, meta)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    rng = random.Random(24)
    outcomes = []
    for round_ in range(6):
        folder = tmp_path / f"round-{round_}" / "model"
        folder.parent.mkdir()
        saver = subprocess.Popen(
            [sys.executable, "-c", SAVER, str(tmp_path / "a"), str(tmp_path / "b"), str(folder)],
            env=env,
        )
        deadline = time.monotonic() + 60
        while not (folder.parent / "saved").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.3))
        os.kill(saver.pid, signal.SIGKILL)
        assert saver.wait() == -signal.SIGKILL
        try:
            loaded = classifier_weight(load_classifier(folder)[0])
        except ModelError as err:
            assert "interrupted" in str(err)
            outcomes.append("refused")
            continue
        assert loaded in weights
        outcomes.append("whole")
    assert outcomes  # which outcomes occur depends on timing; each one is acceptable
