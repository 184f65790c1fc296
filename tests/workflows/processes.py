"""Real processes for the end-to-end tests: a Prefect server on loopback, a process worker, a
dualduty CLI. Every process started here is stopped on the way out, failures included."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def prefect_env(home: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="90",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def stop(process: subprocess.Popen[bytes], *, grace: float = 15.0) -> None:
    """SIGINT first (Prefect's worker ignores SIGTERM once its server is gone), then kill."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=grace)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        pass
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@contextmanager
def started(
    args: list[str], *, env: dict[str, str], log: Path, cwd: Path = ROOT
) -> Iterator[subprocess.Popen[bytes]]:
    """A process in its own process group (so its children stop with it), output to ``log``."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            args, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield process
        finally:
            stop(process)


def wait_healthy(api_url: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prefect server exited early:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(f"{api_url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(
        f"prefect server not healthy in {timeout} s:\n{log.read_text(errors='replace')}"
    )


@contextmanager
def prefect_server(*, database_url: str, home: Path, logs: Path) -> Iterator[str]:
    """``prefect server start`` on a free loopback port, backed by ``database_url``; yields the
    API URL."""
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = prefect_env(
        home,
        PREFECT_API_DATABASE_CONNECTION_URL=database_url,
        PREFECT_API_URL=api_url,
        PREFECT_SERVER_API_HOST="127.0.0.1",
    )
    log = logs / "prefect-server.log"
    with started(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        log=log,
    ) as server:
        wait_healthy(api_url, server, log, timeout=90)
        yield api_url
