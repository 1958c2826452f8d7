"""Prometheus metrics for ``GET /metrics``, kept with the well-kept ``prometheus_client``.

Each app has its own registry, so several apps in one process (tests) do not mix their counts.
What an operator watches:

- ``nerkit_http_requests_total{path,status}``: every request by answer; errors are the 4xx/5xx
  statuses (``path`` is one of the API's paths or ``other``, so random URLs add no series);
- ``nerkit_request_duration_seconds{status}``: latency of ``POST /v1/entities`` from the
  request's arrival to its answer, by status (200 for accepted work, 503 for refused);
- ``nerkit_queue_requests``, ``nerkit_queue_texts``, ``nerkit_queue_wait_seconds``: the batcher's
  queue and the wait it expects for a new request (503 above ``--max-queue-wait``), and
  ``nerkit_model_running_texts``, the texts in the model call now running;
- ``nerkit_batch_texts`` and ``nerkit_batch_requests``: texts and requests per model call;
  ``nerkit_model_call_seconds``: how long each call took;
- ``nerkit_texts_total`` and ``nerkit_words_total``: texts and words (runs of non-space
  characters) tagged and answered;
- ``nerkit_dropped_requests_total{reason}``: accepted requests whose client went away
  (``disconnect``) or whose deadline passed (``timeout``) before the answer;
- ``nerkit_ready`` (1 once the model is loaded), and the ``process_*`` metrics (resident memory,
  CPU seconds, open files) of this process.

With ``--workers N`` each worker process has its own counts, and a scrape reads the worker that
answers it.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

#: Paths that get their own label; anything else is counted as ``other``.
PATHS = frozenset({"/v1/entities", "/v1/model", "/healthz", "/healthz/live", "/healthz/ready",
                   "/metrics", "/openapi.json", "/"})
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0,
                   7.5, 10.0, 20.0, 30.0, 60.0)
TEXT_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class ServerMetrics:
    """The server's counters, gauges and histograms in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        reg = self.registry
        ProcessCollector(registry=reg)
        self.requests = Counter("nerkit_http_requests", "HTTP requests by path and status.",
                                ["path", "status"], registry=reg)
        self.latency = Histogram("nerkit_request_duration_seconds",
                                 "Time from the arrival of a POST /v1/entities to its answer.",
                                 ["status"], buckets=LATENCY_BUCKETS, registry=reg)
        self.batch_texts = Histogram("nerkit_batch_texts", "Texts per model call.",
                                     buckets=TEXT_BUCKETS, registry=reg)
        self.batch_requests = Histogram("nerkit_batch_requests", "Requests per model call.",
                                        buckets=TEXT_BUCKETS, registry=reg)
        self.model_call = Histogram("nerkit_model_call_seconds", "Duration of each model call.",
                                    buckets=LATENCY_BUCKETS, registry=reg)
        self.texts = Counter("nerkit_texts", "Texts tagged and answered.", registry=reg)
        self.words = Counter("nerkit_words", "Words (runs of non-space characters) tagged and "
                             "answered.", registry=reg)
        self.dropped = Counter("nerkit_dropped_requests", "Accepted requests dropped before "
                               "their answer.", ["reason"], registry=reg)
        self.ready = Gauge("nerkit_ready", "1 once the model is loaded and warmed up.",
                           registry=reg)
        self.queue_requests = Gauge("nerkit_queue_requests", "Requests waiting for the model.",
                                    registry=reg)
        self.queue_texts = Gauge("nerkit_queue_texts", "Texts waiting for the model.",
                                 registry=reg)
        self.queue_wait = Gauge("nerkit_queue_wait_seconds", "Expected wait of a new request "
                                "before its model call starts.", registry=reg)
        self.running_texts = Gauge("nerkit_model_running_texts", "Texts in the model call now "
                                   "running (0: the model is idle).", registry=reg)

    def watch_queue(self, requests: Callable[[], float], texts: Callable[[], float],
                    wait: Callable[[], float], running: Callable[[], float]) -> None:
        """Read the queue's gauges from the batcher at each scrape."""
        self.queue_requests.set_function(requests)
        self.queue_texts.set_function(texts)
        self.queue_wait.set_function(wait)
        self.running_texts.set_function(running)

    def observe_batch(self, n_requests: int, n_texts: int, seconds: float) -> None:
        """Record one model call (the batcher's observer)."""
        self.batch_requests.observe(n_requests)
        self.batch_texts.observe(n_texts)
        self.model_call.observe(seconds)

    def observe_request(self, path: str, status: int, seconds: float) -> None:
        label = path if path in PATHS else "other"
        self.requests.labels(label, str(status)).inc()
        if label == "/v1/entities":
            self.latency.labels(str(status)).observe(seconds)

    def render(self) -> tuple[bytes, str]:
        """The text exposition format, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def parse_samples(text: str) -> dict[str, float]:
    """Every sample of a ``/metrics`` answer as ``name{label="value",...}`` -> value (labels
    sorted), for load tests and benchmarks that read the server's counts."""
    from prometheus_client.parser import text_string_to_metric_families

    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples
