"""Load test for ``nerkit serve``: many concurrent clients on loopback, one sentence each.

Starts ``nerkit serve --model DIR`` on 127.0.0.1 (nothing else is ever contacted), then runs
``--clients`` asyncio clients (httpx) that post Spanish sentences back to back for
``--seconds``. It reports requests/s, p50/p99 latency, errors (the run fails unless there are
none), the server's resident memory before and after (``VmRSS`` of the server and its worker
processes) and how many requests the micro-batcher merged per model call; it prints the
command that reproduces the run and writes everything as JSON, with the date, machine and
library versions.

Sentences are the CoNLL-2002 Spanish test set (``$NERKIT_DATA/conll2002/esp.testb``,
``NERKIT_DATA`` defaulting to ``../shared/data`` beside the project), detokenized back into
plain text; without it a small built-in list is used, and the JSON says which.

    python benchmarks/serve_load.py --model runs/e5-small-es            # 50 clients, 30 s
    python benchmarks/serve_load.py --model runs/e5-small-es --quick    # 8 clients, 5 s

The run is bounded in time (``--seconds``, plus at most 120 s for the server to start) and in
count (``--max-requests``).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import re
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import env_info
import httpx

from nerkit.server.process import ServerProcess, launch_server

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
BUILT_IN = [
    "El presidente Felipe González viajó a Madrid para reunirse con el Rey.",
    "La empresa Telefónica de España firmó un acuerdo con la ONU en Ginebra.",
    "El Mundial de Fútbol empieza en Barcelona el próximo mes de junio.",
    "Ana García, portavoz del PSOE, habló ayer en Sevilla con los periodistas.",
    "El Real Madrid ganó al Barcelona en el estadio Santiago Bernabéu.",
    "Según la agencia EFE, el Gobierno de Chile aprobó la reforma.",
    "Microsoft y la Universidad de Salamanca presentaron el proyecto en Valladolid.",
    "El Banco Central Europeo mantuvo los tipos de interés, dijo Jean-Claude Trichet.",
]


# ------------------------------------------------------------------ inputs


CLOSING = frozenset(",.;:!?%)]}»")
OPENING = frozenset("([{¿¡«")


def detokenize(words: list[str]) -> str:
    """CoNLL words back to plain text: no space before closing punctuation or after opening
    punctuation; straight double quotes alternate between opening and closing.

    >>> detokenize(["Hola", ",", "dijo", "(", "EFE", ")", "a", "¿", "Ana", "?"])
    'Hola, dijo (EFE) a ¿Ana?'
    >>> detokenize(["el", "portal", '"', "viajes.com", '"', "."])
    'el portal "viajes.com".'
    """
    pieces: list[str] = []
    glue_next = True  # no space before the first word
    quote_open = False
    for word in words:
        closing = word in CLOSING or (word == '"' and quote_open)
        opening = word in OPENING or (word == '"' and not quote_open)
        if word == '"':
            quote_open = not quote_open
        if not (glue_next or closing):
            pieces.append(" ")
        pieces.append(word)
        glue_next = opening
    return "".join(pieces)


def load_sentences(limit: int) -> tuple[list[str], str]:
    """Up to ``limit`` Spanish test sentences as text, and where they came from."""
    data = Path(os.environ.get("NERKIT_DATA", ROOT.parent / "shared" / "data"))
    path = data / "conll2002" / "esp.testb"
    if not path.is_file():
        print(f"serve_load: {path} not found; using {len(BUILT_IN)} built-in sentences "
              "(set NERKIT_DATA to the folder holding conll2002/)", file=sys.stderr)
        return BUILT_IN, "built-in"
    from nerkit.conll.corpus import read_sentences

    sentences = [detokenize(list(s.words)) for s in read_sentences(path)]
    return [s for s in sentences if s][:limit], str(path)


# ------------------------------------------------------------------ the server


def rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants (uvicorn workers), in KiB."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue  # the process has just ended
        found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        total += int(found.group(1)) if found else 0  # a zombie has no VmRSS
    return total


def start_server(args: argparse.Namespace, log_path: Path) -> ServerProcess:
    extra = ["--no-access-log", "--workers", str(args.workers)]
    if args.threads:
        extra += ["--threads", str(args.threads)]
    server = launch_server(args.model, log_path, *extra)
    server.wait_until_healthy()
    return server


# ------------------------------------------------------------------ the load


async def run_load(
    url: str, sentences: list[str], clients: int, seconds: float, max_requests: int
) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    counter = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def client(c: httpx.AsyncClient, deadline: float) -> None:
        nonlocal counter
        while time.perf_counter() < deadline and counter < max_requests:
            text = sentences[counter % len(sentences)]
            counter += 1
            started = time.perf_counter()
            try:
                response = await c.post("/v1/entities", json={"text": text})
                answered = response.status_code == 200 and "entities" in response.json()
            except (httpx.HTTPError, ValueError) as err:
                errors.append(f"{type(err).__name__}: {err}")
                continue
            if not answered:
                errors.append(f"{response.status_code}: {response.text[:200]}")
                continue
            latencies.append(time.perf_counter() - started)

    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits, trust_env=False) as c:
        for text in sentences[:clients]:  # warm-up, not measured
            (await c.post("/v1/entities", json={"text": text})).raise_for_status()
        started = time.perf_counter()
        deadline = started + seconds
        await asyncio.gather(*(client(c, deadline) for _ in range(clients)))
        elapsed = time.perf_counter() - started
    latencies.sort()

    def percentile(p: float) -> float | None:
        if not latencies:
            return None
        return round(1000 * latencies[min(len(latencies) - 1, int(p * len(latencies)))], 2)

    return {
        "requests": len(latencies) + len(errors),
        "ok": len(latencies),
        "errors": len(errors),
        "error_examples": errors[:5],
        "seconds": round(elapsed, 2),
        "requests_per_s": round(len(latencies) / elapsed, 2),
        "latency_ms": {"p50": percentile(0.50), "p90": percentile(0.90),
                       "p99": percentile(0.99), "max": percentile(1.0)},
    }


# ------------------------------------------------------------------ report


def machine() -> dict[str, Any]:
    return {**env_info.machine(), "host": platform.node()}


def versions() -> dict[str, str]:
    return env_info.versions(("nerkit", "torch", "transformers", "fastapi", "uvicorn", "httpx"))


def reproduce(args: argparse.Namespace) -> str:
    command = ["python", "benchmarks/serve_load.py", "--model", str(args.model.resolve()),
               "--clients", str(args.clients), "--seconds", str(args.seconds),
               "--workers", str(args.workers), "--max-requests", str(args.max_requests)]
    if args.threads:
        command += ["--threads", str(args.threads)]
    if args.quick:
        command.append("--quick")
    if args.output_given:
        command += ["--output", str(args.output)]
    data = os.environ.get("NERKIT_DATA")
    prefix = f"NERKIT_DATA={shlex.quote(data)} " if data else ""
    return f"cd {shlex.quote(str(ROOT))} && {prefix}{shlex.join(command)}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, type=Path, help="trained model folder")
    parser.add_argument("--clients", type=int, help="concurrent clients (default 50; quick 8)")
    parser.add_argument("--seconds", type=float, help="measured time (default 30; quick 5)")
    parser.add_argument("--quick", action="store_true",
                        help="a short smoke run: 8 clients, 5 s, 200 sentences")
    parser.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
    parser.add_argument("--threads", type=int, help="PyTorch threads per server process")
    parser.add_argument("--max-requests", type=int, default=1_000_000,
                        help="stop after this many requests even if time is left")
    parser.add_argument("--output", type=Path,
                        help="JSON file (default benchmarks/results/serve_load.json, "
                             "serve_load_quick.json with --quick)")
    args = parser.parse_args(argv)
    args.clients = args.clients or (8 if args.quick else 50)
    args.seconds = args.seconds or (5.0 if args.quick else 30.0)
    args.output_given = args.output is not None
    args.output = args.output or RESULTS / ("serve_load_quick.json" if args.quick
                                            else "serve_load.json")
    for name in ("clients", "seconds", "workers", "max_requests"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be more than 0")
    if not (args.model / "config.json").is_file():
        parser.error(f"{args.model}: not a model folder (no config.json); give --model DIR")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sentences, source = load_sentences(200 if args.quick else 100_000)
    started_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    host = machine()
    with tempfile.TemporaryDirectory(prefix="serve-load-") as tmp:
        server = start_server(args, Path(tmp) / "serve.log")
        proc, url = server.proc, server.url
        try:
            rss_before = rss_kib(proc.pid)
            load = asyncio.run(
                run_load(url, sentences, args.clients, args.seconds, args.max_requests)
            )
            rss_after = rss_kib(proc.pid)
            health = httpx.get(f"{url}/healthz", timeout=10, trust_env=False).json()
        finally:
            server.stop()
    report = {
        "benchmark": "serve_load",
        "date": started_at,
        "command": reproduce(args),
        "model": str(args.model),
        "sentences": {"source": source, "count": len(sentences)},
        "settings": {"clients": args.clients, "seconds": args.seconds, "workers": args.workers,
                     "threads": args.threads, "quick": args.quick,
                     "max_requests": args.max_requests},
        **load,
        "server_rss_mib": {"before": round(rss_before / 1024, 1),
                           "after": round(rss_after / 1024, 1)},
        "batching": health.get("batching"),  # first worker's counters with --workers > 1
        "machine": host,
        "versions": versions(),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", "utf-8")
    latency = load["latency_ms"]
    print(f"{load['ok']} requests in {load['seconds']} s with {args.clients} clients: "
          f"{load['requests_per_s']} req/s, p50 {latency['p50']} ms, p99 {latency['p99']} ms, "
          f"{load['errors']} errors")
    print(f"server RSS {report['server_rss_mib']['before']} -> "
          f"{report['server_rss_mib']['after']} MiB; batching {report['batching']}")
    print(f"wrote {args.output}")
    print(f"reproduce: {report['command']}")
    if load["errors"]:
        print(f"serve_load: {load['errors']} errors, e.g. {load['error_examples'][:2]}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
