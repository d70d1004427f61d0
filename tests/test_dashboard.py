"""The dashboard: figures against hand-counted values on a fixed dataset, scoping, periods,
links that open exactly the issues behind a count, the page for every role, query count."""

from __future__ import annotations

import html as htmllib
import json
import re
from datetime import date, datetime, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from circle.issues.models import Callback, IssueCategory
from circle.reports import dashboard as dash
from circle.reports import dashboard_queries as queries
from circle.reports import issue_links, periods, rates
from tests import factories as f

ZONE = ZoneInfo("Asia/Shanghai")
# Two ISO weeks: 2024-W23 (06-03 … 06-09) and 2024-W24 (06-10 … 06-16).
FIRST, LAST = date(2024, 6, 3), date(2024, 6, 16)
PERIOD_ARGS = "from=2024-06-03&to=2024-06-16"


def at(month, day, hour=10, minute=0):
    """A moment of 2024 in Shanghai, as the UTC the database stores."""
    return datetime(2024, month, day, hour, minute, tzinfo=ZONE).astimezone(timezone.utc)


NOW = at(6, 20, 12)
START, END = at(6, 3, 0), at(6, 17, 0)


@pytest.fixture
def ds(db, data):
    """The fixed dataset (see the comments for what each issue is there to test).

    East and west belong to the test community; "other" is another community's circle,
    whose issues no specialist or liaison of ours may ever count.
    """
    other = f.CircleFactory(name="别处商圈")
    first_category = db.session.scalars(
        sa.select(IssueCategory).order_by(IssueCategory.sort_order, IssueCategory.id)).first()
    second_category = IssueCategory(name="测试类别乙", sort_order=999)
    db.session.add(second_category)
    db.session.flush()

    def issue(circle, reported, *, category=None, **fields):
        return f.IssueFactory(merchant=f.MerchantFactory(circle=circle), reported_at=reported,
                              category=category or first_category, **fields)

    def call(issue_, when, *, reached=True, resolved=None, rating=None, round_=0):
        db.session.add(Callback(issue=issue_, called_at=when, reached=reached,
                                resolved_per_merchant=resolved, rating=rating, round=round_))

    east, west = data.east, data.west
    i = SimpleNamespace()
    # E1: on time both ways, closed after a very satisfied callback.
    i.e1 = issue(east, at(6, 3), status="closed", level=2, highest_level=2,
                 response_due_at=at(6, 3, 10, 30), first_on_site_at=at(6, 3, 10, 20),
                 resolution_due_at=at(6, 3, 18), resolved_at=at(6, 3, 17),
                 closed_at=at(6, 4, 9), rating="very_satisfied")
    call(i.e1, at(6, 4, 9), resolved=True, rating="very_satisfied")
    # E2: settled at level 1 without a visit (the resolution is the response), awaiting
    # its callback.
    i.e2 = issue(east, at(6, 4, 9), status="resolved", response_due_at=at(6, 4, 9, 30),
                 resolved_at=at(6, 4, 9, 20), resolution_due_at=at(6, 4, 13))
    # E3: late response; dissatisfied callback, re-handled, resolved again on time and
    # closed "basically satisfied" — the second callback is the effective one.
    i.e3 = issue(east, at(6, 5), category=second_category, status="closed", level=2,
                 highest_level=2, response_due_at=at(6, 5, 10, 30),
                 first_on_site_at=at(6, 5, 11), resolution_due_at=at(6, 11),
                 resolved_at=at(6, 10), closed_at=at(6, 11, 9), rehandle_count=1,
                 rating="basically_satisfied")
    call(i.e3, at(6, 8), resolved=False, rating="dissatisfied", round_=0)
    call(i.e3, at(6, 11, 9), resolved=True, rating="basically_satisfied", round_=1)
    # E4: open on site, overdue now.
    i.e4 = issue(east, at(6, 10), status="on_site", level=2, highest_level=2,
                 response_due_at=at(6, 10, 10, 30), first_on_site_at=at(6, 10, 10, 25),
                 resolution_due_at=at(6, 12))
    # E5: withdrawn: reported, but in no rate.
    i.e5 = issue(east, at(6, 11), status="withdrawn", closed_at=at(6, 11, 12),
                 response_due_at=at(6, 11, 10, 30), resolution_due_at=at(6, 11, 18))
    # E6: resolved without a visit after the response deadline; the merchant could not be
    # reached in three calls, so it was closed as unreachable.
    i.e6 = issue(east, at(6, 12), status="closed", response_due_at=at(6, 12, 10, 30),
                 resolved_at=at(6, 12, 15), resolution_due_at=at(6, 12, 18),
                 closed_at=at(6, 14, 9), callback_unreachable=True, callback_attempts=3)
    for when in (at(6, 13, 9), at(6, 13, 15), at(6, 14, 9)):
        call(i.e6, when, reached=False)
    # E7: reported before the period, resolved late inside it, awaiting callback.
    i.e7 = issue(east, at(5, 20), status="resolved", level=2, highest_level=2,
                 response_due_at=at(5, 20, 10, 30), first_on_site_at=at(5, 20, 10, 10),
                 resolution_due_at=at(6, 1), resolved_at=at(6, 5))
    # E8: registered, nobody has responded yet (not counted as responded).
    i.e8 = issue(east, at(6, 14), status="registered", response_due_at=at(6, 14, 10, 30),
                 resolution_due_at=at(6, 25))
    # E9: on hold at level 3 past its deadline: the clock is stopped, so not overdue.
    i.e9 = issue(east, at(6, 15), status="on_hold", level=3, highest_level=3,
                 response_due_at=at(6, 15, 10, 30), first_on_site_at=at(6, 15, 10, 10),
                 resolution_due_at=at(6, 16), hold_started_at=at(6, 15, 12))
    # E10: everything before the period but the callback inside it: satisfied, yet the
    # merchant says it is not solved, so it is being re-handled.
    i.e10 = issue(east, at(5, 25), status="dispatched", level=2, highest_level=2,
                  response_due_at=at(5, 25, 10, 30), first_on_site_at=at(5, 25, 10, 15),
                  resolution_due_at=at(6, 25), rehandle_count=1, rating="satisfied")
    call(i.e10, at(6, 3, 10), resolved=False, rating="satisfied", round_=0)
    # W1: on time both ways, closed satisfied.
    i.w1 = issue(west, at(6, 6), category=second_category, status="closed", level=2,
                 highest_level=2, response_due_at=at(6, 6, 10, 30),
                 first_on_site_at=at(6, 6, 10, 10), resolution_due_at=at(6, 6, 18),
                 resolved_at=at(6, 6, 16), closed_at=at(6, 7, 9), rating="satisfied")
    call(i.w1, at(6, 7, 9), resolved=True, rating="satisfied")
    # W2: late response; very dissatisfied callback sent it back; overdue again now.
    i.w2 = issue(west, at(6, 7), status="dispatched", level=2, highest_level=2,
                 response_due_at=at(6, 7, 10, 30), first_on_site_at=at(6, 7, 11),
                 resolution_due_at=at(6, 15), rehandle_count=1, rating="very_dissatisfied")
    call(i.w2, at(6, 9), resolved=False, rating="very_dissatisfied", round_=0)
    # W3 and W4 sit exactly on the period's edges (local midnight): W4 is in, W3 is out.
    i.w3 = issue(west, at(6, 17, 0), status="registered", response_due_at=at(6, 17, 0, 30),
                 resolution_due_at=at(6, 18))
    i.w4 = issue(west, at(6, 3, 0), status="registered", response_due_at=at(6, 3, 0, 30),
                 resolution_due_at=at(6, 30))
    # Another community: counted for the administrator only.
    i.o1 = issue(other, at(6, 5), status="closed", level=2, highest_level=2,
                 response_due_at=at(6, 5, 10, 30), first_on_site_at=at(6, 5, 10, 5),
                 resolution_due_at=at(6, 5, 18), resolved_at=at(6, 5, 12),
                 closed_at=at(6, 6), rating="satisfied")
    call(i.o1, at(6, 6), resolved=True, rating="satisfied")
    i.o2 = issue(other, at(6, 8), status="escalated", level=2, highest_level=2,
                 response_due_at=at(6, 8, 10, 30), resolution_due_at=at(6, 10))
    db.session.commit()
    i.categories = (first_category, second_category)
    i.other = other
    return i


# Hand-counted from the dataset above: (numerator, denominator) for rates.
# First ratings in the period: E1 (very satisfied), E3 (dissatisfied, re-handled), E10
# (satisfied but not solved, re-handled), W1 (satisfied), W2 (very dissatisfied,
# re-handled). Final ratings: the same, but E3's is its second call (basically satisfied).
EXPECTED = {
    "east": dict(reported=8, withdrawn=1, resolution_rate=(4, 7),
                 response_on_time_rate=(4, 6), resolved=5, on_time_resolution_rate=(4, 5),
                 callback_rate=(3, 5), first_satisfaction_rate=(2, 3),
                 final_satisfaction_rate=(3, 3), rehandle_rate=(2, 3), unreachable=1,
                 confirmed_rate=(2, 3)),
    "west": dict(reported=3, withdrawn=0, resolution_rate=(1, 3),
                 response_on_time_rate=(1, 2), resolved=1, on_time_resolution_rate=(1, 1),
                 callback_rate=(1, 1), first_satisfaction_rate=(1, 2),
                 final_satisfaction_rate=(1, 2), rehandle_rate=(1, 2), unreachable=0,
                 confirmed_rate=(1, 2)),
    "all": dict(reported=11, withdrawn=1, resolution_rate=(5, 10),
                response_on_time_rate=(5, 8), resolved=6, on_time_resolution_rate=(5, 6),
                callback_rate=(4, 6), first_satisfaction_rate=(3, 5),
                final_satisfaction_rate=(4, 5), rehandle_rate=(3, 5), unreachable=1,
                confirmed_rate=(3, 5)),
}


def check(counts: rates.PeriodCounts, expected: dict) -> None:
    for name, value in expected.items():
        got = getattr(counts, name)
        if isinstance(value, tuple):
            assert (got.numerator, got.denominator) == value, name
        else:
            assert got == value, name


def test_rates_overall_and_per_circle(ds, data):
    figures = queries.period_figures(data.users["specialist"], START, END, NOW)
    check(figures.overall, EXPECTED["all"])
    check(figures.by_unit[data.east.id], EXPECTED["east"])
    check(figures.by_unit[data.west.id], EXPECTED["west"])
    assert set(figures.by_unit) == {data.east.id, data.west.id}
    assert str(figures.overall.first_satisfaction_rate) == "60.0%"
    assert str(figures.overall.final_satisfaction_rate) == "80.0%"
    assert str(figures.by_unit[data.east.id].response_on_time_rate) == "66.7%"


def test_a_withdrawn_issue_is_in_no_rate(ds, data, db):
    """Rated, sent back and then withdrawn as a duplicate: counted as reported and
    withdrawn, and in no rate — its rating, its resolution and its response included."""
    before = queries.period_figures(data.users["specialist"], START, END, NOW).overall
    twin = f.IssueFactory(merchant=f.MerchantFactory(circle=data.east), reported_at=at(6, 4),
                          status="withdrawn", response_due_at=at(6, 4, 10, 30),
                          first_on_site_at=at(6, 4, 10, 5), resolution_due_at=at(6, 4, 18),
                          resolved_at=at(6, 4, 12), closed_at=at(6, 6), rehandle_count=1,
                          rating="dissatisfied")
    db.session.add(Callback(issue=twin, called_at=at(6, 5), reached=True,
                            resolved_per_merchant=False, rating="dissatisfied"))
    db.session.commit()
    after = queries.period_figures(data.users["specialist"], START, END, NOW).overall
    assert (after.reported, after.withdrawn) == (before.reported + 1, before.withdrawn + 1)
    for figure in rates.FIGURES:
        # 重复诉求率 is the one rate about withdrawn issues: merged duplicates among all
        # reported (a merged issue is withdrawn by definition).
        if figure.is_rate and figure.name != "duplicate_rate":
            assert figure.of(after) == figure.of(before), figure.name


def test_liaison_counts_only_their_circle(ds, data):
    figures = queries.period_figures(data.users["liaison"], START, END, NOW)
    assert set(figures.by_unit) == {data.east.id}
    check(figures.overall, EXPECTED["east"])
    now = queries.open_now(data.users["liaison"], NOW)
    assert set(now.by_unit) == {data.east.id}
    assert [c.id for c in queries.visible_circles(data.users["liaison"])] == [data.east.id]


@pytest.mark.parametrize("role", ["specialist", "staff"])
def test_another_community_is_never_counted(ds, data, role):
    user = data.users[role]
    check(queries.period_figures(user, START, END, NOW).overall, EXPECTED["all"])
    assert ds.other.id not in queries.open_now(user, NOW).by_unit
    assert sum(row.reported for row in queries.category_breakdown(user, START, END)) == 11


def test_administrator_counts_every_community(ds, data):
    figures = queries.period_figures(data.users["admin"], START, END, NOW)
    # The other community adds O1 (responded and resolved on time, called back, satisfied,
    # confirmed) and O2 (reported, not yet responded to).
    check(figures.overall, dict(reported=13, resolution_rate=(6, 12),
                                response_on_time_rate=(6, 9), on_time_resolution_rate=(6, 7),
                                callback_rate=(5, 7), first_satisfaction_rate=(4, 6),
                                final_satisfaction_rate=(5, 6), rehandle_rate=(3, 6),
                                confirmed_rate=(4, 6)))
    assert figures.by_unit[ds.other.id].reported == 2


def test_counted_by_community_the_database_sums_the_circles(ds, data):
    """A view over several communities counts per community in SQL: the same totals as
    the circles' counts added up, for the period and for what is open now."""
    admin = data.users["admin"]
    by_circle = queries.period_figures(admin, START, END, NOW)
    communities = queries.InView("community")
    by_community = queries.period_figures(admin, START, END, NOW, communities)
    assert set(by_community.by_unit) == {data.community.id, ds.other.community_id}
    ours = rates.PeriodCounts()
    for circle in (data.east.id, data.west.id):
        ours.merge(by_circle.by_unit[circle])
    assert by_community.by_unit[data.community.id] == ours
    assert by_community.by_unit[ds.other.community_id] == by_circle.by_unit[ds.other.id]
    assert by_community.overall == by_circle.overall
    now_circles = queries.open_now(admin, NOW)
    now_communities = queries.open_now(admin, NOW, communities)
    assert now_communities.by_unit[data.community.id].open_total == sum(
        now_circles.by_unit[c].open_total for c in (data.east.id, data.west.id))
    assert now_communities.overall == now_circles.overall


def test_counted_by_street_and_narrowed_to_one(db, ds, data):
    """Over several streets the rows are streets, summed from the communities' rows; a
    street narrowed to counts its communities only, the same as those communities' rows."""
    ours, theirs = f.StreetFactory(name="甲街道"), f.StreetFactory(name="乙街道")
    data.community.street = ours
    ds.other.community.street = theirs
    db.session.commit()
    admin = data.users["admin"]
    by_community = queries.period_figures(admin, START, END, NOW, queries.InView("community"))
    by_street = queries.period_figures(admin, START, END, NOW, queries.InView("street"))
    assert by_street.by_unit == {ours.id: by_community.by_unit[data.community.id],
                                 theirs.id: by_community.by_unit[ds.other.community_id]}
    assert by_street.overall == by_community.overall
    now_communities = queries.open_now(admin, NOW, queries.InView("community"))
    now_streets = queries.open_now(admin, NOW, queries.InView("street"))
    assert now_streets.by_unit[theirs.id] == now_communities.by_unit[ds.other.community_id]
    assert now_streets.overall == now_communities.overall

    one = queries.InView("community", communities=(data.community.id,))
    narrowed = queries.period_figures(admin, START, END, NOW, one)
    assert narrowed.by_unit == {data.community.id: by_community.by_unit[data.community.id]}
    assert narrowed.overall == by_community.by_unit[data.community.id]
    assert queries.open_now(admin, NOW, one).overall == now_communities.by_unit[
        data.community.id]
    # The categories of the one community: what the specialist (scoped to it) counts.
    assert queries.category_breakdown(admin, START, END, one) == queries.category_breakdown(
        data.users["specialist"], START, END)
    # Its circles, counted from their own rows, add up to the same.
    circles = queries.period_figures(admin, START, END, NOW,
                                     queries.InView("circle", communities=(data.community.id,)))
    assert set(circles.by_unit) == {data.east.id, data.west.id}
    assert circles.overall == narrowed.overall


def test_an_unknown_unit_is_refused():
    with pytest.raises(ValueError):
        queries.InView("district")


def test_open_now(ds, data):
    now = queries.open_now(data.users["specialist"], NOW)
    overall = now.overall
    assert overall.open_total == 7
    assert overall.by_level == {1: 3, 2: 3, 3: 1, 4: 0}
    assert overall.by_status == {"registered": 3, "escalated": 0, "dispatched": 2,
                                 "on_site": 1, "joint_office": 0, "symposium": 0,
                                 "on_hold": 1}
    # E4, W2 and W3; E9 is past its deadline but on hold.
    assert overall.overdue == 3
    assert overall.awaiting_callback == 2
    east, west = now.by_unit[data.east.id], now.by_unit[data.west.id]
    assert (east.open_total, east.overdue, east.awaiting_callback) == (4, 1, 2)
    assert east.by_level == {1: 1, 2: 2, 3: 1, 4: 0}
    assert (west.open_total, west.overdue, west.awaiting_callback) == (3, 2, 0)


def test_weekly_trend(ds, data):
    figures = queries.period_figures(data.users["specialist"], START, END, NOW)
    assert [(w.year, w.number, w.first, w.last) for w in figures.weeks] == [
        (2024, 23, date(2024, 6, 3), date(2024, 6, 9)),
        (2024, 24, date(2024, 6, 10), date(2024, 6, 16)),
    ]
    w23, w24 = figures.by_week[0], figures.by_week[1]
    assert (w23.reported, w23.resolved, w23.satisfied, w23.rated) == (6, 4, 3, 4)
    assert (w23.first_satisfied, w23.first_rated, w23.first_rehandled) == (3, 5, 3)
    assert (w24.reported, w24.resolved, w24.satisfied, w24.rated, w24.unreachable) == (
        5, 2, 1, 1, 1)
    assert w24.first_rated == 0  # E3's second call is no first rating
    chart = dash._trend_chart(figures.weeks, figures.by_week)["datasets"]
    assert (chart[2]["key"], chart[2]["data"]) == ("satisfaction", [60.0, None])


def test_weeks_are_cut_to_the_period_and_stop_at_now(ds, data):
    # Wednesday 06-05 to Tuesday 06-11, looked at on Monday 06-10: two partial weeks.
    start, end = at(6, 5, 0), at(6, 12, 0)
    figures = queries.period_figures(data.users["specialist"], start, end, at(6, 10, 8))
    assert [(w.first, w.last) for w in figures.weeks] == [
        (date(2024, 6, 5), date(2024, 6, 9)), (date(2024, 6, 10), date(2024, 6, 11))]
    assert figures.by_week[0].reported == 3  # E3, W1 and W2
    later = queries.period_figures(data.users["specialist"], start, end, at(6, 9, 8))
    assert len(later.weeks) == 1


def test_category_breakdown(ds, data):
    rows = queries.category_breakdown(data.users["specialist"], START, END)
    first, second = ds.categories
    by_id = {row.id: row for row in rows}
    assert set(by_id) == {first.id, second.id}
    assert (by_id[second.id].reported, by_id[second.id].settled) == (2, 2)
    assert (by_id[first.id].reported, by_id[first.id].withdrawn,
            by_id[first.id].settled) == (9, 1, 3)
    assert str(by_id[first.id].resolution_rate) == "37.5%"


def test_an_empty_period_has_no_rates(ds, data):
    figures = queries.period_figures(data.users["specialist"], at(1, 1, 0), at(2, 1, 0), NOW)
    assert figures.by_unit == {} and figures.overall == rates.PeriodCounts()
    for name in ("resolution_rate", "response_on_time_rate", "on_time_resolution_rate",
                 "callback_rate", "first_satisfaction_rate", "final_satisfaction_rate",
                 "rehandle_rate", "confirmed_rate"):
        rate = getattr(figures.overall, name)
        assert rate.value is None and str(rate) == "—"
    assert len(figures.weeks) == 5


# --- the period the user asks for ---------------------------------------------------------

TODAY = date(2024, 6, 20)


@pytest.mark.parametrize("args,first,last", [
    ({}, date(2024, 5, 22), TODAY),
    ({"from": "2024-06-03", "to": "2024-06-16"}, FIRST, LAST),
    ({"to": "2024-06-16"}, date(2024, 5, 18), LAST),
    ({"from": "2024-06-03"}, FIRST, TODAY),
    ({"from": " 2024-06-03 ", "to": ""}, FIRST, TODAY),
])
def test_parse_period(app, args, first, last):
    with app.app_context():
        period, error = periods.parse_period(MultiDict(args), TODAY, ZONE)
    assert (period.first, period.last, error) == (first, last, None)


@pytest.mark.parametrize("args", [
    {"from": "abc"}, {"from": "2024-13-01"}, {"to": "2024-02-30"},
    {"from": "2024-06-16", "to": "2024-06-03"}, {"from": "2020-01-01", "to": "2024-01-01"},
    {"from": "0001-01-01"}, {"to": "9999-12-31"}, {"from": "<script>"},
])
def test_bad_period_falls_back_to_the_last_30_days(app, args):
    with app.app_context():
        period, error = periods.parse_period(MultiDict(args), TODAY, ZONE)
    assert (period.first, period.last) == (date(2024, 5, 22), TODAY)
    assert error


def test_presets(app):
    with app.app_context():
        presets = {key: (p.first, p.last) for key, _, p in periods.preset_periods(TODAY, ZONE)}
    assert presets == {
        "last30": (date(2024, 5, 22), TODAY),
        "week": (date(2024, 6, 17), TODAY),
        "month": (date(2024, 6, 1), TODAY),
        "last_month": (date(2024, 5, 1), date(2024, 5, 31)),
    }


def test_a_period_is_whole_local_days(app):
    period = periods.Period(FIRST, LAST, ZONE)
    assert (period.start, period.end) == (START, END)
    assert period.start == datetime(2024, 6, 2, 16, tzinfo=timezone.utc)


# --- the page -----------------------------------------------------------------------------

@pytest.fixture
def fixed_now(monkeypatch):
    """The page computes "now" and the default period from this moment."""
    monkeypatch.setattr(dash, "utcnow", lambda: NOW)


def page(browser, query=PERIOD_ARGS) -> str:
    response = browser.get(f"/admin/?{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def within(html: str, row: str | None) -> str:
    """The part of the page holding a row: ``table-id:attr="value"`` or ``attr="value"``."""
    if row is None:
        return html
    table, _, row = row.rpartition(":")
    if table:
        html = re.search(rf'<table[^>]*id="{table}">(.*?)</table>', html, re.S).group(1)
    match = re.search(rf'<tr {row}>(.*?)</tr>', html, re.S)
    assert match, row
    return match.group(1)


def figure(html: str, name: str, row: str | None = None) -> str:
    """The text of a figure (by data-figure), inside a row (data-circle/-week/-category)."""
    html = within(html, row)
    match = re.search(rf'data-figure="{name}"[^>]*>([^<]*)</a>', html)
    assert match, name
    return match.group(1).strip()


def link(html: str, name: str, row: str | None = None, attr: str = "figure") -> str:
    """The address of a figure (``attr``: or of a rate's ``numerator-of`` or
    ``denominator-of``), inside a row."""
    html = within(html, row)
    match = re.search(rf'<a href="([^"]+)" data-{attr}="{name}"', html)
    assert match, name
    return htmllib.unescape(match.group(1))


def listed_ids(browser, url: str) -> set[int]:
    assert url.startswith("/admin/issue/?"), url
    response = browser.get(url)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "alert-danger" not in html  # no filter value refused
    return {int(n) for n in re.findall(r"/admin/issue/details/\?id=(\d+)", html)}


@pytest.mark.parametrize("role", ["admin", "specialist", "liaison", "staff"])
def test_page_renders_for_every_role(browser, ds, data, fixed_now, role):
    browser.login(role)
    html = page(browser)
    for canvas_id, kind in (("trend-chart", "trend"), ("category-chart", "category")):
        tag = re.search(rf"<canvas id=\"{canvas_id}\"[^>]*>", html, re.S).group(0)
        assert f'data-chart-kind="{kind}"' in tag
        chart = json.loads(htmllib.unescape(re.search(r"data-chart='([^']*)'", tag).group(1)))
        assert chart["labels"] and {d["key"] for d in chart["datasets"]} >= {"reported"}
        assert all(len(d["data"]) == len(chart["labels"]) for d in chart["datasets"])
    assert "vendor/chartjs/chart.umd.min.js" in html and "dashboard.js" in html
    assert 'id="definitions"' in html
    expected = EXPECTED["east" if role == "liaison" else "all"]
    assert figure(html, "reported", 'data-circle="all"' if role != "liaison" else None) == str(
        expected["reported"] + (2 if role == "admin" else 0))


def test_static_assets_are_served_from_the_app(client):
    for name in ("vendor/chartjs/chart.umd.min.js", "dashboard.js", "dashboard.css"):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200, name
        response.close()


def test_page_shows_the_figures(admin_browser, ds, data, fixed_now):
    # The administrator sees two communities: one row per community, each opening the
    # dashboard of its circles.
    html = page(admin_browser)
    ours = f'rates-by-circle:data-community="{data.community.id}"'
    assert f'data-drill="{data.community.id}"' in html
    assert f'data-circle="{data.east.id}"' not in html
    narrowed = page(admin_browser, f"{PERIOD_ARGS}&community={data.community.id}")
    assert "data-community=" not in narrowed and 'id="narrowed"' in narrowed
    east = f'rates-by-circle:data-circle="{data.east.id}"'
    west = f'rates-by-circle:data-circle="{data.west.id}"'
    assert figure(narrowed, "reported", east) == "8"
    assert figure(narrowed, "first_satisfaction_rate", east) == "66.7%"
    assert figure(narrowed, "final_satisfaction_rate", east) == "100.0%"
    assert figure(narrowed, "rehandle_rate", east) == "66.7%"
    assert figure(narrowed, "first_satisfaction_rate", west) == "50.0%"
    assert figure(narrowed, "resolution_rate", west) == "33.3%"
    assert figure(narrowed, "unreachable", east) == "1"
    assert int(figure(html, "reported", ours)) == int(figure(narrowed, "reported", east)) + int(
        figure(narrowed, "reported", west)) == int(figure(narrowed, "reported",
                                                          'rates-by-circle:data-circle="all"'))
    assert figure(html, "reported", 'data-week="2024-W23"') == "8"
    # With the other community's O1 (satisfied on 06-06); no first rating in W24.
    assert figure(html, "first_satisfaction_rate", 'data-week="2024-W23"') == "66.7%"
    assert figure(html, "first_satisfaction_rate", 'data-week="2024-W24"') == "—"
    trend = json.loads(htmllib.unescape(re.search(
        r"<canvas id=\"trend-chart\"[^>]*data-chart='([^']*)'", html, re.S).group(1)))
    assert trend["labels"] == ["2024年第23周", "2024年第24周"]
    assert trend["datasets"][0]["data"] == [8, 5]  # with the other community's O1 and O2
    # Now: the cards read the same numbers as the functions (admin: plus O2, overdue).
    assert figure(html, "open_total") == "8" and figure(html, "overdue") == "4"
    assert figure(html, "awaiting_callback") == "2"


def test_over_several_streets_the_rows_are_streets(admin_browser, ds, data, two_streets,
                                                   fixed_now):
    """A district administrator sees one row per street, each opening its communities,
    each of those its circles; every narrowed page leads back up."""
    html = page(admin_browser)
    ours = f'rates-by-circle:data-street="{two_streets.ours.id}"'
    theirs = f'rates-by-circle:data-street="{two_streets.theirs.id}"'
    assert "data-community=" not in html and 'id="narrowed"' not in html
    assert figure(html, "reported", ours) == str(EXPECTED["all"]["reported"])
    assert figure(html, "reported", theirs) == "2"
    assert f'data-drill="{two_streets.ours.id}"' in html
    assert f'?street={two_streets.ours.id}&amp;' in html

    street = page(admin_browser, f"{PERIOD_ARGS}&street={two_streets.ours.id}")
    assert "甲街道" in street and 'data-up="all"' in street and 'data-up="street"' not in street
    assert figure(street, "reported", f'rates-by-circle:data-community="{data.community.id}"'
                  ) == str(EXPECTED["all"]["reported"])
    assert f'data-community="{ds.other.community_id}"' not in street
    # The period form keeps the page narrowed.
    assert f'<input type="hidden" name="street" value="{two_streets.ours.id}">' in street

    community = page(admin_browser, f"{PERIOD_ARGS}&community={data.community.id}")
    assert 'data-up="all"' in community and 'data-up="street"' in community
    assert f'href="/admin/?street={two_streets.ours.id}&amp;' in community
    assert figure(community, "reported", f'rates-by-circle:data-circle="{data.east.id}"') == "8"


@pytest.mark.parametrize("query", ["street=999999", "street=abc", "street="])
def test_a_street_out_of_view_shows_every_street(admin_browser, ds, two_streets, fixed_now,
                                                  query):
    html = page(admin_browser, f"{PERIOD_ARGS}&{query}")
    assert f'data-street="{two_streets.ours.id}"' in html and 'id="narrowed"' not in html


def test_a_street_leader_sees_the_communities_of_their_street(browser, db, ds, data,
                                                               two_streets, fixed_now):
    """Another street's id in the address shows nothing of it: the leader's own street."""
    leader = data.users["leader"]
    leader.street = two_streets.ours
    db.session.commit()
    browser.login("leader")
    for query in (PERIOD_ARGS, f"{PERIOD_ARGS}&street={two_streets.theirs.id}"):
        html = page(browser, query)
        assert "data-street=" not in html and "乙街道" not in html
        assert f'data-circle="{ds.other.id}"' not in html
        assert figure(html, "reported", 'data-circle="all"') == str(EXPECTED["all"]["reported"])


def test_first_callback_satisfaction_is_the_headline(admin_browser, ds, data, fixed_now):
    html = page(admin_browser, f"{PERIOD_ARGS}&community={data.community.id}")
    headline = html[html.index('id="period-headline"'):html.index('id="period-overall"')]
    assert re.findall(r'data-figure="([a-z_]+)"', headline) == [
        "first_satisfaction_rate", "final_satisfaction_rate", "unreachable", "rehandle_rate"]
    assert 'class="display-4' in headline.split('data-figure="final_satisfaction_rate"')[0]
    assert figure(headline, "first_satisfaction_rate") == "60.0%"
    assert figure(headline, "final_satisfaction_rate") == "80.0%"
    assert figure(headline, "rehandle_rate") == "60.0%"
    # Not repeated among the other cards.
    others = html[html.index('id="period-overall"'):html.index('id="rates-by-circle"')]
    assert "satisfaction_rate" not in others and "rehandle_rate" not in others


def test_liaison_page_shows_only_their_circle(browser, ds, data, fixed_now):
    browser.login("liaison")
    html = page(browser)
    assert f'data-circle="{data.east.id}"' in html
    assert f'data-circle="{data.west.id}"' not in html
    assert data.west.name not in html and ds.other.name not in html
    assert figure(html, "first_satisfaction_rate",
                  f'rates-by-circle:data-circle="{data.east.id}"') == "66.7%"


def test_empty_period_shows_dashes(admin_browser, ds, fixed_now):
    html = page(admin_browser, "from=2023-01-01&to=2023-01-31")
    assert figure(html, "first_satisfaction_rate") == "—"
    assert figure(html, "reported") == "0"
    assert 'id="trend-chart"' in html


def test_page_without_any_issue(admin_browser, fixed_now):
    html = page(admin_browser, "")
    assert figure(html, "on_time_resolution_rate") == "—"


@pytest.mark.parametrize("query", ["from=abc&to=2024-06-16", "from=2024-06-16&to=2024-06-01",
                                   "from=0001-01-01", "to=9999-12-31&from=9999-12-01",
                                   "from=2010-01-01&to=2024-06-01", "from=%ff&to=%ff"])
def test_bad_dates_show_the_default_period_and_a_message(admin_browser, ds, fixed_now, query):
    html = page(admin_browser, query)
    assert 'id="period-error"' in html
    assert 'data-first="2024-05-22" data-last="2024-06-20"' in html
    assert 'value="2024-05-22"' in html


def test_a_nul_in_the_dates_is_refused_with_a_message(admin_browser, ds, fixed_now):
    # Control characters are refused for every page (circle.inputs), before the dashboard.
    response = admin_browser.get("/admin/?from=%00&to=%ff")
    assert response.status_code == 400
    assert "控制字符" in response.get_data(as_text=True)


def test_default_period_is_the_last_30_days(admin_browser, ds, fixed_now):
    html = page(admin_browser, "")
    assert 'data-first="2024-05-22" data-last="2024-06-20"' in html
    assert 'id="period-error"' not in html
    assert re.search(r'data-preset="last30"\s+class="[^"]*active', html)


def test_definitions_are_on_the_page(app, admin_browser, ds, fixed_now):
    html = page(admin_browser)
    block = html[html.index('id="definitions"'):]
    block = htmllib.unescape(block[:block.index("</dl>")])
    assert block.count("<dt>") == len(rates.DEFINITIONS)
    with app.test_request_context("/admin/"):  # the page's language
        for term, text in rates.DEFINITIONS:
            assert str(term) in block and str(text) in block


def test_figures_are_declared_over_the_stored_counts():
    from dataclasses import fields

    from circle.reports.figures import FIELDS

    counts = rates.PeriodCounts()
    assert [f.name for f in fields(counts)] == list(FIELDS)
    for figure in rates.FIGURES:
        value = figure.of(counts)
        assert isinstance(value, rates.Rate if figure.is_rate else int), figure.name
        if figure.is_rate:
            assert getattr(counts, figure.name) == value
        assert figure.note is None or not rates.FIGURE[figure.note].is_rate
    assert len(rates.FIGURE) == len(rates.FIGURES)


def test_a_new_figure_is_one_entry(admin_browser, ds, data, fixed_now, monkeypatch):
    """Declared once, a rate gets its card, its column in every row and its links."""
    extra = rates.Figure("withdrawal_rate", rates.FIGURE["withdrawn"].label,
                         numerator="withdrawn", denominator="reported", card=True, column=True)
    monkeypatch.setattr(dash, "FIGURES", (*rates.FIGURES, extra))
    html = page(admin_browser, f"{PERIOD_ARGS}&community={data.community.id}")
    east = f'rates-by-circle:data-circle="{data.east.id}"'
    assert figure(html, "withdrawal_rate", east) == "12.5%"  # E5 of the 8 reported
    assert figure(html, "withdrawal_rate", 'rates-by-circle:data-circle="all"') == "9.1%"
    overall = html[html.index('id="period-overall"'):html.index('id="rates-by-circle"')]
    assert figure(overall, "withdrawal_rate") == "9.1%"
    assert link(html, "withdrawal_rate", east) == link(html, "reported", east)


def test_count_links_list_exactly_the_issues_behind_them(app, browser, ds, data, fixed_now):
    browser.login("specialist")
    html = page(browser)
    west = f'rates-by-circle:data-circle="{data.west.id}"'
    # Reported in the period, in west: W4 at 00:00 on the first day is in, W3 at 00:00 the
    # day after the last is out.
    assert listed_ids(browser, link(html, "reported", west)) == {ds.w1.id, ds.w2.id, ds.w4.id}
    # Open issues by status.
    assert listed_ids(browser, link(html, "status_registered")) == {ds.e8.id, ds.w3.id,
                                                                    ds.w4.id}
    assert listed_ids(browser, link(html, "status_on_hold")) == {ds.e9.id}
    # Awaiting callback, per circle.
    east = f'now-by-circle:data-circle="{data.east.id}"'
    assert listed_ids(browser, link(html, "awaiting_callback", east)) == {ds.e2.id, ds.e7.id}
    # A category, in the period.
    second = f'data-category="{ds.categories[1].id}"'
    assert listed_ids(browser, link(html, "reported", second)) == {ds.e3.id, ds.w1.id}
    # A week of the trend.
    assert listed_ids(browser, link(html, "reported", 'data-week="2024-W24"')) == {
        ds.e4.id, ds.e5.id, ds.e6.id, ds.e8.id, ds.e9.id}
    # The withdrawn ones of the period.
    assert listed_ids(browser, link(html, "withdrawn")) == {ds.e5.id}
    # The open ones at level 2, per circle.
    assert listed_ids(browser, link(html, "level_2", east)) == {ds.e4.id, ds.e10.id}
    # A rate opens the issues it is about: first rated in the period (E10, reported
    # before it, too), and under it the satisfied ones.
    east = f'rates-by-circle:data-circle="{data.east.id}"'
    rated = {ds.e1.id, ds.e3.id, ds.e10.id}
    assert listed_ids(browser, link(html, "first_satisfaction_rate", east)) == rated
    assert listed_ids(browser, link(html, "first_satisfaction_rate", east,
                                    "denominator-of")) == rated
    assert listed_ids(browser, link(html, "first_satisfaction_rate", east,
                                    "numerator-of")) == {ds.e1.id, ds.e10.id}


@pytest.fixture
def list_now(monkeypatch):
    """The issue list's "overdue now" filter reads the same "now" as the dashboard."""
    from circle.issues import admin as issue_admin

    monkeypatch.setattr(issue_admin, "utcnow", lambda: NOW)


@pytest.fixture
def every_count(db, ds, data):
    """The fixed dataset and issues that make every count of the period non-zero, with
    calls exactly on the period's edges."""
    east, west = data.east, data.west

    def issue(circle, reported, **fields):
        return f.IssueFactory(merchant=f.MerchantFactory(circle=circle), reported_at=reported,
                              category=ds.categories[0], **fields)

    def call(issue_, when, *, resolved, rating, round_=0):
        db.session.add(Callback(issue=issue_, called_at=when, reached=True,
                                resolved_per_merchant=resolved, rating=rating, round=round_))

    i = SimpleNamespace()
    # R1: returned (退单): reported, in no other count.
    i.r1 = issue(east, at(6, 4, 11), status="returned", closed_at=at(6, 5))
    # L1: escalated: signed for in time, first contact late, extended and chased.
    i.l1 = issue(east, at(6, 5, 9), status="dispatched", level=2, highest_level=2,
                 sign_due_at=at(6, 5, 10), signed_at=at(6, 5, 9, 30),
                 contact_due_at=at(6, 5, 12), contacted_at=at(6, 5, 13),
                 resolution_due_at=at(6, 30), extension_count=1, chase_count=2)
    # L2: transferred in, never signed for; contacted in time.
    i.l2 = issue(west, at(6, 12), status="escalated", level=2, highest_level=2,
                 sign_due_at=at(6, 12, 10), contact_due_at=at(6, 12, 11),
                 contacted_at=at(6, 12, 10, 30), resolution_due_at=at(6, 30))
    # M1: merged into E4 as a duplicate (so withdrawn).
    i.m1 = issue(east, at(6, 13), status="withdrawn", merged_into_id=ds.e4.id,
                 closed_at=at(6, 13, 12))
    # X1: reported and resolved in the period, first rated at 00:00 the day after it: out.
    i.x1 = issue(east, at(6, 14, 8), status="closed", resolved_at=at(6, 16, 20),
                 resolution_due_at=at(6, 16, 18), closed_at=at(6, 17, 0), rating="satisfied")
    call(i.x1, at(6, 17, 0), resolved=True, rating="satisfied")
    # X2: reported before the period; its dissatisfied first rating at 00:00 on the first
    # day sent it back; re-handled and rated satisfied later in the period.
    i.x2 = issue(west, at(5, 28), status="closed", level=2, highest_level=2,
                 resolved_at=at(6, 5, 12), resolution_due_at=at(6, 6), closed_at=at(6, 6),
                 rehandle_count=1, rating="satisfied")
    call(i.x2, at(6, 3, 0), resolved=False, rating="dissatisfied")
    call(i.x2, at(6, 6), resolved=True, rating="satisfied", round_=1)
    db.session.commit()
    return i


#: A count on the page: its address, its name, its number.
COUNT_LINK = re.compile(r'<a href="([^"]+)" data-figure="([^"]+)"\s+'
                        r'class="figure-link(?! rate-value)[^"]*">\s*(\d+)\s*</a>')
#: A rate: the percentage's address and name, then its fraction's two links and numbers.
RATE_LINK = re.compile(
    r'<a href="([^"]+)" data-figure="([^"]+)"\s+class="figure-link rate-value[^"]*">[^<]*</a>'
    r'\s*<span class="rate-fraction[^"]*"><a href="([^"]+)" data-numerator-of="\2"\s+'
    r'class="figure-link">(\d+)</a>/<a href="([^"]+)" data-denominator-of="\2"\s+'
    r'class="figure-link">(\d+)</a></span>')


def page_links(html: str) -> dict[str, int]:
    """Every link of a number on the page, as {address: the number it shows}: each count,
    and each rate's numerator and denominator (the percentage opens the denominator's)."""
    links: dict[str, int] = {}

    def add(url, value):
        url = htmllib.unescape(url)
        assert links.setdefault(url, int(value)) == int(value), url  # one list, one count

    counts, found_rates = COUNT_LINK.findall(html), RATE_LINK.findall(html)
    for url, _, value in counts:
        add(url, value)
    for percent_url, name, numerator_url, numerator, denominator_url, denominator in found_rates:
        assert percent_url == denominator_url, name
        add(numerator_url, numerator)
        add(denominator_url, denominator)
    # Nothing escapes: every data-figure on the page is one of those.
    assert len(counts) + len(found_rates) == html.count("data-figure=")
    assert "approx-link" not in html
    return links


def list_total(browser, url: str) -> int:
    """The issue list's total (Flask-Admin's count, shown in the "List (n)" tab; no number
    when there is none), checked against the rows it lists."""
    assert url.startswith("/admin/issue/?"), url
    response = browser.get(url + "&page_size=100")
    assert response.status_code == 200, url
    html = response.get_data(as_text=True)
    assert "alert-danger" not in html, url  # no filter value refused
    match = re.search(r'class="nav-link active">[^<(]*\((\d+)\)</a>', html)
    total = int(match.group(1)) if match else 0
    assert len(set(re.findall(r"/admin/issue/details/\?id=(\d+)", html))) == total, url
    return total


def test_every_count_is_counted_in_the_period(every_count, data):
    from circle.reports.counts import COUNTS

    counts = queries.period_figures(data.users["admin"], START, END, NOW).overall
    assert [c.name for c in COUNTS if getattr(counts, c.name) == 0] == []


@pytest.fixture
def two_streets(db, ds, data):
    """Our community in one street, the other community in another."""
    streets = SimpleNamespace(ours=f.StreetFactory(name="甲街道"),
                              theirs=f.StreetFactory(name="乙街道"))
    data.community.street = streets.ours
    ds.other.community.street = streets.theirs
    db.session.commit()
    return streets


@pytest.mark.parametrize("role, query", [
    ("admin", PERIOD_ARGS),  # one row per community
    ("admin", "community"),  # narrowed to our community: one row per circle
    ("admin", "streets"),  # two streets: one row per street
    ("admin", "street"),  # narrowed to our street: one row per community (one)
    ("admin", "street community"),  # our street's community: one row per circle
    ("specialist", PERIOD_ARGS), ("liaison", PERIOD_ARGS), ("leader", PERIOD_ARGS),
])
def test_every_number_links_to_a_list_of_exactly_that_many(app, browser, request, every_count,
                                                           data, fixed_now, list_now, role,
                                                           query):
    """当前超时 5 must not open 29 issues: every number of the page — each card, row, week
    and category, each rate's numerator and denominator — opens a list holding as many
    issues as it says, for the user who reads it; a 0 opens an empty list."""
    browser.login(role)
    if query.startswith("street"):
        ours = request.getfixturevalue("two_streets").ours
        query = {"streets": PERIOD_ARGS, "street": f"{PERIOD_ARGS}&street={ours.id}",
                 "street community": f"{PERIOD_ARGS}&community={data.community.id}"}[query]
    elif query == "community":
        query = f"{PERIOD_ARGS}&community={data.community.id}"
    links = page_links(page(browser, query))
    view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == "issue")
    index, flt = next((i, flt) for i, flt in enumerate(view._filters)
                      if getattr(flt, "link_key", None) == "count")
    counted_as = re.compile(rf"&?flt\d+_{view.get_filter_arg(index, flt)}=[^&]*")
    closest_differs = 0
    for url, value in links.items():
        assert list_total(browser, url) == value, (url, value)
        # The closest list (the same period and row, whatever is counted) would not do.
        if counted_as.search(url):
            closest = counted_as.sub("", url).replace("?&", "?")
            closest_differs += list_total(browser, closest) != value
    assert len(links) >= 60 and 0 in links.values()
    assert closest_differs >= 20


def test_links_use_the_list_view_filters_found_at_runtime(app, ds, data):
    view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == "issue")
    with app.test_request_context("/admin/"):
        url = issue_links.IssueListLinks()(circle=data.west.id, level=2)
    circle_index = next(i for i, flt in enumerate(view._filters)
                        if getattr(flt.column, "key", None) == "circle_id"
                        and type(flt).__name__ == "IdEqualFilter")
    level_index = next(i for i, flt in enumerate(view._filters)
                       if getattr(flt.column, "key", None) == "level")
    assert url == f"/admin/issue/?flt0_{circle_index}={data.west.id}&flt1_{level_index}=2"


def test_page_has_no_inline_script(admin_browser, ds, fixed_now):
    response = admin_browser.get(f"/admin/?{PERIOD_ARGS}")
    html = response.get_data(as_text=True)
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"])[1]
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert f'nonce="{nonce}"' in tag and "src=" in tag, tag
    assert not re.search(r"\son[a-z]+\s*=", html)


# --- it stays a few queries -----------------------------------------------------------------

def count_queries(app, db, user) -> int:
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        with app.test_request_context(f"/admin/?{PERIOD_ARGS}"):
            db.session.expire_all()
            dash.dashboard_context(user, MultiDict({"from": "2024-06-03", "to": "2024-06-16"}))
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    return len(statements)


def test_query_count_does_not_grow_with_circles_or_categories(app, db, ds, data):
    admin = data.users["admin"]
    before = count_queries(app, db, admin)
    assert before <= 8
    for n in range(6):
        circle = f.CircleFactory(community=data.community)
        category = IssueCategory(name=f"增加的类别{n}", sort_order=100 + n)
        db.session.add(category)
        for day in (4, 11):
            f.IssueFactory(merchant=f.MerchantFactory(circle=circle), category=category,
                           reported_at=at(6, day), status="resolved", resolved_at=at(6, day, 15),
                           resolution_due_at=at(6, day, 18))
    db.session.commit()
    assert count_queries(app, db, admin) == before
