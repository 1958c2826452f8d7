"""Schema-driven fuzzing of the HTTP API with schemathesis, against a real ``nerkit serve``.

schemathesis reads ``/openapi.json`` and generates requests for every operation: valid ones
(which must be answered as the schema promises, 200 for a valid ``POST /v1/entities``) and
invalid ones (a body of the wrong shape, both keys, unknown keys: each must be refused with a
documented 4xx). No answer may be a 5xx, and every answer must match
its documented status, content type and schema. The run is bounded by a number of examples per
mode (``NERKIT_FUZZ_EXAMPLES``, default 60), with a fixed seed so a failure reproduces.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, given, seed, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.config import SchemathesisConfig  # noqa: E402
from schemathesis.generation import GenerationMode  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from nerkit.server.process import launch_server  # noqa: E402

EXAMPLES = int(os.environ.get("NERKIT_FUZZ_EXAMPLES", "60"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def server(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("fuzz") / "serve.log"
    # a long queue limit: every valid request is accepted however slow the machine is
    server = launch_server(tiny_model, log, "--threads", "1", "--no-access-log",
                           "--max-queue-wait", "600")
    try:
        yield server.wait_until_healthy()
    finally:
        server.stop()
        assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                         ids=["valid", "invalid"])
def test_fuzz_the_api_from_its_schema(server: str, mode: GenerationMode) -> None:
    # an invalid request must get one of the 4xx answers the schema documents for it
    config = SchemathesisConfig.from_dict(
        {"checks": {"negative_data_rejection": {"expected-statuses": [400, 413, 422]}}}
    )
    schema = schemathesis.openapi.from_url(f"{server}/openapi.json", config=config)
    extra = positive_data_acceptance if mode.is_positive else negative_data_rejection
    seen: dict[int, int] = {}

    @seed(24)
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    # A client's own deadline, however short, is honoured with a 503 once it passes (tested in
    # test_server_load.py; bad values in test_server.py): a long one here, so every 5xx is a bug.
    @given(case=schema.as_strategy(mode, headers={"X-Request-Timeout": "600"}))
    def check(case: Any) -> None:
        response = case.call_and_validate(base_url=server, checks=[*CHECKS, extra])
        seen[response.status_code] = seen.get(response.status_code, 0) + 1

    check()
    assert not any(status >= 500 for status in seen), seen
    if mode.is_positive:
        assert seen.get(200, 0) > 0, seen
    else:
        assert any(400 <= status < 500 for status in seen), seen
