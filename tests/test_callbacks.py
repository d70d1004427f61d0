"""Which callback counts, and for what: one rule, read the same by the desk, the export, the
API and the figures."""

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
from tests.test_export import COL, T0, called_back, download, read_csv


def call(id_, hour, reached=True, rating="satisfied"):
    return SimpleNamespace(id=id_, called_at=T0 + timedelta(hours=hour), reached=reached,
                           rating=rating if reached else None)


@pytest.mark.parametrize("calls, unreachable, first, final, closing", [
    # Recorded out of time order: time decides, not the id.
    ([call(1, 5), call(2, 3)], False, 2, 1, None),
    # The same moment: the one recorded first is the first, the one recorded last the final.
    ([call(1, 5), call(2, 5)], False, 1, 2, None),
    # A call that did not reach the merchant is no rating.
    ([call(1, 3), call(2, 5, reached=False)], False, 1, 1, None),
    # A reached call without a rating (older data) is no rating either.
    ([call(1, 3, rating=None), call(2, 5)], False, 2, 2, None),
    # Unreachable in the end: the ratings stay, the last attempt dates the unreachable.
    ([call(1, 3), call(2, 4, reached=False), call(3, 5, reached=False)], True, 1, 1, 3),
    ([call(1, 3, reached=False)], False, None, None, None),
    ([call(1, 3, reached=False), call(2, 4, reached=False)], True, None, None, 2),
])
def test_the_rule_on_loaded_callbacks(calls, unreachable, first, final, closing):
    issue = SimpleNamespace(callbacks=calls, callback_unreachable=unreachable)
    assert getattr(rule.first_rating(issue), "id", None) == first
    assert getattr(rule.final_rating(issue), "id", None) == final
    assert getattr(rule.effective_callback(issue), "id", None) == final
    assert getattr(rule.unreachable_call(issue), "id", None) == closing


def in_sql(db, clause) -> dict[int, int]:
    """``{issue id: callback id}`` of the calls for which ``clause`` holds."""
    return dict(db.session.execute(
        sa.select(Issue.id, Callback.id).join(Callback, Callback.issue_id == Issue.id)
        .where(clause)).all())


def in_python(db, pick) -> dict[int, int]:
    db.session.expire_all()
    picked = {issue.id: pick(issue) for issue in db.session.scalars(sa.select(Issue))}
    return {issue_id: call.id for issue_id, call in picked.items() if call is not None}


def test_sql_and_python_forms_agree(db, data):
    # Three issues: rated twice out of id order, rated then unreachable, never reached.
    twice = called_back(data.east, called_at=T0 + timedelta(days=3), rating="satisfied")
    db.session.add(Callback(issue=twice, called_at=T0 + timedelta(days=1), reached=True,
                            resolved_per_merchant=False, rating="dissatisfied"))
    lost = called_back(data.east, called_at=T0 + timedelta(days=1), rating="dissatisfied")
    for hour in range(3):
        db.session.add(Callback(issue=lost, called_at=T0 + timedelta(days=2, hours=hour),
                                reached=False))
    lost.callback_unreachable = True
    called_back(data.west, unreachable=True)
    db.session.commit()
    for clause, pick in [
        (rule.first_rating_clause(Callback), rule.first_rating),
        (rule.final_rating_clause(Callback), rule.final_rating),
        (rule.unreachable_call_clause(Callback, Issue), rule.unreachable_call),
    ]:
        assert in_sql(db, clause) == in_python(db, pick)
    assert len(in_sql(db, rule.unreachable_call_clause(Callback, Issue))) == 2


def figures_by_day(db) -> dict:
    """``{day: (first rated, first satisfied, rated, satisfied, unreachable)}``, checked
    against a count from scratch."""
    names = ("first_rated", "first_satisfied", "rated", "satisfied", "unreachable")
    db.session.commit()
    stored = {row.day: tuple(getattr(row, name) for name in names)
              for row in db.session.scalars(sa.select(CircleDayFigures))}
    raw = {day: tuple(v[name] for name in names)
           for (day, _), v in count_raw(db.session.connection()).items() if any(v.values())}
    assert stored == raw
    return {day: counts for day, counts in stored.items() if any(counts)}


@pytest.mark.parametrize("second_call_hours", [
    -24,  # recorded second, but called a day earlier: called_at order ≠ id order
    0,  # two reached calls at the same moment: the one recorded last is the final one
])
def test_desk_export_and_figures_agree(admin_browser, db, data, second_call_hours):
    first_at = T0 + timedelta(days=3)
    issue = called_back(data.east, rating="dissatisfied", resolved=False, comments="第一次",
                        called_at=first_at, rehandle_count=1)
    second = Callback(issue=issue, called_at=first_at + timedelta(hours=second_call_hours),
                      reached=True, resolved_per_merchant=True, rating="satisfied",
                      comments="第二次")
    db.session.add(second)
    issue.rating = second.rating  # as the workflow leaves it: the last rating recorded
    db.session.commit()
    recorded_first = next(c for c in issue.callbacks if c.id != second.id)
    first, final = ((recorded_first, second) if second_call_hours == 0
                    else (second, recorded_first))
    db.session.refresh(issue)

    assert desk_effective_callback(issue).id == final.id
    assert rule.first_rating(issue).id == first.id
    assert in_sql(db, rule.first_rating_clause(Callback)) == {issue.id: first.id}
    assert in_sql(db, rule.final_rating_clause(Callback)) == {issue.id: final.id}
    row = read_csv(download(admin_browser))[1]
    labels = {"satisfied": "满意", "dissatisfied": "不满意"}
    assert row[COL["first_called_at"]] == format_local(first.called_at)
    assert row[COL["first_rating"]] == labels[first.rating]
    assert row[COL["called_at"]] == format_local(final.called_at)
    assert row[COL["rating"]] == labels[final.rating]
    assert row[COL["comments"]] == final.comments
    assert (row[COL["calls"]], row[COL["reached_calls"]]) == ("2", "2")
    first_day, final_day = local_day(first.called_at), local_day(final.called_at)
    first_sat, final_sat = int(first.rating == "satisfied"), int(final.rating == "satisfied")
    if first_day == final_day:
        assert figures_by_day(db) == {first_day: (1, first_sat, 1, final_sat, 0)}
    else:
        assert figures_by_day(db) == {first_day: (1, first_sat, 0, 0, 0),
                                      final_day: (0, 0, 1, final_sat, 0)}


def test_unreachable_is_dated_by_the_latest_call_in_time(admin_browser, db, data):
    """Closed as unreachable, the issue is dated by its latest call by time — here a reached
    one recorded before the failed calls, whose rating stays in both satisfaction rates."""
    issue = called_back(data.east, called_at=T0 + timedelta(days=4), comments="先登记")
    reached = issue.callbacks[0]
    for hour in range(3):
        db.session.add(Callback(issue=issue, called_at=T0 + timedelta(days=1, hours=hour),
                                reached=False, comments=f"第{hour + 1}次未接通"))
    issue.callback_unreachable = True
    db.session.commit()
    db.session.refresh(issue)
    assert rule.unreachable_call(issue).id == reached.id
    assert desk_effective_callback(issue).id == reached.id
    row = read_csv(download(admin_browser))[1]
    assert row[COL["unreachable_at"]] == format_local(reached.called_at)
    assert (row[COL["called_at"]], row[COL["rating"]]) == (
        format_local(reached.called_at), "满意")
    assert figures_by_day(db) == {local_day(reached.called_at): (1, 1, 1, 1, 1)}


def test_moving_a_call_in_time_moves_its_figures(db, data):
    """The old day of a call whose time is corrected is recounted too."""
    issue = called_back(data.east, called_at=T0 + timedelta(days=1))
    db.session.commit()
    old_day = local_day(T0 + timedelta(days=1))
    assert figures_by_day(db) == {old_day: (1, 1, 1, 1, 0)}
    issue.callbacks[0].called_at = T0 + timedelta(days=2)
    assert figures_by_day(db) == {local_day(T0 + timedelta(days=2)): (1, 1, 1, 1, 0)}
