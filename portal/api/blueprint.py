"""The ``/api/v1`` blueprint and the small helpers every API view shares."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, request

from portal.api.serializers import created_location
from portal.errors import Problem
from portal.mandates.lifecycle import IllegalTransition

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def json_response(body: dict[str, Any], status: int = 200) -> Response:
    """JSON in the order the serializers give (``id`` and ``object`` first); a 201 carries the
    created object's URL in ``Location``."""
    response = Response(json.dumps(body, ensure_ascii=True), status=status,
                        mimetype="application/json")
    if status == 201 and (location := created_location(body, request.path)):
        response.headers["Location"] = location
    return response


def not_found(kind: str) -> Problem:
    """The same answer for a missing object and another merchant's: it reveals nothing."""
    return Problem(404, "Not Found", f"No {kind} with this id.", type="not-found")


def invalid_state(exc: IllegalTransition) -> Problem:
    return Problem(409, "Invalid state", f"Cannot {exc.action.value} a mandate that is "
                   f"{exc.status.value}.", type="invalid-state")


@bp.after_request
def _no_store(response: Response) -> Response:
    """API answers carry merchant data: never cache them on the way."""
    response.headers.setdefault("Cache-Control", "no-store")
    return response
