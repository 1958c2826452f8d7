"""``nerkit push``: a trained model folder to a hub repository, with a card the hub can read.

Everything before the upload happens here and is checked: the options (a hub license id, hub
ids for the base model and datasets), the folder (complete and whole), the card
(:mod:`nerkit.training.model_card`, checked as the hub reads it), and a staging folder holding
exactly what is published: the model files of the folder's manifest, with the manifest redone
by :func:`nerkit.modeling.manifest.install` (so a download is checked like a local folder), and
the card as ``README.md``. Reports, predictions (they hold the evaluation data, which may not
be yours to publish), logs and checkpoints stay local, and so do this machine's paths: the
``encoder`` of the published ``nerkit.json`` is the hub id, or the folder's name only.

The upload itself is two :class:`huggingface_hub.HfApi` calls (``create_repo``, then
``upload_folder`` of the staging folder in one commit); the ``api`` argument takes any HfApi.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nerkit._version import __version__
from nerkit.errors import ConfigError, ModelError
from nerkit.modeling.folder import META_FILE, ModelMeta, check_model_folder
from nerkit.modeling.folder_check import read_json
from nerkit.modeling.hub import model_files, parse_hub_id
from nerkit.modeling.manifest import MANIFEST_FILE, install
from nerkit.training.model_card import (
    CardOptions,
    build_model_card,
    check_model_card,
    check_options,
)

__all__ = ["Pushed", "push", "staged_model"]

# remote files a new push replaces even when it has none of that name (stale weight shards of a
# previous, bigger model must not mix with the new weights)
_REPLACED = ["*.safetensors", "*.safetensors.index.json", "pytorch_model*.bin", "model.onnx",
             "model.xml", "model.bin"]
# files of a training folder that are never published
_LOCAL_ONLY = ("README.md", "eval_results.json", "training_args.json", "layer_probe.json")


@dataclass(frozen=True)
class Pushed:
    """What a push published (or, with ``dry_run``, would publish)."""

    repo_id: str
    files: list[str]  # the files of the commit, README.md included
    card: str  # the README.md text
    commit_url: str | None = None  # None for a dry run
    notes: list[str] = field(default_factory=list)  # what the card leaves out, and why


def push(
    folder: str | os.PathLike[str],
    options: CardOptions,
    *,
    private: bool = False,
    message: str | None = None,
    dry_run: bool = False,
    api: Any = None,
) -> Pushed:
    """Publish the trained model in ``folder`` to the hub repository ``options.repo_id``.

    The repository is created if needed (``private`` then applies). ``dry_run`` does every step
    but the upload. ``api``: the :class:`huggingface_hub.HfApi` to call (default: one with the
    user's token).
    """
    repo_id = _check_repo_id(options.repo_id)
    check_options(options)
    source = Path(folder)
    check_model_folder(source)
    card = build_model_card(source, options)
    check_model_card(card, publishing=True)
    notes = _notes(card.data, options)
    with staged_model(source, card) as staging:
        files = sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*")
                       if p.is_file())
        if dry_run:
            return Pushed(repo_id, files, str(card), None, notes)
        url = _upload(api, repo_id, staging, private, message or f"nerkit {__version__}: "
                      f"model {source.resolve().name} and its card")
    return Pushed(repo_id, files, str(card), url, notes)


def _check_repo_id(repo_id: str | None) -> str:
    parsed = parse_hub_id(repo_id) if repo_id else None
    if parsed is None or parsed[1] is not None:
        raise ConfigError(
            f"--repo {repo_id!r} is not a hub repository id; give ORG/NAME (your user name or an "
            "organization, then the model's name), e.g. --repo my-org/bert-ner-es"
        )
    return parsed[0]


def _notes(data: Any, options: CardOptions) -> list[str]:
    notes = []
    if not data.base_model:
        notes.append("no base_model in the card: the encoder was a local folder; pass "
                     "--base-model ORG/NAME (its hub id) to name it")
    if not data.eval_results:
        notes.append("no model-index in the card: the data were local files; pass --dataset "
                     "ORG/NAME if the test file is that hub dataset's test split")
    return notes


@contextmanager
def staged_model(source: Path, card: Any) -> Iterator[Path]:
    """A temporary folder with exactly what is published: model files, manifest, card."""
    with tempfile.TemporaryDirectory(prefix="nerkit-push-") as tmp:
        files, staging = Path(tmp) / "files", Path(tmp) / "upload"
        files.mkdir()
        staging.mkdir()
        for name in _published_files(source):
            target = files / name
            target.parent.mkdir(parents=True, exist_ok=True)
            _link_or_copy(source / name, target)
        if (files / META_FILE).is_file():
            meta = ModelMeta.read(files)
            meta.encoder = card.data.base_model or Path(meta.encoder).name
            (files / META_FILE).unlink()  # a link to the source's file: never written through
            meta.write(files)
        install(files, staging)  # the files move in and a new manifest lists them
        (staging / "README.md").write_text(str(card), encoding="utf-8")
        check_model_folder(staging)
        yield staging


def _published_files(source: Path) -> list[str]:
    """The model files: those the folder's manifest lists, or for a folder saved without one,
    every top-level file that is not a report, a log or another framework's weights."""
    if (source / MANIFEST_FILE).is_file():
        return sorted(read_json(source / MANIFEST_FILE, MANIFEST_FILE)["files"])
    names = [p.name for p in source.iterdir() if p.is_file() and not p.name.startswith(".")]
    return [n for n in model_files(names) if n not in _LOCAL_ONLY
            and not n.endswith(("_predictions.txt", "_results.json"))]


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)  # same file system: no copy of the weights
    except OSError:
        shutil.copy2(source, target)


def _upload(api: Any, repo_id: str, staging: Path, private: bool, message: str) -> str:
    """Create the repository if needed and upload the staging folder in one commit."""
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi()
    try:
        api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        commit = api.upload_folder(
            repo_id=repo_id, folder_path=staging, repo_type="model", commit_message=message,
            delete_patterns=_REPLACED,
        )
    except Exception as err:
        error = _push_error(repo_id, err)
        if error is None:
            raise
        raise error from err
    return str(getattr(commit, "commit_url", None) or f"https://huggingface.co/{repo_id}")


def _push_error(repo_id: str, err: Exception) -> ModelError | None:
    """One line for a failed hub call; None for an error that is not the hub's or the net's."""
    from huggingface_hub.errors import HfHubHTTPError

    from nerkit.modeling.hub import first_line, unreachable_errors

    if isinstance(err, unreachable_errors()):
        return ModelError(f"{repo_id}: cannot reach the hub ({first_line(err)}); nothing was "
                          "uploaded; try again with network access")
    if isinstance(err, HfHubHTTPError):
        status = getattr(err.response, "status_code", None)
        if status == 401:
            return ModelError(f"{repo_id}: not logged in to the hub; run `hf auth login` or set "
                              "HF_TOKEN to a token with write access")
        if status == 403:
            return ModelError(f"{repo_id}: your token may not write to {repo_id.split('/')[0]}; "
                              "use a token with write access to that user or organization")
        return ModelError(f"{repo_id}: the hub refused the upload ({first_line(err)})")
    return None
