"""``flask circle gen-synthetic``: realistic, consistent, reproducible bulk data."""

from datetime import datetime, timezone

import sqlalchemy as sa

from circle.issues.models import Callback, Issue, IssueEvent, Rating, Status
from circle.models import EmergencyContact, Merchant, User
from circle.synthetic import generate
from circle.validators import normalise_credit_code, normalise_phone

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


def count(db, model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_generates_consistent_data(db):
    counts = generate(300, 2000, seed=7, now=NOW, days=60)
    assert counts["issues"] == count(db, Issue) == 2000
    assert count(db, Merchant) == 300 and count(db, EmergencyContact) == 300
    assert set(db.session.scalars(sa.select(Issue.status).distinct())) == set(Status.ALL)
    merchant = db.session.scalars(sa.select(Merchant).where(Merchant.credit_code.is_not(None))
                                  ).first()
    assert normalise_phone(merchant.phone) == merchant.phone
    assert normalise_credit_code(merchant.credit_code) == merchant.credit_code
    # Every issue's timeline starts with its registration and ends where the issue stands.
    for issue in db.session.scalars(sa.select(Issue).limit(300)):
        events = issue.events
        assert events[0].action == "register" and events[-1].to_status == issue.status
        assert [e.created_at for e in events] == sorted(e.created_at for e in events)
        assert all(e.created_at <= NOW for e in events)
        assert issue.circle_id == issue.merchant.circle_id
        if issue.status == Status.CLOSED:
            # Closed on a satisfied callback (a dissatisfied one would have re-opened it).
            assert issue.callbacks and (issue.rating in Rating.SATISFIED_SET
                                        or issue.callback_unreachable)
        if issue.status in Status.OPEN and not issue.rehandle_count:
            assert issue.resolved_at is None
        assert issue.highest_level >= issue.level
    ratings = set(db.session.scalars(sa.select(Callback.rating).distinct()))
    assert {"very_satisfied", "satisfied", "dissatisfied"} <= ratings
    # Some issues went round the loop twice: dissatisfied callback, re-handled, called again.
    rehandled = db.session.scalars(sa.select(Issue).where(
        Issue.rehandle_count > 0, Issue.status == Status.CLOSED)).all()
    assert rehandled
    for issue in rehandled[:20]:
        rounds = sorted((c.round, c.rating) for c in issue.callbacks)
        assert rounds[0][0] == 0 and rounds[0][1] not in Rating.SATISFIED_SET
        assert rounds[-1][0] == 1
        assert "rehandle" in [e.action for e in issue.events]
    assert db.session.scalar(sa.select(sa.func.count()).where(
        Issue.rehandle_count > 0, Issue.status.in_(Status.OPEN)))


def test_responses_and_ratings_are_as_the_workflow_leaves_them(db):
    """The response is kept as circle.issues.response keeps it (the first arrival or the
    first resolution of the timeline), and a rating re-handled an issue exactly when the
    workflow would have: not solved, or not satisfied."""
    generate(200, 1500, seed=5, now=NOW, days=60)
    for issue in db.session.scalars(sa.select(Issue).limit(500)):
        resolutions = [e.created_at for e in issue.events if e.action == "resolve"]
        moments = [m for m in (issue.first_on_site_at, min(resolutions, default=None)) if m]
        assert issue.responded_at == min(moments, default=None), issue.id
        for call in issue.callbacks:
            if call.reached:
                sent_back = not (call.resolved_per_merchant
                                 and call.rating in Rating.SATISFIED_SET)
                assert sent_back == (issue.rehandle_count > call.round), issue.id


def test_open_issues_are_recent(db):
    """A mature deployment: old issues are closed, the open working set is mostly new."""
    generate(200, 3000, seed=4, now=NOW, days=730)
    open_ages = [(NOW - reported).days for reported in db.session.scalars(
        sa.select(Issue.reported_at).where(Issue.status.in_(Status.OPEN)))]
    closed = count_where(db, Issue.status.in_((Status.CLOSED, Status.WITHDRAWN)))
    assert closed > 0.9 * 3000
    assert sum(age <= 14 for age in open_ages) > len(open_ages) / 3


def count_where(db, condition):
    return db.session.scalar(sa.select(sa.func.count()).select_from(Issue).where(condition))


def test_is_reproducible(tmp_path):
    from circle.extensions import db
    from tests.conftest import _reset_schema, make_app

    snapshots = []
    for run in ("a", "b"):
        (tmp_path / run).mkdir()
        app = make_app(tmp_path / run)
        _reset_schema(app)
        with app.app_context():
            generate(50, 200, seed=3, now=NOW)
            snapshots.append(db.session.execute(sa.select(
                Issue.id, Issue.status, Issue.reported_at, Issue.rating, Issue.work_order_no
            ).order_by(Issue.id)).all())
            db.session.remove()
            db.engine.dispose()
    assert snapshots[0] == snapshots[1]


def test_cli_and_new_rows_after_existing_ones(runner, db):
    result = runner.invoke(args=["circle", "gen-synthetic", "--merchants", "120",
                                 "--issues", "500", "--seed", "2"])
    assert result.exit_code == 0, result.output
    assert "500 issues" in result.output
    again = runner.invoke(args=["circle", "gen-synthetic", "--merchants", "10",
                                "--issues", "20", "--seed", "5"])
    assert again.exit_code == 0, again.output
    assert count(db, Issue) == 520
    # The sequences moved on: the app can still create rows normally.
    db.session.add(Merchant(shop_name="新店", owner_name="张三", phone="13800000000",
                            circle_id=db.session.scalar(sa.select(Merchant.circle_id))))
    db.session.commit()
    assert count(db, IssueEvent) > 520 and count(db, User) > 0


def _timelines(db, limit):
    rows = db.session.execute(
        sa.select(IssueEvent.issue_id, IssueEvent.action, IssueEvent.from_status,
                  IssueEvent.to_status, IssueEvent.from_level, IssueEvent.to_level, User.role)
        .join(User, User.id == IssueEvent.actor_id, isouter=True)
        .where(IssueEvent.issue_id.in_(sa.select(Issue.id).order_by(Issue.id).limit(limit)))
        .order_by(IssueEvent.issue_id, IssueEvent.created_at, IssueEvent.id))
    timelines = {}
    for issue_id, *event in rows:
        timelines.setdefault(issue_id, []).append(tuple(event))
    return timelines


def test_generated_timelines_replay_against_the_declared_steps(db):
    """The bulk fast path takes only steps the engine would allow, by roles allowed to."""
    from circle.issues.workflow import replay_problems

    generate(200, 1500, seed=11, now=NOW, days=120)
    timelines = _timelines(db, 1500)
    assert len(timelines) == 1500
    actions = {event[0] for events in timelines.values() for event in events}
    # The sample covers the loop: every level, re-handling, missed calls, hold, withdrawal.
    assert {"register", "escalate", "accept", "arrive", "joint_office", "escalate_symposium",
            "resolve", "hold", "withdraw", "callback_missed", "unreachable", "close",
            "rehandle"} <= actions
    problems = {issue_id: replay_problems(events) for issue_id, events in timelines.items()}
    assert {k: v for k, v in problems.items() if v} == {}


def test_replay_catches_what_the_engine_refuses():
    from circle.issues.workflow import replay_problems

    good = [("register", None, "registered", None, 1, "liaison"),
            ("escalate", "registered", "escalated", 1, 2, "liaison")]
    assert replay_problems(good) == []
    # A liaison acting above level 1, a status the step cannot reach, a gap in the chain,
    # an event no step writes.
    assert replay_problems([*good, ("withdraw", "escalated", "withdrawn", 2, 2, "liaison")])
    assert replay_problems([*good, ("accept", "escalated", "on_site", 2, 2, "specialist")])
    assert replay_problems([*good, ("resolve", "on_site", "resolved", 2, 2, "specialist")])
    assert replay_problems([*good, ("callback", "escalated", "escalated", 2, 2, "staff")])
