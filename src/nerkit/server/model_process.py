"""Run the model in a process of its own, beside the HTTP server's event loop.

Python runs one thread at a time (the GIL), and a transformer's forward pass returns to Python
between its operations. In one process, an event loop busy with HTTP work (parsing requests,
answering 503s to clients over the queue limit) holds the GIL most of the time, and the model
thread waits for it at every step: under a burst of refused requests, model calls ran several
times slower than offline and the server collapsed into refusing ever more. In a process of its
own, the model keeps its own GIL and runs at ``Tagger.tag_many`` speed whatever the HTTP side
does; the two exchange only texts and encoded answers over a socket pair.

:class:`ModelProcess` is the server's side; ``python -m nerkit.server.model_process FD FOLDER
THREADS`` is the model's side (started by :meth:`ModelProcess.start`, never by hand): it loads
the folder with :meth:`Tagger.load`, answers each list of texts with one JSON array of entities
per text, and exits when the server closes the socket or dies. :class:`InlineModel` runs an
already loaded :class:`Tagger` in the server's process instead (``create_app(tagger)``).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from nerkit.errors import ModelError, NerkitError
from nerkit.server.memory import HeapTrimmer
from nerkit.tagging.tagger import Tagger

SCORE_KEYS = ("dev_f1", "test_f1", "best_dev_f1", "dev_per_type", "test_per_type")


class ModelCrashed(RuntimeError):
    """The model's process ended while the server needed it."""


def model_info(tagger: Tagger, folder: Path | None) -> dict[str, Any]:
    """What ``GET /v1/model`` shows: labels, settings and the scores saved at training."""
    from nerkit._version import __version__

    scores = None
    path = folder / "eval_results.json" if folder is not None else None
    if path is not None and path.is_file():
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ModelError(
                f"{path}:{err.lineno}: not valid JSON ({err.msg}); fix or delete the file"
            ) from err
        scores = {k: saved[k] for k in SCORE_KEYS if k in saved}
    meta = tagger.meta
    return {
        "name": folder.name if folder is not None else None,
        "labels": list(tagger.labels.labels),
        "types": list(tagger.labels.types),
        "encoder": meta.encoder,
        "max_length": meta.max_length,
        "decoding": tagger.predictor.decoder.method,  # --decoding may override the saved one
        "scheme": meta.scheme,
        "language": meta.language,
        "scores": scores,
        "nerkit_version": __version__,
    }


def batch_size_for(tagger: Tagger, n_texts: int) -> int:
    """Windows per forward pass for a call of ``n_texts`` texts.

    The server's calls are small (one per group of concurrent requests, often under 64
    sentences). Windows are sorted by length and each batch is padded to its longest; with few
    windows, a batch of 32 spans a wide range of lengths and carries much padding, where
    smaller batches pad little. So a call of ``n`` texts uses about ``n / 6`` windows per batch
    (at least 8, at most the tagger's own size); ``benchmarks/serve_load.py`` compares the
    server with offline ``tag_many``.
    """
    return min(tagger.batch_size, max(8, n_texts // 6))


def encode_entities(tagger: Tagger, texts: list[str]) -> list[bytes]:
    """Each text's entities as a UTF-8 JSON array: the server joins them without parsing."""
    batch_size = batch_size_for(tagger, len(texts))
    return [
        json.dumps([e.to_dict() for e in entities], ensure_ascii=False).encode("utf-8")
        for entities in tagger.tag_many(texts, batch_size=batch_size)
    ]


def describe(err: BaseException, what: str) -> tuple[str, str]:
    """An error as ``(kind, one line)``: ``nerkit`` errors keep their message, others say
    ``what`` failed."""
    if isinstance(err, NerkitError):
        return "nerkit", str(err)
    first = str(err).splitlines()[0] if str(err) else ""
    return "error", f"{what} ({type(err).__name__}: {first})"


class InlineModel:
    """A loaded :class:`Tagger` run in the server's own process (on the batcher's thread)."""

    def __init__(self, tagger: Tagger) -> None:
        self.tagger = tagger

    def start(self) -> dict[str, Any]:
        return model_info(self.tagger, None)

    def tag(self, texts: list[str]) -> list[bytes]:
        return encode_entities(self.tagger, texts)

    def close(self) -> None:
        pass


class ModelProcess:
    """A model folder loaded and run in a child process; one caller at a time."""

    def __init__(self, folder: Path, threads: int | None) -> None:
        self.folder = folder
        self.threads = threads
        self.proc: subprocess.Popen[bytes] | None = None
        self.conn: Connection | None = None

    def start(self) -> dict[str, Any]:
        """Start the process and wait until the model is loaded; its :func:`model_info`."""
        ours, theirs = socket.socketpair()
        command = [sys.executable, "-m", "nerkit.server.model_process", str(theirs.fileno()),
                   str(self.folder), str(self.threads or 0)]
        self.proc = subprocess.Popen(command, pass_fds=(theirs.fileno(),),
                                     stdin=subprocess.DEVNULL)
        theirs.close()
        self.conn = Connection(ours.detach())
        kind, payload = self._receive()
        if kind != "ready":
            self.close()
            raise ModelError(payload)
        return payload

    def tag(self, texts: list[str]) -> list[bytes]:
        assert self.conn is not None  # start() succeeded; not user input
        try:
            self.conn.send(texts)
        except OSError as err:
            raise self._crashed() from err
        kind, payload = self._receive()
        if kind == "ok":
            return payload
        if kind == "nerkit":
            raise NerkitError(payload)
        raise RuntimeError(payload)

    def _receive(self) -> tuple[str, Any]:
        assert self.conn is not None
        try:
            return self.conn.recv()
        except (EOFError, OSError) as err:
            raise self._crashed() from err

    def _crashed(self) -> ModelCrashed:
        code = self.proc.wait() if self.proc is not None else None
        return ModelCrashed(f"{self.folder}: the model's process ended (exit status {code}); "
                            "see the log above, and restart the server")

    def close(self) -> None:
        """Ask the process to stop (it also stops when this process dies), then wait."""
        if self.conn is not None:
            try:
                self.conn.send(None)
            except OSError:
                pass
            self.conn.close()
            self.conn = None
        if self.proc is not None:
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


def serve(conn: Connection, folder: Path, threads: int | None) -> None:
    """The model's side: load, say ready, then answer lists of texts until told to stop."""
    try:
        tagger = Tagger.load(folder, threads=threads)
        info = model_info(tagger, folder)
    except Exception as err:
        conn.send(describe(err, f"{folder}: cannot load the model; check the folder or write "
                                "it again"))
        return
    conn.send(("ready", info))
    trimmer = HeapTrimmer()
    while True:
        try:
            texts = conn.recv()
        except (EOFError, OSError):
            return  # the server is gone
        if texts is None:
            return
        try:
            answer: tuple[str, Any] = ("ok", encode_entities(tagger, texts))
        except Exception as err:
            answer = describe(err, f"{folder}: tagging failed")
        conn.send(answer)
        trimmer.maybe_trim()  # after the answer: RSS levels off (nerkit.server.memory)


def main(argv: list[str]) -> None:
    # The server decides when this process ends: Ctrl-C or SIGTERM sent to the whole process
    # group must not cut its requests in flight; it stops when the server closes the socket.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    fd, folder, threads = int(argv[0]), Path(argv[1]), int(argv[2]) or None
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    serve(Connection(fd), folder, threads)


if __name__ == "__main__":
    main(sys.argv[1:])
