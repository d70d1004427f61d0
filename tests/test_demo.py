"""The demo story is played through the workflow engine, not a copy of it."""

import sqlalchemy as sa

from circle.demo import seed_demo
from circle.issues.models import Issue, IssueEvent, Status
from circle.issues.workflow import replay_problems
from circle.models import User


def test_every_demo_timeline_is_one_the_engine_allows(db):
    assert seed_demo()
    rows = db.session.execute(
        sa.select(IssueEvent.issue_id, IssueEvent.action, IssueEvent.from_status,
                  IssueEvent.to_status, IssueEvent.from_level, IssueEvent.to_level, User.role)
        .join(User, User.id == IssueEvent.actor_id)
        .order_by(IssueEvent.issue_id, IssueEvent.created_at, IssueEvent.id))
    timelines = {}
    for issue_id, *event in rows:
        timelines.setdefault(issue_id, []).append(tuple(event))
    assert len(timelines) == db.session.scalar(sa.select(sa.func.count(Issue.id)))
    assert {k: v for k, v in ((k, replay_problems(v)) for k, v in timelines.items()) if v} == {}
    # The events the engine writes, and none of its own ("callback" was the demo's).
    actions = {event[0] for events in timelines.values() for event in events}
    assert "callback" not in actions
    assert {"register", "escalate", "accept", "arrive", "joint_office", "escalate_symposium",
            "symposium", "resolve", "hold", "resume", "close", "rehandle",
            "callback_missed"} <= actions


def test_held_demo_issues_have_their_clocks_paused(db):
    seed_demo()
    held = db.session.scalars(sa.select(Issue).where(Issue.status == Status.ON_HOLD)).all()
    assert held
    for issue in held:
        assert issue.hold_started_at is not None and issue.status_before_hold
    # A case that waited and resumed had its deadlines moved out by the wait.
    resumed = db.session.scalars(
        sa.select(Issue).where(Issue.events.any(IssueEvent.action == "resume"))).all()
    assert resumed and all(issue.held_seconds > 0 for issue in resumed)
