"""Bank reports in: upload a pain.002, camt.054 or CSV of returns (streamed to disk, then
imported all or nothing); list and read the imports."""

from __future__ import annotations

from flask import Response, current_app, g, request
from sqlalchemy import select

from portal.adapters import get_adapters
from portal.api.auth import merchant_id, require_scope
from portal.api.blueprint import bp, json_response, not_found
from portal.api.collection_serializers import returns_import_json
from portal.api.pagination import DEFAULT_LIMIT, PAGE_PARAMS, anchor, paginate
from portal.api.serializers import list_json
from portal.api.validation import read_query
from portal.collections.models import ReturnImport
from portal.collections.reports import ReportError
from portal.collections.returns import UnknownDebits, find_import, import_report, save_upload
from portal.db import get_session
from portal.errors import Problem

#: What the upload may be sent as.
REPORT_TYPES = ("application/xml", "text/xml", "text/csv", "application/octet-stream")


@bp.post("/returns")
@require_scope("payments:write")
def import_returns() -> Response:
    if request.mimetype not in REPORT_TYPES:
        raise Problem(415, "Unsupported media type", "Send the file as the body, with "
                      f"Content-Type {', '.join(REPORT_TYPES[:3])}.",
                      type="unsupported-media-type")
    adapters = get_adapters()
    collectors = adapters.collectors
    limit = int(current_app.config["COLLECTION_MAX_REPORT_BYTES"])
    request.max_content_length = limit
    if request.content_length is not None and request.content_length > limit:
        raise Problem(413, "Too large", f"Report files are at most {limit} bytes.",
                      type="too-large")
    path = collectors.store.temporary()
    session = get_session()
    try:
        try:
            save_upload(request.stream, path, limit)
        except ValueError:
            raise Problem(413, "Too large", f"Report files are at most {limit} bytes.",
                          type="too-large") from None
        if path.stat().st_size == 0:
            raise Problem(422, "Unreadable report", "The body is empty.",
                          type="unreadable-report")
        result = import_report(session, merchant_id(), path, collectors, source="api",
                               actor=g.api_actor, now=adapters.clock())
        session.commit()
    except ReportError as exc:
        session.rollback()
        raise Problem(422, "Unreadable report", str(exc), type="unreadable-report") from None
    except UnknownDebits as exc:
        session.rollback()
        raise Problem(422, "Unknown debits", f"{exc} (see errors, one per line).",
                      type="unknown-debits", errors=[
                          {"field": f"line {line.position}",
                           "message": f"{line.end_to_end_id or '(none)'}: {line.reason}"}
                          for line in exc.lines]) from None
    finally:
        path.unlink(missing_ok=True)
    response = json_response(returns_import_json(result.report), 200 if result.duplicate
                             else 201)
    if result.duplicate:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.get("/returns")
@require_scope("payments:read")
def list_returns() -> Response:
    params = read_query(PAGE_PARAMS)
    page = paginate(get_session(),
                    select(ReturnImport).where(ReturnImport.merchant_id == merchant_id()),
                    ReturnImport, merchant_id(), anchor(params),
                    params.get("limit", DEFAULT_LIMIT), newest_first=True)
    return json_response(list_json([returns_import_json(r) for r in page.items], page.has_more,
                                   page.next_cursor))


@bp.get("/returns/<import_id>")
@require_scope("payments:read")
def get_returns_import(import_id: str) -> Response:
    report = find_import(get_session(), merchant_id(), import_id)
    if report is None:
        raise not_found("returns import")
    return json_response(returns_import_json(report))
