"""Embedding the signing page in a merchant's site: who may frame it, and where to return.

``embed.js`` opens ``/sign/<token>?embed=1&origin=<host origin>&return_to=<host page>``. Only
origins the merchant listed may frame the page (CSP ``frame-ancestors``) or receive its
``postMessage`` events, and the customer only ever returns to a page on such an origin."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, Response, g, request, send_file

from portal.merchants.models import Merchant
from portal.merchants.service import normalise_origin

bp = Blueprint("embed", __name__)
SCRIPT = Path(__file__).resolve().parent.parent / "static" / "embed.js"
#: A longer return URL is no return URL (it would be repeated in every link of the page).
MAX_RETURN_URL_LENGTH = 2000


@dataclass(frozen=True)
class Embedding:
    """A page shown inside a merchant's iframe."""

    #: The host page's origin, listed by the merchant: the only target of our messages.
    origin: str
    #: The host page to send the customer back to after the provider's page, if given and safe.
    return_to: str | None

    def query(self) -> dict[str, str]:
        """Query parameters that keep the page embedded on the next request."""
        args = {"embed": "1", "origin": self.origin}
        if self.return_to:
            args["return_to"] = self.return_to
        return args


def asked_embedding(args: Mapping[str, str]) -> tuple[tuple[str, str], ...] | None:
    """The embedding a request's query asks for, as sent (not yet validated): the part of a
    cached page's key (``portal.sign.page_cache``) that only a validated embedding can match."""
    # ``"embed" in args`` first: a MultiDict's get builds a BadRequestKeyError for each miss.
    if "embed" in args and args.get("embed") == "1" and args.get("origin"):
        return tuple(Embedding(args["origin"], args.get("return_to")).query().items())
    return None


def _listed_origin(merchant: Merchant, value: str | None) -> str | None:
    try:
        origin = normalise_origin(value or "")
    except ValueError:
        return None
    return origin if origin in (merchant.frame_origins or []) else None


def safe_return_url(merchant: Merchant, url: str | None) -> str | None:
    """``url`` if it is an http(s) page on one of the merchant's listed origins, else None."""
    if url is None or len(url) > MAX_RETURN_URL_LENGTH:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    origin = _listed_origin(merchant, f"{parts.scheme}://{parts.netloc}")
    return url if origin else None


def embedding_for(merchant: Merchant) -> Embedding | None:
    """The embedding this request asks for, if the merchant allows its origin; also sets the
    response's ``frame-ancestors`` (``'none'`` when the origin is not listed)."""
    if request.args.get("embed") != "1":
        return None
    origin = _listed_origin(merchant, request.args.get("origin"))
    if origin is None:
        return None
    g.frame_ancestors = " ".join(merchant.frame_origins)
    embedding = Embedding(origin, safe_return_url(merchant, request.args.get("return_to")))
    g.page_params = embedding.query()  # what the language links keep (portal.i18n)
    return embedding


@bp.get("/embed/v1.js")
def script() -> Response:
    """The drop-in script; versioned path, cached for a year, pinned by an SRI hash (README)."""
    response = send_file(SCRIPT, mimetype="text/javascript", max_age=31536000)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    response.headers["Access-Control-Allow-Origin"] = "*"  # <script integrity> needs CORS
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response
