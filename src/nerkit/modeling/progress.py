"""Progress bars on stderr for the long steps, and the one switch that turns them off.

The steps that can take more than a few seconds (the layer probe, the training loop, scoring dev
and test, ``evaluate``, tagging a CoNLL file, ``render``, an export's check) show a tqdm bar on
stderr, so that stdout carries only results (``--json``, predictions piped on to another
program). :func:`set_enabled` turns every nerkit bar off (``nerkit --quiet`` calls it); so does
``TQDM_DISABLE=1`` in the environment, which tqdm's own bars obey as well.

Tagging reports through :func:`tagging_progress`: the predictor calls :func:`words_expected` as
each of its calls starts and :func:`words_tagged` after each batch, so one bar counts the words
of every prediction made inside the ``with`` block, and knows its total as soon as the
predictor does, without a second pass over the data. The bar sits in a module-level slot, not a
context variable, so that a worker thread (``Tagger.tag_many`` tags on one) reports to it too:
one tagging bar at a time per process, an inner one taking over until it closes. With no bar
open, both calls cost one attribute lookup, so the server and library calls pay nothing.

Standard library only at import time (tqdm is imported when a bar opens), so that
``nerkit --help`` stays light.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_state = {"enabled": True}
_lock = threading.Lock()
_current: list[Any] = []  # the open tagging bars, innermost last


def set_enabled(enabled: bool) -> None:
    """Show (True, the default) or hide (False) every nerkit progress bar in this process."""
    _state["enabled"] = bool(enabled)


def enabled() -> bool:
    """Whether bars are shown: :func:`set_enabled` and the ``TQDM_DISABLE`` variable agree.

    >>> set_enabled(False); enabled()
    False
    >>> set_enabled(True)
    """
    quiet_env = os.environ.get("TQDM_DISABLE", "").strip().lower() not in ("", "0", "false")
    return _state["enabled"] and not quiet_env


def progress_bar(
    total: float | None = None,
    desc: str | None = None,
    unit: str = "it",
    leave: bool = False,
    delay: float = 0.0,
) -> Any:
    """A tqdm bar on stderr, hidden when :func:`enabled` is false.

    ``leave=False`` (the default) clears the bar when it closes: the step then reports its
    outcome as a log line or a result, not as a frozen bar. ``delay``: seconds before the bar
    appears, so that a step that ends sooner shows nothing.
    """
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, leave=leave, file=sys.stderr,
                disable=not enabled(), dynamic_ncols=True, delay=delay)


@contextmanager
def tagging_progress(desc: str = "tagging") -> Iterator[Any]:
    """A bar, in words, for the predictions made inside the block (see the module's text)."""
    bar = progress_bar(total=0, desc=desc, unit="word", delay=1.0)
    with _lock:
        _current.append(bar)
    try:
        yield bar
    finally:
        with _lock:
            _current.remove(bar)
        bar.close()


def words_expected(count: int) -> None:
    """A prediction of ``count`` words starts: the open tagging bar's total grows by them."""
    bar = _open_bar()
    if bar is not None and count:
        bar.total += count
        bar.refresh()


def words_tagged(count: int) -> None:
    """``count`` more words have their scores: the open tagging bar advances."""
    bar = _open_bar()
    if bar is not None and count:
        bar.update(count)


def _open_bar() -> Any:
    """The innermost open tagging bar, or None (read without the lock: a bar closing on
    another thread at that moment only loses one update)."""
    try:
        return _current[-1]
    except IndexError:
        return None
