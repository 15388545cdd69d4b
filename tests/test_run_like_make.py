"""Start the portal the way `make run` does, in a subprocess with a fresh instance folder."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.pgcluster import free_port

pytestmark = pytest.mark.slow


def _flask(instance: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PORTAL_INSTANCE_PATH": str(instance)}
    env.pop("PORTAL_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "flask", "--app", "portal", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=True)


def _wait_until_up(url: str, process: subprocess.Popen, deadline: float = 30.0) -> None:
    start = time.monotonic()
    while time.monotonic() - start < deadline:
        if process.poll() is not None:
            raise AssertionError(f"portal exited: {process.stderr.read()}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("portal did not start in time")


def test_portal_starts_like_make_run_and_is_healthy(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    _flask(instance, "db", "upgrade")
    demo = _flask(instance, "demo", "--base-url", base)
    assert f"{base}/sign/" in demo.stdout
    assert (instance / "portal.sqlite3").exists() and (instance / "secret_key").exists()

    env = {**os.environ, "PORTAL_INSTANCE_PATH": str(instance)}
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "portal", "run", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _wait_until_up(f"{base}/healthz", process)
        health = httpx.get(f"{base}/healthz")
        assert health.status_code == 200 and health.json()["database"] == "ok"
        link = next(word for word in demo.stdout.split() if word.startswith(f"{base}/sign/"))
        page = httpx.get(link)
        assert page.status_code == 200 and "Demo Sportclub" in page.text
    finally:
        process.terminate()
        process.wait(timeout=10)
