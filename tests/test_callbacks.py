"""Which callback counts: one rule, read the same by the desk, the export and the figures."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from circle.issues import callbacks as rule
from circle.issues.desk import effective_callback as desk_effective_callback
from circle.issues.models import Callback, Issue
from circle.reports.figures import CircleDayFigures, count_raw, local_day
from circle.timeutil import format_local
from tests.test_export import T0, called_back, download, read_csv

CALLED_AT, RATING, COMMENTS = 13, 16, 17  # export columns


def call(id_, hour, reached=True):
    return SimpleNamespace(id=id_, called_at=T0 + timedelta(hours=hour), reached=reached)


@pytest.mark.parametrize("calls, unreachable, counted, effective", [
    # Recorded out of time order: the later call counts, not the later id.
    ([call(1, 5), call(2, 3)], False, 1, 1),
    # The same moment: the one recorded last.
    ([call(1, 5), call(2, 5)], False, 2, 2),
    # A call that did not reach the merchant does not replace the rating.
    ([call(1, 3), call(2, 5, reached=False)], False, 1, 1),
    # Unreachable in the end: the last attempt dates the outcome, the last rating stays.
    ([call(1, 3), call(2, 4, reached=False), call(3, 5, reached=False)], True, 3, 1),
    ([call(1, 3, reached=False)], False, None, None),
])
def test_the_rule_on_loaded_callbacks(calls, unreachable, counted, effective):
    issue = SimpleNamespace(callbacks=calls, callback_unreachable=unreachable)
    assert getattr(rule.counted_callback(issue), "id", None) == counted
    assert getattr(rule.effective_callback(issue), "id", None) == effective


def counted_in_sql(db) -> dict[int, int]:
    """``{issue id: counted callback id}`` by the SQL form of the rule."""
    return dict(db.session.execute(
        sa.select(Issue.id, Callback.id).join(Callback, Callback.issue_id == Issue.id)
        .where(rule.counted_callback_clause(Callback, Issue))).all())


def figures_by_day(db) -> dict:
    db.session.commit()
    stored = {row.day: (row.callbacks, row.rated, row.satisfied, row.unreachable)
              for row in db.session.scalars(sa.select(CircleDayFigures))}
    raw = {day: (v["callbacks"], v["rated"], v["satisfied"], v["unreachable"])
           for (day, _), v in count_raw(db.session.connection()).items() if any(v.values())}
    assert stored == raw
    return {day: counts for day, counts in stored.items() if any(counts)}


@pytest.mark.parametrize("second_call_hours", [
    -24,  # recorded second, but called a day earlier: called_at order ≠ id order
    0,  # two reached calls at the same moment: the one recorded last counts
])
def test_desk_export_and_figures_agree(admin_browser, db, data, second_call_hours):
    first_at = T0 + timedelta(days=3)
    issue = called_back(data.east, rating="dissatisfied", resolved=False, comments="第一次",
                        called_at=first_at)
    second = Callback(issue=issue, called_at=first_at + timedelta(hours=second_call_hours),
                      reached=True, resolved_per_merchant=True, rating="satisfied",
                      comments="第二次")
    db.session.add(second)
    issue.rating = second.rating  # as the workflow leaves it: the last rating recorded
    db.session.commit()
    first = next(c for c in issue.callbacks if c.id != second.id)
    counted = second if second_call_hours == 0 else first
    db.session.refresh(issue)

    assert desk_effective_callback(issue).id == counted.id
    assert rule.counted_callback(issue).id == counted.id
    assert counted_in_sql(db) == {issue.id: counted.id}
    row = read_csv(download(admin_browser))[1]
    assert row[CALLED_AT] == format_local(counted.called_at)
    assert row[COMMENTS] == counted.comments
    assert row[RATING] == {"satisfied": "满意", "dissatisfied": "不满意"}[counted.rating]
    satisfied = int(counted.rating == "satisfied")
    assert figures_by_day(db) == {local_day(counted.called_at): (1, 1, satisfied, 0)}


def test_unreachable_counts_through_the_latest_call_in_time(admin_browser, db, data):
    """Closed as unreachable, the issue counts through its latest call by time — here a
    reached one recorded before the failed calls — and only as unreachable."""
    issue = called_back(data.east, called_at=T0 + timedelta(days=4), comments="先登记")
    reached = issue.callbacks[0]
    for hour in range(3):
        db.session.add(Callback(issue=issue, called_at=T0 + timedelta(days=1, hours=hour),
                                reached=False, comments=f"第{hour + 1}次未接通"))
    issue.callback_unreachable = True
    db.session.commit()
    db.session.refresh(issue)
    assert rule.counted_callback(issue).id == reached.id
    assert desk_effective_callback(issue).id == reached.id
    assert counted_in_sql(db) == {issue.id: reached.id}
    row = read_csv(download(admin_browser))[1]
    assert (row[CALLED_AT], row[RATING]) == (format_local(reached.called_at), "无法联系商户")
    assert figures_by_day(db) == {local_day(reached.called_at): (0, 0, 0, 1)}


def test_moving_a_call_in_time_moves_its_figures(db, data):
    """The old day of a call whose time is corrected is recounted too."""
    issue = called_back(data.east, called_at=T0 + timedelta(days=1))
    db.session.commit()
    old_day = local_day(T0 + timedelta(days=1))
    assert figures_by_day(db) == {old_day: (1, 1, 1, 0)}
    issue.callbacks[0].called_at = T0 + timedelta(days=2)
    assert figures_by_day(db) == {local_day(T0 + timedelta(days=2)): (1, 1, 1, 0)}
