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


# --- what each dashboard figure counts (circle.reports.counts) ---------------------------

def link_arg(app, key: str, kind: type = ClauseFilter) -> str:
    """The query argument of the issue list's filter named ``key`` for links."""
    view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == "issue")
    index, flt = next((i, flt) for i, flt in enumerate(view._filters)
                      if getattr(flt, "link_key", None) == key and isinstance(flt, kind))
    return f"flt0_{view.get_filter_arg(index, flt)}"


@pytest.fixture
def rated(db, data):
    """An issue first rated dissatisfied on 06-03 and re-rated satisfied on 06-05 (local),
    and one closed as unreachable by a call on 06-04."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from circle.issues.models import Callback

    def at(day, hour=10):
        return datetime(2024, 6, day, hour, tzinfo=ZoneInfo("Asia/Shanghai"))

    merchant = f.MerchantFactory(circle=data.east)
    again = f.IssueFactory(merchant=merchant, status="closed", reported_at=at(1),
                           resolved_at=at(4), rehandle_count=1, rating="satisfied")
    db.session.add_all([
        Callback(issue=again, called_at=at(3), reached=True, rating="dissatisfied", round=0),
        Callback(issue=again, called_at=at(5), reached=True, rating="satisfied", round=1)])
    unreachable = f.IssueFactory(merchant=merchant, status="closed", reported_at=at(1),
                                 resolved_at=at(2), callback_unreachable=True,
                                 callback_attempts=1)
    db.session.add(Callback(issue=unreachable, called_at=at(4), reached=False))
    db.session.commit()
    return again.id, unreachable.id


def test_counted_as_and_the_rating_times_are_about_the_same_call(app, admin_browser, rated):
    from circle.adminfilters import MomentBetweenFilter

    again, unreachable = rated
    counted = link_arg(app, "count").replace("flt0_", "flt1_")
    first = link_arg(app, "first_rating", MomentBetweenFilter)
    final = link_arg(app, "final_rating", MomentBetweenFilter)
    june_3 = "2024-06-03+00:00:00+to+2024-06-03+23:59:59"
    june_5 = "2024-06-05+00:00:00+to+2024-06-05+23:59:59"
    assert listed(admin_browser, f"{first}={june_3}&{counted}=first_rated") == {again}
    assert listed(admin_browser, f"{first}={june_3}&{counted}=first_satisfied") == set()
    assert listed(admin_browser, f"{first}={june_3}&{counted}=first_rehandled") == {again}
    assert listed(admin_browser, f"{final}={june_3}&{counted}=satisfied") == set()
    assert listed(admin_browser, f"{final}={june_5}&{counted}=satisfied") == {again}
    closing = link_arg(app, "unreachable_call", MomentBetweenFilter)
    assert listed(admin_browser, f"{closing}=2024-06-04+00:00:00+to+2024-06-04+23:59:59"
                                 f"&{counted}=unreachable") == {unreachable}


@pytest.mark.parametrize("value", ["bogus", "2024-13-01 00:00:00 to 2024-06-01 00:00:00",
                                   "2024-06-01", "%E2%80%AE"])
def test_a_bad_rating_time_or_count_is_refused_with_a_message(app, admin_browser, rated,
                                                                value):
    from circle.adminfilters import MomentBetweenFilter

    for arg in (link_arg(app, "first_rating", MomentBetweenFilter), link_arg(app, "count")):
        response = admin_browser.get(f"/admin/issue/?{arg}={value}")
        assert response.status_code == 200
        assert "无效的筛选器值" in response.get_data(as_text=True)


def test_the_count_filters_are_offered_in_chinese(app, admin_browser, rated):
    html = admin_browser.get("/admin/issue/").get_data(as_text=True)
    for words in ("统计口径", "首次评价时间", "最终评价时间", "首次评价满意", "商户确认已解决"):
        assert words in html or json.dumps(words)[1:-1] in html, words
