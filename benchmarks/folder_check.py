"""What the model-folder checks cost next to loading, on a real-size folder.

Builds (once, in ``--folder``) a token classifier on the given encoder, saved by
:func:`nerkit.modeling.folder.save_classifier` (so it has the manifest), then times, ``--reps``
times each, in alternation:

- ``check``: :func:`~nerkit.modeling.folder.check_model_folder` (manifest sizes, sha256 of the
  files up to ``HASH_LIMIT``, safetensors header, config, tokenizer files);
- ``sha256-all``: hashing every file the manifest lists, weights included (what a check that
  hashed everything would cost, for comparison);
- ``load``: :func:`~nerkit.modeling.folder.load_classifier` (the check included).

Prints the medians in seconds and the command that reproduces them. File reads are served from
the page cache after the first repetition, as they are for a model loaded again and again.

Example::

    python benchmarks/folder_check.py --encoder "$(../shared/models/build-e5-small | tail -1)"
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def build(encoder: str, folder: Path) -> None:
    from nerkit.conll.labels import LabelSet
    from nerkit.modeling.folder import ModelMeta, new_classifier, save_classifier

    labels = LabelSet.from_types(["LOC", "MISC", "ORG", "PER"])
    model, tokenizer = new_classifier(encoder, labels)
    started = time.perf_counter()
    save_classifier(folder, model, tokenizer, ModelMeta(encoder=encoder))
    print(f"save (with manifest): {time.perf_counter() - started:.2f} s, one run")


def hash_all(folder: Path) -> None:
    import json

    from nerkit.modeling.manifest import MANIFEST_FILE, sha256

    for name in json.loads((folder / MANIFEST_FILE).read_text())["files"]:
        sha256(folder / name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", required=True, help="encoder folder or hub id")
    parser.add_argument("--folder", help="where to save the classifier (default: a temp folder)")
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()

    from nerkit.modeling.folder import check_model_folder, load_classifier

    folder = Path(args.folder or tempfile.mkdtemp(prefix="nerkit-folder-check-"))
    if not (folder / "config.json").exists():
        build(args.encoder, folder)
    size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    variants: dict[str, Callable[[], object]] = {
        "check": lambda: check_model_folder(folder),
        "sha256-all": lambda: hash_all(folder),
        "load": lambda: load_classifier(folder),
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.reps):
        for name, run in variants.items():
            started = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - started)
    print(f"folder {folder}: {size / 1e6:.0f} MB, {args.reps} repetitions, medians:")
    for name, values in times.items():
        print(f"  {name:<11} {statistics.median(values):.3f} s")
    print("command: python " + shlex.join([sys.argv[0], *sys.argv[1:]]))


if __name__ == "__main__":
    main()
