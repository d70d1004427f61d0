"""Validation and normalisation of Chinese phone numbers and unified social credit codes.

Plain functions with no request context, used by forms, imports and the demo seed alike.
"""

from __future__ import annotations

import re

from circle.i18n import lazy_gettext as _l

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
# Area codes are 010, 02X (3 digits) or 0XXX (4 digits); local numbers are 7 or 8 digits.
_LANDLINE = re.compile(r"^(0(?:10|2\d|[3-9]\d{2}))(\d{7,8})$")
_SEPARATORS = re.compile(r"[\s\-()（）]")


class InvalidValue(ValueError):
    """A value that cannot be accepted; ``args[0]`` is a (lazily) translated message."""


def normalise_phone(raw: str) -> str:
    """Return the canonical form of a mainland phone number or raise :class:`InvalidValue`.

    Mobiles become 11 digits (``13812345678``); landlines become ``area-local``
    (``0531-87654321``). A leading ``+86``/``0086`` and spaces, dashes and brackets are
    accepted on input.
    """
    value = _SEPARATORS.sub("", (raw or "").strip())
    for prefix in ("+86", "0086"):
        if value.startswith(prefix):
            value = value[len(prefix):]
            break
    if value.startswith("86") and len(value) == 13:
        value = value[2:]
    if _MOBILE.match(value):
        return value
    match = _LANDLINE.match(value)
    if match:
        return f"{match.group(1)}-{match.group(2)}"
    raise InvalidValue(
        _l("Enter a mobile number (11 digits starting with 13-19) or a landline with its "
           "area code, e.g. 0531-87654321.")
    )


def mask_phone(phone: str | None) -> str:
    """Mask the middle of a phone number for people who don't need it in full."""
    if not phone:
        return ""
    digits = phone.replace("-", "")
    if len(digits) < 7:
        return "****"
    return digits[:3] + "****" + digits[-4:]


# GB 32100-2015: 31 characters (no I, O, Z, S, V) and these position weights.
CREDIT_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CREDIT_CODE = re.compile(r"^[0-9A-HJ-NP-RTUWXY]{2}\d{6}[0-9A-HJ-NP-RTUWXY]{10}$")


def credit_code_check_char(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters of a credit code."""
    total = sum(
        CREDIT_CODE_CHARS.index(char) * weight
        for char, weight in zip(first17, _CREDIT_CODE_WEIGHTS, strict=True)
    )
    return CREDIT_CODE_CHARS[(31 - total % 31) % 31]


def normalise_credit_code(raw: str) -> str:
    """Return the upper-cased credit code, or raise :class:`InvalidValue`.

    Checks the length, the character set and the GB 32100-2015 check digit.
    """
    value = (raw or "").strip().upper()
    if len(value) != 18 or not _CREDIT_CODE.match(value):
        raise InvalidValue(
            _l("A unified social credit code has 18 digits and capital letters "
               "(no I, O, S, V or Z).")
        )
    if credit_code_check_char(value[:17]) != value[17]:
        raise InvalidValue(
            _l("This unified social credit code is not valid: its check digit does not match.")
        )
    return value
