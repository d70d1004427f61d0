"""The dashboard's pre-aggregated figures always equal a count from the raw tables."""

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from circle.issues.models import Issue, IssueCategory, IssueSource
from circle.reports.figures import (
    FIELDS,
    CircleDayFigures,
    count_raw,
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


def assert_consistent(db):
    db.session.commit()
    assert stored(db) == counted(db)


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
    # The superseded callback no longer counts; the effective one counts on its own day.
    first_call = (start + timedelta(days=1)).date()
    assert figures.get((first_call, data.east.id), {}).get("rated", 0) == 0
    assert figures[(start + timedelta(days=2)).date(), data.east.id]["satisfied"] == 1
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
    assert rebuild_figures() == len(counted(db))


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
