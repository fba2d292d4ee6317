"""`warmline serve` as a real process on loopback, for tests that kill it or read its log."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx

from helpers import TEST_ENVIRONMENT


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_environment(
    data_dir: Path, database_url: str | None = None, **extra: str
) -> dict[str, str]:
    """The environment of a test server: test secrets, its own data dir, generous limits."""
    env = {
        **os.environ,
        **TEST_ENVIRONMENT,
        "WARMLINE_DATA_DIR": str(data_dir),
        "WARMLINE_RATE_LIMIT_CONVERSATION_BURST": "100000",
        "WARMLINE_RATE_LIMIT_CLIENT_BURST": "1000000",
        **extra,
    }
    if database_url is None:
        env.pop("WARMLINE_DATABASE_URL", None)
    else:
        env["WARMLINE_DATABASE_URL"] = database_url
    return env


def start_server(
    env: dict[str, str], port: int, log: IO[bytes], workers: int = 1, *, demo: bool = False
) -> subprocess.Popen[bytes]:
    """Start `warmline serve` (with `--demo`: its demo data, in development) and wait until
    it answers (up to 60 s)."""
    command = [sys.executable, "-m", "warmline", "serve", "--port", str(port)]
    if workers > 1:
        command += ["--workers", str(workers)]
    if demo:
        command.append("--demo")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError("server did not start within 60 s")
