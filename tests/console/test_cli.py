"""``flask staff create | disable``."""

from __future__ import annotations

import pytest
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.console.models import StaffRole, StaffUser
from tests.console.conftest import log_in_password
from tests.factories import make_merchant

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
    assert staff.role is StaffRole.PLATFORM_ADMIN and staff.memberships == []
    response = log_in_password(client, "ann@example.org", PASSWORD)
    assert response.status_code == 303  # on to TOTP enrolment (tests/console/test_totp.py)
    assert response.headers["Location"] == "/console/second-factor"


def test_create_support_staff_of_merchants(runner: FlaskCliRunner, session: Session) -> None:
    merchant = make_merchant(session)
    session.commit()
    args = ["staff", "create", "--email", "sam@example.org", "--name", "Sam", "--password-stdin",
            "--role", "support"]
    alone = runner.invoke(args=args, input=f"{PASSWORD}\n")
    assert alone.exit_code == 2 and "needs at least one merchant" in alone.output
    unknown = runner.invoke(args=[*args, "--merchant", "mer_0123456789abcdef"],
                            input=f"{PASSWORD}\n")
    assert unknown.exit_code == 2 and "no merchant mer_0123456789abcdef" in unknown.output
    made = runner.invoke(args=[*args, "--merchant", merchant.public_id], input=f"{PASSWORD}\n")
    assert made.exit_code == 0, made.output
    staff = staff_named(session, "sam@example.org")
    assert staff.role is StaffRole.SUPPORT and staff.merchant_ids == {merchant.id}


def test_role_changes_a_staff_members_role_and_merchants(runner: FlaskCliRunner,
                                                         session: Session) -> None:
    merchant = make_merchant(session)
    session.commit()
    runner.invoke(args=["staff", "create", "--email", "ann@example.org", "--name", "Ann",
                        "--password-stdin"], input=f"{PASSWORD}\n")
    result = runner.invoke(args=["staff", "role", "ann@example.org", "--role", "merchant-admin",
                                 "--merchant", merchant.public_id])
    assert result.exit_code == 0, result.output
    staff = staff_named(session, "ann@example.org")
    assert staff.role is StaffRole.MERCHANT_ADMIN and staff.merchant_ids == {merchant.id}


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
    assert log_in_password(client, "bob@example.org", PASSWORD).status_code == 200  # refused
    missing = runner.invoke(args=["staff", "disable", "nobody@example.org"])
    assert missing.exit_code == 2 and "no staff user" in missing.output
