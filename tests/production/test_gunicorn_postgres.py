"""Production shape: gunicorn with two web workers on PostgreSQL and a separate worker process.
A mandate signed over HTTP is delivered to the merchant's webhook."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from portal import create_app
from portal.clock import utcnow
from portal.db import session_scope, state
from portal.mandates.links import Links
from portal.mandates.service import InvitationRequest, invite_customer
from portal.webhooks.service import configure_endpoint
from tests.factories import merchant_details
from tests.http_journey import sign_and_verify
from tests.pgcluster import free_port
from tests.portal_process import flask, wait_until_up
from tests.webhooks.receiver import Receiver

#: Production refuses weak keys (32 random bytes at least).
SECRET_KEY, DATA_KEY, AUDIT_KEY = (secrets.token_urlsafe(32) for _ in range(3))

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


def _process(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", *args], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def test_gunicorn_workers_and_a_worker_process_sign_and_notify(
        request: pytest.FixtureRequest, tmp_path: Path, receiver: Receiver) -> None:
    from tests.conftest import new_postgres_database

    database_url = new_postgres_database(request, None)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PORTAL_INSTANCE_PATH": str(tmp_path), "PORTAL_ENV": "production",
           "PORTAL_SECRET_KEY": SECRET_KEY, "PORTAL_DATA_KEY": DATA_KEY, "PORTAL_AUDIT_KEY": AUDIT_KEY,
           "PORTAL_DATABASE_URL": database_url, "PORTAL_PUBLIC_BASE_URL": base,
           "PORTAL_JOBS_IN_PROCESS": "false", "PORTAL_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
           "PORTAL_LOG_LEVEL": "WARNING", "PORTAL_SEAL_PKCS12_PATH": str(tmp_path / "seal.p12"),
           "PORTAL_SANDBOX_IN_PRODUCTION": "true"}  # a staging site: it pays in the sandbox
    flask(tmp_path, "db", "upgrade", env=env)
    from signing import create_development_key

    create_development_key(tmp_path / "seal.p12")
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY,
                      "DATA_KEY": DATA_KEY, "AUDIT_KEY": AUDIT_KEY,
                      "INSTANCE_PATH": str(tmp_path), "TESTING": True,
                      "PUBLIC_BASE_URL": base, "WEBHOOK_ALLOW_PRIVATE_NETWORKS": True})
    with app.app_context(), session_scope(app) as session:
        from portal.merchants.service import create_merchant

        merchant = create_merchant(session, merchant_details())
        secret = configure_endpoint(session, merchant, receiver.url)
        invitation = invite_customer(session, merchant, InvitationRequest(customer_name="Sam"),
                                     now=utcnow())
        session.flush()
        path = Links.from_config(app.config).invitation_url(
            invitation.public_id, invitation.expires_at).removeprefix(base)
    state(app).dispose()

    web = _process(["gunicorn", "-c", "gunicorn.conf.py", "-w", "2", "-b",
                    f"127.0.0.1:{port}", "wsgi:app"], env)
    worker = _process(["flask", "--app", "portal", "worker", "--poll", "0.2"], env)
    try:
        wait_until_up(f"{base}/healthz", web)
        done = sign_and_verify(base, path)
        assert "Active" in done
        deadline = time.monotonic() + 60
        expected = {"mandate.created", "invitation.opened", "mandate.signed", "mandate.active"}
        while time.monotonic() < deadline and not expected <= {
                r.json()["type"] for r in receiver.requests}:
            assert worker.poll() is None, worker.stderr.read()
            time.sleep(0.2)
        # Several deliveries are in flight at once, so they may arrive in any order (README):
        # every event arrives, and its created_at tells where it belongs.
        events = [r.json() for r in receiver.requests]
        assert expected <= {e["type"] for e in events}
        by_type = {e["type"]: e["created_at"] for e in events}
        assert (by_type["mandate.created"] <= by_type["invitation.opened"]
                <= by_type["mandate.signed"] <= by_type["mandate.active"])
        verifier = Webhook(secret)
        for received in receiver.requests:
            assert verifier.verify(received.body, received.headers) == json.loads(received.body)
    finally:
        for process in (web, worker):
            process.terminate()
        for process in (web, worker):
            _stop(process)


def _stop(process: subprocess.Popen) -> None:
    """Wait past gunicorn's 20 s graceful_timeout (a loaded machine needs that and more); a
    process still up after a minute is killed and the test fails on it."""
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
        raise
