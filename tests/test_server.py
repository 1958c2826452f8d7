"""The HTTP API, tested against a real ``nerkit serve`` process on 127.0.0.1.

The server runs the tiny model of ``conftest.py`` (its entities are nonsense but
deterministic), so every answer is checked against the same model loaded in-process. Bad
input is a table: each row says what is sent and which status and message must come back;
none may be a 500. The micro-batcher also has unit tests of its own at the end.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from nerkit.cli import main  # noqa: E402
from nerkit.server.batcher import MicroBatcher, Overloaded  # noqa: E402
from nerkit.server.process import launch_server  # noqa: E402
from nerkit.tagging.tagger import Tagger  # noqa: E402

SENTENCES = [
    "El presidente Felipe González viajó a Madrid.",
    "La empresa Telefónica de España firmó con la ONU.",
    "El Mundial de Fútbol empieza en Barcelona.",
    "Ana García vive en Sevilla desde 2010.",
    "😀 Emoji antes de Madrid y de la ONU.",
]


@pytest.fixture(scope="module")
def server(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    server = launch_server(tiny_model, log, "--threads", "1", "--no-access-log")
    try:
        yield server.wait_until_healthy()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def client(server: str) -> Iterator[Any]:
    with httpx.Client(base_url=server, timeout=60, trust_env=False) as c:
        yield c


@pytest.fixture(scope="module")
def tagger(tiny_model: Path) -> Tagger:
    return Tagger.load(tiny_model, threads=1)


def assert_same_entities(got: list[dict[str, Any]], expected: list[Any]) -> None:
    """Equal spans and labels; scores equal up to float noise from batching with padding."""
    want = [e.to_dict() for e in expected]
    assert [{k: v for k, v in e.items() if k != "score"} for e in got] == [
        {k: v for k, v in e.items() if k != "score"} for e in want
    ]
    assert [e["score"] for e in got] == pytest.approx([e["score"] for e in want], abs=1e-3)


# ------------------------------------------------------------------ answers


def test_single_text_matches_the_tagger(client: Any, tagger: Tagger) -> None:
    text = SENTENCES[0]
    response = client.post("/v1/entities", json={"text": text})
    assert response.status_code == 200, response.text
    entities = response.json()["entities"]
    assert entities, "the tiny model should find something in this sentence"
    assert_same_entities(entities, tagger(text))
    for entity in entities:
        assert text[entity["start"] : entity["end"]] == entity["text"]


def test_batch_answers_in_input_order(client: Any, tagger: Tagger) -> None:
    texts = [*SENTENCES, "", "   "]
    response = client.post("/v1/entities", json={"texts": texts})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert len(results) == len(texts)
    for result, expected in zip(results, tagger.tag_many(texts), strict=True):
        assert_same_entities(result["entities"], expected)
    assert results[-1] == results[-2] == {"entities": []}


def test_empty_batch(client: Any) -> None:
    assert client.post("/v1/entities", json={"texts": []}).json() == {"results": []}


def test_offsets_count_code_points_after_an_emoji(client: Any) -> None:
    text = SENTENCES[-1]
    for entity in client.post("/v1/entities", json={"text": text}).json()["entities"]:
        assert text[entity["start"] : entity["end"]] == entity["text"]


def test_model_info(client: Any, tagger: Tagger, tiny_model: Path) -> None:
    info = client.get("/v1/model").json()
    assert info["labels"] == list(tagger.labels.labels)
    assert info["types"] == ["LOC", "MISC", "ORG", "PER"]
    assert info["encoder"] == tagger.meta.encoder
    assert info["max_length"] == tagger.meta.max_length
    assert info["decoding"] == "viterbi"
    saved = json.loads((tiny_model / "eval_results.json").read_text())
    assert info["scores"]["test_f1"] == saved["test_f1"]
    assert info["scores"]["dev_per_type"] == saved["dev_per_type"]
    assert "log_history" not in info["scores"]
    assert info["limits"] == {"max_text_chars": 100_000, "max_batch": 256,
                              "max_body_bytes": 10_000_000, "max_queue_wait_s": 2.0,
                              "request_timeout_s": 60.0}


def test_health_live_and_ready(client: Any) -> None:
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["ready"] is True
    assert {"requests", "batches", "largest_batch_requests"} <= set(health["batching"])
    assert health["queue"]["requests"] == 0
    assert client.get("/healthz/live").json() == {"status": "live"}
    assert client.get("/healthz/ready").json() == {"ready": True, "status": "ready"}


def test_schema_says_what_the_server_accepts(client: Any) -> None:
    schema = client.get("/openapi.json").json()
    assert {"/v1/entities", "/v1/model", "/healthz", "/metrics"} <= set(schema["paths"])
    post = schema["paths"]["/v1/entities"]["post"]
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert body["title"] == "TagRequest"
    assert body["oneOf"] == [{"required": ["text"]}, {"required": ["texts"]}]
    assert body["additionalProperties"] is False
    assert body["properties"]["texts"]["maxItems"] == 256
    assert body["properties"]["text"]["maxLength"] == 100_000
    assert {"200", "400", "413", "422", "503"} <= set(post["responses"])
    assert "Retry-After" in post["responses"]["503"]["headers"]
    assert [p["name"] for p in post["parameters"]] == ["X-Request-Timeout"]


def test_page_is_self_contained(client: Any) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "default-src 'none'" in page.headers["content-security-policy"]
    for marker in ('id="text"', 'id="tag"', 'id="json"', 'id="conll-file"'):
        assert marker in page.text
    bodies = [page.text] + [client.get(f"/static/{n}").text for n in ("app.js", "style.css")]
    for body in bodies:
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", body), "external URL"
        assert "@import" not in body and "@font-face" not in body
    assert client.get("/static/secret.py").status_code == 404
    assert client.get("/static/..%2F..%2Fapp.py").status_code == 404


# ------------------------------------------------------------------ bad input and limits

BAD_INPUT = [
    # (name, body bytes, status, part of the answer)
    ("truncated JSON", b'{"text": ', 422, "JSON decode error"),
    ("not JSON", b"hello", 422, "JSON decode error"),
    ("empty body", b"", 422, "the body is empty"),
    ("no field", b"{}", 422, "no key is given; send a JSON object with exactly one of"),
    ("both fields", b'{"text": "a", "texts": ["b"]}', 422, "both keys are given"),
    ("text not a string", b'{"text": 5}', 422, '"text" must be a valid string, not a JSON number'),
    ("text null", b'{"text": null}', 422, "not a JSON null"),
    ("texts not a list", b'{"texts": "abc"}', 422, "valid list of strings, not a JSON string"),
    ("texts with a number", b'{"texts": ["a", 3]}', 422, "texts[1] must be a valid string"),
    ("top level list", b'["a"]', 422, "the body is a JSON array"),
    ("unknown field", b'{"text": "a", "lang": "es"}', 422, 'unknown key(s) "lang"'),
    ("lone surrogate", b'{"text": "a\\ud800b"}', 422, "lone surrogate U+D800 at character 1"),
    ("lone surrogate in a batch", b'{"texts": ["ok", "\\uDFFFx"]}', 422, "texts[1] has a lone"),
    ("NaN", b'{"text": NaN}', 422, "not a JSON number"),
    ("Infinity in a batch", b'{"texts": ["a", -Infinity]}', 422, "texts[1] must be a valid"),
    ("a 5,000-digit number", b'{"text": ' + b"1" * 5000 + b"}", 422, "JSON decode error"),
    ("nested too deeply", b"[" * 100_000 + b"]" * 100_000, 422, "nested too deeply"),
    ("non-UTF-8 bytes", b'{"text": "\xff\xfe caf\xe9"}', 400, "not UTF-8 (byte 0xff at offset 10)"),
    ("UTF-8 NUL and controls", b'{"text": "a\\u0000b\\u0007"}', 200, "entities"),
]


@pytest.mark.parametrize(("name", "body", "status", "message"), BAD_INPUT,
                         ids=[row[0] for row in BAD_INPUT])
def test_bad_input(client: Any, name: str, body: bytes, status: int, message: str) -> None:
    response = client.post("/v1/entities", content=body,
                           headers={"content-type": "application/json"})
    assert response.status_code == status, response.text
    assert message in messages(response)
    assert len(response.content) < 2_000  # never the input echoed back


def messages(response: Any) -> str:
    """The answer's error messages (or its body, for a 200) as one string."""
    if response.status_code == 200:
        return response.text
    detail = response.json()["detail"]
    return detail if isinstance(detail, str) else " | ".join(d["msg"] for d in detail)


@pytest.mark.parametrize("value", ["0", "-1", "soon", "nan", "inf"])
def test_bad_request_timeout_header_is_400(client: Any, value: str) -> None:
    response = client.post("/v1/entities", json={"text": "hola"},
                           headers={"X-Request-Timeout": value})
    assert response.status_code == 400
    assert "X-Request-Timeout must be a number of seconds > 0" in response.json()["detail"]
    ok = client.post("/v1/entities", json={"text": "hola"}, headers={"X-Request-Timeout": "30"})
    assert ok.status_code == 200


def test_text_over_the_limit_is_413(client: Any) -> None:
    response = client.post("/v1/entities", json={"texts": ["ok", "a" * 100_001]})
    assert response.status_code == 413
    detail = response.json()["detail"]
    assert "texts[1] has 100,001 characters" in detail
    assert "limit of 100,000" in detail and "--max-text-chars" in detail


def test_ten_megabyte_text_is_refused_before_parsing(client: Any) -> None:
    response = client.post("/v1/entities", json={"text": "a" * 10_000_000})
    assert response.status_code == 413
    assert "--max-body-mb" in response.json()["detail"]
    assert client.get("/healthz").status_code == 200  # the server lives on


def test_chunked_body_over_the_limit_is_413(client: Any) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"text": "'
        for _ in range(11):
            yield b"a" * 1_000_000
        yield b'"}'

    response = client.post("/v1/entities", content=chunks(),
                           headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "--max-body-mb" in response.json()["detail"]


def test_batch_over_the_limit_is_413(client: Any) -> None:
    response = client.post("/v1/entities", json={"texts": ["hola"] * 10_000})
    assert response.status_code == 413
    detail = response.json()["detail"]
    assert "10,000 texts" in detail and "256" in detail and "--max-batch" in detail


# ------------------------------------------------------------------ concurrency


def test_concurrent_requests_are_batched_and_correct(
    server: str, client: Any, tagger: Tagger
) -> None:
    texts = [f"{SENTENCES[i % len(SENTENCES)]} Número {i}." for i in range(20)]
    expected = list(tagger.tag_many(texts))
    before = client.get("/healthz").json()["batching"]

    async def send_all() -> list[Any]:
        async with httpx.AsyncClient(base_url=server, timeout=60, trust_env=False) as c:
            return await asyncio.gather(
                *(c.post("/v1/entities", json={"text": t}) for t in texts)
            )

    responses = asyncio.run(send_all())
    assert [r.status_code for r in responses] == [200] * 20
    for response, want in zip(responses, expected, strict=True):
        assert_same_entities(response.json()["entities"], want)
    after = client.get("/healthz").json()["batching"]
    assert after["requests"] - before["requests"] == 20
    assert after["batches"] - before["batches"] < 20, f"no request was merged: {after}"
    assert after["largest_batch_requests"] >= 2


# ------------------------------------------------------------------ CLI errors and factory


def test_serve_with_a_missing_model_is_one_line(tmp_path: Path, capsys: Any) -> None:
    assert main(["serve", "--model", str(tmp_path / "nope")]) == 2
    assert "model folder not found" in capsys.readouterr().err
    assert main(["serve", "--model", str(tmp_path), "--workers", "2"]) == 2
    assert "no model folder with a config.json" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("setting", "flag"),
    [({"max_text_chars": 0}, "--max-text-chars"), ({"max_batch": -1}, "--max-batch"),
     ({"max_body_bytes": 0}, "--max-body-mb"), ({"batch_wait_ms": -5}, "0 or more")],
)
def test_bad_settings_name_the_flag(setting: dict[str, int], flag: str) -> None:
    from nerkit.errors import ConfigError
    from nerkit.server.app import create_app

    with pytest.raises(ConfigError, match=flag):
        create_app("never-loaded", **setting)


def test_factory_reads_the_environment(tiny_model: Path, monkeypatch: Any) -> None:
    from nerkit.server.app import ENV_MODEL, ENV_OPTIONS, app_from_env

    monkeypatch.setenv(ENV_MODEL, str(tiny_model))
    monkeypatch.setenv(ENV_OPTIONS, json.dumps({"max_batch": 3, "threads": 1}))
    from fastapi.testclient import TestClient

    with TestClient(app_from_env()) as test_client:
        limits = test_client.get("/v1/model").json()["limits"]
        assert limits["max_batch"] == 3
        texts = {"texts": ["a", "b", "c", "d"]}
        assert test_client.post("/v1/entities", json=texts).status_code == 413
    monkeypatch.delenv(ENV_MODEL)
    with pytest.raises(ValueError, match="NERKIT_SERVE_MODEL is not set"):
        app_from_env()


# ------------------------------------------------------------------ the micro-batcher


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_batcher_merges_and_keeps_order() -> None:
    calls: list[list[str]] = []

    def tag_many(texts: list[str]) -> list[str]:
        calls.append(texts)
        return [t.upper() for t in texts]

    async def scenario() -> list[list[str]]:
        batcher = MicroBatcher(tag_many, max_wait=0.05)
        batcher.start()
        try:
            return await asyncio.gather(*(batcher.submit([f"t{i}", f"u{i}"]) for i in range(5)))
        finally:
            await batcher.stop()

    assert _run(scenario()) == [[f"T{i}", f"U{i}"] for i in range(5)]
    assert len(calls) == 1 and len(calls[0]) == 10


def test_batcher_caps_texts_per_call() -> None:
    calls: list[int] = []

    def tag_many(texts: list[str]) -> list[str]:
        calls.append(len(texts))
        return texts

    async def scenario() -> None:
        batcher = MicroBatcher(tag_many, max_texts=4, max_wait=0.05)
        batcher.start()
        try:
            await asyncio.gather(*(batcher.submit(["a", "b", "c"]) for _ in range(4)))
        finally:
            await batcher.stop()

    _run(scenario())
    assert calls == [6, 6]  # a job is never split: 3 + 3 passes the cap of 4


def test_batcher_fails_only_the_request_that_fails() -> None:
    def tag_many(texts: list[str]) -> list[str]:
        if "boom" in texts:
            raise RuntimeError("model broke on boom")
        return texts

    async def scenario() -> list[Any]:
        batcher = MicroBatcher(tag_many, max_wait=0.05)
        batcher.start()
        try:
            return await asyncio.gather(
                batcher.submit(["ok"]), batcher.submit(["boom"]), batcher.submit(["fine"]),
                return_exceptions=True,
            )
        finally:
            await batcher.stop()

    ok, boom, fine = _run(scenario())
    assert ok == ["ok"] and fine == ["fine"]
    assert isinstance(boom, RuntimeError) and "boom" in str(boom)


def test_batcher_must_be_started() -> None:
    batcher = MicroBatcher(lambda texts: texts)
    with pytest.raises(RuntimeError, match="start"):
        _run(batcher.submit(["a"]))


def test_batcher_refuses_when_the_wait_would_pass_the_limit() -> None:
    gate = threading.Event()

    def tag_many(texts: list[str]) -> list[str]:
        gate.wait(10)
        return texts

    async def scenario() -> tuple[list[str], int, float]:
        batcher = MicroBatcher(tag_many, max_wait=0, max_queue_wait=1.0)
        batcher.speed.update(1, 0.1)  # as if measured: 0.1 s per unit of cost
        batcher.start()
        try:
            first = asyncio.ensure_future(batcher.submit(["x" * 5]))  # 55 units: 5.5 s
            while batcher.running_texts == 0:
                await asyncio.sleep(0.01)
            wait = batcher.expected_wait()
            with pytest.raises(Overloaded, match="--max-queue-wait") as refused:
                batcher.enqueue(["y"])
            gate.set()
            return await first, refused.value.retry_after, wait
        finally:
            await batcher.stop()

    # the first job always gets in; the next would wait about 5.5 s for it, over the 1 s limit
    result, retry_after, wait = _run(scenario())
    assert result == ["xxxxx"]
    assert 4.5 < wait <= 5.5
    assert retry_after == math.ceil(wait - 1.0)


def test_batcher_caps_the_queued_texts() -> None:
    async def scenario() -> str:
        batcher = MicroBatcher(lambda texts: texts, max_queued_texts=3)
        batcher.start()
        try:
            jobs = [batcher.enqueue(["a", "b"])]
            with pytest.raises(Overloaded, match="at most 3") as refused:
                batcher.enqueue(["c", "d"])
            await batcher.result(jobs[0])
            return str(refused.value)
        finally:
            await batcher.stop()

    assert "retry after" in _run(scenario())


def test_batcher_drops_work_nobody_waits_for() -> None:
    ran: list[list[str]] = []
    gate = threading.Event()

    def tag_many(texts: list[str]) -> list[str]:
        gate.wait(10)
        ran.append(texts)
        return texts

    async def scenario() -> None:
        batcher = MicroBatcher(tag_many, max_wait=0)
        batcher.start()
        try:
            busy = asyncio.ensure_future(batcher.submit(["busy"]))
            while batcher.running_texts == 0:
                await asyncio.sleep(0.01)
            gone = asyncio.ensure_future(batcher.submit(["gone"]))  # its caller will give up
            late = batcher.enqueue(["late"])  # its deadline passes in the queue
            await asyncio.sleep(0.05)
            assert batcher.queued_requests == 2
            gone.cancel()
            with pytest.raises(asyncio.TimeoutError):
                await batcher.result(late, timeout=0.01)
            assert batcher.queued_requests == 0 and batcher.queued_texts == 0
            gate.set()
            assert await busy == ["busy"]
            assert await batcher.submit(["next"]) == ["next"]
            assert batcher.stats.dropped_requests == 2
        finally:
            await batcher.stop()

    _run(scenario())
    assert ran == [["busy"], ["next"]]  # the dropped jobs never reached the model


# ------------------------------------------------------------------ live and ready


def test_live_before_ready_while_the_model_loads(tiny_model: Path, monkeypatch: Any) -> None:
    from fastapi.testclient import TestClient

    from nerkit.server.app import create_app
    from nerkit.server.model_process import ModelProcess

    gate = threading.Event()
    real_start = ModelProcess.start

    def gated_start(self: ModelProcess) -> dict[str, Any]:
        gate.wait(60)  # the real start, once the test has looked at the loading state
        return real_start(self)

    monkeypatch.setattr(ModelProcess, "start", gated_start)
    with TestClient(create_app(tiny_model, threads=1)) as test_client:
        assert test_client.get("/healthz/live").status_code == 200
        ready = test_client.get("/healthz/ready")
        assert ready.status_code == 503 and ready.json() == {"ready": False, "status": "loading"}
        early = test_client.post("/v1/entities", json={"text": "Hola"})
        assert early.status_code == 503 and early.headers["retry-after"] == "5"
        assert "still loading" in early.json()["detail"]
        assert test_client.get("/v1/model").status_code == 503
        assert test_client.post("/v1/entities", json={"text": 5}).status_code == 422
        gate.set()
        for _ in range(600):
            if test_client.get("/healthz/ready").status_code == 200:
                break
            time.sleep(0.1)
        assert test_client.get("/healthz").json()["status"] == "ok"
        assert test_client.post("/v1/entities", json={"text": "Hola"}).status_code == 200


def test_a_model_that_cannot_load_is_not_ready(tiny_model: Path, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from nerkit.server.app import create_app

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    with TestClient(create_app(broken, threads=1)) as test_client:
        for _ in range(600):
            health = test_client.get("/healthz").json()
            if health["status"] != "loading":
                break
            time.sleep(0.1)
        assert health["status"] == "failed" and str(broken) in health["error"]
        answer = test_client.post("/v1/entities", json={"text": "Hola"})
        assert answer.status_code == 503 and "could not be loaded" in answer.json()["detail"]
        assert test_client.get("/healthz/live").status_code == 200


def test_batcher_refuses_a_job_that_waited_past_the_limit_unrun() -> None:
    gate = threading.Event()
    ran: list[list[str]] = []

    def tag_many(texts: list[str]) -> list[str]:
        gate.wait(10)
        ran.append(texts)
        return texts

    async def scenario() -> Any:
        batcher = MicroBatcher(tag_many, max_wait=0, max_queue_wait=0.1)
        batcher.speed.update(1_000_000, 0.001)  # an estimate far too fast: admits everything
        batcher.start()
        try:
            first = asyncio.ensure_future(batcher.submit(["first"]))
            while batcher.running_texts == 0:
                await asyncio.sleep(0.01)
            late = asyncio.ensure_future(batcher.submit(["late"]))
            await asyncio.sleep(0.3)  # the first call runs on, past the late job's limit
            gate.set()
            return await first, await asyncio.gather(late, return_exceptions=True)
        finally:
            await batcher.stop()

    first, (late,) = _run(scenario())
    assert first == ["first"] and ran == [["first"]]
    assert isinstance(late, Overloaded) and "waited" in str(late) and late.retry_after >= 1


def test_heap_trimmer_trims_at_most_once_per_interval() -> None:
    from nerkit.server.memory import HeapTrimmer

    trimmer = HeapTrimmer(every=3600)
    if trimmer.trim is None:
        pytest.skip("not glibc: nothing to trim")
    assert trimmer.maybe_trim() is True  # the first call trims
    assert trimmer.maybe_trim() is False  # the next one within the hour does not
