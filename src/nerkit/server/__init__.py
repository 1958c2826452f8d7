"""HTTP serving for a trained model: a JSON API, a one-page web app, and the CLI commands.

``nerkit serve`` and ``nerkit render`` are registered from :mod:`nerkit.cli.serve`, which
imports nothing heavy; FastAPI and the model load only when a server is actually built. That is
why this package does not import :mod:`nerkit.server.app` eagerly: ``create_app`` is resolved
on first use, so ``nerkit --help`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["create_app"]

if TYPE_CHECKING:  # pragma: no cover
    from nerkit.server.app import create_app


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from nerkit.server.app import create_app

        return create_app
    raise AttributeError(f"module 'nerkit.server' has no attribute {name!r}")
