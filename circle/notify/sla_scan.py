"""The SLA scan: a reminder at 75 % of a deadline, a warning when it passes, and the
escalation ladder's next rung a while after.

Run by the job engine once per ``CIRCLE_NOTIFY_SCAN_SECONDS`` (:mod:`circle.jobs`). It reads
the issues whose clocks run — the open ones not on hold, a few thousand however large the
history, found through the status index (``ix_issue_open_figures``) and never by walking the
table — and their states by the clocks' own rules (:mod:`circle.issues.sla`). Each threshold
of each deadline is told once: the notice's key names the issue, the clock, the threshold
and the deadline, so a deadline moved by a hold or a re-handling is told again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from circle.extensions import db
from circle.issues import sla, workcalendar
from circle.issues.models import Issue, Status
from circle.notify.models import Notice
from circle.notify.outbox import notice_for_kind
from circle.notify.rules import Kind
from circle.sqlhints import selective
from circle.timeutil import local_zone

#: Statuses whose clocks run (on hold, they stop).
RUNNING = tuple(s for s in Status.OPEN if s != Status.ON_HOLD)

_COLUMNS = (Issue.id, Issue.status, Issue.level, Issue.severity, Issue.circle_id,
            Issue.assignee_id, Issue.reported_at, Issue.response_due_at,
            Issue.resolution_due_at, Issue.resolution_started_at, Issue.held_seconds,
            Issue.hold_started_at, Issue.response_minutes, Issue.response_clock,
            Issue.resolution_clock, Issue.resolved_at, Issue.first_on_site_at,
            Issue.responded_at)

_BATCH = 900  # ids per IN list (SQLite's parameter limit is far above; plans stay small)


def running_issues_query():
    """The issues whose clocks run (the index-backed query the scan reads)."""
    return sa.select(*_COLUMNS).where(selective(Issue.status.in_(RUNNING)))


def _key(clock: str, threshold: str, issue, due: datetime) -> str:
    return f"sla:{clock}:{threshold}:{issue.id}:{due.strftime('%Y%m%dT%H%M')}"


def thresholds(issue, now: datetime, calendar, ladder: timedelta) -> list[tuple[str, str]]:
    """``(kind, key)`` of every threshold ``issue`` has reached at ``now``."""
    found = []
    clocks = (("response", sla.response_state, issue.response_due_at),
              ("resolution", sla.resolution_state, issue.resolution_due_at))
    for clock, state_of, due in clocks:
        if due is None:
            continue
        state = state_of(issue, now, calendar)
        if state == sla.SlaState.AT_RISK:
            found.append((Kind.AT_RISK, _key(clock, "at_risk", issue, due)))
        elif state == sla.SlaState.OVERDUE:
            found.append((Kind.OVERDUE, _key(clock, "overdue", issue, due)))
            if clock == "resolution" and now >= due + ladder:
                found.append((Kind.LADDER, _key(clock, "ladder", issue, due)))
    return found


def scan(now: datetime) -> int:
    """Write the notices of every threshold reached since the last scan; how many."""
    session = db.session
    connection = session.connection()
    calendar = workcalendar.load_calendar()
    ladder = timedelta(minutes=current_app.config["CIRCLE_NOTIFY_LADDER_MINUTES"])
    issues = connection.execute(running_issues_query()).all()
    written, cache = 0, {}
    zone = local_zone()
    for start in range(0, len(issues), _BATCH):
        batch = issues[start:start + _BATCH]
        told = set(connection.scalars(sa.select(Notice.key).where(
            Notice.issue_id.in_([row.id for row in batch]),
            Notice.kind.in_((Kind.AT_RISK, Kind.OVERDUE, Kind.LADDER)))))
        for row in batch:
            for kind, key in thresholds(row, now, calendar, ladder):
                if key in told:
                    continue
                if notice_for_kind(connection, kind, row, key=key, now=now, zone=zone,
                                   cache=cache, detail={"clock": key.split(":")[1]}):
                    written += 1
    if written:
        from circle.notify.outbox import _DIRTY

        session.info[_DIRTY] = True
    return written
