"""Errors that nerkit shows to users.

Every message says what was found, where (``path:line`` or character offsets) and what to do.
The CLI catches :class:`NerkitError`, prints its one-line message and exits with status 2, so a
user never sees a traceback for bad input. This module imports nothing from nerkit.
"""

from __future__ import annotations


class NerkitError(ValueError):
    """Base class: a problem with the user's input, files or settings (never a nerkit bug)."""


class DataFormatError(NerkitError):
    """A column file that cannot be read as it is (wrong column count, empty, bad tag...)."""

    def __init__(self, path: object, line: int | None, problem: str, fix: str = "") -> None:
        where = f"{path}:{line}" if line is not None else f"{path}"
        message = f"{where}: {problem}"
        if fix:
            message += f"; {fix}"
        super().__init__(message)
        self.path = path
        self.line = line


class SchemeError(NerkitError):
    """A tag that the chosen tagging scheme does not allow, or a scheme that cannot be detected."""


class LabelError(NerkitError):
    """A label unknown to the model, or label sets that do not agree."""


class ModelError(NerkitError):
    """A model folder that is missing, incomplete, or has no token-classification head."""


class CorpusNotFoundError(NerkitError):
    """A named corpus that is neither on disk nor downloadable."""


class ConfigError(NerkitError):
    """A training or serving setting that is out of range or inconsistent."""


class OutputError(NerkitError):
    """An output path that cannot be written (missing folder, a file in the way, no permission)."""
