"""Strict request input: JSON bodies and query strings checked against small declarative specs
that also render as the JSON Schemas of the OpenAPI document, so docs and checks cannot drift."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from flask import current_app, request

from portal.errors import Problem
from portal.names import NAME_PATTERN, name_problem
from portal.sepa import IbanError, normalize_iban, validate_iban
from portal.sms.phone import PhoneError, normalise_phone

#: Printable text only: control characters (and NUL, which PostgreSQL refuses) are rejected.
TEXT_PATTERN = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
#: What a phone field accepts (``+`` or ``00``, then digits with spaces, dots, dashes or
#: parentheses), as a JSON Schema (ECMA-262) pattern for the API document, where ``$`` ends the
#: input; the check itself is :func:`portal.sms.phone.normalise_phone` (numbering plan).
PHONE_PATTERN = r"^(\+|00)[1-9][0-9 ().\-]{5,24}$"
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # whole value: always fullmatch
URL_PATTERN = "^https?://[^\\s\\u0000-\\u001f]+$"
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


def safe_url(value: str) -> bool:
    """An absolute https URL (http only for a loopback host, in development), no credentials."""
    if len(value) > 2000 or any(c.isspace() for c in value):
        return False
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
    except ValueError:
        return False
    if parts.scheme not in ("https", "http") or not host or parts.username or parts.password:
        return False
    return parts.scheme == "https" or host in _LOOPBACK or host.startswith("127.")


class FieldErrors(Exception):
    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def validation_problem(errors: list[dict[str, str]], detail: str | None = None) -> Problem:
    return Problem(422, "Invalid request", detail or "Some fields are invalid; see errors.",
                   type="validation-error", errors=errors)


@dataclass(frozen=True)
class Field:
    """One input field: its JSON type and the rules its value must meet."""

    name: str
    #: "string", "integer", "boolean", "array" (of ``enum`` strings, or of objects of
    #: ``fields`` when given) or "object"
    kind: str
    required: bool = False
    description: str = ""
    enum: tuple[str, ...] | None = None
    #: "email", "date-time", "date", "url" (https, or http on loopback), "phone", "iban",
    #: "locale" (one of SUPPORTED_LOCALES) or "name" (a person's or company's name:
    #: :mod:`portal.names`).
    format: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    fields: tuple[Field, ...] = ()
    example: Any = None
    #: Arrays: at most this many items.
    max_items: int | None = None

    def check(self, value: Any, path: str, errors: list[dict[str, str]]) -> Any:
        """The cleaned value, or None after appending this field's error."""
        def fail(message: str) -> None:
            errors.append({"field": path, "message": message})

        if self.kind == "object":
            if not isinstance(value, dict):
                return fail("Must be an object.")
            return check_object(self.fields, value, path, errors)
        if self.kind == "boolean":
            return value if type(value) is bool else fail("Must be true or false.")
        if self.kind == "array":
            if not isinstance(value, list) or not value:
                return fail("Must be a non-empty array.")
            if self.max_items is not None and len(value) > self.max_items:
                return fail(f"Must have at most {self.max_items} items.")
            if self.fields:
                return self._check_items(value, path, errors)
            if self.enum is not None and any(item not in self.enum for item in value):
                return fail(f"Items must be among: {', '.join(self.enum)}.")
            if len(set(value)) != len(value):
                return fail("Must not repeat an item.")
            return list(value)
        if self.kind == "integer":
            if type(value) is not int:
                return fail("Must be an integer.")
            if self.minimum is not None and value < self.minimum:
                return fail(f"Must be at least {self.minimum}.")
            if self.maximum is not None and value > self.maximum:
                return fail(f"Must be at most {self.maximum}.")
            return value
        if not isinstance(value, str):
            return fail("Must be a string.")
        problem = text_problem(value)
        if problem:
            return fail(problem)
        if self.enum is not None and value not in self.enum:
            return fail(f"Must be one of: {', '.join(self.enum)}.")
        if self.min_length and not value.strip():
            return fail("Must not be blank.")
        value = value.strip() if self.enum is None else value
        if self.max_length is not None and len(value) > self.max_length:
            return fail(f"Must be at most {self.max_length} characters.")
        return self._check_format(value, fail)

    def _check_items(self, value: list[Any], path: str, errors: list[dict[str, str]]) -> Any:
        items = []
        for position, item in enumerate(value):
            where = f"{path}[{position}]"
            if not isinstance(item, dict):
                errors.append({"field": where, "message": "Must be an object."})
                continue
            items.append(check_object(self.fields, item, where, errors))
        return items

    def _check_format(self, value: str, fail: Any) -> Any:
        if self.format == "email":
            try:
                return validate_email(value, check_deliverability=False).normalized
            except EmailNotValidError:
                return fail("Must be a valid email address.")
        if self.format == "phone":
            try:
                return normalise_phone(value)
            except PhoneError as exc:
                return fail(str(exc))
        if self.format == "iban":
            try:
                return validate_iban(normalize_iban(value)).iban
            except IbanError as exc:
                return fail(str(exc))
        if self.format == "name":
            problem = name_problem(value)
            return fail(problem.capitalize() + ".") if problem else unicodedata.normalize(
                "NFC", value)
        if self.format == "locale" and value not in current_app.config["SUPPORTED_LOCALES"]:
            return fail(f"Must be one of: {', '.join(current_app.config['SUPPORTED_LOCALES'])}.")
        if self.format == "date":
            try:
                return date.fromisoformat(value) if DATE.fullmatch(value) else fail(
                    "Must be a date like 2030-01-31.")
            except ValueError:
                return fail("Must be a date like 2030-01-31.")
        if self.format == "url":
            return value if safe_url(value) else fail(
                "Must be an https:// URL (http only on localhost).")
        if self.format == "date-time":
            moment = parse_datetime(value)
            return moment if moment is not None else fail(
                "Must be an ISO 8601 date-time with a time zone, e.g. 2030-01-31T12:00:00Z.")
        return value

    def json_schema(self, config: Any) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": self.kind}
        if self.description:
            schema["description"] = self.description
        if self.kind == "object":
            schema.update(object_schema(self.fields, config))
        elif self.kind == "integer":
            schema.update({k: v for k, v in (("minimum", self.minimum),
                                             ("maximum", self.maximum)) if v is not None})
        elif self.kind == "array" and self.fields:
            schema["items"] = {"type": "object", **object_schema(self.fields, config)}
            schema["minItems"] = 1
            if self.max_items is not None:
                schema["maxItems"] = self.max_items
        elif self.kind == "array":
            schema["items"] = {"enum": list(self.enum)} if self.enum else {"type": "string"}
            schema.update({"minItems": 1, "uniqueItems": True})
            if self.max_items is not None:
                schema["maxItems"] = self.max_items
        elif self.kind == "boolean":
            pass
        elif self.enum is not None:
            schema["enum"] = list(self.enum)
        elif self.format == "locale":
            schema["enum"] = list(config["SUPPORTED_LOCALES"])
        else:
            schema["pattern"] = {"phone": PHONE_PATTERN, "date": f"^{DATE.pattern}$",
                                 "url": URL_PATTERN, "name": NAME_PATTERN}.get(
                self.format or "", TEXT_PATTERN)
            if self.format in ("email", "date-time", "date"):
                schema["format"] = self.format
            if self.format == "url":
                schema["format"] = "uri"
            if self.min_length is not None:
                schema["minLength"] = self.min_length
            if self.max_length is not None:
                schema["maxLength"] = self.max_length
        if self.example is not None:
            schema["examples"] = [self.example]
        return schema


def text_problem(value: str) -> str | None:
    """Why a string cannot be stored as text, or None."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "Must be valid Unicode text."
    if any(unicodedata.category(c) == "Cc" for c in value):
        return "Must not contain control characters."
    return None


def parse_datetime(text: str) -> datetime | None:
    """An aware datetime from RFC 3339 text (``Z`` or an offset required)."""
    if "T" not in text.upper() or len(text) > 40:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def check_object(fields: tuple[Field, ...], data: dict[str, Any], prefix: str,
                 errors: list[dict[str, str]]) -> dict[str, Any]:
    known = {f.name: f for f in fields}
    cleaned: dict[str, Any] = {}
    for key in data:
        if key not in known:
            errors.append({"field": _join(prefix, key), "message": "Unknown field."})
    for field in fields:
        path = _join(prefix, field.name)
        if field.name not in data:
            if field.required:
                errors.append({"field": path, "message": "This field is required."})
            continue
        cleaned[field.name] = field.check(data[field.name], path, errors)
    return cleaned


def object_schema(fields: tuple[Field, ...], config: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "properties": {f.name: f.json_schema(config) for f in fields},
        "additionalProperties": False,
    }
    required = [f.name for f in fields if f.required]
    if required:
        schema["required"] = required
    return schema


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def validate_body(fields: tuple[Field, ...], data: Any) -> dict[str, Any]:
    """The cleaned body, or a 422 problem listing every field error."""
    if not isinstance(data, dict):
        raise validation_problem([{"field": "body", "message": "Must be a JSON object."}])
    errors: list[dict[str, str]] = []
    cleaned = check_object(fields, data, "", errors)
    if errors:
        raise validation_problem(errors)
    return cleaned


def read_json_body() -> Any:
    """The request's JSON body (``{}`` when empty): 415 if not JSON, 400 if malformed."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    mimetype = request.mimetype
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise Problem(415, "Unsupported media type",
                      "Send the body as JSON with Content-Type: application/json.",
                      type="unsupported-media-type")
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_no_constant,
                          object_pairs_hook=_no_duplicates)
    except (ValueError, RecursionError) as exc:
        raise Problem(400, "Malformed JSON", f"The body is not valid JSON: {_reason(exc)}",
                      type="malformed-json") from None


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply."
    if isinstance(exc, UnicodeDecodeError):
        return "it is not UTF-8."
    return str(exc).encode("ascii", "backslashreplace").decode()[:200]


def read_query(fields: tuple[Field, ...]) -> dict[str, Any]:
    """Query parameters checked like body fields (integers parsed from text); unknown → 422."""
    errors: list[dict[str, str]] = []
    values: dict[str, Any] = {}
    known = {f.name: f for f in fields}
    for name in request.args:
        if name not in known:
            errors.append({"field": name, "message": "Unknown query parameter."})
    for field in fields:
        if field.name not in request.args:
            continue
        raw = request.args.get(field.name, "")
        if field.kind == "integer":
            value: Any = int(raw) if re.fullmatch(r"-?[0-9]{1,9}", raw) else raw
        else:
            value = raw
        values[field.name] = field.check(value, field.name, errors)
    if errors:
        raise validation_problem(errors)
    return values
