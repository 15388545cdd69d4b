"""pain.008 batches: export what is due now, list, read, and download the file (always the same
bytes)."""

from __future__ import annotations

from typing import Any

from flask import Response, g, request
from sqlalchemy import select

from portal.adapters import get_adapters
from portal.api.auth import merchant_id, require_scope
from portal.api.blueprint import bp, json_response, not_found
from portal.api.collection_serializers import batch_json
from portal.api.idempotency import write_endpoint
from portal.api.pagination import DEFAULT_LIMIT, PAGE_PARAMS, anchor, paginate
from portal.api.serializers import list_json
from portal.api.validation import read_query, validate_body
from portal.collections.batches import ExportRefused, export_batches, find_batch
from portal.collections.files import StoredFileMissing
from portal.collections.models import Batch
from portal.db import get_session
from portal.errors import Problem

BATCH_LIST_PARAMS = PAGE_PARAMS


@bp.post("/batches")
@require_scope("payments:write")
@write_endpoint
def export_batches_view(body: Any) -> Response:
    validate_body((), body)
    try:
        adapters = get_adapters()
        batches = export_batches(get_session(), merchant_id(), adapters.collectors,
                                 actor=g.api_actor, now=adapters.clock())
    except ExportRefused as exc:
        raise Problem(409, "Export refused", str(exc), type="export-refused") from None
    return json_response(list_json([batch_json(b) for b in batches], False, None),
                         201 if batches else 200)


@bp.get("/batches")
@require_scope("payments:read")
def list_batches() -> Response:
    params = read_query(BATCH_LIST_PARAMS)
    page = paginate(get_session(), select(Batch).where(Batch.merchant_id == merchant_id()),
                    Batch, merchant_id(), anchor(params), params.get("limit", DEFAULT_LIMIT),
                    newest_first=True)
    return json_response(list_json([batch_json(b) for b in page.items], page.has_more,
                                   page.next_cursor))


def _batch(batch_id: str) -> Batch:
    batch = find_batch(get_session(), merchant_id(), batch_id)
    if batch is None:
        raise not_found("batch")
    return batch


@bp.get("/batches/<batch_id>")
@require_scope("payments:read")
def get_batch(batch_id: str) -> Response:
    return json_response(batch_json(_batch(batch_id)))


@bp.get("/batches/<batch_id>/file")
@require_scope("payments:read")
def batch_file(batch_id: str) -> Response:
    batch = _batch(batch_id)
    store = get_adapters().collectors.store
    etag = f'"{batch.file_sha256}"'
    if request.headers.get("If-None-Match") == etag:
        return Response(status=304, headers={"ETag": etag})
    try:
        chunks = store.chunks(batch.file_sha256)
        first = next(chunks, b"")
    except StoredFileMissing:
        raise Problem(410, "File missing", "The stored file of this batch is gone; restore it "
                      "from backup.", type="file-missing") from None

    def body():
        yield first
        yield from chunks

    return Response(body(), mimetype="application/xml", headers={
        "Content-Disposition": f'attachment; filename="{batch.message_id}.xml"',
        "Content-Length": str(batch.file_size), "ETag": etag,
        "X-Content-SHA256": batch.file_sha256, "Cache-Control": "private, no-store"})
