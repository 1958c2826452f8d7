"""Output files: checked before the work, written atomically, errors as one line.

A command that writes a file checks the path first (:func:`check_writable`), so that a typo in
``--output`` costs nothing instead of a finished run; then writes through :func:`atomic_open`,
which writes a temporary file next to the target and renames it, so a crash or a full disk
never leaves half a file under the final name. Every failure is an
:class:`~nerkit.errors.OutputError` naming the path the user gave (not the temporary one).

This module imports only the standard library and :mod:`nerkit.errors`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from nerkit.errors import OutputError


def _reason(err: OSError) -> str:
    return err.strerror or type(err).__name__


def check_writable(path: str | os.PathLike[str]) -> Path:
    """Raise :class:`OutputError` unless a file can be written at ``path``.

    The folder must exist (nothing is created for a file output) and accept a new file; an
    existing folder at ``path`` itself is refused.

    >>> check_writable("/nonexistent-folder/out.conll")
    Traceback (most recent call last):
    ...
    nerkit.errors.OutputError: /nonexistent-folder/out.conll: cannot write: the folder /nonexistent-folder does not exist; create it or choose another path
    """  # noqa: E501
    p = Path(path)
    folder = p.parent
    if p.is_dir():
        raise OutputError(f"{p}: cannot write: it is a folder; name a file")
    if not folder.exists():
        raise OutputError(
            f"{p}: cannot write: the folder {folder} does not exist; create it or choose "
            "another path"
        )
    if not folder.is_dir():
        raise OutputError(f"{p}: cannot write: {folder} is not a folder; choose another path")
    _probe(folder, p)
    return p


def check_output_dir(folder: str | os.PathLike[str]) -> Path:
    """Create ``folder`` (and its parents) if needed and check that files can be written in it."""
    p = Path(folder)
    if p.exists() and not p.is_dir():
        raise OutputError(f"{p}: cannot write: it is a file, not a folder; choose another path")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(
            f"{p}: cannot create the folder ({_reason(err)}); choose another path"
        ) from err
    _probe(p, p)
    return p


def _probe(folder: Path, shown: Path) -> None:
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".nerkit-write-test-"):
            pass
    except OSError as err:
        raise OutputError(
            f"{shown}: cannot write in {folder} ({_reason(err)}); choose another path"
        ) from err


@contextlib.contextmanager
def atomic_open(
    path: str | os.PathLike[str], mode: str = "w", encoding: str | None = "utf-8"
) -> Iterator[IO[Any]]:
    """Open a temporary file next to ``path``; rename it to ``path`` when the block ends well.

    On an exception inside the block the temporary file is removed and ``path`` is untouched.
    Opening, closing or renaming failures become :class:`OutputError` naming ``path``.
    """
    target = check_writable(path)  # names the cause: a missing folder, a file in the way...
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    binary = "b" in mode
    try:
        f = open(tmp, mode, encoding=None if binary else encoding)  # noqa: SIM115
    except OSError as err:
        raise OutputError(f"{target}: cannot write ({_reason(err)})") from err
    try:
        yield f
    except BaseException:
        f.close()
        _remove(tmp)
        raise
    try:
        f.close()
        os.replace(tmp, target)
    except OSError as err:
        _remove(tmp)
        raise OutputError(f"{target}: cannot write ({_reason(err)})") from err


def _remove(tmp: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(tmp)


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_open(path) as f:
        f.write(text)


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path, "wb") as f:
        f.write(data)
