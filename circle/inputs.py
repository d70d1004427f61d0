"""One way to read numbers and text from URLs, query strings and forms.

- :func:`parse_int` / :func:`parse_id`: ASCII digits only (``str.isdigit`` also accepts
  ``²`` and ``１２``, which ``int()`` or the database then refuse), within what an
  ``INTEGER`` column holds on every database (PostgreSQL's 32 bits) — anything else is
  ``None``, never an exception;
- the ``int`` URL converter is replaced by :class:`IntegerConverter`, the same rule for
  ``<int:id>`` in routes (out of range or not ASCII digits: 404);
- :func:`guard_request` refuses every request whose query string or form holds a control
  character (NUL, which PostgreSQL cannot store in text, and the other C0 characters
  except tab and line breaks), with a 400 that says so. JSON bodies are the API's: its
  schemas refuse such text field by field (``circle.api.schemas``).
"""

from __future__ import annotations

import re

from flask import Flask, request
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter as _WerkzeugIntegerConverter
from werkzeug.routing import ValidationError

from circle.i18n import lazy_gettext as _l

#: What an ``INTEGER`` column holds on PostgreSQL (SQLite's hold more).
INT_MIN, INT_MAX = -(2**31), 2**31 - 1

_INTEGER = re.compile(r"-?[0-9]{1,10}")
#: C0 controls but tab, line feed and carriage return; DEL; UTF-16 surrogates (which no
#: database encodes).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def parse_int(value, minimum: int = INT_MIN, maximum: int = INT_MAX) -> int | None:
    """``value`` (a str or int) as an int within ``[minimum, maximum]``, else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _INTEGER.fullmatch(value):
        number = int(value)
    else:
        return None
    return number if minimum <= number <= maximum else None


def parse_id(value) -> int | None:
    """A row id (a positive integer a primary key column can hold), else ``None``."""
    return parse_int(value, minimum=1)


def has_control_characters(text: str) -> bool:
    """Whether ``text`` holds a character no text input may hold (see module)."""
    return bool(_CONTROL.search(text))


def clean_value(value) -> bool:
    """Whether a parsed value (str, int, list of them...) is safe to send to the database:
    integers within :data:`INT_MIN`–:data:`INT_MAX`, text without control characters."""
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int):
        return INT_MIN <= value <= INT_MAX
    if isinstance(value, float):
        return value == value and abs(value) < 1e15  # not NaN, not infinite
    if isinstance(value, str):
        return not has_control_characters(value)
    if isinstance(value, (list, tuple, set)):
        return all(clean_value(item) for item in value)
    if isinstance(value, dict):
        return all(clean_value(k) and clean_value(v) for k, v in value.items())
    return True


class IntegerConverter(_WerkzeugIntegerConverter):
    """``<int:...>`` in routes: ASCII digits, at most :data:`INT_MAX` (else 404)."""

    regex = r"[0-9]+"

    def __init__(self, map, fixed_digits=0, min=None, max=INT_MAX, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)

    def to_python(self, value: str):
        if len(value) > 10:
            raise ValidationError()
        return super().to_python(value)


class UnacceptableInput(BadRequest):
    """A 400 whose message the error page shows as it is (``user_message``)."""

    def __init__(self, message):
        super().__init__(description=str(message))
        self.user_message = message
        self.data = {"message": message}  # the API's error handler reads it from here


CONTROL_CHARACTER_MESSAGE = _l(
    "The request contains control characters (such as NUL) that no text here may hold. "
    "Remove them and try again.")


def guard_request() -> None:
    """Refuse a request carrying control characters anywhere a value is read from."""
    values = [*request.args.keys(),
              *(value for key in request.args for value in request.args.getlist(key))]
    api = request.path.startswith("/api/")  # the API reads its bodies itself (JSON only)
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and not api:
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            values += [*request.form.keys(),
                       *(value for key in request.form for value in request.form.getlist(key))]
    values += [v for v in (request.view_args or {}).values() if isinstance(v, str)]
    if any(has_control_characters(value) for value in values):
        raise UnacceptableInput(CONTROL_CHARACTER_MESSAGE)


def init_app(app: Flask) -> None:
    """Install the URL converter (before any route exists) and the request guard."""
    app.url_map.converters["int"] = IntegerConverter
    app.before_request(guard_request)
