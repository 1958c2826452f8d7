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
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from nerkit.errors import OutputError

__all__ = ["atomic_output", "check_output", "temp_path"]


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
        raise OutputError(f"{p}: is a folder; name a file to write (inside it or elsewhere)")
    parent = p.parent
    if not parent.exists():
        raise OutputError(
            f"{p}: folder {parent} does not exist; create it first (mkdir -p {parent}) "
            "or write elsewhere"
        )
    if not parent.is_dir():
        raise OutputError(f"{p}: {parent} is a file, not a folder; choose another output path")
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
def atomic_output(path: str | os.PathLike[str], encoding: str = "utf-8") -> Iterator[IO[str]]:
    """A text file to write; it replaces ``path`` only when the block ends without an error.

    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_output(target) as f:
    ...     _ = f.write("hola\\n")
    >>> target.read_text(), temp_path(target).exists()
    ('hola\\n', False)
    """
    p = check_output(path)
    tmp = temp_path(p)
    try:
        f = tmp.open("w", encoding=encoding)
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
