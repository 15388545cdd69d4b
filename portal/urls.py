"""Absolute URLs for links that leave the portal (emails, providers, QR codes)."""

from __future__ import annotations

from flask import current_app, url_for


def external_url(endpoint: str, **values: object) -> str:
    """``PUBLIC_BASE_URL`` + the endpoint's path: stable whatever Host the request came with."""
    return current_app.config["PUBLIC_BASE_URL"] + url_for(endpoint, **values)
