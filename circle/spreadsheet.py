"""Cells that are safe to open in a spreadsheet.

A text cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is taken by
Excel and WPS as a formula (``=HYPERLINK(...)``, ``=cmd|...``): "CSV/formula injection". Every
exported text value goes through :func:`safe_cell`, which makes such text inert by putting an
apostrophe in front, as OWASP recommends. Numbers and dates are left as they are: they are
typed cells, not text.
"""

from __future__ import annotations

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """The value, with text that a spreadsheet would run as a formula made inert."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def safe_row(values) -> list:
    return [safe_cell(value) for value in values]
