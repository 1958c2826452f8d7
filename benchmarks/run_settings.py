"""The settings a finished nerkit run was trained with, read from its ``training_args.json``.

Standard library only. A run folder records every setting that existed when it was made; a
setting added to nerkit since then is absent from it, and the run was trained with that option
off, not with today's default. The benchmarks compare old runs with new ones, so they read
every run through :func:`recorded_settings`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# Settings added after the first runs, each with the value that a run whose
# training_args.json does not record it was trained with (the option did not exist yet: off).
SETTINGS_BEFORE: dict[str, Any] = {
    "augment_mentions": 0.0,
    "rdrop": 0.0,
    "ema_decay": 0.0,
    "crf": False,
    "layer_lr_decay": 1.0,
    "layer_mix": False,
    "context": 0,
    "context_dropout": 0.0,
}


def recorded_settings(folder: str | Path) -> dict[str, Any]:
    """The nerkit settings of the run in ``folder``, with :data:`SETTINGS_BEFORE` for those it
    does not record.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = (Path(tmp) / "training_args.json").write_text('{"nerkit": {"seed": 42}}')
    ...     settings = recorded_settings(tmp)
    >>> settings["seed"], settings["context"], settings["crf"]
    (42, 0, False)
    """
    args = json.loads((Path(folder) / "training_args.json").read_text(encoding="utf-8"))
    return {**SETTINGS_BEFORE, **args["nerkit"]}
