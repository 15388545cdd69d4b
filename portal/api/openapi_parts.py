"""The building blocks of the OpenAPI document, shared by its parts (mandates and payments,
collections, billing): schema shapes, responses, parameters and operations."""

from __future__ import annotations

from typing import Any

from portal.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from portal.api.idempotency import KEY_PATTERN
from portal.api.validation import Field

PREFIX = "/api/v1"
#: Bodies that must be sent (the others may be empty), across every part of the document.
REQUIRED_BODIES = frozenset({
    "CreateInvitation", "CreatePaymentRequest", "CreateExternalPayment", "CreateDebit",
    "CreateInvoice", "CreateInvoicePayment", "CreatePlan", "CreateSubscription",
    "StopSubscription", "ChangePlan", "BulkSubscriptions"})


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(kind: str, **extra: Any) -> dict[str, Any]:
    return {"type": [kind, "null"], **extra}


def date_schema(nullable_: bool = False) -> dict[str, Any]:
    return {**(nullable("string") if nullable_ else {"type": "string"}), "format": "date"}


def time_schema(nullable_: bool = False, description: str = "") -> dict[str, Any]:
    schema: dict[str, Any] = {**(nullable("string") if nullable_ else {"type": "string"}),
                              "format": "date-time"}
    if description:
        schema["description"] = description
    return schema


def closed(properties: dict[str, Any], description: str = "") -> dict[str, Any]:
    """An object whose properties are all always present, and nothing else."""
    schema = {"type": "object", "properties": properties, "required": list(properties),
              "additionalProperties": False}
    if description:
        schema["description"] = description
    return schema


def list_of(name: str) -> dict[str, Any]:
    """A page of a list endpoint."""
    return closed({
        "object": {"const": "list"},
        "data": {"type": "array", "items": ref(name)},
        "has_more": {"type": "boolean"},
        "next_cursor": nullable("string", description="Pass as `cursor` for the next page."),
    })


def problem(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/problem+json": {"schema": ref("Problem")}}}


def ok(name: str, description: str, status_headers: bool = False) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description,
                                "content": {"application/json": {"schema": ref(name)}}}
    if status_headers:
        response["headers"] = {"Idempotent-Replayed": {
            "description": "`true` when this is the stored response of an earlier request.",
            "schema": {"type": "string"}}}
    return response


def created(name: str, description: str) -> dict[str, Any]:
    response = ok(name, description, True)
    response["headers"]["Location"] = {"description": "The URL of the new object.",
                                       "schema": {"type": "string", "format": "uri"}}
    return response


AUTH_ERRORS = {
    "401": problem("Missing, unknown, expired or revoked token."),
    "403": problem("The token lacks the scope (`insufficient_scope`)."),
}
WRITE_ERRORS = {
    "400": problem("Malformed JSON."),
    "409": problem("Invalid state, or a request with this Idempotency-Key is in progress."),
    "415": problem("The body is not JSON."),
    "422": problem("Invalid fields (`errors` lists them), or Idempotency-Key reused."),
}
NOT_FOUND = {"404": problem("No such object for your merchant.")}
BAD_QUERY = {"422": problem("Invalid query parameters.")}


def parameter(field: Field, where: str, config: Any) -> dict[str, Any]:
    return {"name": field.name, "in": where, "required": where == "path",
            "description": field.description, "schema": field.json_schema(config)}


def query(fields: tuple[Field, ...], config: Any) -> list[dict[str, Any]]:
    """The query parameters of a list endpoint, from the fields its view reads."""
    return [parameter(f, "query", config) for f in fields]


def path_id(name: str, prefix: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True,
            "description": f"An id starting with `{prefix}_`.",
            "schema": {"type": "string", "examples": [f"{prefix}_8aK2pLx4Qw"]}}


IDEMPOTENCY_PARAMETER = {
    "name": IDEMPOTENCY_HEADER, "in": "header", "required": False,
    "description": "Any unique string (a UUID is ideal) to make retries safe.",
    # JSON Schema patterns are unanchored (ECMA-262, where $ ends the input): anchor it here.
    "schema": {"type": "string", "pattern": "^" + KEY_PATTERN.pattern.replace("\\x20", " ")
               .replace("\\x7e", "~") + "$", "examples": ["6f1c1c4e-2b0e-4c59-9d49-8f9f0e0b4a13"]},
}
WRITE = [IDEMPOTENCY_PARAMETER]


def operation(summary: str, tag: str, scope: str | None, responses: dict[str, Any], *,
              description: str = "", parameters: list[dict[str, Any]] | None = None,
              body: str | None = None, example: dict[str, Any] | None = None,
              operation_id: str) -> dict[str, Any]:
    """One operation; with a scope, it needs an OAuth token and may answer 401 and 403."""
    op: dict[str, Any] = {"operationId": operation_id, "summary": summary, "tags": [tag],
                          "responses": responses}
    if description:
        op["description"] = description
    if scope:
        op["security"] = [{"oauth2": [scope]}]
        op["responses"] = {**responses, **AUTH_ERRORS}
    if parameters:
        op["parameters"] = parameters
    if body:
        media: dict[str, Any] = {"schema": ref(body)}
        if example is not None:
            media["example"] = example
        op["requestBody"] = {"required": body in REQUIRED_BODIES,
                             "content": {"application/json": media}}
    return op


def listing(summary: str, tag: str, scope: str, name: str, fields: tuple[Field, ...],
            config: Any, operation_id: str, description: str = "A page, newest first.",
            ) -> dict[str, Any]:
    """A list endpoint: a page of *name*, filtered by *fields*."""
    return operation(summary, tag, scope, {"200": ok(name, description), **BAD_QUERY},
                     parameters=query(fields, config), operation_id=operation_id)


def reading(summary: str, tag: str, scope: str, name: str, id_: dict[str, Any],
            operation_id: str, description: str = "") -> dict[str, Any]:
    """A read of one object by its id."""
    return operation(summary, tag, scope, {"200": ok(name, description or f"The {tag[:-1]}."),
                                           **NOT_FOUND},
                     parameters=[id_], operation_id=operation_id)
