"""Real `rectify` processes for tests: `rectify serve` on a free port, other commands in the background.

Each process runs in a session of its own; on exit it and its group get SIGTERM, then SIGKILL after 10 s,
whatever happened in the test. Output goes to a log file whose tail failures show.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

RECTIFY = Path(sys.executable).with_name("rectify")
ROOT = Path(__file__).resolve().parents[1]


def clean_env(**values: str) -> dict[str, str]:
    """This process's environment without any RECTIFY_* setting, plus `values`."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("RECTIFY_")}
    return env | {"RECTIFY_ACCESS_LOG": "0", "RECTIFY_SCHEDULER": "0"} | values


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tail(path: Path, n: int = 3000) -> str:
    return path.read_text(errors="replace")[-n:] if path.exists() else ""


@contextmanager
def process(args: list[str], *, env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen]:
    log = open(log_path, "wb")
    proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@contextmanager
def serving(env: dict[str, str], log_path: Path, *, timeout: float = 90.0) -> Iterator[str]:
    """`rectify serve --no-demo` on a free port of 127.0.0.1; yields its base URL once /login answers."""
    port = free_port()
    with process(
        [str(RECTIFY), "serve", "--no-demo", "--host", "127.0.0.1", "--port", str(port)], env=env, log_path=log_path
    ) as proc:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"rectify serve exited with {proc.returncode}:\n{tail(log_path)}")
            try:
                if httpx.get(f"{url}/login", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"rectify serve did not answer within {timeout:.0f} s:\n{tail(log_path)}")
            time.sleep(0.2)
        yield url
