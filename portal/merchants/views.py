"""Merchant branding assets for customer pages: a per-merchant stylesheet and the logo."""

from __future__ import annotations

from flask import Blueprint, Response, abort, request
from sqlalchemy import select

from portal.db import get_session
from portal.ids import looks_like
from portal.merchants.models import Merchant
from portal.merchants.service import COLOUR

bp = Blueprint("brand", __name__, url_prefix="/brand")
DEFAULT_COLOUR = "#1f4b99"
CACHE = "public, max-age=300"


def _merchant(public_id: str) -> Merchant:
    merchant = None
    if looks_like(public_id, "mer"):
        merchant = get_session().scalar(select(Merchant).where(Merchant.public_id == public_id))
    if merchant is None:
        abort(404)
    return merchant


@bp.get("/preview.css")
def preview_stylesheet() -> Response:
    """The stylesheet of a colour not saved yet, for the console's live preview; anything but
    a ``#rrggbb`` colour gets the default."""
    colour = request.args.get("colour", "")
    colour = colour if COLOUR.fullmatch(colour) else DEFAULT_COLOUR
    return Response(f":root {{ --brand: {colour}; }}\n", mimetype="text/css",
                    headers={"Cache-Control": CACHE})


@bp.get("/<public_id>/brand.css")
def stylesheet(public_id: str) -> Response:
    """Colours as CSS variables, so pages need no inline styles (strict CSP)."""
    colour = _merchant(public_id).primary_colour
    colour = colour if COLOUR.fullmatch(colour or "") else DEFAULT_COLOUR
    css = f":root {{ --brand: {colour}; }}\n"
    return Response(css, mimetype="text/css", headers={"Cache-Control": CACHE})


@bp.get("/<public_id>/logo")
def logo(public_id: str) -> Response:
    merchant = _merchant(public_id)
    if not merchant.logo:
        abort(404)
    return Response(merchant.logo, mimetype=merchant.logo_mime, headers={
        "Cache-Control": CACHE,
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
        "X-Content-Type-Options": "nosniff",
    })
