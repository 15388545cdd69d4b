"""Data-key rotation: search keeps working before, during and after `keys reencrypt`, which
moves every encrypted value to the current key, resumes after a kill, and never overwrites what
the portal writes meanwhile; afterwards the old key can be removed."""

from __future__ import annotations

import ast
import importlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import String, Text, create_engine, select, text
from sqlalchemy.types import JSON

import portal
from portal.crypto import FieldCipher
from portal.db import state
from portal.keys.service import encrypted_columns, reencrypt_batch
from portal.mandates.models import Mandate
from portal.mandates.service import debtor_iban, set_debtor_account
from portal.merchants.models import Merchant
from portal.models import Base
from portal.webhooks.secrets import signing_secrets
from tests.api.conftest import make_caller
from tests.keys.conftest import NEW_KEY, OLD_KEY, Keyed, finds, iban, seed, session_of

OLD_ID = FieldCipher(OLD_KEY).current_key_id
NEW_ID = FieldCipher(NEW_KEY).current_key_id
INVITE = {"customer": {"name": "Sam de Vries", "email": "sam@example.org", "locale": "en"}}


def test_the_encrypted_columns_declare_themselves() -> None:
    assert {column.name: column.context for column in encrypted_columns()} == {
        "mandate.iban_ciphertext": "mandate.iban",
        "merchant.webhook_secret": "merchant.webhook_secret",
        "merchant.webhook_previous_secret": "merchant.webhook_previous_secret",
        "api_idempotency_key.response_body": "api_idempotency_key.response_body",
        "sandbox_payment.payer_iban_ciphertext": "sandbox_payment.payer_iban",
        "debit_attempt.debtor_iban_ciphertext": "mandate.iban",
        "debit_attempt.original_iban_ciphertext": "debit_attempt.original_iban",
        "sandbox_mandate.consumer_iban_ciphertext": "sandbox_mandate.consumer_iban",
        "bank_transaction.report_ciphertext": "bank_transaction.report",
        "sandbox_bank_transaction.request_ciphertext": "sandbox_bank_transaction.request",
        "sandbox_bank_transaction.debtor_iban_ciphertext": "sandbox_bank_transaction.debtor_iban",
        "sandbox_bank_transaction.report_ciphertext": "sandbox_bank_transaction.report",
        "staff_user.totp_secret": "staff_user.totp_secret",
    }
    hashes = {c.name: c.lookup_hash.name for c in encrypted_columns() if c.lookup_hash is not None}
    assert hashes == {"mandate.iban_ciphertext": "iban_hash",
                      "debit_attempt.debtor_iban_ciphertext": "debtor_iban_hash"}


def test_every_ciphertext_or_keyed_hash_column_is_declared() -> None:
    """Values copied from another encrypted column (no ``encrypt`` call of their own) are
    declared too: by name, every ``…_ciphertext`` column, and every ``…iban_hash`` beside one."""
    declared = {c.name for c in encrypted_columns()}
    hashes = {f"{c.table.name}.{c.lookup_hash.name}" for c in encrypted_columns()
              if c.lookup_hash is not None}
    columns = [f"{table.name}.{column.name}" for table in Base.metadata.sorted_tables
               for column in table.columns]
    assert {name for name in columns if name.endswith("_ciphertext")} <= declared
    assert {name for name in columns if name.endswith("iban_hash")} <= hashes


def _encrypt_contexts() -> set[str]:
    """The associated data of every ``….encrypt(value, context)`` call in the portal's code."""
    root = Path(portal.__file__).parent
    found = set()
    for path in root.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        module = None
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "encrypt" and len(node.args) == 2):
                continue
            context = node.args[1]
            if isinstance(context, ast.Constant):
                found.add(context.value)
            elif isinstance(context, ast.Name):  # a module constant
                name = ".".join(path.relative_to(root.parent).with_suffix("").parts)
                module = module or importlib.import_module(name)
                found.add(getattr(module, context.id))
            # else: generic code handing on a column's own context (keys.service)
    return found


def test_every_encrypted_value_has_a_declared_column() -> None:
    """A column encrypted without ``info=encrypted(...)`` would be missed by `keys reencrypt`,
    and removing the old key would lose it."""
    contexts = _encrypt_contexts()
    assert "mandate.iban" in contexts and len(contexts) >= 5
    assert contexts <= {column.context for column in encrypted_columns()}


def test_search_finds_mandates_made_before_the_rotation(keyed: Keyed) -> None:
    """Rotating as the README says (new key, old one as fallback) loses no search result."""
    seeded = seed(keyed.old, 2)
    for public_id in seeded.mandates:
        assert finds(keyed.old, seeded, public_id)
        assert finds(keyed.rotating, seeded, public_id)  # hashes made under the old key
    with session_of(keyed.rotating) as session:  # a mandate signed after the rotation
        mandate = session.scalar(select(Mandate).where(
            Mandate.public_id == next(iter(seeded.mandates))))
        set_debtor_account(session, mandate, iban(0), None)
        session.commit()
    assert finds(keyed.rotating, seeded, next(iter(seeded.mandates)))


def _values_under(key_id: str, session) -> list[str]:
    """Every stored text anywhere in the database naming ``key_id`` as a ciphertext."""
    needle = f"v1.{key_id}."
    found = []
    for table in Base.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
        if not columns:
            continue
        for row in session.execute(select(*columns)).all():
            found += [f"{table.name}: {value}" for value in row
                      if value is not None and needle in str(value)]
    return found


def test_reencrypt_moves_everything_so_the_old_key_can_go(keyed: Keyed) -> None:
    seeded = seed(keyed.old, 3)
    caller = make_caller(keyed.old, session_of(keyed.old),
                         session_of(keyed.old).get(Merchant, seeded.merchant_id)).authorize()
    first = caller.post("/api/v1/invitations", INVITE, key="order-1")
    assert first.status_code == 201
    runner = keyed.rotating.test_cli_runner()
    status = runner.invoke(args=["keys", "status"])
    assert status.exit_code == 1 and f"{OLD_ID} (fallback): 3" in status.output

    result = runner.invoke(args=["keys", "reencrypt", "--batch-size", "2"])

    assert result.exit_code == 0, result.output
    assert "mandate.iban_ciphertext: 2/3" in result.output  # progress per batch
    assert "mandate.iban_ciphertext: 3/3" in result.output
    assert "merchant.webhook_previous_secret: 1 re-encrypted" in result.output
    assert "staff_user.totp_secret: 1 re-encrypted" in result.output  # the console's TOTP
    assert "the fallback keys may be removed" in result.output
    assert runner.invoke(args=["keys", "status"]).exit_code == 0
    with session_of(keyed.new) as session:
        assert _values_under(OLD_ID, session) == []
        assert _values_under(NEW_ID, session) != []
        mandates = session.scalars(select(Mandate).where(Mandate.iban_ciphertext.is_not(None))
                                   .order_by(Mandate.id)).all()
        assert [debtor_iban(session, m) for m in mandates] == list(seeded.mandates.values())
        merchant = session.get(Merchant, seeded.merchant_id)
        assert len(signing_secrets(merchant, merchant.created_at)) == 2
    # With the old key gone: search (after a TOTP login, its secret decrypted under the new
    # key), decryption and the stored idempotent answer all work.
    for public_id in seeded.mandates:
        assert finds(keyed.new, seeded, public_id)
    caller.client = keyed.new.test_client()
    replay = caller.post("/api/v1/invitations", INVITE, key="order-1")
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.get_json() == first.get_json()


def test_idempotent_answers_keep_no_usable_link_in_clear(keyed: Keyed) -> None:
    seeded = seed(keyed.old, 0)
    with session_of(keyed.old) as session:
        caller = make_caller(keyed.old, session, session.get(Merchant, seeded.merchant_id))
    caller.authorize()
    created = caller.post("/api/v1/invitations", INVITE, key="order-2").get_json()
    token = created["signing_url"].rsplit("/", 1)[-1]
    with session_of(keyed.old) as session:
        stored = session.execute(text("SELECT response_body FROM api_idempotency_key")).scalar()
    assert stored.startswith(f"v1.{OLD_ID}.")
    assert token not in stored and "signing_url" not in stored and "/s/" not in stored


def test_a_value_no_key_opens_is_reported_and_the_rest_is_done(keyed: Keyed) -> None:
    seeded = seed(keyed.old, 2, webhook=False)
    lost = keyed.build("a-key-nobody-kept")
    with session_of(lost) as session:
        mandate = session.scalar(select(Mandate).where(
            Mandate.public_id == list(seeded.mandates)[1]))
        set_debtor_account(session, mandate, iban(1), None)
        session.commit()
        lost_id = mandate.id
    result = keyed.rotating.test_cli_runner().invoke(args=["keys", "reencrypt"])
    assert result.exit_code == 1
    assert f"1 NOT DECRYPTABLE with the configured keys (ids {lost_id})" in result.output
    assert finds(keyed.new, seeded, next(iter(seeded.mandates)))


def test_a_value_the_portal_changes_meanwhile_is_left_to_the_portal(keyed: Keyed) -> None:
    """Compare-and-set: reencrypt read the old value, the portal then stored a new IBAN; the
    portal's write stands (a blind write would bring the old IBAN back)."""
    seeded = seed(keyed.old, 2, webhook=False)
    [target] = [c for c in encrypted_columns() if c.name == "mandate.iban_ciphertext"]
    cipher = state(keyed.rotating).cipher
    changed = []

    class RacingCipher(FieldCipher):
        def decrypt(self, token: str, context: str) -> str:
            if not changed:  # the portal signs the first mandate anew right now
                with session_of(keyed.rotating) as portal:
                    mandate = portal.scalars(select(Mandate).order_by(Mandate.id)).first()
                    set_debtor_account(portal, mandate, iban(7), None)
                    portal.commit()
                changed.append(mandate.public_id)
            return cipher.decrypt(token, context)

    racing = RacingCipher(NEW_KEY, [OLD_KEY])
    with session_of(keyed.rotating) as session:
        batch = reencrypt_batch(session, target, racing, after_id=0, batch_size=10)
        session.commit()
    assert (batch.reencrypted, batch.skipped) == (1, 1)
    [totp] = [c for c in encrypted_columns() if c.name == "staff_user.totp_secret"]
    with session_of(keyed.rotating) as session:  # the console login needs it under the new key
        reencrypt_batch(session, totp, cipher, after_id=0, batch_size=10)
        session.commit()
    seeded.mandates[changed[0]] = iban(7)
    for public_id in seeded.mandates:
        assert finds(keyed.new, seeded, public_id)


def test_reencrypt_runs_while_the_portal_writes(keyed: Keyed) -> None:
    """Threads: the portal keeps changing IBANs while reencrypt runs; no write is lost and
    every value ends up under the new key."""
    seeded = seed(keyed.old, 30, webhook=False)
    ids = list(seeded.mandates)
    stop, errors, latest = threading.Event(), [], {}

    def portal_writes() -> None:
        try:
            round_ = 0
            while not stop.is_set() or round_ < 3:
                with session_of(keyed.rotating) as session:
                    public_id = ids[round_ % len(ids)]
                    mandate = session.scalar(select(Mandate).where(Mandate.public_id == public_id))
                    set_debtor_account(session, mandate, iban(100 + round_), None)
                    session.commit()
                    latest[public_id] = iban(100 + round_)
                round_ += 1
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    writer = threading.Thread(target=portal_writes)
    writer.start()
    result = keyed.rotating.test_cli_runner().invoke(
        args=["keys", "reencrypt", "--batch-size", "3"])
    stop.set()
    writer.join()
    assert not errors and result.exit_code == 0, result.output
    seeded.mandates.update(latest)
    with session_of(keyed.new) as session:
        stored = {m.public_id: debtor_iban(session, m) for m in session.scalars(select(Mandate))}
    assert stored == seeded.mandates
    for public_id in (ids[0], ids[-1]):
        assert finds(keyed.new, seeded, public_id)


# A real run of the command, killed: both between batches and (PostgreSQL) inside one.

def _command(database_url: str, instance: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PORTAL_DATABASE_URL": database_url,
           "PORTAL_INSTANCE_PATH": str(instance), "PORTAL_SECRET_KEY": "test-secret-key",
           "PORTAL_AUDIT_KEY": "test-audit-key", "PORTAL_DATA_KEY": NEW_KEY,
           "PORTAL_DATA_KEY_FALLBACKS": json.dumps([OLD_KEY])}
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "portal", "keys", "reencrypt", *args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(90, process.kill)  # a hung run fails the test, never hangs it
    watchdog.daemon = True
    watchdog.start()
    return process


def _read_until(process: subprocess.Popen, prefix: str) -> str:
    for line in process.stdout:
        if line.startswith(prefix):
            return line.strip()
    raise AssertionError(f"no {prefix!r} line; stderr: {process.stderr.read()}")


def _under_new_key(keyed: Keyed) -> list[str]:
    with session_of(keyed.new) as session:
        return list(session.scalars(select(Mandate.public_id).where(
            Mandate.iban_ciphertext.startswith(f"v1.{NEW_ID}.")).order_by(Mandate.id)))


def _resume(keyed: Keyed, remaining: int) -> None:
    result = keyed.rotating.test_cli_runner().invoke(args=["keys", "reencrypt"])
    assert result.exit_code == 0, result.output
    assert f"mandate.iban_ciphertext: {remaining}/{remaining}" in result.output  # not redone


def test_killed_between_batches_resumes_where_it_stopped(keyed: Keyed, database_url: str,
                                                          tmp_path: Path) -> None:
    seeded = seed(keyed.old, 12, webhook=False)
    ids = list(seeded.mandates)
    process = _command(database_url, tmp_path / "cli", "--batch-size", "5", "--pause", "60")
    assert _read_until(process, "mandate.iban_ciphertext:") == "mandate.iban_ciphertext: 5/12"
    # Mid-run (the command waits between batches): search finds moved and unmoved mandates.
    assert _under_new_key(keyed) == ids[:5]
    assert finds(keyed.rotating, seeded, ids[0]) and finds(keyed.rotating, seeded, ids[-1])
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert _under_new_key(keyed) == ids[:5]
    _resume(keyed, 7)
    assert _under_new_key(keyed) == ids
    assert all(finds(keyed.new, seeded, public_id) for public_id in (ids[0], ids[5], ids[-1]))


@pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.postgres)],
                         indirect=True)
def test_killed_inside_a_batch_loses_only_that_batch(keyed: Keyed, database_url: str,
                                                     tmp_path: Path) -> None:
    """The 8th row is locked by another transaction, so the second batch stops there after
    changing rows 6 and 7; the kill rolls those back and the rerun does them."""
    seeded = seed(keyed.old, 12, webhook=False)
    ids = list(seeded.mandates)
    blocker = create_engine(database_url)
    with blocker.connect() as connection:
        connection.execute(select(Mandate.id).where(Mandate.public_id == ids[7])
                           .with_for_update())
        process = _command(database_url, tmp_path / "cli", "--batch-size", "5")
        assert _read_until(process, "mandate.iban_ciphertext:") == "mandate.iban_ciphertext: 5/12"
        _wait_for_lock_waiter(connection)
        process.send_signal(signal.SIGKILL)
        process.wait()
        connection.rollback()
    blocker.dispose()
    assert _under_new_key(keyed) == ids[:5]
    _resume(keyed, 7)
    assert _under_new_key(keyed) == ids
    assert finds(keyed.new, seeded, ids[6])


def _wait_for_lock_waiter(connection) -> None:
    """Until another session waits for a row lock in this database (the command, at row 8)."""
    query = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                 "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")
    deadline = time.monotonic() + 60
    while connection.execute(query).scalar() == 0:
        assert time.monotonic() < deadline, "the command never reached the locked row"
        time.sleep(0.05)
