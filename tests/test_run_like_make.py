"""Start the portal the way `make run` does, in a subprocess with a fresh instance folder."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.portal_process import flask, running_portal

pytestmark = pytest.mark.slow


def test_portal_starts_like_make_run_and_is_healthy(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    with running_portal(instance) as portal:
        assert (instance / "portal.sqlite3").exists() and (instance / "secret_key").exists()
        health = httpx.get(f"{portal.base_url}/healthz")
        assert health.status_code == 200 and health.json()["database"] == "ok"
        page = httpx.get(portal.demo_link)
        assert page.status_code == 200 and "Demo Sportclub" in page.text


def test_demo_creates_its_merchant_once(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    flask(instance, "db", "upgrade")
    first, second = flask(instance, "demo"), flask(instance, "demo")
    links = [w for w in (first + second).split() if "/sign/" in w]
    # each run prints a fresh Core link and a fresh B2B link (signed at the sandbox bank)
    assert len(set(links)) == 4 and "Demo Sportclub" in first and "Demo Sportclub" in second
    # the flask that ran, not a bare `flask` that may be another install
    assert ".venv/bin/flask --app portal staff create --email" in first
    assert " flask --app" not in first
