"""The server under load and at its edges, on a real ``nerkit serve`` process on 127.0.0.1.

Overload is answered 503 with ``Retry-After``; ``/metrics`` parses with prometheus_client's
own parser and counts what was sent; work for a client that hung up or whose deadline passed
never reaches the model; SIGTERM lets the requests in flight finish and exits 0; a huge invalid
request is answered small while another client keeps being served; a model that cannot load
stops the server with exit status 2.

Nothing here is timed: each test waits for a state it can see (a text count in the model, a
queue length in ``/metrics``) before its next step, so a slow shared machine makes the tests
slower, not flaky. The tiny model of ``conftest.py`` is made busy with long batches.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
pytest.importorskip("prometheus_client")


from nerkit.server.metrics import parse_samples  # noqa: E402
from nerkit.server.process import ServerProcess, launch_server  # noqa: E402

# One long text; a request of BUSY_TEXTS of them keeps the tiny model busy for a second or more.
LONG = ("El presidente Felipe González viajó a Madrid para reunirse con la ONU en Ginebra. " * 25)
BUSY_TEXTS = 256
WAIT = 120.0  # the most any state is waited for, on a loaded machine


def start(model: Path, tmp: Path, *flags: str) -> ServerProcess:
    server = launch_server(model, tmp / "serve.log", "--threads", "1", "--no-access-log", *flags)
    server.wait_until_healthy()
    return server


@pytest.fixture(scope="module")
def busy_server(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server whose queue takes anything (a 60 s wait limit)."""
    server = start(tiny_model, tmp_path_factory.mktemp("busy"), "--max-queue-wait", "60")
    try:
        yield server.url
    finally:
        server.stop()


def scrape(url: str) -> dict[str, float]:
    """Every sample of ``/metrics`` as ``name{label="value",...}`` -> value."""
    return parse_samples(httpx.get(f"{url}/metrics", timeout=30, trust_env=False).text)


def wait_for(url: str, condition: Callable[[dict[str, float]], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if condition(scrape(url)):
            return
        time.sleep(0.02)
    raise AssertionError(f"not seen within {WAIT:.0f} s: {what}")


def post_in_thread(url: str, payload: dict[str, Any], results: list[Any]) -> threading.Thread:
    def send() -> None:
        with httpx.Client(base_url=url, timeout=WAIT, trust_env=False) as client:
            results.append(client.post("/v1/entities", json=payload))

    thread = threading.Thread(target=send)
    thread.start()
    return thread


def make_busy(url: str) -> tuple[threading.Thread, list[Any]]:
    """Send a long batch and return once the model is running it."""
    results: list[Any] = []
    thread = post_in_thread(url, {"texts": [LONG] * BUSY_TEXTS}, results)
    wait_for(url, lambda m: m["nerkit_model_running_texts"] >= BUSY_TEXTS, "the model busy")
    return thread, results


def raw_request(url: str, payload: dict[str, Any]) -> socket.socket:
    """Send a POST on a raw socket and return it unread (so the test can hang up)."""
    host, port = url.removeprefix("http://").split(":")
    body = json.dumps(payload).encode()
    sock = socket.create_connection((host, int(port)))
    sock.sendall(b"POST /v1/entities HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    return sock


def texts_tagged(url: str) -> float:
    return httpx.get(f"{url}/healthz", timeout=30, trust_env=False).json()["batching"]["texts"]


# ------------------------------------------------------------------ dropped work


def test_a_client_that_hangs_up_is_dropped_before_the_model(busy_server: str) -> None:
    url = busy_server
    before = texts_tagged(url)
    thread, results = make_busy(url)
    sock = raw_request(url, {"texts": ["ocho textos que nadie espera"] * 8})
    wait_for(url, lambda m: m["nerkit_queue_requests"] == 1, "the second request queued")
    sock.close()
    wait_for(url, lambda m: m.get('nerkit_dropped_requests_total{reason="disconnect"}', 0) >= 1
             and m["nerkit_queue_requests"] == 0, "the hung-up request dropped")
    thread.join(WAIT)
    assert results[0].status_code == 200 and len(results[0].json()["results"]) == BUSY_TEXTS
    assert texts_tagged(url) - before == BUSY_TEXTS  # the 8 texts never reached the model
    assert scrape(url)['nerkit_http_requests_total{path="/v1/entities",status="499"}'] >= 1


def test_a_request_past_its_deadline_is_dropped(busy_server: str) -> None:
    url = busy_server
    before = texts_tagged(url)
    dropped = scrape(url).get('nerkit_dropped_requests_total{reason="timeout"}', 0)
    thread, results = make_busy(url)
    late = httpx.post(f"{url}/v1/entities", json={"texts": ["tarde"] * 4}, timeout=WAIT,
                      headers={"X-Request-Timeout": "0.2"}, trust_env=False)
    assert late.status_code == 503
    assert "not answered within 0.2 s" in late.json()["detail"]
    assert late.headers["retry-after"] == "1"
    thread.join(WAIT)
    assert results[0].status_code == 200
    assert texts_tagged(url) - before == BUSY_TEXTS  # the late texts never ran
    after = scrape(url)['nerkit_dropped_requests_total{reason="timeout"}']
    assert after == dropped + 1


# ------------------------------------------------------------------ metrics


def test_metrics_parse_and_count_what_was_sent(busy_server: str) -> None:
    url = busy_server
    before = scrape(url)
    texts = ["Ana García vive en Sevilla.", "La ONU firmó en Ginebra con Telefónica.", ""]
    response = httpx.post(f"{url}/v1/entities", json={"texts": texts}, trust_env=False)
    assert response.status_code == 200
    assert httpx.post(f"{url}/v1/entities", json={"text": 3}, trust_env=False).status_code == 422
    after = scrape(url)
    assert after["nerkit_ready"] == 1
    assert after["nerkit_texts_total"] - before["nerkit_texts_total"] == 3
    assert after["nerkit_words_total"] - before["nerkit_words_total"] == 5 + 7
    ok, bad = ('nerkit_http_requests_total{path="/v1/entities",status="200"}',
               'nerkit_http_requests_total{path="/v1/entities",status="422"}')
    assert after[ok] - before.get(ok, 0) == 1 and after[bad] - before.get(bad, 0) == 1
    count = 'nerkit_request_duration_seconds_count{status="200"}'
    assert after[count] - before[count] == 1
    assert after["nerkit_batch_texts_count"] > before["nerkit_batch_texts_count"]
    assert after["nerkit_model_call_seconds_sum"] > 0
    for gauge in ("nerkit_queue_requests", "nerkit_queue_texts", "nerkit_queue_wait_seconds"):
        assert after[gauge] >= 0
    assert after["process_resident_memory_bytes"] > 10_000_000
    httpx.get(f"{url}/no/such/page", trust_env=False)
    assert scrape(url)['nerkit_http_requests_total{path="other",status="404"}'] >= 1


# ------------------------------------------------------------------ bad requests


HUGE_INVALID = {
    # (name, body): each within the 10 MB body limit, each cheap to refuse
    "a million numbers": b'{"texts": [' + b",".join([b"1"] * 1_000_000) + b"]}",
    "200,000 unknown keys": b'{"text": "a", ' + b", ".join(
        b'"k%d": 1' % i for i in range(200_000)) + b"}",
    "256 numbers": json.dumps({"texts": [1] * 256}).encode(),
    "a 9 MB key": b'{"' + b"k" * 9_000_000 + b'": 1}',
    "nested 4 MB deep": b"[" * 4_000_000 + b"]" * 4_000_000,
}


def test_huge_invalid_requests_are_answered_small_while_others_are_served(
    busy_server: str,
) -> None:
    url = busy_server
    stop = threading.Event()
    served: list[int] = []

    def other_client() -> None:
        with httpx.Client(base_url=url, timeout=WAIT, trust_env=False) as client:
            while not stop.is_set():
                served.append(client.post("/v1/entities", json={"text": "Hola Ana."}).status_code)

    thread = threading.Thread(target=other_client)
    thread.start()
    try:
        answers = {}
        for name, body in HUGE_INVALID.items():
            response = httpx.post(f"{url}/v1/entities", content=body, timeout=WAIT,
                                  headers={"content-type": "application/json"}, trust_env=False)
            answers[name] = (response.status_code, len(response.content), response.json())
            deadline = time.monotonic() + WAIT
            while len(served) < 2 * len(answers):  # the other client keeps being served
                assert time.monotonic() < deadline, f"the other client starved after {name}"
                time.sleep(0.01)
    finally:
        stop.set()
        thread.join(WAIT)
    assert set(served) == {200}
    for name, (status, size, answer) in answers.items():
        assert status in (413, 422), (name, answer)
        assert size < 10_000, (name, size)
        assert isinstance(answer["detail"], str) or len(answer["detail"]) <= 11, name
    assert answers["a million numbers"][0] == 413  # refused on the count, before any item
    problems = answers["256 numbers"][2]["detail"]
    assert len(problems) == 11 and "and 246 more" in problems[-1]["msg"]
    assert "and 199,995 more" in answers["200,000 unknown keys"][2]["detail"][0]["msg"]


# ------------------------------------------------------------------ overload


def test_overload_is_answered_503_with_retry_after(
    tiny_model: Path, tmp_path: Path
) -> None:
    server = start(tiny_model, tmp_path, "--max-queue-wait", "0.05")
    try:
        async def burst() -> list[Any]:
            limits = httpx.Limits(max_connections=40)
            async with httpx.AsyncClient(base_url=server.url, timeout=WAIT, limits=limits,
                                         trust_env=False) as client:
                payload = {"texts": [LONG] * 64}
                return await asyncio.gather(
                    *(client.post("/v1/entities", json=payload) for _ in range(40))
                )

        responses = asyncio.run(burst())  # a connection error would raise here
        statuses = [r.status_code for r in responses]
        assert set(statuses) == {200, 503}, statuses
        for response in responses:
            if response.status_code == 503:
                assert int(response.headers["retry-after"]) >= 1
                assert "--max-queue-wait" in response.json()["detail"]
            else:
                assert len(response.json()["results"]) == 64
        metrics = scrape(server.url)
        refused = statuses.count(503)
        assert metrics['nerkit_http_requests_total{path="/v1/entities",status="503"}'] == refused
        assert metrics['nerkit_request_duration_seconds_count{status="503"}'] == refused
        assert httpx.get(f"{server.url}/healthz", trust_env=False).json()["batching"][
            "rejected_requests"] == refused
    finally:
        server.stop()


# ------------------------------------------------------------------ shutdown


def test_sigterm_drains_requests_in_flight_and_exits_0(tiny_model: Path, tmp_path: Path) -> None:
    server = start(tiny_model, tmp_path, "--max-queue-wait", "60")
    thread, busy = make_busy(server.url)
    queued: list[Any] = []
    waiting = [post_in_thread(server.url, {"text": f"Texto {i} de Ana en Madrid."}, queued)
               for i in range(2)]
    wait_for(server.url, lambda m: m["nerkit_queue_requests"] == 2, "two requests queued")
    server.proc.send_signal(signal.SIGTERM)
    refused = False
    while not refused and thread.is_alive():  # new connections are refused while draining
        try:
            httpx.get(f"{server.url}/healthz/live", timeout=5, trust_env=False)
            time.sleep(0.02)
        except httpx.ConnectError:
            refused = True
    for t in (thread, *waiting):
        t.join(WAIT)
    assert refused, "the server accepted connections after SIGTERM until its work was done"
    assert busy[0].status_code == 200 and len(busy[0].json()["results"]) == BUSY_TEXTS
    assert [r.status_code for r in queued] == [200, 200]
    assert server.proc.wait(WAIT) == 0, server.log.read_text()[-2000:]
    assert "Traceback" not in server.log.read_text()


# ------------------------------------------------------------------ a model that cannot load


def test_a_model_that_cannot_load_stops_the_server_with_status_2(
    tiny_model: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model, broken)
    weights = broken / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    server = launch_server(broken, tmp_path / "serve.log", "--threads", "1")
    assert server.proc.wait(WAIT) == 2
    log = server.log.read_text()
    assert f"nerkit: error: {broken}" in log
    assert "Traceback" not in log


def test_a_model_process_that_dies_stops_the_server_with_status_2(
    tiny_model: Path, tmp_path: Path
) -> None:
    server = start(tiny_model, tmp_path)
    tasks = Path(f"/proc/{server.proc.pid}/task").iterdir()  # the model's, from any thread
    (model_pid,) = (int(pid) for task in tasks for pid in (task / "children").read_text().split())
    os.kill(model_pid, signal.SIGKILL)
    answer = httpx.post(f"{server.url}/v1/entities", json={"text": "Hola Ana."}, timeout=WAIT,
                        trust_env=False)
    assert answer.status_code == 503
    assert "the model's process ended" in answer.json()["detail"]
    assert server.proc.wait(WAIT) == 2
    assert "Traceback" not in server.log.read_text()
