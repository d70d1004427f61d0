"""The dashboard's pre-aggregated figures always equal a count from the raw tables."""

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from circle.issues.models import Callback, Issue, IssueCategory, IssueSource
from circle.org.models import BusinessCircle
from circle.reports.figures import (
    FIELDS,
    CategoryDayFigures,
    CircleDayFigures,
    CommunityDayFigures,
    count_raw,
    local_day,
    rebuild_figures,
)
from tests import factories as f
from tests.steps import wf


def stored(db):
    return {(row.day, row.circle_id): {name: getattr(row, name) for name in FIELDS}
            for row in db.session.scalars(sa.select(CircleDayFigures))}


def counted(db):
    return {key: values for key, values in count_raw(db.session.connection()).items()
            if any(values.values())}


def stored_by_community(db):
    return {(row.day, row.community_id): {name: getattr(row, name) for name in FIELDS}
            for row in db.session.scalars(sa.select(CommunityDayFigures))}


def summed_by_community(db):
    """The circles' stored rows added up per community and day, from the circles' current
    communities."""
    community_of = dict(db.session.execute(
        sa.select(BusinessCircle.id, BusinessCircle.community_id)).all())
    sums: dict = {}
    for (day, circle_id), values in stored(db).items():
        row = sums.setdefault((day, community_of[circle_id]), dict.fromkeys(FIELDS, 0))
        for name, value in values.items():
            row[name] += value
    return {key: values for key, values in sums.items() if any(values.values())}


def stored_by_category(db):
    return {(row.day, row.community_id, row.category_id):
            (row.reported, row.withdrawn, row.settled)
            for row in db.session.scalars(sa.select(CategoryDayFigures))}


def counted_by_category(db):
    """Every issue counted in Python by its local day of registration, its circle's
    community now, its category and its status."""
    counts: dict = {}
    for issue in db.session.scalars(sa.select(Issue)):
        key = (local_day(issue.reported_at), issue.circle.community_id, issue.category_id)
        reported, withdrawn, settled = counts.get(key, (0, 0, 0))
        counts[key] = (reported + 1, withdrawn + (issue.status in ("withdrawn", "returned")),
                       settled + (issue.status in ("resolved", "closed")))
    return counts


def assert_consistent(db):
    db.session.commit()
    assert stored(db) == counted(db)
    assert stored_by_community(db) == summed_by_community(db)
    assert stored_by_category(db) == counted_by_category(db)


def _register(data, actor, circle, **kwargs):
    merchant = f.MerchantFactory(circle=circle)
    return wf.register_issue(
        actor, merchant=merchant,
        category=f.db.session.scalars(sa.select(IssueCategory)).first(),
        source=f.db.session.scalars(sa.select(IssueSource).where(~IssueSource.is_hotline)
                                    ).first(),
        severity="small", description="门店频繁跳闸", **kwargs)


def test_every_transition_keeps_the_figures(db, data):
    admin, specialist = data.users["admin"], data.users["specialist"]
    start = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
    issue = _register(data, admin, data.east, now=start)
    assert_consistent(db)
    assert stored(db)[start.date(), data.east.id]["reported"] == 1
    wf.escalate_to_community(issue, admin, expected_version=issue.version,
                             now=start + timedelta(minutes=10))
    wf.accept_issue(issue, admin, assignee=specialist, expected_version=issue.version,
                    now=start + timedelta(minutes=20))
    wf.record_site_visit(issue, admin, arrived_at=start + timedelta(minutes=30),
                         outcome="resolved", summary="已解决",
                         expected_version=issue.version, now=start + timedelta(minutes=40))
    assert_consistent(db)
    # A dissatisfied callback the next day sends it back; the merchant is reached again on
    # the third day and is satisfied.
    wf.record_callback(issue, admin, reached=True, resolved=False, rating="dissatisfied",
                       expected_version=issue.version, now=start + timedelta(days=1))
    assert_consistent(db)
    wf.record_site_visit(issue, admin, arrived_at=start + timedelta(days=2),
                         outcome="resolved", summary="更换空开",
                         expected_version=issue.version, now=start + timedelta(days=2))
    wf.record_callback(issue, admin, reached=True, resolved=True, rating="satisfied",
                       expected_version=issue.version, now=start + timedelta(days=2, hours=3))
    assert_consistent(db)
    figures = stored(db)
    # The superseded callback no longer counts as the final rating; the final one counts on
    # its own day. The first rating stays where it was, dissatisfied and re-handled.
    first_call = (start + timedelta(days=1)).date()
    assert figures.get((first_call, data.east.id), {}).get("rated", 0) == 0
    assert figures[(start + timedelta(days=2)).date(), data.east.id]["satisfied"] == 1
    assert {name: figures[first_call, data.east.id][name] for name in (
        "first_rated", "first_satisfied", "first_rehandled")} == {
        "first_rated": 1, "first_satisfied": 0, "first_rehandled": 1}
    # Withdrawing another issue, and an edit that moves the registration day.
    other = _register(data, admin, data.west, now=start)
    wf.withdraw_issue(other, admin, reason="重复登记", expected_version=other.version,
                      now=start + timedelta(hours=1))
    assert_consistent(db)
    other.reported_at = start - timedelta(days=5)
    assert_consistent(db)
    assert stored(db)[(start - timedelta(days=5)).date(), data.west.id]["withdrawn"] == 1


def test_local_days_not_utc_days(db, data):
    """16:30 UTC on 20 June is 00:30 on 21 June in Shanghai: the figure is on the 21st."""
    _register(data, data.users["admin"], data.east,
              now=datetime(2026, 6, 20, 16, 30, tzinfo=timezone.utc))
    db.session.commit()
    assert [key[0].isoformat() for key in stored(db)] == ["2026-06-21"]


def test_rolled_back_changes_leave_no_trace(db, data):
    issue = _register(data, data.users["admin"], data.east)
    db.session.commit()
    before = stored(db)
    issue.status = "withdrawn"
    db.session.flush()
    db.session.rollback()
    assert stored(db) == before == counted(db)
    assert stored_by_community(db) == summed_by_community(db)
    assert stored_by_category(db) == counted_by_category(db)


def test_community_rows_follow_their_circles(db, data):
    """Each community's day is the sum of its circles' days: two circles of one community
    on one day, then a circle moved to another community takes its counts with it."""
    admin = data.users["admin"]
    moment = datetime(2026, 4, 7, 2, 0, tzinfo=timezone.utc)
    _register(data, admin, data.east, now=moment)
    _register(data, admin, data.west, now=moment)
    _register(data, admin, data.west, now=moment + timedelta(days=1))
    assert_consistent(db)
    day = moment.date()
    assert stored_by_community(db)[day, data.community.id]["reported"] == 2
    assert stored_by_community(db)[day + timedelta(days=1), data.community.id]["reported"] == 1

    other = f.CommunityFactory(name="第二社区")
    data.west.community = other
    assert_consistent(db)
    assert stored_by_community(db)[day, data.community.id]["reported"] == 1
    assert stored_by_community(db)[day, other.id]["reported"] == 1
    # The old community's day that only the moved circle had is gone, not left at zero.
    assert (day + timedelta(days=1), data.community.id) not in stored_by_community(db)
    assert stored_by_community(db)[day + timedelta(days=1), other.id]["reported"] == 1
    assert sum(reported for (_day, community, _category), (reported, _w, _s)
               in stored_by_category(db).items() if community == other.id) == 2


def test_category_rows_follow_a_change_of_category_and_status(db, data):
    admin = data.users["admin"]
    issue = _register(data, admin, data.east)
    assert_consistent(db)
    other = f.db.session.scalars(sa.select(IssueCategory).where(
        IssueCategory.id != issue.category_id)).first()
    issue.category_id = other.id
    assert_consistent(db)
    wf.withdraw_issue(issue, admin, reason="商户已自行解决", expected_version=issue.version)
    assert_consistent(db)
    assert list(stored_by_category(db).values()) == [(1, 1, 0)]


def test_demo_data_and_synthetic_data_are_consistent(db, data):
    from circle.demo import seed_demo
    from circle.synthetic import generate

    seed_demo()
    assert_consistent(db)
    generate(50, 400, seed=3, days=30)
    assert_consistent(db)


def test_rebuild_recounts_everything(db, data, runner):
    issue = _register(data, data.users["admin"], data.east)
    db.session.commit()
    # A change behind the ORM's back (bulk SQL) leaves the figures stale …
    db.session.execute(sa.update(Issue).where(Issue.id == issue.id)
                       .values(status="withdrawn"))
    db.session.commit()
    assert stored(db) != counted(db)
    # … until they are rebuilt.
    result = runner.invoke(args=["circle", "rebuild-figures"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert stored(db) == counted(db)
    assert stored_by_community(db) == summed_by_community(db)
    assert rebuild_figures() == len(counted(db))
    assert stored_by_community(db) == summed_by_community(db) != {}
    assert stored_by_category(db) == counted_by_category(db) != {}


def test_concurrent_transactions_on_one_day_and_circle(app, db, data):
    """Two transactions register an issue in the same circle on the same day and commit at
    the same moment: the row lock makes the second recount include the first's issue."""
    import threading

    from sqlalchemy.orm import Session

    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers; the race exists on PostgreSQL only")
    merchants = [f.MerchantFactory(circle=data.east) for _ in range(2)]
    moment = datetime(2026, 5, 5, 3, 0, tzinfo=timezone.utc)
    # The day's row exists already (a new row would make the second insert wait anyway).
    _register(data, data.users["admin"], data.east, now=moment)
    db.session.commit()
    merchant_ids = [m.id for m in merchants]
    category_id = db.session.scalars(sa.select(IssueCategory.id)).first()
    source_id = db.session.scalars(sa.select(IssueSource.id)).first()
    flushed = threading.Barrier(2)
    errors = []

    def register(merchant_id):
        try:
            with app.app_context(), Session(db.engine) as session:
                session.add(Issue(merchant_id=merchant_id, circle_id=data.east.id,
                                  category_id=category_id, source_id=source_id,
                                  description="跳闸", severity="small", reported_at=moment))
                session.flush()
                flushed.wait(timeout=10)
                session.commit()
        except Exception as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(m,)) for m in merchant_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    db.session.expire_all()
    assert stored(db)[moment.date(), data.east.id]["reported"] == 3
    assert stored(db) == counted(db)
    assert stored_by_community(db)[moment.date(), data.community.id]["reported"] == 3
    assert stored_by_community(db) == summed_by_community(db)


# --- figures that cannot hide dissatisfaction ----------------------------------------------

def _sums(db, circle_id, first, last, names):
    """The stored counts of ``names`` summed over the local days ``first``…``last``."""
    rows = [values for (day, circle), values in stored(db).items()
            if circle == circle_id and first <= day <= last]
    return {name: sum(row[name] for row in rows) for name in names}


FIRST = ("first_rated", "first_satisfied", "first_rehandled")
FINAL = ("rated", "satisfied", "confirmed", "unreachable")


def _resolved_at_level1(data, when):
    admin = data.users["admin"]
    issue = _register(data, admin, data.east, now=when)
    wf.resolve_at_level1(issue, admin, summary="电话指导后已复电", expected_version=issue.version,
                         now=when + timedelta(minutes=20))
    return issue


def _solve_again(data, issue, when):
    """After a callback sent it back: a specialist takes it and solves it on site."""
    admin = data.users["admin"]
    wf.accept_issue(issue, admin, assignee=data.users["specialist"],
                    expected_version=issue.version, now=when)
    wf.record_site_visit(issue, admin, arrived_at=when + timedelta(hours=1), outcome="resolved",
                         summary="更换空开", expected_version=issue.version,
                         now=when + timedelta(hours=2))


def _call(data, issue, when, **answers):
    wf.record_callback(issue, data.users["admin"], expected_version=issue.version, now=when,
                       **answers)


def test_a_later_callback_never_changes_a_closed_month(db, data):
    """March's first-callback figures stay as they were when the callback of April lands;
    the final rating moves to April."""
    march, april = datetime(2026, 3, 1).date(), datetime(2026, 4, 1).date()
    end_of_march, end_of_april = datetime(2026, 3, 31).date(), datetime(2026, 4, 30).date()
    issue = _resolved_at_level1(data, datetime(2026, 3, 20, 2, 0, tzinfo=timezone.utc))
    _call(data, issue, datetime(2026, 3, 25, 2, 0, tzinfo=timezone.utc), reached=True,
          resolved=False, rating="dissatisfied")
    assert_consistent(db)
    closed_march = _sums(db, data.east.id, march, end_of_march, FIRST + FINAL)
    assert closed_march == {"first_rated": 1, "first_satisfied": 0, "first_rehandled": 1,
                            "rated": 1, "satisfied": 0, "confirmed": 0, "unreachable": 0}
    # Re-handled and solved in April, called back satisfied: a month later.
    _solve_again(data, issue, datetime(2026, 4, 2, 1, 0, tzinfo=timezone.utc))
    _call(data, issue, datetime(2026, 4, 3, 2, 0, tzinfo=timezone.utc), reached=True,
          resolved=True, rating="satisfied")
    assert_consistent(db)
    march_now = _sums(db, data.east.id, march, end_of_march, FIRST + FINAL)
    assert {name: march_now[name] for name in FIRST} == {
        name: closed_march[name] for name in FIRST}
    # The final rating (and with it the final satisfaction rate) moved to April.
    assert {name: march_now[name] for name in ("rated", "satisfied")} == {
        "rated": 0, "satisfied": 0}
    assert _sums(db, data.east.id, april, end_of_april, FIRST + FINAL) == {
        "first_rated": 0, "first_satisfied": 0, "first_rehandled": 0,
        "rated": 1, "satisfied": 1, "confirmed": 1, "unreachable": 0}


def test_a_rating_before_an_unreachable_merchant_still_counts(db, data):
    """Rated dissatisfied, re-handled, then never reached again: the dissatisfaction stays in
    both satisfaction rates, and the issue is unreachable on the day of its last call."""
    issue = _resolved_at_level1(data, datetime(2026, 5, 4, 1, 0, tzinfo=timezone.utc))
    _call(data, issue, datetime(2026, 5, 5, 1, 0, tzinfo=timezone.utc), reached=True,
          resolved=True, rating="very_dissatisfied")
    _solve_again(data, issue, datetime(2026, 5, 6, 1, 0, tzinfo=timezone.utc))
    for day in (7, 8, 9):
        _call(data, issue, datetime(2026, 5, day, 1, 0, tzinfo=timezone.utc), reached=False)
    assert issue.callback_unreachable
    assert_consistent(db)
    figures = stored(db)
    rated_on = figures[datetime(2026, 5, 5).date(), data.east.id]
    assert {name: rated_on[name] for name in FIRST + FINAL} == {
        "first_rated": 1, "first_satisfied": 0, "first_rehandled": 1,
        "rated": 1, "satisfied": 0, "confirmed": 1, "unreachable": 0}
    assert figures[datetime(2026, 5, 9).date(), data.east.id]["unreachable"] == 1
    assert figures.get((datetime(2026, 5, 7).date(), data.east.id), {}).get(
        "unreachable", 0) == 0


def test_a_withdrawn_issue_leaves_every_rate(db, data):
    """Rated, sent back, then withdrawn as a duplicate: out of every rate, in every period,
    counted only among the reported and the withdrawn."""
    start = datetime(2026, 6, 1, 1, 0, tzinfo=timezone.utc)
    issue = _resolved_at_level1(data, start)
    _call(data, issue, start + timedelta(days=1), reached=True, resolved=False,
          rating="dissatisfied")
    assert_consistent(db)
    assert _sums(db, data.east.id, start.date(), start.date() + timedelta(days=3),
                 FIRST)["first_rated"] == 1
    wf.withdraw_issue(issue, data.users["admin"], reason="重复登记",
                      expected_version=issue.version, now=start + timedelta(days=2))
    assert_consistent(db)
    totals = _sums(db, data.east.id, start.date(), start.date() + timedelta(days=3),
                   ("reported", "withdrawn", "responded", "responded_on_time", "resolved",
                    *FIRST, *FINAL))
    assert totals == {"reported": 1, "withdrawn": 1, **{name: 0 for name in totals
                                                        if name not in ("reported",
                                                                        "withdrawn")}}


def test_response_on_time_does_not_flip_while_re_handled(db, data):
    """Settled at level 1 within the response deadline: 1/1 on time, and still 1/1 while it
    is re-handled and after it is resolved again, late."""
    start = datetime(2026, 7, 6, 1, 0, tzinfo=timezone.utc)
    issue = _resolved_at_level1(data, start)
    responded = issue.responded_at
    assert responded == start + timedelta(minutes=20) <= issue.response_due_at

    def response_counts():
        assert_consistent(db)
        row = stored(db)[start.date(), data.east.id]
        return row["responded_on_time"], row["responded"]

    assert response_counts() == (1, 1)
    _call(data, issue, start + timedelta(hours=2), reached=True, resolved=False,
          rating="dissatisfied")
    assert issue.resolved_at is None and issue.responded_at == responded
    assert response_counts() == (1, 1)
    _solve_again(data, issue, start + timedelta(days=2))
    assert issue.responded_at == responded
    assert response_counts() == (1, 1)


def test_an_earlier_arrival_moves_the_response_earlier(db, data):
    """The response is the earliest arrival or resolution ever recorded: a corrected, earlier
    arrival moves it, a later resolution never does."""
    start = datetime(2026, 7, 6, 1, 0, tzinfo=timezone.utc)
    issue = _resolved_at_level1(data, start)
    issue.first_on_site_at = start + timedelta(minutes=5)
    db.session.commit()
    assert issue.responded_at == start + timedelta(minutes=5)
    issue.first_on_site_at, issue.resolved_at = None, start + timedelta(days=1)
    db.session.commit()
    assert issue.responded_at == start + timedelta(minutes=5)


def test_first_and_final_ratings_follow_the_order_of_calls(db, data):
    """Calls recorded out of time order: the first rating is the earliest by call time, the
    final one the latest; a call that did not reach the merchant is neither."""
    issue = _resolved_at_level1(data, datetime(2026, 8, 3, 1, 0, tzinfo=timezone.utc))
    db.session.add_all([
        Callback(issue=issue, called_at=datetime(2026, 8, 10, 1, tzinfo=timezone.utc),
                 reached=True, resolved_per_merchant=True, rating="satisfied"),
        Callback(issue=issue, called_at=datetime(2026, 8, 5, 1, tzinfo=timezone.utc),
                 reached=True, resolved_per_merchant=False, rating="dissatisfied"),
        Callback(issue=issue, called_at=datetime(2026, 8, 12, 1, tzinfo=timezone.utc),
                 reached=False),
    ])
    issue.rehandle_count = 1
    assert_consistent(db)
    figures = stored(db)
    assert figures[datetime(2026, 8, 5).date(), data.east.id]["first_rated"] == 1
    assert figures[datetime(2026, 8, 5).date(), data.east.id]["rated"] == 0
    assert figures[datetime(2026, 8, 10).date(), data.east.id]["satisfied"] == 1
    assert (datetime(2026, 8, 12).date(), data.east.id) not in figures
