"""``Idempotency-Key`` on POST requests: the first request inserts a locked row (the unique
constraint makes concurrent duplicates lose), its response is stored in the same transaction as
its change, and repeats with the same body get that response replayed.

The stored body is encrypted with the data key: an answer may carry signing links (an
invitation's ``signing_url`` and short link) that work for whoever reads them. Encrypting the
whole body rather than leaving the links out and rebuilding them keeps the replay byte for byte
the first answer, and covers whatever a future endpoint returns."""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import Response, current_app, request
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from portal.api.auth import merchant_id
from portal.api.models import IdempotencyKey
from portal.api.serializers import created_location
from portal.api.validation import read_json_body, validation_problem
from portal.clock import now as clock_now
from portal.db import cipher_of, get_session, state
from portal.errors import Problem, problem_response

HEADER = "Idempotency-Key"
KEY_PATTERN = re.compile(r"[\x20-\x7e]{1,255}")  # whole value: always fullmatch
#: A first request still "in flight" after this long has died; its key may be taken over
#: (its change, had it committed, would have unlocked the key in the same transaction).
LOCK_LEASE = timedelta(minutes=1)


def request_digest(body: Any) -> str:
    """SHA-256 of the body in canonical form: key order and whitespace do not matter."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def key_ttl() -> timedelta:
    return timedelta(hours=float(current_app.config["API_IDEMPOTENCY_TTL_HOURS"]))


#: Associated data of the stored response bodies (see the column's ``info``).
BODY_CONTEXT = "api_idempotency_key.response_body"


def _replay(session: Session, record: IdempotencyKey) -> Response:
    status = record.response_status or 500
    mimetype = "application/problem+json" if status >= 400 else "application/json"
    body = cipher_of(session).decrypt(record.response_body, BODY_CONTEXT) \
        if record.response_body is not None else None
    response = Response(body, status=status, mimetype=mimetype,
                        headers={"Idempotent-Replayed": "true"})
    if status == 201 and (location := created_location(json.loads(body or "{}"), record.path)):
        response.headers["Location"] = location  # as the first answer had it
    return response


def claim(key: str, digest: str) -> int | Response:
    """Lock ``key`` for this request (its row id), or the stored response to replay."""
    factory = state().factory
    owner, method, path = merchant_id(), request.method, request.path
    for _ in range(5):
        now = clock_now()
        with factory() as session:
            record = IdempotencyKey(merchant_id=owner, key=key, method=method, path=path,
                                    request_sha256=digest, locked=True, created_at=now)
            session.add(record)
            try:
                session.commit()
                return record.id
            except IntegrityError:
                session.rollback()
            existing = session.scalar(select(IdempotencyKey).where(
                IdempotencyKey.merchant_id == owner, IdempotencyKey.key == key))
            if existing is None:
                continue
            if existing.created_at <= now - key_ttl() or (
                    existing.locked and existing.created_at <= now - LOCK_LEASE):
                session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == existing.id))
                session.commit()
                continue
            if (existing.method, existing.path, existing.request_sha256) != (method, path, digest):
                raise Problem(422, "Idempotency key reused",
                              "This Idempotency-Key was used with a different request. Use a "
                              "new key for a new request.", type="idempotency-key-reused")
            if existing.locked:
                raise in_progress()
            return _replay(session, existing)
    raise in_progress()


def in_progress() -> Problem:
    return Problem(409, "Request in progress",
                   "A request with this Idempotency-Key is still being processed; retry "
                   "shortly to get its result.", type="idempotency-key-in-progress",
                   headers={"Retry-After": "1"})


def record_response(session: Session, record_id: int, response: Response) -> None:
    """Store the response with the change (caller commits); fails if the lock was taken over."""
    stored = session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == record_id, IdempotencyKey.locked.is_(True))
        .values(locked=False, response_status=response.status_code,
                response_body=cipher_of(session).encrypt(response.get_data(as_text=True),
                                                         BODY_CONTEXT))
        .execution_options(synchronize_session=False))
    if stored.rowcount != 1:
        session.rollback()
        raise in_progress()


def release(record_id: int) -> None:
    """Forget a key whose request failed unexpectedly, so a retry can run."""
    with state().factory() as session:
        session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == record_id))
        session.commit()


def purge_expired_keys(session: Session, now: datetime | None = None) -> int:
    """Delete keys older than ``API_IDEMPOTENCY_TTL_HOURS``; returns how many."""
    cutoff = (now or clock_now()) - key_ttl()
    result = session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at <= cutoff))
    return result.rowcount or 0


def _problem_as_response(problem: Problem) -> Response:
    return problem_response(problem.code or 500, problem.title, problem.detail,
                            type=problem.problem_type, errors=problem.errors,
                            headers=problem.extra_headers)


def write_endpoint(view: Callable[..., Response]) -> Callable[..., Response]:
    """A POST view: JSON body in (as ``body=``), ``Idempotency-Key`` honoured, the change
    committed together with the response recorded for the key."""
    @functools.wraps(view)
    def wrapped(**kwargs: Any) -> Response:
        body = read_json_body()
        key = request.headers.get(HEADER)
        if key is not None and not KEY_PATTERN.fullmatch(key):
            raise validation_problem([{"field": HEADER, "message":
                                       "Must be 1 to 255 printable ASCII characters."}])
        record_id = None
        if key is not None:
            claimed = claim(key, request_digest(body))
            if isinstance(claimed, Response):
                return claimed
            record_id = claimed
        session = get_session()
        try:
            try:
                response = view(body=body, **kwargs)
                session.flush()
            except StaleDataError:
                raise Problem(409, "Conflict", "The object was changed by another request at the "
                              "same time; fetch it and try again.", type="conflict") from None
        except Problem as problem:
            session.rollback()
            response = _problem_as_response(problem)
        except BaseException:
            session.rollback()
            if record_id is not None:
                release(record_id)
            raise
        if record_id is not None:
            record_response(session, record_id, response)
        session.commit()
        return response
    return wrapped
