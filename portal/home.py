"""``/``: a small home page (in development, the links a developer needs; in production,
nothing that tells a visitor more than what the site is for) and ``/favicon.ico``."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template

bp = Blueprint("home", __name__)


@bp.get("/")
def home() -> str:
    return render_template("home.html", development=current_app.config["ENV"] != "production")


@bp.get("/favicon.ico")
def favicon() -> Response:
    """Browsers ask for it at the root whatever the pages link."""
    return current_app.send_static_file("favicon.ico")
