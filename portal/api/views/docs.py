"""``/api/v1/openapi.json`` and a readable ``/api/v1/docs`` page rendered from it (no scripts,
nothing fetched from elsewhere: the portal works offline)."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Response, current_app, render_template
from markupsafe import Markup, escape

from portal.api.blueprint import bp, json_response
from portal.api.openapi import CONVENTIONS, WEBHOOK_CONVENTIONS, WEBHOOK_HEADERS, build_spec
from portal.events.catalog import EVENT_TYPES

METHODS = ("get", "post", "put", "patch", "delete")
CODE = re.compile(r"`([^`]+)`")


def markup(text: str) -> Markup:
    """Escaped text with `code` spans."""
    return Markup(CODE.sub(lambda m: f"<code>{m.group(1)}</code>", str(escape(text))))


def type_of(schema: dict[str, Any]) -> str:
    """A short human reading of a JSON Schema."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[1]
    if "const" in schema:
        return json.dumps(schema["const"])
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(v) for v in schema["enum"])
    kind = schema.get("type", "any")
    kinds = kind if isinstance(kind, list) else [kind]
    if "array" in kinds:
        return f"array of {type_of(schema.get('items', {}))}"
    text = " or ".join(kinds)
    if schema.get("format"):
        text += f" ({schema['format']})"
    return text


def constraints(schema: dict[str, Any]) -> str:
    parts = []
    for key, label in (("minLength", "min length"), ("maxLength", "max length"),
                       ("minimum", "min"), ("maximum", "max")):
        if key in schema:
            parts.append(f"{label} {schema[key]}")
    return ", ".join(parts)


def fields_of(schema: dict[str, Any], schemas: dict[str, Any], prefix: str = ""
              ) -> list[dict[str, Any]]:
    """The properties of an object schema as rows, nested objects flattened (``customer.name``)."""
    if "$ref" in schema:
        schema = schemas[type_of(schema)]
    rows = []
    required = set(schema.get("required", ()))
    for name, prop in schema.get("properties", {}).items():
        path = f"{prefix}{name}"
        rows.append({"name": path, "type": type_of(prop), "required": name in required,
                     "description": markup(prop.get("description", "")),
                     "constraints": constraints(prop)})
        if prop.get("type") == "object" and "properties" in prop:
            rows.extend(fields_of(prop, schemas, f"{path}."))
    return rows


def curl(base: str, method: str, path: str, operation: dict[str, Any]) -> str:
    """An example request for the operation."""
    for parameter in operation.get("parameters", ()):
        if parameter["in"] == "path":
            path = path.replace("{" + parameter["name"] + "}", parameter["schema"]["examples"][0])
    url = base + path
    examples = [(p["name"], p["schema"]["examples"][0]) for p in operation.get("parameters", ())
                if p["in"] == "query" and p["schema"].get("examples")]
    if examples:
        url = '"' + url + "?" + "&".join(f"{name}={value}" for name, value in examples) + '"'
    body = operation.get("requestBody", {}).get("content", {})
    if "application/x-www-form-urlencoded" in body:
        example = body["application/x-www-form-urlencoded"].get("example", {"token": "$TOKEN"})
        lines = [f"curl -X POST {url}", '  -u "$CLIENT_ID:$CLIENT_SECRET"']
        lines += [f"  -d {key}={value.replace(' ', '%20')}" for key, value in example.items()]
        return " \\\n".join(lines)
    lines = [f"curl{'' if method == 'get' else ' -X ' + method.upper()} {url}",
             '  -H "Authorization: Bearer $TOKEN"']
    if method == "post":
        lines.append('  -H "Idempotency-Key: $(uuidgen)"')
        example = body.get("application/json", {}).get("example")
        if example is not None:
            lines.append('  -H "Content-Type: application/json"')
            lines.append(f"  -d '{json.dumps(example, indent=2)}'")
    if path.endswith("/pdf"):
        lines.append("  -o mandate.pdf")
    return " \\\n".join(lines)


def docs_context(spec: dict[str, Any]) -> dict[str, Any]:
    schemas = spec["components"]["schemas"]
    base = spec["servers"][0]["url"]
    groups: dict[str, list[dict[str, Any]]] = {tag["name"]: [] for tag in spec["tags"]}
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method not in item:
                continue
            operation = item[method]
            body = operation.get("requestBody", {}).get("content", {})
            body_schema = next(iter(body.values()), {}).get("schema") if body else None
            groups[operation["tags"][0]].append({
                "id": operation["operationId"], "method": method.upper(), "path": path,
                "summary": operation["summary"],
                "description": markup(operation.get("description", "")),
                "scopes": [s for entry in operation.get("security", ()) for s in
                           entry.get("oauth2", ())],
                "parameters": [{"name": p["name"], "in": p["in"], "required": p["required"],
                                "type": type_of(p["schema"]),
                                "constraints": constraints(p["schema"]),
                                "description": markup(p.get("description", ""))}
                               for p in operation.get("parameters", ())],
                "body": fields_of(body_schema, schemas) if body_schema else [],
                "body_type": next(iter(body), None),
                "responses": [{"status": status, "description": markup(r["description"]),
                               "type": ", ".join(type_of(m.get("schema", {})) + f" ({media})"
                                                 for media, m in r.get("content", {}).items())}
                              for status, r in operation["responses"].items()],
                "curl": curl(base, method, path, operation),
            })
    return {
        "spec": spec, "groups": groups, "conventions": [(t, markup(x)) for t, x in CONVENTIONS],
        "scopes": spec["components"]["securitySchemes"]["oauth2"]["flows"][
            "clientCredentials"]["scopes"],
        "webhook_conventions": [(t, markup(x)) for t, x in WEBHOOK_CONVENTIONS],
        "webhook_headers": [(name, markup(text)) for name, text in WEBHOOK_HEADERS],
        "event_types": [(name, markup(when), markup(fields))
                        for name, (when, fields) in EVENT_TYPES.items()],
        "schemas": [{"name": name, "description": markup(schema.get("description", "")),
                     "fields": fields_of(schema, schemas)}
                    for name, schema in schemas.items()],
    }


@bp.get("/openapi.json")
def openapi_document() -> Response:
    return json_response(build_spec(current_app.config))


@bp.get("/docs")
def docs_page() -> Response:
    html = render_template("api/docs.html", **docs_context(build_spec(current_app.config)))
    return Response(html, mimetype="text/html")


@bp.get("/docs.css")
def docs_stylesheet() -> Response:
    return Response(render_template("api/docs.css"), mimetype="text/css",
                    headers={"Cache-Control": "public, max-age=3600"})
