"""Start the portal the way `make run` does: migrate, create the demo, serve — in subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.pgcluster import free_port


@dataclass(frozen=True)
class RunningPortal:
    base_url: str
    demo_output: str
    instance: Path

    @property
    def demo_link(self) -> str:
        return next(word for word in self.demo_output.split()
                    if word.startswith(f"{self.base_url}/sign/"))


def _environment(instance: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {**os.environ, "PORTAL_INSTANCE_PATH": str(instance), **extra}
    if "PORTAL_DATABASE_URL" not in extra:
        env.pop("PORTAL_DATABASE_URL", None)
    return env


def flask(instance: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run ``flask --app portal ARGS`` to completion; its stdout."""
    return subprocess.run([sys.executable, "-m", "flask", "--app", "portal", *args],
                          env=_environment(instance, env or {}), capture_output=True, text=True,
                          timeout=120, check=True).stdout


def wait_until_up(url: str, process: subprocess.Popen, deadline: float = 120.0) -> None:
    """Poll ``url`` until it answers; fail early if the server process died.

    The deadline is generous because a loaded 2-core CI machine can take a minute to start
    gunicorn; a healthy start returns as soon as the server answers.
    """
    start = time.monotonic()
    while time.monotonic() - start < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited early: {process.stderr.read()}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {deadline} s")


@contextmanager
def running_portal(instance: Path, env: dict[str, str] | None = None) -> Iterator[RunningPortal]:
    """`make run` in miniature: db upgrade, demo, flask run on a free port; stopped afterwards."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    extra = {"PORTAL_PUBLIC_BASE_URL": base, **(env or {})}
    flask(instance, "db", "upgrade", env=extra)
    demo = flask(instance, "demo", env=extra)
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "portal", "run", "--port", str(port)],
        env=_environment(instance, extra), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True)
    try:
        wait_until_up(f"{base}/healthz", process)
        yield RunningPortal(base, demo, instance)
    finally:
        process.terminate()
        process.wait(timeout=10)
