"""Output files: checked before any work starts, then written whole or not at all.

A command that writes a file checks its path here first, by creating the temporary file it will
write (``NAME.tmp`` beside the target) and removing it again: a missing folder, a folder where
the file should be, a read-only place or ``/proc`` are refused in one line before a model loads
or an input is read, instead of after all the work. The output itself is written to that
temporary name and renamed over the target at the end, so a crash or an error never leaves half
a file under the real name. The temporary name is fixed, so a ``.tmp`` left by a killed run is
simply overwritten by the next run; on any error the temporary file is removed.

This module imports only the standard library and :mod:`nerkit.errors`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from nerkit.errors import OutputError

__all__ = [
    "atomic_open", "atomic_output", "check_output", "check_output_dir", "check_writable",
    "temp_path", "write_bytes", "write_text",
]


def temp_path(path: str | os.PathLike[str]) -> Path:
    """Where the output for ``path`` is written before it is renamed into place.

    >>> temp_path("out/results.jsonl").as_posix()
    'out/results.jsonl.tmp'
    """
    p = Path(path)
    return p.with_name(p.name + ".tmp")


def check_output(
    path: str | os.PathLike[str], *, inputs: Iterable[str | os.PathLike[str] | None] = ()
) -> Path:
    """Refuse an output path that cannot be written, before the work that would fill it.

    ``inputs`` are files the same command reads: writing over one of them would lose it, so that
    is refused too. Raises :class:`OutputError` with the path and the fix.
    """
    p = Path(path)
    for source in inputs:
        if source is not None and Path(source).exists() and p.exists():
            if os.path.samefile(source, p):
                raise OutputError(f"{p}: is also the input; write the output to another file")
    if p.is_dir():
        raise OutputError(
            f"{p}: cannot write: it is a folder; name a file to write (inside it or elsewhere)"
        )
    parent = p.parent
    if not parent.exists():
        raise OutputError(
            f"{p}: cannot write: the folder {parent} does not exist; create it first "
            f"(mkdir -p {parent}) or write elsewhere"
        )
    if not parent.is_dir():
        raise OutputError(
            f"{p}: cannot write: {parent} is a file, not a folder; choose another output path"
        )
    tmp = temp_path(p)
    try:
        with tmp.open("wb"):
            pass
        tmp.unlink()
    except OSError as err:
        raise OutputError(
            f"{p}: cannot create a file in {parent} ({err.strerror or err}); choose a writable "
            "output path"
        ) from None
    return p


@contextlib.contextmanager
def atomic_open(
    path: str | os.PathLike[str], mode: str = "w", encoding: str | None = "utf-8"
) -> Iterator[IO[Any]]:
    """A file to write (text, or binary with ``mode="wb"``); it replaces ``path`` only when the
    block ends without an error, and on any error the temporary file is removed.

    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_open(target) as f:
    ...     _ = f.write("hola\\n")
    >>> target.read_text(), temp_path(target).exists()
    ('hola\\n', False)
    """
    p = check_output(path)
    tmp = temp_path(p)
    try:
        f = tmp.open(mode, encoding=None if "b" in mode else encoding)
    except OSError as err:
        raise OutputError(f"{p}: cannot write it ({err.strerror or err})") from None
    try:
        with f:
            yield f
        try:
            os.replace(tmp, p)
        except OSError as err:
            raise OutputError(f"{p}: cannot write it ({err.strerror or err})") from None
    finally:
        tmp.unlink(missing_ok=True)


def atomic_output(path: str | os.PathLike[str], encoding: str = "utf-8") -> Any:
    """:func:`atomic_open` for text."""
    return atomic_open(path, "w", encoding)


def check_writable(path: str | os.PathLike[str]) -> Path:
    """:func:`check_output` for a file that is not also an input."""
    return check_output(path)


def check_output_dir(folder: str | os.PathLike[str]) -> Path:
    """Create ``folder`` (and its parents) if needed and check that files can be written in it."""
    p = Path(folder)
    if p.exists() and not p.is_dir():
        raise OutputError(f"{p}: cannot write: it is a file, not a folder; choose another path")
    try:
        p.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=p, prefix=".nerkit-write-test-"):
            pass
    except OSError as err:
        raise OutputError(
            f"{p}: cannot create the folder or write in it ({err.strerror or err}); choose "
            "another path"
        ) from None
    return p


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_open(path) as f:
        f.write(text)


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path, "wb") as f:
        f.write(data)
