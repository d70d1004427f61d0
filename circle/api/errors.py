"""One JSON shape for every API error: ``{"error": {"code", "message", "fields"}}``.

``code`` is a stable machine word per HTTP status (``not_found``, ``validation_error``...),
``message`` a sentence for the developer, ``fields`` maps a field path (dots for nesting,
e.g. ``merchant.phone``) to its messages, and is ``{}`` when no field is at fault.

The handlers are registered on the API blueprint only (the panel keeps its HTML error pages),
and they also take over what flask-smorest and webargs raise — their validation errors carry
the messages in ``exception.data``.
"""

from __future__ import annotations

import time

import marshmallow as ma
from flask import current_app, jsonify
from flask_babel import force_locale
from werkzeug.exceptions import HTTPException, InternalServerError

from circle.extensions import db, limiter
from circle.i18n import lazy_gettext as _l

ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
}

DEFAULT_MESSAGES = {
    400: _l("The request could not be understood."),
    401: _l("Send a valid API token: Authorization: Bearer <token>."),
    403: _l("This token may not do this."),
    404: _l("No such resource."),
    405: _l("This method is not allowed here."),
    409: _l("The request conflicts with the current state."),
    413: _l("The request body is too large."),
    415: _l("Send the request body as application/json."),
    422: _l("Some fields are invalid."),
    429: _l("Too many requests for this token. Wait and try again."),
    500: _l("Something went wrong on our side."),
}


class ErrorDetailSchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={
        "description": "Stable machine-readable error code.",
        "enum": sorted(set(ERROR_CODES.values()) | {"error"}),
    })
    message = ma.fields.String(required=True,
                               metadata={"description": "Explanation for the developer."})
    # Not named ``fields``: that is the Schema's own attribute.
    field_messages = ma.fields.Dict(
        data_key="fields", keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()),
        required=True,
        metadata={"description": "Messages per field path (dots for nesting); {} if none."},
    )


class ApiErrorSchema(ma.Schema):
    """The body of every error response."""

    error = ma.fields.Nested(ErrorDetailSchema, required=True)


def flatten_messages(messages, prefix: str = "") -> dict[str, list[str]]:
    """Turn marshmallow's nested error messages into ``{"a.b": ["..."]}``.

    Messages about the object as a whole (``_schema``, or a bare list) land on ``prefix``.
    """
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            key = str(key)
            path = prefix if key == "_schema" else (f"{prefix}.{key}" if prefix else key)
            for sub, texts in flatten_messages(value, path).items():
                flat.setdefault(sub, []).extend(texts)
    elif isinstance(messages, (list, tuple)):
        for item in messages:
            for sub, texts in flatten_messages(item, prefix).items():
                flat.setdefault(sub, []).extend(texts)
    else:
        flat.setdefault(prefix, []).append(str(messages))
    return flat


def _fields_and_message(data: dict) -> tuple[dict[str, list[str]], str | None]:
    """Field messages from ``abort(..., errors=...)`` or webargs ``messages``.

    webargs nests its messages under the location (``json``, ``query``, ``view_args``); the
    location is dropped, as field names do not repeat across the locations of one operation.
    """
    if "errors" in data:
        fields = flatten_messages(data["errors"])
    elif "messages" in data:
        fields = {}
        for location_messages in (data["messages"] or {}).values():
            for path, texts in flatten_messages(location_messages).items():
                fields.setdefault(path, []).extend(texts)
    else:
        fields = {}
    # Messages about the request as a whole become the message.
    whole = fields.pop("", None)
    return fields, (" ".join(whole) if whole else None)


def api_locale() -> str:
    """The language of API messages (``CIRCLE_API_LOCALE``), whatever the session says."""
    return current_app.config["CIRCLE_API_LOCALE"]


def error_response(status: int, message=None, fields: dict | None = None, headers=None):
    """A JSON error response in the API's shape."""
    with force_locale(api_locale()):
        text = str(message or DEFAULT_MESSAGES.get(status) or "Error")
        fields = {path: [str(t) for t in texts] for path, texts in (fields or {}).items()}
    response = jsonify({"error": {"code": ERROR_CODES.get(status, "error"), "message": text,
                                  "fields": fields}})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def handle_http_exception(error: HTTPException):
    """Any HTTP error raised in the API (by us, werkzeug, webargs or the rate limiter)."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    # Messages may be lazy translations: render them all in the API's language.
    with force_locale(api_locale()):
        fields, whole = _fields_and_message(data)
        message = str(data.get("message") or whole or "") or None
    # Keep what the exception says about itself (Allow on 405, WWW-Authenticate on 401),
    # but not its HTML content type.
    headers = {name: value for name, value in error.get_headers()
               if name.lower() != "content-type"}
    headers.update(data.get("headers") or {})
    if status == 429:
        headers["Retry-After"] = str(_retry_after_seconds())
    if status >= 500:
        db.session.rollback()
    return error_response(status, message, fields, headers)


def handle_unexpected_error(error: Exception):
    """An unhandled exception (Flask has logged it): roll back, answer a JSON 500."""
    db.session.rollback()
    return error_response(500)


def _retry_after_seconds() -> int:
    """Seconds until the breached rate-limit window resets (at least 1)."""
    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, int(current.reset_at - time.time()) + 1)


def register_error_handlers(blueprint) -> None:
    """Answer every error raised inside ``blueprint`` in the API's JSON shape.

    Handlers are per status code because Flask prefers the application's per-code handlers
    (the panel's HTML pages) over a blueprint's handler for the ``HTTPException`` class.
    """
    for status in (400, 401, 403, 404, 405, 409, 413, 415, 422, 429):
        blueprint.register_error_handler(status, handle_http_exception)
    blueprint.register_error_handler(HTTPException, handle_http_exception)
    blueprint.register_error_handler(InternalServerError, handle_unexpected_error)
