"""nerkit: named-entity recognition with transformer encoders.

Light modules (schemes, metrics, corpus) import only the standard library; the heavy ones
(torch, transformers) load lazily, so ``nerkit score`` stays fast and ``from nerkit import
Tagger`` works as users expect.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nerkit._version import __version__

__all__ = ["Tagger", "Entity", "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from nerkit.tagging.tagger import Entity, Tagger


def __getattr__(name: str) -> Any:
    if name in ("Tagger", "Entity"):
        from nerkit.tagging import tagger

        return getattr(tagger, name)
    raise AttributeError(f"module 'nerkit' has no attribute {name!r}")
