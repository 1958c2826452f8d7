"""Tag a corpus on Ray Data: the model runs in one actor per worker, loaded once.

:func:`tag_dataset` adds an ``entities`` column to any Ray ``Dataset`` of texts;
:func:`tag_files` tags files of documents into sharded outputs that a rerun completes (``nerkit
predict --engine ray``). Both give the entities that ``nerkit predict`` gives for the same texts
(text, label, start, end, score): the actors run the same :class:`~nerkit.tagging.tagger.Tagger`,
on whatever runtime the model folder has (PyTorch, ONNX, OpenVINO).

Ray is an optional dependency (``pip install nerkit[ray]``); nothing here imports it until a
function is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["tag_dataset", "tag_files"]

if TYPE_CHECKING:  # pragma: no cover
    from nerkit.ray.dataset import tag_dataset
    from nerkit.ray.shards import tag_files


def __getattr__(name: str) -> Any:
    if name == "tag_dataset":
        from nerkit.ray.dataset import tag_dataset

        return tag_dataset
    if name == "tag_files":
        from nerkit.ray.shards import tag_files

        return tag_files
    raise AttributeError(f"module 'nerkit.ray' has no attribute {name!r}")
