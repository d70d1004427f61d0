"""The issue list's status-group, overdue and re-handled (重办) filters."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from circle.adminkit import ClauseFilter
from circle.timeutil import utcnow
from tests import factories as f


def filter_arg(app, column_key: str) -> str:
    """The ``flt0_<n>`` query argument of the issue list's clause filter on a column."""
    view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == "issue")
    index, flt = next((i, flt) for i, flt in enumerate(view._filters)
                      if isinstance(flt, ClauseFilter) and flt.column.key == column_key)
    return f"flt0_{view.get_filter_arg(index, flt)}"


def listed(browser, query: str) -> set[int]:
    response = browser.get(f"/admin/issue/?{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    return {int(n) for n in re.findall(r"/admin/issue/details/\?id=(\d+)", html)}


@pytest.fixture
def issues(db, data):
    now = utcnow()
    merchant = f.MerchantFactory(circle=data.east)

    def issue(status, **fields):
        return f.IssueFactory(merchant=merchant, status=status, **fields)

    made = {
        "late": issue("dispatched", resolution_due_at=now - timedelta(hours=1)),
        "in_time": issue("dispatched", resolution_due_at=now + timedelta(hours=1)),
        "held_late": issue("on_hold", resolution_due_at=now - timedelta(hours=1)),
        "resolved_late": issue("resolved", resolution_due_at=now - timedelta(hours=1),
                               resolved_at=now - timedelta(hours=2)),
        "closed_again": issue("closed", rehandle_count=2, resolved_at=now),
        "withdrawn": issue("withdrawn"),
        "returned": issue("returned"),
    }
    db.session.commit()
    return {key: value.id for key, value in made.items()}


@pytest.mark.parametrize(("group", "expected"), [
    ("open", {"late", "in_time", "held_late"}),
    ("settled", {"resolved_late", "closed_again"}),
    ("left", {"withdrawn", "returned"}),
    ("counted", {"late", "in_time", "held_late", "resolved_late", "closed_again"}),
])
def test_status_group(app, admin_browser, issues, group, expected):
    got = listed(admin_browser, f"{filter_arg(app, 'status')}={group}")
    assert got == {issues[key] for key in expected}


def test_overdue_now_leaves_out_held_and_resolved_issues(app, admin_browser, issues):
    assert listed(admin_browser, f"{filter_arg(app, 'resolution_due_at')}=yes") == {
        issues["late"]}


def test_rehandled(app, admin_browser, issues):
    arg = filter_arg(app, "rehandle_count")
    assert listed(admin_browser, f"{arg}=yes") == {issues["closed_again"]}
    assert issues["closed_again"] not in listed(admin_browser, f"{arg}=no")


@pytest.mark.parametrize("value", ["bogus", "", "yes'--", "%E2%80%AE"])
def test_a_bad_value_is_ignored_never_a_500(app, admin_browser, issues, value):
    response = admin_browser.get(f"/admin/issue/?{filter_arg(app, 'status')}={value}")
    assert response.status_code == 200


def test_the_filters_are_offered_in_chinese(app, admin_browser, issues):
    html = admin_browser.get("/admin/issue/").get_data(as_text=True)
    # Filter names are in the page; their options in its JSON (escaped as \\uXXXX).
    for words in ("状态分组", "当前超时", "重办", "未办结", "已撤销或已退单"):
        assert words in html or json.dumps(words)[1:-1] in html, words
