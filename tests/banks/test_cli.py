"""`flask banks directory` lists (and caches) the debtor banks; `banks fingerprint` names our
signing certificate."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from portal.banks.certificates import fingerprint
from portal.banks.factory import sandbox_keys
from portal.banks.models import BankDirectory
from portal.db import state
from tests.banks.conftest import Clock
from tests.reconfigure import reconfigure

pytestmark = pytest.mark.slow


def test_directory_is_fetched_once_then_served_from_the_cache_until_a_day_passed(
        app: Flask, live: str, clock: Clock) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["banks", "directory", "--scheme", "B2B"])
    assert first.exit_code == 0, first.output
    assert "INGBNL2A" in first.output and "Deutschland" in first.output
    with state(app).factory() as session:
        fetched = session.scalar(select(BankDirectory.fetched_at))
    clock.advance(hours=23)
    runner.invoke(args=["banks", "directory", "--scheme", "B2B"])
    with state(app).factory() as session:
        assert session.scalar(select(BankDirectory.fetched_at)) == fetched
    runner.invoke(args=["banks", "directory", "--scheme", "B2B", "--refresh"])
    with state(app).factory() as session:
        assert session.scalar(select(BankDirectory.fetched_at)) > fetched
    clock.advance(hours=25)
    runner.invoke(args=["banks", "directory", "--scheme", "B2B"])
    with state(app).factory() as session:
        assert session.scalar(select(BankDirectory.fetched_at)) == clock.now


def test_a_stale_copy_is_used_when_the_acquirer_is_down(app: Flask, live: str,
                                                        clock: Clock) -> None:
    runner = app.test_cli_runner()
    assert runner.invoke(args=["banks", "directory"]).exit_code == 0
    reconfigure(app, PUBLIC_BASE_URL="http://127.0.0.1:9")  # the sandbox is unreachable now
    clock.advance(days=2)
    result = runner.invoke(args=["banks", "directory"])
    assert result.exit_code == 0 and "ABNANL2A" in result.output


def test_fingerprint_is_our_certificates(app: Flask, live: str) -> None:
    result = app.test_cli_runner().invoke(args=["banks", "fingerprint"])
    assert result.output.strip() == fingerprint(
        sandbox_keys(app.config, app.instance_path).merchant.certificate)
