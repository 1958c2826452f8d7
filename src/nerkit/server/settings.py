"""The server's settings in one place: request limits, batching and back-pressure.

``nerkit serve`` fills them from its flags, ``create_app`` takes them as keyword arguments, and
worker processes (``--workers N``) get them as JSON. Each bad value is refused at start with the
flag that sets it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from nerkit.errors import ConfigError

# The flag (or create_app argument) that sets each setting, for error messages.
FLAGS = {
    "max_text_chars": "--max-text-chars",
    "max_batch": "--max-batch",
    "max_body_bytes": "--max-body-mb",
    "batch_wait_ms": "--batch-wait-ms",
    "batch_texts": "--batch-texts",
    "max_queue_wait": "--max-queue-wait",
    "max_queued_texts": "create_app(max_queued_texts=N)",
    "request_timeout": "--request-timeout",
    "threads": "--threads",
}


@dataclass(frozen=True)
class ServeSettings:
    """What one request may ask, how requests are merged, and how long they may wait.

    ``max_text_chars`` (characters per text), ``max_batch`` (texts per request) and
    ``max_body_bytes`` (raw request size) bound one request; over them the answer is 413.
    Requests arriving within ``batch_wait_ms`` of each other share a model call of up to about
    ``batch_texts`` texts. When a new request would wait more than ``max_queue_wait`` seconds
    for the model (or ``max_queued_texts`` texts already wait), it is answered 503 with
    ``Retry-After`` at once; an accepted request not answered within ``request_timeout``
    seconds gets 503 too and its work is dropped. ``threads``: PyTorch threads for the model.
    """

    max_text_chars: int = 100_000
    max_batch: int = 256
    max_body_bytes: int = 10_000_000
    batch_wait_ms: float = 5.0
    batch_texts: int = 64
    max_queue_wait: float = 2.0
    max_queued_texts: int = 10_000
    request_timeout: float = 60.0
    threads: int | None = None

    def __post_init__(self) -> None:
        for name in FLAGS:
            value = getattr(self, name)
            if name == "threads" and value is None:
                continue
            if name == "batch_wait_ms":
                if not value >= 0:
                    raise ConfigError(f"batch_wait_ms must be 0 or more, got {value!r}; "
                                      f"set {FLAGS[name]} to 0 or more")
            elif not value > 0:
                raise ConfigError(
                    f"{name} must be positive, got {value!r}; set {FLAGS[name]} to a number > 0"
                )

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> ServeSettings:
        """Settings from keyword options, refusing unknown names with the known ones."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ConfigError(
                f"unknown server setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        return cls(**options)

    def limits(self) -> dict[str, Any]:
        """What ``GET /v1/model`` shows a client about what it may send."""
        return {
            "max_text_chars": self.max_text_chars,
            "max_batch": self.max_batch,
            "max_body_bytes": self.max_body_bytes,
            "max_queue_wait_s": self.max_queue_wait,
            "request_timeout_s": self.request_timeout,
        }

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
