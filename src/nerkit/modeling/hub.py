"""Hub ids wherever a model folder goes: ``ORG/NAME`` becomes a folder in the local hub cache.

:func:`resolve_model` is called by :func:`nerkit.runtimes.open_model`, so ``Tagger.load``,
``predict``, ``evaluate``, ``serve`` and ``export`` take ``dslim/bert-base-NER`` or
``ORG/NAME@REVISION`` as they take a folder. Downloading and caching are ``huggingface_hub``'s
(``snapshot_download``, the cache under ``HF_HUB_CACHE``): a model is fetched once, and later
loads only ask the hub which commit is current. Offline (``HF_HUB_OFFLINE=1``), or when the hub
cannot be reached, the snapshot already in the cache is used and the log says so, naming the
commit; an id that is not cached then is one :class:`~nerkit.errors.ModelError` line.

An existing local path always wins over a hub id of the same spelling, and nothing here is
imported until a name is not a local folder.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from nerkit.errors import ModelError

__all__ = [
    "cached_snapshot", "first_line", "hub_cache", "hub_id_of", "hub_offline", "model_files",
    "parse_hub_id", "resolve_model", "unreachable_errors",
]

logger = logging.getLogger("nerkit")

# ORG/NAME with an optional @REVISION (a branch, a tag or a commit); the parts are checked again
# by huggingface_hub's own validate_repo_id
_HUB_ID = re.compile(r"^(?P<repo>[A-Za-z0-9][\w.-]*/[\w.-]+)(?:@(?P<revision>[\w./-]+))?$")
# a folder inside a hub cache: .../models--ORG--NAME/snapshots/<commit>
_CACHED = re.compile(r"^models--(?P<org>[\w.-]+?)--(?P<name>[\w.-]+)$")
# weights of other frameworks that a PyTorch or exported model never reads
_OTHER_FRAMEWORKS = (".h5", ".msgpack", ".ot", ".ckpt", ".tflite", ".mlmodel", ".gguf")
_TRUE = {"1", "ON", "YES", "TRUE"}


def parse_hub_id(name: str | os.PathLike[str]) -> tuple[str, str | None] | None:
    """``(repo_id, revision)`` when ``name`` is spelled as a hub id, else None.

    A path that starts with ``.``, ``/`` or ``~`` or has more than one ``/`` is a path.

    >>> parse_hub_id("dslim/bert-base-NER"), parse_hub_id("org/name@v1.0")
    (('dslim/bert-base-NER', None), ('org/name', 'v1.0'))
    >>> parse_hub_id("./org/name"), parse_hub_id("models/org/name"), parse_hub_id("my-model")
    (None, None, None)
    """
    match = _HUB_ID.match(str(name))
    if match is None:
        return None
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(match["repo"])
    except HFValidationError:
        return None
    return match["repo"], match["revision"]


def hub_offline() -> bool:
    """Whether hub look-ups are off: ``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) is set.

    Read when called, not when ``huggingface_hub`` was imported, so that setting it in a running
    program (a notebook) is honoured too.
    """
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE")
    if value is not None:
        return value.strip().upper() in _TRUE
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def hub_cache() -> Path:
    """The hub cache folder: ``HF_HUB_CACHE``, else ``HF_HOME/hub``, else the library default."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def hub_id_of(name: str | os.PathLike[str]) -> str | None:
    """The hub id a model was loaded from, for a model card's ``base_model``; None if unknown.

    A hub id is itself; a folder inside a hub cache (``models--ORG--NAME/snapshots/<commit>``)
    names its repository; any other existing folder is a local model whose hub id nerkit cannot
    know (never guessed from the folder's name).

    >>> hub_id_of("intfloat/multilingual-e5-small")
    'intfloat/multilingual-e5-small'
    >>> hub_id_of("/cache/models--intfloat--multilingual-e5-small/snapshots/0a1b2c")
    'intfloat/multilingual-e5-small'
    >>> hub_id_of("/nonexistent/encoder") is None
    True
    """
    path = Path(name)
    parts = path.parts
    if len(parts) >= 3 and parts[-2] == "snapshots":
        cached = _CACHED.match(parts[-3])
        if cached:
            return f"{cached['org']}/{cached['name']}"
    if path.exists():
        return None
    parsed = parse_hub_id(name)
    return parsed[0] if parsed else None


def model_files(names: Iterable[str]) -> list[str]:
    """The files of a hub repository that loading it as a model needs.

    Top-level files only, without other frameworks' weights (TensorFlow, Flax, GGUF...) and
    without ``pytorch_model*.bin`` when safetensors weights are there: a repository that offers
    four formats of the same weights downloads one. ``model.onnx``, ``model.xml`` and
    ``model.bin`` (a ``nerkit export`` folder) stay.

    >>> model_files(["config.json", "pytorch_model.bin", "model.safetensors", "tf_model.h5",
    ...              "onnx/model.onnx", "vocab.txt"])
    ['config.json', 'model.safetensors', 'vocab.txt']
    """
    top = [n for n in names if len(PurePosixPath(n).parts) == 1]
    safetensors = any(n.endswith(".safetensors") or n.endswith(".safetensors.index.json")
                      for n in top)
    keep = []
    for name in top:
        if name.endswith(_OTHER_FRAMEWORKS):
            continue
        if safetensors and name.startswith("pytorch_model") and ".bin" in name:
            continue
        keep.append(name)
    return sorted(keep)


def resolve_model(name: str | os.PathLike[str], *, api: Any = None) -> Path:
    """A local folder for ``name``: the folder itself, or the cached snapshot of a hub id.

    A name that is neither an existing path nor spelled ``ORG/NAME[@REVISION]`` comes back
    unchanged, for the caller's "model folder not found". ``api`` is the
    :class:`huggingface_hub.HfApi` to ask (default: one with the user's token and endpoint).
    """
    path = Path(name)
    if path.exists():
        return path
    parsed = parse_hub_id(name)
    if parsed is None:
        return path
    repo_id, revision = parsed
    if hub_offline():
        return cached_snapshot(str(name), repo_id, revision, "HF_HUB_OFFLINE is set")
    from huggingface_hub import HfApi

    api = api or HfApi()
    try:
        info = api.model_info(repo_id, revision=revision)
    except unreachable_errors() as err:
        reason = f"the hub cannot be reached ({first_line(err)})"
        return cached_snapshot(str(name), repo_id, revision, reason)
    except Exception as err:  # the hub's HTTP errors, mapped to one line each
        error = _hub_error(str(name), repo_id, revision, err)
        if error is None:
            raise
        raise error from err
    return _download(str(name), repo_id, revision, info, api)


def _download(name: str, repo_id: str, revision: str | None, info: Any, api: Any) -> Path:
    from huggingface_hub import snapshot_download

    files = model_files(s.rfilename for s in info.siblings or [])
    if "config.json" not in files:
        raise ModelError(
            f"{name}: the hub repository has no config.json at its top level, so it is no "
            "Hugging Face model; give a token-classification model (e.g. dslim/bert-base-NER)"
        )
    try:
        folder = snapshot_download(
            repo_id, revision=revision, allow_patterns=files, cache_dir=hub_cache(),
            endpoint=api.endpoint, token=api.token,
        )
    except Exception as err:
        error = _hub_error(name, repo_id, revision, err)
        if error is None:
            raise
        raise error from err
    logger.info("%s: commit %s of the hub repository, files in %s", name, (info.sha or "?")[:12],
                folder)
    return Path(folder)


def cached_snapshot(name: str, repo_id: str, revision: str | None, reason: str) -> Path:
    """The cached snapshot of ``repo_id`` at ``revision`` (default ``main``), said in the log;
    one :class:`ModelError` line when the cache does not have it."""
    from huggingface_hub import try_to_load_from_cache

    cache = hub_cache()
    found = try_to_load_from_cache(repo_id, "config.json", cache_dir=cache, revision=revision)
    if not isinstance(found, str):
        at = f" at revision {revision}" if revision else ""
        raise ModelError(
            f"{name}: no local folder of that name, and {repo_id}{at} is not in the hub cache "
            f"{cache} while {reason}; download it once with network access "
            f"(`hf download {repo_id}`), point HF_HUB_CACHE at a cache that has it, or give a "
            "local model folder"
        )
    folder = Path(found).parent
    logger.warning("%s: %s; using the cached snapshot %s from %s (not checked for a newer "
                   "commit)", name, reason, folder.name[:12], cache)
    return folder


def unreachable_errors() -> tuple[type[BaseException], ...]:
    """The errors that mean "no network" (not "no such model"), as the hub client raises them."""
    from huggingface_hub.utils import OfflineModeIsEnabled

    kinds: list[type[BaseException]] = [OfflineModeIsEnabled]
    for module in ("httpx2", "httpx"):  # the HTTP client huggingface_hub is built on
        try:
            kinds.append(__import__(module).TransportError)
        except (ImportError, AttributeError):
            continue
    return tuple(kinds)


def _hub_error(
    name: str, repo_id: str, revision: str | None, err: Exception
) -> ModelError | None:
    """The one-line error for a failed hub call; None for an error that is not the hub's."""
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    if isinstance(err, GatedRepoError):
        return ModelError(f"{name}: {repo_id} is gated; accept its terms on the hub page and log "
                          "in (`hf auth login` or HF_TOKEN)")
    if isinstance(err, RepositoryNotFoundError):
        return ModelError(f"{name}: no local folder of that name, and no model {repo_id} on the "
                          "hub (or it is private: log in with `hf auth login` or set HF_TOKEN)")
    if isinstance(err, RevisionNotFoundError):
        return ModelError(f"{name}: {repo_id} has no revision {revision!r}; give a branch, tag "
                          "or commit of the repository")
    if isinstance(err, HfHubHTTPError | OSError):
        return ModelError(f"{name}: cannot download {repo_id} from the hub "
                          f"({first_line(err)}); try again, or give a local model folder")
    return None


def first_line(err: BaseException) -> str:
    """The first line of an error's message (the hub's errors run to several)."""
    return (str(err).strip().splitlines() or [type(err).__name__])[0]
