"""Load test for ``nerkit serve``: served words/s against offline ``Tagger.tag_many``, latency
under overload, and memory over a long run.

Starts ``nerkit serve`` on 127.0.0.1 (nothing else is ever contacted) and loads it with ``wrk``
(Debian's ``apt-get install wrk``: C and LuaJIT, so the load costs the server's cores little; it
runs pinned to ``--client-cpus``). Each wrk connection has its own thread and sends one esp.testb
sentence per request (``{"text": ...}``, a different sentence each time), so every request is
timed on its own and its status kept: latencies are per status, words count only answered
requests. Scenarios (``--scenario``):

- ``throughput``: ``--clients`` (50) connections back to back for ``--seconds``. Reports served
  words/s next to the offline ``Tagger.tag_many`` words/s of the same folder and backend in the
  same process run (measured before and after the load, while the server idles; the ratio to
  their mean is ``served_vs_offline``), p50/p90/p99 latency, errors, requests per model call (the
  server's ``/metrics``) and the server's RSS over time.
- ``overload``: 4 x ``--clients`` connections with no think time, far over capacity. Accepted
  requests must stay under ``--max-queue-wait`` plus one model call (the server's p99 model
  call), the others get 503 with ``Retry-After``; socket errors must be 0.
- ``soak``: a short throughput phase measures capacity, then ``--clients`` connections pace
  their requests to ``--load`` (0.8) of it for ``--seconds``; RSS is sampled all along and its
  growth from the start of the soak reported; errors must be 0.
- ``bad-request``: while 8 connections send sentences, huge invalid bodies (a million numbers,
  200,000 unknown keys) are posted; reports each answer's time and size, and the sentences'
  latency meanwhile.

Words are runs of non-space characters of the texts answered (what the server's
``nerkit_words_total`` counts). Without ``--model``, the model is the real multilingual-e5-small
encoder (``../shared/models/build-e5-small``) with an untrained head, written once to
``--model-cache``: its entities are meaningless, its speed is the trained model's.

    python benchmarks/serve_load.py --quick                        # 10 s smoke run
    python benchmarks/serve_load.py --scenario throughput           # 50 clients, 60 s
    python benchmarks/serve_load.py --scenario overload
    python benchmarks/serve_load.py --scenario soak --seconds 600

Each scenario writes ``benchmarks/results/serve_load[_SCENARIO][_quick].json`` with the command
that reproduces it, the date, machine, load average and versions, and prints its figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import env_info

from nerkit.server.process import ServerProcess, launch_server

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
BUILDER = ROOT.parent / "shared" / "models" / "build-e5-small"
SCENARIOS = ("throughput", "overload", "soak", "bad-request")
BUILT_IN = [
    "El presidente Felipe González viajó a Madrid para reunirse con el Rey.",
    "La empresa Telefónica de España firmó un acuerdo con la ONU en Ginebra.",
    "El Mundial de Fútbol empieza en Barcelona el próximo mes de junio.",
    "Ana García, portavoz del PSOE, habló ayer en Sevilla con los periodistas.",
]

# The wrk script: one connection per wrk thread, so request() and response() alternate and
# each request is timed with the monotonic clock (LuaJIT's ffi). With a pacing interval,
# delay() spaces a connection's requests; a client that honours Retry-After waits that long
# after a 503 before its next request. Results are collected in done().
WRK_SCRIPT = r"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } nk_timespec;
int clock_gettime(int clk_id, nk_timespec *tp);
]]
local ts = ffi.new("nk_timespec")
local function now()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local threads = {}
local created = 0
function setup(thread)
  created = created + 1
  thread:set("id", created)
  table.insert(threads, thread)
end

function init(args)
  bodies, words = {}, {}
  for line in io.lines(args[1]) do
    local w, body = line:match("^(%d+)\t(.*)$")
    table.insert(bodies, body)
    table.insert(words, tonumber(w))
  end
  interval = tonumber(args[2])
  honour = tonumber(args[3])
  backoff_until = 0
  index = (id * 7919) % #bodies
  lat, st, wd, ra = {}, {}, {}, {}
  n, sent_at, current, next_at = 0, 0, 1, 0
  headers = {["Content-Type"] = "application/json"}
end

function delay()
  local t = now()
  local wait = 0
  if backoff_until > t then wait = backoff_until - t end
  if interval > 0 then
    if next_at == 0 then next_at = t + math.random() * interval end
    local paced = next_at - t
    if paced < 0 then paced, next_at = 0, t end
    next_at = next_at + interval
    if paced > wait then wait = paced end
  end
  return wait * 1000
end

function request()
  index = index % #bodies + 1
  current = index
  sent_at = now()
  return wrk.format("POST", "/v1/entities", headers, bodies[index])
end

function response(status, hdrs, body)
  n = n + 1
  lat[n] = now() - sent_at
  st[n] = status
  wd[n] = (status == 200) and words[current] or 0
  ra[n] = hdrs["retry-after"] or hdrs["Retry-After"] or "-"
  if honour == 1 and status == 503 and tonumber(ra[n]) then
    backoff_until = now() + tonumber(ra[n])
  end
end

function done(summary, latency, requests)
  local out = io.open(os.getenv("NERKIT_WRK_OUT"), "w")
  local e = summary.errors
  out:write(string.format("%d %d %d %d %d %d\n", summary.duration, e.connect, e.read, e.write,
                          e.timeout, summary.requests))
  for _, t in ipairs(threads) do
    local l, s, w, r = t:get("lat"), t:get("st"), t:get("wd"), t:get("ra")
    for i = 1, #l do out:write(string.format("%.6f %d %d %s\n", l[i], s[i], w[i], r[i])) end
  end
  out:close()
end
"""


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


def write_bodies(sentences: list[str], path: Path) -> None:
    """One line per request for the wrk script: its word count, a tab, its JSON body."""
    lines = [f"{len(s.split())}\t{json.dumps({'text': s}, ensure_ascii=False)}"
             for s in sentences]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def benchmark_model(args: argparse.Namespace) -> Path:
    """``--model``, or the e5-small encoder with an untrained head (written once)."""
    if args.model:
        return args.model
    folder = args.model_cache
    if (folder / "config.json").is_file():
        return folder
    encoder = subprocess.run([sys.executable, str(BUILDER)], check=True, capture_output=True,
                             text=True).stdout.strip().splitlines()[-1]
    import torch

    from nerkit.conll.labels import LabelSet
    from nerkit.modeling.folder import ModelMeta, new_classifier, save_classifier

    torch.manual_seed(0)
    model, tokenizer = new_classifier(encoder, LabelSet.from_types(["LOC", "MISC", "ORG", "PER"]))
    save_classifier(folder, model, tokenizer, ModelMeta(encoder="multilingual-e5-small"))
    return folder


# ------------------------------------------------------------------ the server and its metrics


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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class RssSampler:
    """Samples a process tree's RSS every ``every`` seconds on a thread, as [seconds, MiB]."""

    def __init__(self, pid: int, every: float) -> None:
        self.pid, self.every = pid, every
        self.samples: list[list[float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._started = time.perf_counter()

    def _run(self) -> None:
        while True:
            elapsed = round(time.perf_counter() - self._started, 1)
            self.samples.append([elapsed, round(rss_kib(self.pid) / 1024, 1)])
            if self._stop.wait(self.every):
                return

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append([round(time.perf_counter() - self._started, 1),
                             round(rss_kib(self.pid) / 1024, 1)])


def start_server(args: argparse.Namespace, model: Path, log: Path) -> ServerProcess:
    extra = ["--no-access-log", "--workers", str(args.workers),
             "--max-queue-wait", str(args.max_queue_wait), "--batch-texts", str(args.batch_texts)]
    if args.threads:
        extra += ["--threads", str(args.threads)]
    server = launch_server(model, log, *extra)
    server.wait_until_healthy(timeout=600)
    return server


def scrape(url: str) -> dict[str, float]:
    """The server's ``/metrics`` as ``name{labels}`` -> value."""
    import urllib.request

    from nerkit.server.metrics import parse_samples

    with urllib.request.urlopen(f"{url}/metrics", timeout=30) as answer:
        return parse_samples(answer.read().decode())


def bucket_quantile(before: dict[str, float], after: dict[str, float], name: str,
                    q: float) -> float | None:
    """Upper bound of the ``q`` quantile of a histogram's observations between two scrapes."""
    pattern = re.compile(re.escape(name) + r'_bucket\{le="([^"]+)"\}$')
    buckets = sorted((float(m.group(1)), after[k] - before.get(k, 0.0))
                     for k in after if (m := pattern.match(k)))
    total = buckets[-1][1] if buckets else 0
    for bound, count in buckets:
        if total and count >= q * total:
            return bound
    return None


def server_side(before: dict[str, float], after: dict[str, float]) -> dict[str, Any]:
    """What the server counted between two scrapes."""
    def delta(key: str) -> float:
        return after.get(key, 0.0) - before.get(key, 0.0)

    calls = delta("nerkit_batch_requests_count")
    return {
        "texts": delta("nerkit_texts_total"),
        "words": delta("nerkit_words_total"),
        "model_calls": calls,
        "requests_per_model_call": round(delta("nerkit_batch_requests_sum") / calls, 2)
        if calls else None,
        "texts_per_model_call": round(delta("nerkit_batch_texts_sum") / calls, 2)
        if calls else None,
        "model_call_s_mean": round(delta("nerkit_model_call_seconds_sum") / calls, 3)
        if calls else None,
        "model_call_s_p99_bucket": bucket_quantile(before, after, "nerkit_model_call_seconds",
                                                   0.99),
        "answered_503": delta('nerkit_http_requests_total{path="/v1/entities",status="503"}'),
        "dropped": {r: delta(f'nerkit_dropped_requests_total{{reason="{r}"}}')
                    for r in ("disconnect", "timeout")},
    }


# ------------------------------------------------------------------ offline tagging


def offline_words_per_s(tagger: Any, sentences: list[str], seconds: float) -> float:
    """``Tagger.tag_many`` over chunks of 512 sentences, in turn, for about ``seconds``."""
    words, start, i = 0, time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        chunk = sentences[i : i + 512] or sentences[:512]
        i = i + 512 if i + 512 < len(sentences) else 0
        list(tagger.tag_many(chunk))
        words += sum(len(s.split()) for s in chunk)
    return words / (time.perf_counter() - start)


# ------------------------------------------------------------------ the load


def pinned(cpus: list[int] | None) -> Callable[[], None] | None:
    if not cpus:
        return None
    return lambda: os.sched_setaffinity(0, cpus)


def run_wrk(url: str, bodies: Path, connections: int, seconds: int, interval: float,
            honour_retry_after: bool, cpus: list[int] | None, tmp: Path) -> dict[str, Any]:
    """One wrk run: every request's latency, status, words and Retry-After, and socket errors."""
    script, out = tmp / "load.lua", tmp / f"wrk-{time.monotonic_ns()}.txt"
    script.write_text(WRK_SCRIPT)
    command = ["wrk", "-t", str(connections), "-c", str(connections), "-d", f"{seconds}s",
               "--timeout", "120s", "-s", str(script), url, "--", str(bodies), str(interval),
               str(int(honour_retry_after))]
    with (tmp / "wrk.log").open("ab") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, "NERKIT_WRK_OUT": str(out)},
                                preexec_fn=pinned(cpus))  # noqa: PLW1509 (no threads yet)
        _, status, usage = os.wait4(proc.pid, 0)
    if status != 0 or not out.is_file():
        raise RuntimeError(f"wrk failed ({status}): {(tmp / 'wrk.log').read_text()[-2000:]}")
    head, *lines = out.read_text().splitlines()
    duration_us, connect, read, write, timeout, _ = (int(x) for x in head.split())
    rows = [(float(a), int(b), int(c), d) for a, b, c, d in (line.split() for line in lines)]
    return {"rows": rows, "seconds": duration_us / 1e6,
            "socket_errors": {"connect": connect, "read": read, "write": write,
                              "timeout": timeout},
            "client_cpu_s": round(usage.ru_utime + usage.ru_stime, 2)}


def percentiles(values: list[float]) -> dict[str, float | None]:
    ordered = sorted(values)

    def at(p: float) -> float | None:
        if not ordered:
            return None
        return round(1000 * ordered[min(len(ordered) - 1, int(p * len(ordered)))], 1)

    return {"p50": at(0.50), "p90": at(0.90), "p99": at(0.99), "max": at(1.0)}


def summarize(run: dict[str, Any]) -> dict[str, Any]:
    """Requests, words/s and latencies by status of one wrk run."""
    rows, seconds = run["rows"], run["seconds"]
    ok = [r for r in rows if r[1] == 200]
    refused = [r for r in rows if r[1] == 503]
    other: dict[str, int] = {}
    for row in rows:
        if row[1] not in (200, 503):
            other[str(row[1])] = other.get(str(row[1]), 0) + 1
    return {
        "seconds": round(seconds, 1),
        "requests": len(rows),
        "ok": len(ok),
        "answered_503": len(refused),
        "other_statuses": other,
        "socket_errors": run["socket_errors"],
        "requests_per_s": round(len(ok) / seconds, 2),
        "words_per_s": round(sum(r[2] for r in ok) / seconds, 1),
        "latency_ms": percentiles([r[0] for r in ok]),
        "latency_ms_503": percentiles([r[0] for r in refused]) if refused else None,
        "retry_after_on_every_503": all(r[3].isdigit() and int(r[3]) >= 1 for r in refused),
        "client_cpu_s": run["client_cpu_s"],
    }


def errors_of(summary: dict[str, Any], allow_503: bool = False) -> int:
    bad = sum(summary["other_statuses"].values()) + sum(summary["socket_errors"].values())
    return bad + (0 if allow_503 else summary["answered_503"])


# ------------------------------------------------------------------ scenarios


class Bench:
    """One scenario's server, inputs and temp folder."""

    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args, self.tmp = args, tmp
        self.model = benchmark_model(args)
        self.sentences, self.source = load_sentences(200 if args.quick else 100_000)
        self.bodies = tmp / "bodies.txt"
        write_bodies(self.sentences, self.bodies)
        self.server = start_server(args, self.model, tmp / "serve.log")
        self.url = self.server.url
        self.log_path = tmp / "serve.log"

    def load(self, connections: int, seconds: float, interval: float = 0.0,
             honour_retry_after: bool = False) -> dict[str, Any]:
        """A wrk run, with the server's metrics and CPU time around it and RSS during it."""
        pid = self.server.proc.pid
        before, cpu_before = scrape(self.url), cpu_seconds(pid)
        with RssSampler(pid, self.args.rss_every) as rss:
            run = run_wrk(self.url, self.bodies, connections, max(1, round(seconds)), interval,
                          honour_retry_after, self.args.client_cpus, self.tmp)
        after = scrape(self.url)
        summary = summarize(run)
        summary["server"] = server_side(before, after)
        summary["server"]["cpu_s"] = round(cpu_seconds(pid) - cpu_before, 1)
        summary["server_rss_mib"] = rss.samples
        return summary

    def warm_up(self) -> None:
        """A few seconds of load, not measured: first calls and allocations out of the way."""
        self.load(min(8, self.args.clients), 2 if self.args.quick else 5)

    def offline(self, seconds: float) -> float:
        from nerkit.tagging.tagger import Tagger

        if not hasattr(self, "tagger"):
            self.tagger = Tagger.load(self.model, threads=self.args.threads)
            list(self.tagger.tag_many(self.sentences[:64]))  # warm-up
        return round(offline_words_per_s(self.tagger, self.sentences, seconds), 1)


def throughput(bench: Bench) -> dict[str, Any]:
    args = bench.args
    bench.warm_up()
    offline = [bench.offline(args.offline_seconds)]
    load = bench.load(args.clients, args.seconds)
    offline.append(bench.offline(args.offline_seconds))
    mean_offline = statistics.mean(offline)
    return {
        "clients": args.clients,
        "offline_words_per_s": {"before": offline[0], "after": offline[1],
                                "mean": round(mean_offline, 1)},
        "served_words_per_s": load["words_per_s"],
        "served_vs_offline": round(load["words_per_s"] / mean_offline, 3),
        **load,
        "errors": errors_of(load),
    }


def overload(bench: Bench) -> dict[str, Any]:
    """4 x the clients, with no think time; once ignoring Retry-After (each refused client
    comes straight back), once honouring it, as well-behaved clients do."""
    args = bench.args
    bench.warm_up()
    clients = 4 * args.clients
    result: dict[str, Any] = {"clients": clients, "max_queue_wait_s": args.max_queue_wait}
    errors = 0
    for name, honour in (("ignoring_retry_after", False), ("honouring_retry_after", True)):
        load = bench.load(clients, args.seconds, honour_retry_after=honour)
        model_call = load["server"]["model_call_s_p99_bucket"] or 0.0
        bound = args.max_queue_wait + model_call
        p99 = (load["latency_ms"]["p99"] or 0.0) / 1000
        result[name] = {"accepted_p99_s": round(p99, 3), "bound_s": round(bound, 3),
                        "accepted_p99_within_bound": p99 <= bound, **load}
        errors += errors_of(load, allow_503=True)
    return {**result, "errors": errors}


def soak(bench: Bench) -> dict[str, Any]:
    args = bench.args
    bench.warm_up()
    capacity = bench.load(args.clients, args.capacity_seconds)
    rate = args.load * capacity["requests_per_s"]
    interval = args.clients / rate
    load = bench.load(args.clients, args.seconds, interval)
    rss = load["server_rss_mib"]
    start, end = rss[0][1], rss[-1][1]
    after_minute = next((mib for t, mib in rss if t >= 60), start)
    return {
        "clients": args.clients,
        "capacity_requests_per_s": capacity["requests_per_s"],
        "target_requests_per_s": round(rate, 2),
        "rss_growth": round(end / start - 1, 4),
        "rss_growth_after_first_minute": round(end / after_minute - 1, 4),
        **load,
        "errors": errors_of(load),
    }


BAD_BODIES = {
    "a million numbers": lambda: b'{"texts": [' + b",".join([b"1"] * 1_000_000) + b"]}",
    "200,000 unknown keys": lambda: b'{"text": "a", ' + b", ".join(
        b'"k%d": 1' % i for i in range(200_000)) + b"}",
    "256 items, not strings": lambda: json.dumps({"texts": [[1]] * 256}).encode(),
}


def bad_request(bench: Bench) -> dict[str, Any]:
    import httpx

    answers: dict[str, Any] = {}
    load: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: load.update(bench.load(8, bench.args.seconds)))
    thread.start()
    time.sleep(min(3.0, bench.args.seconds / 4))
    with httpx.Client(base_url=bench.url, timeout=120, trust_env=False) as client:
        for name, make in BAD_BODIES.items():
            body = make()
            started = time.perf_counter()
            response = client.post("/v1/entities", content=body,
                                   headers={"content-type": "application/json"})
            answers[name] = {"body_bytes": len(body), "status": response.status_code,
                             "answer_bytes": len(response.content),
                             "seconds": round(time.perf_counter() - started, 3)}
            time.sleep(1.0)
    thread.join()
    return {"bad_requests": answers, "meanwhile": load, "errors": errors_of(load)}


RUNNERS: dict[str, Callable[[Bench], dict[str, Any]]] = {
    "throughput": throughput, "overload": overload, "soak": soak, "bad-request": bad_request,
}


# ------------------------------------------------------------------ report


def reproduce(args: argparse.Namespace, argv: list[str]) -> str:
    data = os.environ.get("NERKIT_DATA")
    prefix = f"NERKIT_DATA={shlex.quote(data)} " if data else ""
    command = shlex.join(["python", "benchmarks/serve_load.py", *argv])
    return f"cd {shlex.quote(str(ROOT))} && {prefix}{command}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="model folder (default: e5-small with an "
                        "untrained head, in --model-cache)")
    parser.add_argument("--model-cache", type=Path,
                        default=Path(tempfile.gettempdir()) / "nerkit-serve-load-e5-untrained")
    parser.add_argument("--scenario", choices=SCENARIOS, default="throughput")
    parser.add_argument("--clients", type=int, default=50, help="connections (default 50)")
    parser.add_argument("--seconds", type=float, help="measured time (default 60; soak 600)")
    parser.add_argument("--quick", action="store_true", help="a 10 s smoke run on 200 sentences")
    parser.add_argument("--offline-seconds", type=float, default=20.0,
                        help="offline tag_many time, before and after the load (default 20)")
    parser.add_argument("--capacity-seconds", type=float, default=30.0,
                        help="soak: the capacity phase before it (default 30)")
    parser.add_argument("--load", type=float, default=0.8, help="soak: share of capacity")
    parser.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
    parser.add_argument("--threads", type=int, help="PyTorch threads per server process")
    parser.add_argument("--max-queue-wait", type=float,
                        help="server flag (default: the server's 2 s for overload and "
                             "bad-request; 30 s for throughput and soak, which measure speed "
                             "and memory below the limit)")
    parser.add_argument("--batch-texts", type=int, default=64, help="server flag (64)")
    parser.add_argument("--rss-every", type=float, default=5.0, help="RSS sampling (5 s)")
    parser.add_argument("--client-cpus", type=lambda s: [int(c) for c in s.split(",")],
                        default=[(os.cpu_count() or 1) - 1],
                        help="CPUs wrk is pinned to, e.g. 1 or 2,3 (default: the last one)")
    parser.add_argument("--output", type=Path, help="JSON file (default benchmarks/results/"
                        "serve_load[_SCENARIO][_quick].json)")
    args = parser.parse_args(argv)
    if args.seconds is None:
        args.seconds = 10.0 if args.quick else (600.0 if args.scenario == "soak" else 60.0)
    if args.max_queue_wait is None:
        args.max_queue_wait = 30.0 if args.scenario in ("throughput", "soak") else 2.0
    if args.quick:
        args.offline_seconds = min(args.offline_seconds, 5.0)
        args.capacity_seconds = min(args.capacity_seconds, 10.0)
    suffix = "" if args.scenario == "throughput" else "_" + args.scenario.replace("-", "_")
    suffix += "_quick" if args.quick else ""
    args.output = args.output or RESULTS / f"serve_load{suffix}.json"
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed; install it with `apt-get install wrk`")
    if args.model and not (args.model / "config.json").is_file():
        parser.error(f"{args.model}: not a model folder (no config.json); give --model DIR")
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    started_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    host = {**env_info.machine(), "host": platform.node()}
    with tempfile.TemporaryDirectory(prefix="serve-load-") as tmp:
        bench = Bench(args, Path(tmp))
        try:
            result = RUNNERS[args.scenario](bench)
        finally:
            bench.server.stop()
    report = {
        "benchmark": "serve_load", "scenario": args.scenario, "date": started_at,
        "command": reproduce(args, argv), "model": str(bench.model),
        "sentences": {"source": bench.source, "count": len(bench.sentences)},
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        **result, "machine": host,
        "versions": env_info.versions(("nerkit", "torch", "transformers", "fastapi", "uvicorn",
                                       "prometheus_client")),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", "utf-8")
    print_summary(report)
    print(f"wrote {args.output}\nreproduce: {report['command']}")
    return 1 if result["errors"] else 0


def print_summary(report: dict[str, Any]) -> None:
    keys = ("served_words_per_s", "offline_words_per_s", "served_vs_offline", "requests_per_s",
            "latency_ms", "answered_503", "capacity_requests_per_s", "target_requests_per_s",
            "rss_growth", "rss_growth_after_first_minute", "bad_requests", "errors")
    for key in keys:
        if key in report:
            print(f"{key}: {json.dumps(report[key], ensure_ascii=False)}")
    parts = [report] + [report[k] for k in ("ignoring_retry_after", "honouring_retry_after",
                                            "meanwhile") if k in report]
    for part in parts:
        if part is not report:
            print(f"-- {', '.join(k for k, v in report.items() if v is part)}: "
                  f"{part['requests_per_s']} req/s ok, latency {part['latency_ms']}, "
                  f"503: {part['answered_503']} (latency {part.get('latency_ms_503')}), "
                  f"accepted p99 {part.get('accepted_p99_s')} s within bound "
                  f"{part.get('bound_s')} s: {part.get('accepted_p99_within_bound')}")
        if "server" in part:
            print(f"server: {json.dumps(part['server'])}")
        rss = part.get("server_rss_mib") or []
        if rss:
            print(f"server RSS MiB: {rss[0][1]} -> {rss[-1][1]} (max {max(m for _, m in rss)})")


if __name__ == "__main__":
    sys.exit(main())
