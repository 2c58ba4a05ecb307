"""Real processes for the job tests: ``socialcare serve`` / ``socialcare worker`` started as a user
would, against a database of the test's own, with an injected clock shared through a file."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

SRC = Path(__file__).resolve().parents[2] / "src"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Clock:
    """The injected clock: seconds added to the real one, read by every process (SOCIALCARE_CLOCK_FILE)."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0.0
        self.set(0)

    def set(self, seconds: float) -> None:
        self.offset = seconds
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(str(seconds))
        os.replace(tmp, self.path)

    def advance(self, seconds: float) -> None:
        self.set(self.offset + seconds)


def process_env(database_url: str, data_dir: Path, clock: Clock | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALCARE_")}
    env.update(SOCIALCARE_DATABASE_URL=database_url, SOCIALCARE_DATA_DIR=str(data_dir),
               SOCIALCARE_JOBS_TICK_SECONDS="0.3", PYTHONPATH=os.pathsep.join(
                   [str(SRC), *([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])]))
    if clock is not None:
        env["SOCIALCARE_CLOCK_FILE"] = str(clock.path)
    env.update(extra)
    return env


class Process:
    def __init__(self, args: list[str], env: dict[str, str], log: Path, port: int | None = None):
        self.port = port
        self.log = log
        self._fh = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([sys.executable, "-m", "socialcare.cli", *args], env=env,
                                     stdout=self._fh, stderr=subprocess.STDOUT)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"the process stopped:\n{self.output()}"
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"the server did not answer within {timeout}s:\n{self.output()}")

    def output(self) -> str:
        self._fh.flush()
        return self.log.read_text(errors="replace")[-6000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._fh.close()


def serve(env: dict[str, str], log: Path, *args: str) -> Process:
    port = free_port()
    return Process(["serve", "--port", str(port), *args], env, log, port)


def worker(env: dict[str, str], log: Path, *args: str) -> Process:
    return Process(["worker", *args], env, log)


def eventually(check: Callable[[], object], *, timeout: float = 60, step: Callable[[], None] | None = None,
               pause: float = 0.4, what: str = "the condition") -> object:
    """Wait (bounded) until ``check()`` is truthy; ``step`` runs between tries (move the clock on)."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout}s"
        if step:
            step()
        time.sleep(pause)


class LivePartner:
    """tests.interop.partner_server.PartnerServer on a real port (uvicorn in a thread)."""

    def __init__(self):
        import uvicorn

        from tests.interop.partner_server import PartnerServer

        self.server = PartnerServer()
        port = free_port()
        self._uv = uvicorn.Server(uvicorn.Config(self.server.app, host="127.0.0.1", port=port, log_level="warning"))
        self._thread = threading.Thread(target=self._uv.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._uv.started:
            assert time.monotonic() < deadline, "the partner server did not start"
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{port}/fhir"

    def stop(self) -> None:
        self._uv.should_exit = True
        self._thread.join(timeout=10)
