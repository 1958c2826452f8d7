"""A saved model's list of files (size and sha256), written last, so a partial folder shows.

nerkit saves a model into a staging folder inside the target, then moves the files into place.
Moving several files is not one atomic step, so :func:`install` brackets it: a marker file
(``.nerkit-saving``) goes into the target first, then the model files, then the manifest
(``nerkit-manifest.json``), and the marker is removed last. A process killed at any moment
leaves either the marker (the folder may mix two models: refused) or a complete folder whose
manifest matches its files. The manifest also catches what happens to a folder later: a file
deleted, truncated by an interrupted copy, or replaced. Sizes are checked at every load; the
sha256 of each file up to :data:`HASH_LIMIT` too. Larger files (the weights) are checked for
size and, by :mod:`nerkit.modeling.folder_check`, for a whole safetensors layout, which hashing
half a gigabyte at every load would add little to.

Files the manifest does not list (reports, logs, checkpoints) are not the model's and are left
alone. A folder without manifest (saved by plain transformers or an older nerkit) loads as before.

This module imports only the standard library and :mod:`nerkit.errors`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path, PurePosixPath
from typing import Any

from nerkit.errors import ModelError

__all__ = [
    "HASH_LIMIT",
    "MANIFEST_FILE",
    "SAVING_MARKER",
    "check_manifest",
    "install",
    "remove_stale_staging",
]

MANIFEST_FILE = "nerkit-manifest.json"
SAVING_MARKER = ".nerkit-saving"
STAGING_PREFIX = ".saving-"
HASH_LIMIT = 32 << 20
_FORMAT = 1


def sha256(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _files(staging: Path) -> list[str]:
    return sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file())


def remove_stale_staging(target: Path) -> None:
    """Remove staging folders left in ``target`` by saves that were killed."""
    for stale in target.glob(STAGING_PREFIX + "*"):
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)


def install(staging: Path, target: Path) -> None:
    """Move every file of ``staging`` into ``target`` so that a torn move is detectable.

    Model files of the previous save that the new one lacks (a ``pytorch_model.bin`` beside new
    safetensors, shards of a bigger model) are removed, so the folder holds one model.
    """
    names = _files(staging)
    manifest = {
        "format": _FORMAT,
        "files": {n: {"size": (staging / n).stat().st_size, "sha256": sha256(staging / n)}
                  for n in names},
    }
    previous = _listed(target)
    marker = target / SAVING_MARKER
    marker.write_text("a nerkit save into this folder started and has not finished\n", "utf-8")
    for name in previous - set(names):
        (target / name).unlink(missing_ok=True)
    (target / MANIFEST_FILE).unlink(missing_ok=True)
    for item in staging.iterdir():
        os.replace(item, target / item.name)
    tmp = target / (MANIFEST_FILE + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, target / MANIFEST_FILE)
    marker.unlink()


def _listed(folder: Path) -> set[str]:
    """Files the folder's manifest lists (none without a readable one)."""
    try:
        files = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return set()
    return {name for name in files if _inside(name)}


def _inside(name: object) -> bool:
    """Is ``name`` a plain relative path (a manifest must not reach outside its folder)?"""
    if not isinstance(name, str) or not name:
        return False
    path = PurePosixPath(name)
    return not path.is_absolute() and ".." not in path.parts and "\\" not in name


def check_manifest(folder: Path) -> bool:
    """Refuse a folder whose save was interrupted or whose files differ from its manifest.

    Returns whether the folder has a manifest (``False``: a folder saved by another tool).
    """
    if (folder / SAVING_MARKER).exists():
        raise ModelError(
            f"{folder}: a save into this folder was interrupted ({SAVING_MARKER} is still "
            "there), so its files may mix two models; save or train into it again (if you know "
            f"the files are whole, delete {SAVING_MARKER})"
        )
    path = folder / MANIFEST_FILE
    if not path.exists():
        return False
    files = _read_manifest(path)
    fix = (
        f"copy the folder again from where it came from (or, if you changed it on purpose, "
        f"delete {MANIFEST_FILE})"
    )
    for name, entry in files.items():
        file = folder / name
        if not file.is_file():
            raise ModelError(f"{folder}: {name} is missing (the manifest lists it); {fix}")
        size = file.stat().st_size
        if size != entry["size"]:
            raise ModelError(
                f"{file}: {size:,} bytes where nerkit saved {entry['size']:,}: truncated or "
                f"replaced; {fix}"
            )
        if size <= HASH_LIMIT and sha256(file) != entry["sha256"]:
            raise ModelError(f"{file}: its content differs from what nerkit saved; {fix}")
    return True


def _read_manifest(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        files = data["files"]
        ok = isinstance(files, dict) and all(
            _inside(name) and isinstance(e, dict) and isinstance(e.get("size"), int)
            and isinstance(e.get("sha256"), str)
            for name, e in files.items()
        )
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ModelError(
            f"{path}: unreadable manifest ({err}); copy the folder again, or delete the manifest "
            "to load the folder without checking its files"
        ) from None
    if not ok:
        raise ModelError(
            f"{path}: not a nerkit manifest; copy the folder again, or delete it to load the "
            "folder without checking its files"
        )
    return files
