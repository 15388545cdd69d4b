"""Rate limits on opening links and submitting forms: a branded 429 with Retry-After."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from portal import create_app
from portal.db import state
from tests.conftest import app_settings
from tests.factories import make_invitation
from tests.pgcluster import free_port
from tests.sign.driver import Journey, csrf_token


@pytest.fixture(scope="module")
def redis_server() -> Iterator[str]:
    """A throwaway Redis (no persistence) on a free loopback port: the shared counters."""
    import redis
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry

    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: make system-deps installs it")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="test-redis-") as work:
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", work], stdout=subprocess.DEVNULL)
        # The client's own retries wait for the server to listen (a few ms, more when loaded).
        client = redis.Redis(port=port, retry=Retry(ExponentialBackoff(cap=0.2), 100),
                             retry_on_error=[redis.ConnectionError])
        try:
            client.ping()
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            client.close()
            process.terminate()
            process.wait(10)


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The shared Redis, emptied: each test counts from zero."""
    import redis

    with redis.Redis.from_url(redis_server) as client:
        client.flushdb()
    return redis_server


@pytest.fixture
def limited(database_url: str, tmp_path: Path) -> Iterator[Callable[..., Journey]]:
    """A journey on an app built with rate limiting on and the given limits (and settings:
    ``RATELIMIT_STORAGE_URI``)."""
    apps: list[Flask] = []

    def build(**limits: str) -> Journey:
        app = create_app({**app_settings(database_url, tmp_path / "instance"),
                          "RATELIMIT_ENABLED": True,
                          **{f"RATELIMIT_{k}": v for k, v in limits.items()}})
        apps.append(app)
        session: Session = state(app).factory()
        invitation = make_invitation(session)
        session.commit()
        return Journey(app, app.test_client(), session, invitation)

    yield build
    for app in apps:
        state(app).dispose()


def test_opening_links_is_limited(limited) -> None:
    journey = limited(SIGN_OPEN="3 per minute")
    statuses = [journey.open().status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = journey.open()
    assert int(limited.headers["Retry-After"]) > 0
    assert limited.mimetype == "text/html" and b"portal.css" in limited.data


def test_submitting_the_form_is_limited_separately(limited) -> None:
    journey = limited(SIGN_SUBMIT="2 per minute", SIGN_OPEN="100 per minute")
    token = csrf_token(journey.open())
    posts = [journey.client.post(journey.path, data={"csrf_token": token, "iban": "x"})
             .status_code for _ in range(3)]
    assert posts == [422, 422, 429]
    assert journey.open().status_code == 200  # opening is still allowed


def test_limits_are_per_client_address(limited) -> None:
    journey = limited(SIGN_OPEN="1 per minute")
    assert journey.open().status_code == 200
    assert journey.open().status_code == 429
    other = journey.client.get(journey.path, environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert other.status_code == 200


def test_token_endpoint_is_limited_with_a_problem_response(limited) -> None:
    from portal.api.clients import create_client
    from tests.api.conftest import request_token

    journey = limited(TOKEN="2 per minute")
    created = create_client(journey.session, journey.invitation.merchant, "ERP", "mandates:read")
    journey.session.commit()
    statuses = [request_token(journey.client, created.client.client_id, created.secret).status_code
                for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited_response = request_token(journey.client, created.client.client_id, created.secret)
    assert limited_response.mimetype == "application/problem+json"
    assert limited_response.get_json()["status"] == 429
    assert int(limited_response.headers["Retry-After"]) > 0


def test_revocation_endpoint_is_limited_too(limited) -> None:
    from portal.api.clients import create_client
    from tests.api.conftest import basic

    journey = limited(REVOKE="2 per minute")
    created = create_client(journey.session, journey.invitation.merchant, "ERP", "mandates:read")
    journey.session.commit()
    credentials = basic(created.client.client_id, created.secret)
    responses = [journey.client.post("/api/v1/oauth/revoke", data={"token": "mpat_unknown"},
                                     headers=credentials) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert responses[-1].mimetype == "application/problem+json"
    assert int(responses[-1].headers["Retry-After"]) > 0


def _limited_app(**config: object) -> Flask:
    """A bare Flask app with the portal's limiter and two limited views."""
    from portal import limits

    app = Flask(__name__)
    app.config.update({"RATELIMIT_STORAGE_URI": "memory://", "RATELIMIT_OPEN": "2 per minute",
                       **config})
    limits.init_app(app)

    @app.route("/page", methods=["GET", "POST"])
    @limits.limiter.limit(limits.configured("OPEN"), methods=["GET"])
    @limits.limiter.limit("1 per minute", methods=["POST"])
    def page() -> str:
        return "page"

    @app.get("/other")
    @limits.limiter.limit("1 per minute;3 per hour")
    def other() -> str:
        return "other"

    return app


def test_each_limit_counts_only_its_methods_and_its_view() -> None:
    client = _limited_app().test_client()
    assert [client.get("/page").status_code for _ in range(3)] == [200, 200, 429]
    assert [client.post("/page").status_code for _ in range(2)] == [200, 429]
    assert client.get("/other").status_code == 200  # a view of its own: its own counter
    refused = client.get("/other")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1


def test_the_limit_is_read_from_config_at_request_time() -> None:
    app = _limited_app()
    client = app.test_client()
    assert [client.get("/page").status_code for _ in range(3)] == [200, 200, 429]
    app.config["RATELIMIT_OPEN"] = "5 per minute"
    assert client.get("/page").status_code == 200  # a new limit: a counter of its own


def test_every_limit_of_a_value_is_counted() -> None:
    """'1 per minute;3 per hour': both windows count each request."""
    from portal.limits import Counting

    app = _limited_app()
    client = app.test_client()
    assert client.get("/other").status_code == 200
    counting: Counting = app.extensions["rate_limits"]
    per_minute, per_hour = counting.items("1 per minute;3 per hour")
    for item in (per_minute, per_hour):
        assert counting.strategy.get_window_stats(item, "127.0.0.1",
                                                  "tests.production.test_rate_limits."
                                                  "_limited_app.<locals>.other:*").remaining \
            == item.amount - 1


def test_nothing_is_counted_when_limits_are_off() -> None:
    client = _limited_app(RATELIMIT_ENABLED=False).test_client()
    assert {client.get("/page").status_code for _ in range(5)} == {200}


def test_opening_the_signing_page_starts_no_thread(limited, monkeypatch) -> None:
    """With the in-memory counters (one process), a limited request starts no thread: the
    library's sweep of expired counters started a timer thread every 10 ms of traffic."""
    import threading

    journey = limited(SIGN_OPEN="1000 per minute")
    assert journey.open().status_code == 200  # the first count schedules the one sweep
    started: list[threading.Thread] = []
    real_start = threading.Thread.start
    monkeypatch.setattr(threading.Thread, "start",
                        lambda thread: (started.append(thread), real_start(thread))[1])
    assert {journey.open().status_code for _ in range(50)} == {200}
    assert started == []


def test_the_in_memory_counters_are_still_swept(monkeypatch) -> None:
    """Expired counters are still swept from memory, once per sweep interval."""
    import threading

    from portal import limits

    storage = limits.storage_for("memory://")
    assert isinstance(storage, limits.SweptMemoryStorage)
    storage.timer.join()  # the sweep the library schedules when the storage is made
    started: list[threading.Thread] = []
    real_start = threading.Thread.start
    monkeypatch.setattr(threading.Thread, "start",
                        lambda thread: (started.append(thread), real_start(thread))[1])
    clock = [1000.0]
    monkeypatch.setattr(limits.time, "monotonic", lambda: clock[0])
    for _ in range(5):
        storage.incr("key", 60)
    assert len(started) == 1  # the first hit's sweep
    started[0].join()
    clock[0] += limits.MEMORY_SWEEP_SECONDS
    storage.incr("key", 60)
    assert len(started) == 2 and storage.get("key") == 6


def test_opening_links_is_limited_in_redis(limited, redis_url) -> None:
    """Shared counters: the hit is sent before the link is read, its answer read after."""
    journey = limited(SIGN_OPEN="3 per minute", STORAGE_URI=redis_url)
    statuses = [journey.open().status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = journey.open()
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.mimetype == "text/html" and b"portal.css" in refused.data
    other = journey.client.get(journey.path, environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert other.status_code == 200  # per client address, as in memory


@pytest.mark.parametrize("storage", ["memory", "redis"])
def test_over_the_limit_a_bad_link_gets_429_too(limited, redis_url, storage) -> None:
    """The verdict comes before the link's own answer: beyond the limit, made-up or unknown
    links are refused with 429 like good ones, never told apart by their 400 or 404."""
    journey = limited(SIGN_OPEN="2 per minute",
                      STORAGE_URI=redis_url if storage == "redis" else "memory://")
    made_up = journey.path + "x"
    assert [journey.client.get(made_up).status_code for _ in range(3)] == [400, 400, 429]
    assert journey.open().status_code == 429


def test_counting_survives_redis_losing_its_script(limited, redis_url) -> None:
    """After SCRIPT FLUSH (a Redis restart keeps no scripts) the hit is counted the library's
    way, which loads the script again."""
    import redis

    journey = limited(SIGN_OPEN="2 per minute", STORAGE_URI=redis_url)
    assert journey.open().status_code == 200
    redis.Redis.from_url(redis_url).script_flush()
    assert [journey.open().status_code for _ in range(2)] == [200, 429]


def test_counting_survives_redis_dropping_the_connection(limited, redis_url) -> None:
    """Each thread keeps its own connection for the hits; when Redis drops it (a restart, a
    timeout), the hit is counted the library's way and the next one reconnects."""
    import redis

    journey = limited(SIGN_OPEN="3 per minute", STORAGE_URI=redis_url)
    assert journey.open().status_code == 200
    with redis.Redis.from_url(redis_url) as admin:
        assert admin.client_kill_filter(_type="normal", skipme=True) >= 1
    assert [journey.open().status_code for _ in range(3)] == [200, 200, 429]


def test_a_count_never_read_is_read_before_the_next_is_sent(redis_url) -> None:
    """Hits and their answers share one connection per thread: a count whose answer nobody
    read must not be taken for the next one's."""
    from portal.limits import Counting, ViewLimit

    app = _limited_app(RATELIMIT_STORAGE_URI=redis_url)
    counting: Counting = app.extensions["rate_limits"]
    limit = ViewLimit("2 per minute", "tests:unread")
    first = limit.send(app, "10.0.0.1", {})
    second = limit.send(app, "10.0.0.1", {})  # sent while the first's answer is unread
    third = limit.send(app, "10.0.0.1", {})
    assert second.exhausted() is None and first.counts == [1] and second.counts == [2]
    assert third.exhausted() is counting.items("2 per minute")[0]
