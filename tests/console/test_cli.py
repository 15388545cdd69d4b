"""``flask staff create | disable``."""

from __future__ import annotations

import pytest
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.console.models import StaffUser
from tests.console.conftest import log_in

PASSWORD = "a long enough password"


def staff_named(session: Session, email: str) -> StaffUser | None:
    session.expire_all()
    return session.scalar(select(StaffUser).where(StaffUser.email == email))


def test_create_prompts_for_the_password_twice(runner: FlaskCliRunner, session: Session,
                                               client) -> None:
    result = runner.invoke(args=["staff", "create", "--email", "Ann@Example.org",
                                 "--name", "Ann"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    staff = staff_named(session, "ann@example.org")
    assert staff is not None and staff.name == "Ann" and result.output.strip().endswith(
        staff.public_id)
    assert PASSWORD not in result.output
    assert log_in(client, "ann@example.org", PASSWORD).status_code == 303


def test_create_refuses_mismatched_prompts(runner: FlaskCliRunner, session: Session) -> None:
    result = runner.invoke(args=["staff", "create", "--email", "ann@example.org",
                                 "--name", "Ann"], input=f"{PASSWORD}\nother\n")
    assert result.exit_code != 0
    assert staff_named(session, "ann@example.org") is None


def test_create_from_stdin(runner: FlaskCliRunner, session: Session) -> None:
    result = runner.invoke(args=["staff", "create", "--email", "bob@example.org", "--name",
                                 "Bob", "--password-stdin"], input=f"{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert staff_named(session, "bob@example.org") is not None


def test_create_refuses_short_passwords_and_duplicates(runner: FlaskCliRunner) -> None:
    args = ["staff", "create", "--email", "bob@example.org", "--name", "Bob", "--password-stdin"]
    short = runner.invoke(args=args, input="short\n")
    assert short.exit_code == 2 and "at least 12" in short.output
    assert runner.invoke(args=args, input=f"{PASSWORD}\n").exit_code == 0
    again = runner.invoke(args=args, input=f"{PASSWORD}\n")
    assert again.exit_code == 2 and "already exists" in again.output


@pytest.mark.parametrize("name", ["Bob\r\nBcc", "Bob\x1b[2J", "Bob \u202eboB"])
def test_create_refuses_names_with_control_or_bidi_characters(runner: FlaskCliRunner,
                                                              name: str) -> None:
    result = runner.invoke(args=["staff", "create", "--email", "bob@example.org", "--name", name,
                                 "--password-stdin"], input=f"{PASSWORD}\n")
    assert result.exit_code == 2 and "the name must not contain" in result.output


def test_disable(runner: FlaskCliRunner, session: Session, client) -> None:
    runner.invoke(args=["staff", "create", "--email", "bob@example.org", "--name", "Bob",
                        "--password-stdin"], input=f"{PASSWORD}\n")
    result = runner.invoke(args=["staff", "disable", "BOB@example.org"])
    assert result.exit_code == 0 and "disabled stf_" in result.output
    assert staff_named(session, "bob@example.org").disabled_at is not None
    assert log_in(client, "bob@example.org", PASSWORD).status_code == 200  # refused
    missing = runner.invoke(args=["staff", "disable", "nobody@example.org"])
    assert missing.exit_code == 2 and "no staff user" in missing.output
