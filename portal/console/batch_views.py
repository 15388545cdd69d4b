"""Console pages for CSV batches: upload a file (a dry run, or an import once every row is
good), follow its check and import, download the bad rows and the template of each kind.

Merchant admins and platform admins upload and import; support sees the batches and their
reports. The file is checked and imported in the background (:mod:`portal.batches.jobs`)."""

from __future__ import annotations

from collections.abc import Iterator

from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import BooleanField, SelectField

from portal.adapters import get_adapters
from portal.batches.csvfile import csv_document, sniff_problem
from portal.batches.kinds import KINDS
from portal.batches.models import BatchKind, BatchStatus, CsvBatch
from portal.batches.progress import rows_written
from portal.batches.service import (
    AlreadyImported,
    Limits,
    UploadRefused,
    bad_rows,
    batch_errors,
    earlier_import,
    error_rows,
    find_batch,
    merchant_batches,
    request_import,
    store_upload,
)
from portal.console.blueprint import bp
from portal.console.forms import ActionForm
from portal.console.roles import Permission, requires
from portal.db import get_session, state

#: Bad cells shown on the batch page (the error report CSV has them all).
SHOWN_ERRORS = 200
FILE_TYPES = (".csv", ".txt")
RUNNING = (BatchStatus.UPLOADED, BatchStatus.CHECKING, BatchStatus.IMPORTING)


class UploadForm(FlaskForm):
    kind = SelectField("What the file holds", choices=[(kind.value, spec.title)
                                                       for kind, spec in KINDS.items()])
    import_now = BooleanField("Import when every row is good (else: a dry run only)")


def _actor() -> str:
    return f"staff:{g.staff.public_id}"


def _page(form: UploadForm, error: str | None = None, status: int = 200):
    return render_template("console/batches.html", merchant=g.merchant, form=form,
                           batches=merchant_batches(get_session(), g.merchant.id),
                           kinds=KINDS, error=error, limits=Limits.from_config(
                               current_app.config)), status


@bp.get("/merchants/<merchant_id>/batches")
@requires(Permission.READ)
def batches(merchant_id: str):
    return _page(UploadForm())


@bp.post("/merchants/<merchant_id>/batches")
@requires(Permission.BATCHES)
def batch_upload(merchant_id: str):
    """Exempt from the app-wide CSRF check, which would read the body under the app's small
    request limit: the form below checks the token itself, once the file's limit applies."""
    limits = Limits.from_config(current_app.config)
    request.max_content_length = limits.max_bytes + 256 * 1024
    form = UploadForm()
    try:
        if not form.validate_on_submit():
            if "csrf_token" in form.errors:
                abort(400)
            return _page(form, "Choose what the file holds.", 422)
        upload = request.files.get("file")
    except RequestEntityTooLarge:
        return _page(UploadForm(formdata=None), f"The file is larger than "
                     f"{limits.max_bytes // (1024 * 1024)} MiB; split it into smaller files.",
                     422)
    if upload is None or not upload.filename:
        return _page(form, "Choose a CSV file to upload.", 422)
    if not upload.filename.lower().endswith(FILE_TYPES):
        return _page(form, "Upload a .csv file (comma- or semicolon-separated, UTF-8).", 422)
    problem = sniff_problem(upload.stream.read(2048))
    upload.stream.seek(0)
    if problem:
        return _page(form, problem, 422)
    db = get_session()
    try:
        result = store_upload(db, g.merchant.id, BatchKind(form.kind.data), upload.filename,
                              upload.stream, import_requested=form.import_now.data,
                              actor=_actor(), now=get_adapters().clock(), limits=limits)
        db.commit()
    except UploadRefused as exc:
        db.rollback()
        return _page(form, str(exc), 422)
    except IntegrityError:  # the same file, imported from a batch committed a moment ago
        db.rollback()
        result = None
    batch = result.batch if result else _earlier(db, upload.stream)
    if result is None or result.already:
        flash("This file was imported before (same contents); nothing was imported again.")
    return redirect(url_for("console.batch_detail", merchant_id=merchant_id,
                            batch_id=batch.public_id), 303)


def _earlier(db, stream) -> CsvBatch:
    import hashlib

    stream.seek(0)
    digest = hashlib.sha256()
    for piece in iter(lambda: stream.read(1024 * 1024), b""):
        digest.update(piece)
    batch = earlier_import(db, g.merchant.id, digest.hexdigest())
    if batch is None:
        abort(409)
    return batch


@bp.record_once
def _exempt_upload_from_global_csrf(state) -> None:
    state.app.extensions["csrf"].exempt(batch_upload)


def _batch(batch_id: str) -> CsvBatch:
    batch = find_batch(get_session(), g.merchant.id, batch_id)
    if batch is None:
        abort(404)
    return batch


@bp.get("/merchants/<merchant_id>/batches/<batch_id>")
@requires(Permission.READ)
def batch_detail(merchant_id: str, batch_id: str):
    batch = _batch(batch_id)
    db = get_session()
    errors = list(batch_errors(db, batch, limit=SHOWN_ERRORS))
    return render_template("console/batch.html", merchant=g.merchant, batch=batch,
                           spec=KINDS[batch.kind], errors=errors, shown=SHOWN_ERRORS,
                           bad_rows=bad_rows(db, batch) if batch.error_count else 0,
                           written=rows_written(db, batch),
                           running=batch.status in RUNNING, action_form=ActionForm())


@bp.post("/merchants/<merchant_id>/batches/<batch_id>/import")
@requires(Permission.BATCHES)
def batch_import(merchant_id: str, batch_id: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    batch = _batch(batch_id)
    db = get_session()
    target = batch
    try:
        request_import(db, batch, actor=_actor(), now=get_adapters().clock())
        db.commit()
    except AlreadyImported as exc:
        db.rollback()
        target = exc.batch
        flash("This file was imported before (same contents); nothing was imported again.")
    except IntegrityError:
        db.rollback()
        flash("This file is being imported from another batch; nothing was imported again.")
    except ValueError:
        db.rollback()
        flash("Only a batch whose every row is good can be imported.")
    return redirect(url_for("console.batch_detail", merchant_id=merchant_id,
                            batch_id=target.public_id), 303)


@bp.get("/merchants/<merchant_id>/batches/<batch_id>/errors.csv")
@requires(Permission.READ)
def batch_errors_csv(merchant_id: str, batch_id: str) -> Response:
    batch = _batch(batch_id)
    factory = state().factory

    def pieces() -> Iterator[bytes]:
        with factory() as db:  # its own: the request's session closes before the stream ends
            for piece in csv_document(("line", "column", "value", "reason"),
                                      error_rows(db, batch.id)):
                yield piece.encode()

    return Response(stream_with_context(pieces()),
        content_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="{batch.public_id}-errors.csv"',
            "Cache-Control": "no-store"})


@bp.get("/merchants/<merchant_id>/batches/templates/<kind>.csv")
@requires(Permission.READ)
def batch_template(merchant_id: str, kind: str) -> Response:
    try:
        spec = KINDS[BatchKind(kind)]
    except ValueError:
        abort(404)
    example = [column.example for column in spec.columns]
    body = "".join(csv_document(spec.names, [example]))
    return Response(body.encode(), content_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{kind}-template.csv"'})
