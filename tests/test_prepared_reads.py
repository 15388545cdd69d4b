"""``RowRead`` on PostgreSQL (``portal.prepared_reads``): the thread's own connection and its
prepared statement give the ORM's values; a broken connection is replaced, disposal closes every
thread's, and a forked child never touches its parent's. The values on both databases."""

from __future__ import annotations

import os
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import (
    Date,
    Engine,
    bindparam,
    create_engine,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.orm import Session

from portal.db import RowRead, state
from portal.prepared_reads import owned_connections
from portal.sign.service import _LINK_STATE
from tests.factories import make_invitation
from tests.pgcluster import PostgresCluster, find_pg_bin
from tests.sign.driver import Journey

#: The owned connection's backend, as the server sees it.
BACKEND_PID = RowRead(select(func.pg_backend_pid().label("pid")))


def _as_the_orm_reads(session: Session, public_id: str) -> tuple:
    return tuple(session.execute(_LINK_STATE.statement, {"public_id": public_id}).one())


def _same_values(row: tuple, expected: tuple) -> None:
    assert tuple(row) == expected
    assert [type(value) for value in row] == [type(value) for value in expected]
    for value in row:
        if isinstance(value, datetime):
            assert value.tzinfo is UTC


@pytest.mark.parametrize("moment", [
    datetime(2026, 12, 2, 5, 17, 3, 123456, tzinfo=UTC),
    datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),  # before PostgreSQL's epoch
    datetime(2000, 1, 1, tzinfo=UTC),
    datetime(2199, 6, 30, 12, 0, 0, 1, tzinfo=UTC),
])
def test_every_column_reads_as_the_orm_reads_it(app: Flask, session: Session,
                                                moment: datetime) -> None:
    invitation = make_invitation(session)
    session.commit()
    public_id, reads = invitation.public_id, state(app).reads
    _same_values(_LINK_STATE.first(reads, public_id=public_id),
                 _as_the_orm_reads(session, public_id))  # NULLs, False, the defaults
    invitation.opened_at = moment
    invitation.used_at = moment + timedelta(microseconds=1)
    invitation.withdrawn_at = moment - timedelta(days=400)
    invitation.expires_at = moment + timedelta(days=14)
    invitation.merchant.refund_verification = True
    invitation.mandate.customer.locale = "nl"
    invitation.mandate.version = 2**31 - 1
    session.commit()
    row = _LINK_STATE.first(reads, public_id=public_id)
    _same_values(row, _as_the_orm_reads(session, public_id))
    assert row.opened_at == moment and row.refund_verification is True


def _postgres_only(app: Flask) -> Engine:
    engine = state(app).reads
    if engine.dialect.name != "postgresql":
        pytest.skip("the thread's own connections are PostgreSQL's path")
    return engine


def test_another_type_is_read_through_the_pool(app: Flask) -> None:
    """A column or a parameter of a type not converted here: the read goes through the pool."""
    engine = _postgres_only(app)
    for read, params in (
            (RowRead(select(literal_column("DATE '2026-12-02'").label("day"))), {}),
            (RowRead(select(bindparam("day", type_=Date).label("day"))),
             {"day": date(2026, 12, 2)})):
        for _ in range(2):
            assert read.first(engine, **params).day == date(2026, 12, 2)
    assert owned_connections(engine).count() <= 1


def test_the_connection_is_made_as_the_engines_own(app: Flask, session: Session) -> None:
    """Settings given to the engine hold on the owned connection (here a time zone, which
    changes nothing read: times come back as the same instants, in UTC)."""
    _postgres_only(app)
    invitation = make_invitation(session)
    invitation.opened_at = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # around a DST change
    session.commit()
    engine = create_engine(state(app).engine.url, isolation_level="AUTOCOMMIT",
                           connect_args={"options": "-c TimeZone=Europe/Amsterdam"})
    try:
        zone = RowRead(select(literal_column("current_setting('TimeZone')").label("zone")))
        assert zone.first(engine).zone == "Europe/Amsterdam"
        _same_values(_LINK_STATE.first(engine, public_id=invitation.public_id),
                     _as_the_orm_reads(session, invitation.public_id))
    finally:
        engine.dispose()
    assert owned_connections(engine).count() == 0


def _terminate_others(session: Session) -> int:
    """End every other backend on the session's database; how many were ended."""
    ended = session.execute(text(
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar_one()
    session.commit()
    return ended


def test_a_thread_keeps_its_connection(app: Flask) -> None:
    engine = _postgres_only(app)
    assert len({BACKEND_PID.first(engine).pid for _ in range(5)}) == 1
    assert owned_connections(engine).count() == 1 and engine.pool.checkedout() == 0


def test_a_broken_connection_is_replaced_and_the_read_still_answers(
        app: Flask, journey: Journey, session: Session, monkeypatch) -> None:
    engine = _postgres_only(app)
    assert journey.open().status_code == 200
    assert journey.open().status_code == 200  # cached now, answered before the view
    before = BACKEND_PID.first(engine).pid
    assert _terminate_others(session) >= 1
    # From here the view answers 418: the page below comes from the fast path, which read
    # the link's state on a new connection.
    monkeypatch.setitem(app.view_functions, "sign.sign", lambda **_: ("dispatched", 418))
    response = journey.open()
    assert response.status_code == 200 and b"<form" in response.data
    assert BACKEND_PID.first(engine).pid != before
    assert owned_connections(engine).count() == 1


def test_a_failure_on_a_new_connection_is_the_callers(app: Flask) -> None:
    engine = _postgres_only(app)
    broken = RowRead(select(literal_column("'x'::int").label("n")))  # invalid every time
    with pytest.raises(Exception, match="invalid input syntax"):
        broken.first(engine)
    assert owned_connections(engine).count() == 0  # dropped, not kept half-used
    assert BACKEND_PID.first(engine).pid > 0


def test_dispose_closes_every_threads_connection(app: Flask, postgres_admin: Engine) -> None:
    engine = _postgres_only(app)
    pids: list[int] = []
    threads = [threading.Thread(target=lambda: pids.append(BACKEND_PID.first(engine).pid))
               for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pids.append(BACKEND_PID.first(engine).pid)
    assert len(set(pids)) == 4 and owned_connections(engine).count() == 4
    state(app).dispose()
    assert owned_connections(engine).count() == 0
    with postgres_admin.connect() as connection:  # no FORCE: refused while any is connected
        connection.execute(text(f'DROP DATABASE "{engine.url.database}"'))
    with pytest.raises(Exception, match="does not exist"):  # a new one, not the closed one
        BACKEND_PID.first(engine)


def test_a_forked_child_makes_its_own_connection(app: Flask) -> None:
    """As gunicorn's workers are forked from the master: the child reads on a connection of
    its own and, disposing, leaves the parent's open (closing it would end the parent's)."""
    engine = _postgres_only(app)
    parent = BACKEND_PID.first(engine).pid
    readable, writable = os.pipe()
    child = os.fork()
    if child == 0:  # the child: report its backend, dispose, and leave at once
        code = 1
        try:
            os.write(writable, str(BACKEND_PID.first(engine).pid).encode())
            state(app).dispose()
            code = 0
        finally:
            os._exit(code)
    os.close(writable)
    with os.fdopen(readable) as pipe:
        reported = pipe.read()
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert int(reported) not in (0, parent)
    assert BACKEND_PID.first(engine).pid == parent  # still open, and still the same


@pytest.mark.slow
@pytest.mark.postgres
def test_the_first_read_after_a_server_restart_answers() -> None:
    """Every connection the restart broke is replaced on its next use, none raises."""
    bin_dir = find_pg_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed")
    cluster = PostgresCluster(bin_dir).start()
    engine = create_engine(cluster.url(), isolation_level="AUTOCOMMIT")
    try:
        before = BACKEND_PID.first(engine).pid
        cluster.halt()
        cluster.resume()
        assert BACKEND_PID.first(engine).pid != before
        assert owned_connections(engine).count() == 1
    finally:
        engine.dispose()
        cluster.stop()
