"""``nerkit push``: everything up to the hub's upload call is real; the call itself is recorded.

The boundary is :class:`huggingface_hub.HfApi`: a subclass whose ``create_repo`` and
``upload_folder`` record their arguments (and copy the staged folder) instead of sending them.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from huggingface_hub import CommitInfo, HfApi

from nerkit.cli import main
from nerkit.errors import ConfigError, ModelError
from nerkit.training.model_card import CardOptions
from nerkit.training.publish import push

MODEL_FILES = {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
               "nerkit.json", "nerkit-manifest.json", "README.md"}


class RecordingApi(HfApi):
    """A real HfApi whose two network calls record instead of sending."""

    def __init__(self, keep: Path, fail_with: Exception | None = None) -> None:
        super().__init__(endpoint="http://127.0.0.1:9", token=False)
        self.keep = keep
        self.fail_with = fail_with
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def create_repo(self, repo_id: str, **kwargs: Any) -> Any:  # type: ignore[override]
        self.calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))
        if self.fail_with is not None:
            raise self.fail_with
        return None

    def upload_folder(self, **kwargs: Any) -> Any:  # type: ignore[override]
        self.calls.append(("upload_folder", kwargs))
        shutil.copytree(kwargs["folder_path"], self.keep)  # the staging folder is temporary
        return CommitInfo(
            commit_url=f"https://huggingface.co/{kwargs['repo_id']}/commit/abc123",
            commit_message=kwargs["commit_message"], commit_description="", oid="abc123",
        )


def tree_hashes(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_push_stages_the_model_and_its_card(tiny_model: Path, tmp_path: Path) -> None:
    from nerkit.modeling.folder import check_model_folder
    from nerkit.tagging.tagger import Tagger

    before = tree_hashes(tiny_model)
    api = RecordingApi(tmp_path / "uploaded")
    options = CardOptions(repo_id="my-org/tiny-ner", license="apache-2.0",
                          base_model="my-org/tiny-encoder")
    pushed = push(tiny_model, options, api=api, private=True)

    (create, kwargs), (upload, sent) = api.calls
    assert create == "create_repo"
    assert kwargs == {"repo_id": "my-org/tiny-ner", "private": True, "exist_ok": True,
                      "repo_type": "model"}
    assert upload == "upload_folder"
    assert sent["repo_id"] == "my-org/tiny-ner" and sent["repo_type"] == "model"
    assert "*.safetensors" in sent["delete_patterns"], "stale weight shards are replaced"
    assert sent["commit_message"].startswith("nerkit ")
    assert pushed.commit_url == "https://huggingface.co/my-org/tiny-ner/commit/abc123"

    uploaded = tmp_path / "uploaded"
    assert set(pushed.files) == MODEL_FILES == {p.name for p in uploaded.iterdir()}
    # what was sent is a whole model folder: its new manifest matches, and it tags
    check_model_folder(uploaded)
    assert Tagger.load(uploaded)("Ana viajó a Sevilla.") == Tagger.load(tiny_model)(
        "Ana viajó a Sevilla.")
    meta = json.loads((uploaded / "nerkit.json").read_text())
    assert meta["encoder"] == "my-org/tiny-encoder", "no path of this machine is published"
    card = (uploaded / "README.md").read_text()
    data = yaml.safe_load(card.split("\n---\n", 1)[0].removeprefix("---\n"))
    assert data["license"] == "apache-2.0" and data["base_model"] == "my-org/tiny-encoder"
    assert data["language"] == "es"
    assert 'Tagger.load("my-org/tiny-ner")' in card
    assert tree_hashes(tiny_model) == before, "the local folder is left as it was"
    assert any("--dataset" in note for note in pushed.notes)


def test_a_dry_run_sends_nothing(tiny_model: Path, tmp_path: Path, capsys: Any) -> None:
    code = main(["push", "--model", str(tiny_model), "--repo", "my-org/tiny-ner",
                 "--license", "mit", "--dry-run"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.startswith("---\n") and "license: mit" in out
    assert "dry run: would upload 7 files to my-org/tiny-ner" in err
    assert "no base_model in the card: the encoder was a local folder" in err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--repo", "tiny-ner"], "--repo 'tiny-ner' is not a hub repository id; give ORG/NAME"),
        (["--repo", "o/n", "--license", "Apache 2.0"],
         "license 'Apache 2.0' is not a hub license identifier"),
        (["--repo", "o/n", "--license", "other"], "license other needs --license-name"),
        (["--repo", "o/n", "--base-model", "/home/me/e5"],
         "--base-model '/home/me/e5' is not a hub id"),
        (["--repo", "o/n", "--dataset", "my data"], "--dataset 'my data' is not a hub id"),
    ],
)
def test_bad_options_are_one_line(
    tiny_model: Path, capsys: Any, flags: list[str], message: str
) -> None:
    argv = ["push", "--model", str(tiny_model), "--license", "mit", "--dry-run", *flags]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_an_incomplete_folder_is_not_pushed(tiny_model: Path, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    shutil.copytree(tiny_model, folder, ignore=shutil.ignore_patterns("runs"))
    (folder / "tokenizer.json").unlink()
    api = RecordingApi(tmp_path / "uploaded")
    with pytest.raises(ModelError, match="tokenizer.json is missing"):
        push(folder, CardOptions(repo_id="o/n", license="mit"), api=api)
    assert api.calls == []
    with pytest.raises(ConfigError, match="no license"):
        push(tiny_model, CardOptions(repo_id="o/n"), api=api)


def test_hub_refusals_are_one_line(tiny_model: Path, tmp_path: Path) -> None:
    from huggingface_hub.errors import HfHubHTTPError

    # the HTTP client huggingface_hub is built on (httpx2 from its 2.0, httpx before)
    httpx2 = importlib.import_module("httpx2" if importlib.util.find_spec("httpx2") else "httpx")

    url = "http://127.0.0.1:9/api/repos/create"
    for status, said in ((401, "not logged in to the hub; run `hf auth login`"),
                         (403, "your token may not write to o"),
                         (500, "the hub refused the upload")):
        response = httpx2.Response(status, request=httpx2.Request("POST", url))
        api = RecordingApi(tmp_path / f"u{status}", HfHubHTTPError("refused", response=response))
        with pytest.raises(ModelError, match=said) as err:
            push(tiny_model, CardOptions(repo_id="o/n", license="mit"), api=api)
        assert "\n" not in str(err.value)
    api = RecordingApi(tmp_path / "u", httpx2.ConnectError("Name or service not known"))
    with pytest.raises(ModelError, match="cannot reach the hub .*nothing was uploaded"):
        push(tiny_model, CardOptions(repo_id="o/n", license="mit"), api=api)
