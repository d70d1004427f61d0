"""Formula injection is neutralised in every exported text cell."""

from datetime import datetime

import pytest

from circle.spreadsheet import safe_cell, safe_row


@pytest.mark.parametrize("raw", ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)",
                                 "\t=1", "\r=1", "=cmd|' /C calc'!A0"])
def test_formula_triggers_are_made_text(raw):
    assert safe_cell(raw) == "'" + raw


@pytest.mark.parametrize("value", ["连濛冷冻食品", "13812345678", "a=b", "", None, 42, -3.5,
                                   datetime(2024, 6, 21)])
def test_other_values_are_untouched(value):
    assert safe_cell(value) == value


def test_safe_row():
    assert safe_row(["=1", 2, "ok"]) == ["'=1", 2, "ok"]
