"""Start and stop a ``nerkit serve`` process on loopback, for tests, benchmarks and scripts.

Starting is split from waiting so that a caller can do other slow work (start a browser) while
the server loads its model. Only the standard library is used: nothing here needs the server's
own dependencies.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"


def free_port(host: str = HOST) -> int:
    """A port the OS has just found free on ``host``."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@dataclass
class ServerProcess:
    """A running ``nerkit serve``: its process, base URL and log file."""

    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def wait_until_healthy(self, timeout: float = 120.0) -> str:
        """Poll ``/healthz`` until it answers 200; raise with the log's tail otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"nerkit serve exited with {self.proc.returncode}:\n{self._log_tail()}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return self.url
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"nerkit serve not up after {timeout:.0f} s:\n{self._log_tail()}")

    def stop(self, timeout: float = 30.0) -> None:
        """Terminate, then kill if it does not exit in ``timeout`` seconds."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=timeout)

    def _log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


def launch_server(
    model: str | Path, log: Path, *extra: str, host: str = HOST, port: int | None = None
) -> ServerProcess:
    """Start ``nerkit serve --model MODEL`` on ``host`` without waiting for it to be ready."""
    port = port or free_port(host)
    command = [sys.executable, "-m", "nerkit.cli", "serve", "--model", str(model),
               "--host", host, "--port", str(port), *extra]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    return ServerProcess(proc, f"http://{host}:{port}", log)
