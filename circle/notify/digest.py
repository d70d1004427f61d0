"""The daily digest: each person's open issues, those at risk, those overdue and the
callbacks due, once a day at ``CIRCLE_NOTIFY_DIGEST_AT`` (local time)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import sqlalchemy as sa

from circle.accounts.models import Role, User, user_circle
from circle.extensions import db
from circle.issues import sla, workcalendar
from circle.issues.models import Issue, Status
from circle.notify.models import Preference
from circle.notify.outbox import write_notice
from circle.notify.rules import Kind
from circle.notify.sla_scan import running_issues_query
from circle.org.models import BusinessCircle
from circle.sqlhints import selective
from circle.timeutil import local_zone


def counts_by_circle(now: datetime) -> dict[int, Counter]:
    """Per business circle: open, at risk, overdue, callbacks due."""
    connection = db.session.connection()
    calendar = workcalendar.load_calendar()
    counts: dict[int, Counter] = {}
    for row in connection.execute(running_issues_query()):
        counter = counts.setdefault(row.circle_id, Counter())
        counter["open"] += 1
        states = {sla.response_state(row, now, calendar), sla.resolution_state(row, now, calendar)}
        if sla.SlaState.OVERDUE in states:
            counter["overdue"] += 1
        elif sla.SlaState.AT_RISK in states:
            counter["at_risk"] += 1
    others = connection.execute(
        sa.select(Issue.circle_id, Issue.status, sa.func.count())
        .where(selective(Issue.status.in_((Status.ON_HOLD, Status.RESOLVED))))
        .group_by(Issue.circle_id, Issue.status))
    for circle_id, status, n in others:
        counter = counts.setdefault(circle_id, Counter())
        counter["open" if status == Status.ON_HOLD else "callbacks_due"] += n
    return counts


def _circles_of(connection) -> dict[int, set[int]]:
    """Each person's circles by the row-scope rule (administrators: ``None`` = all)."""
    community_circles: dict[int, set[int]] = {}
    for circle_id, community_id in connection.execute(
            sa.select(BusinessCircle.id, BusinessCircle.community_id)):
        community_circles.setdefault(community_id, set()).add(circle_id)
    liaison_circles: dict[int, set[int]] = {}
    for user_id, circle_id in connection.execute(sa.select(user_circle)):
        liaison_circles.setdefault(user_id, set()).add(circle_id)
    scope = {}
    for user in connection.execute(sa.select(User.id, User.role, User.community_id).where(
            User.active, User.is_service_account.is_(False))):
        if user.role == Role.ADMIN:
            scope[user.id] = None
        elif user.role == Role.LIAISON:
            scope[user.id] = liaison_circles.get(user.id, set())
        else:
            scope[user.id] = community_circles.get(user.community_id, set())
    return scope


def send_digests(now: datetime) -> int:
    """Write today's digest notice for everyone who wants one; how many were written."""
    connection = db.session.connection()
    counts = counts_by_circle(now)
    off = set(connection.scalars(sa.select(Preference.user_id).where(
        Preference.digest_enabled.is_(False))))
    today = now.astimezone(local_zone()).date().isoformat()
    written = 0
    for user_id, circles in _circles_of(connection).items():
        if user_id in off:
            continue
        total = Counter()
        for circle_id, counter in counts.items():
            if circles is None or circle_id in circles:
                total.update(counter)
        detail = {"date": today, **{k: total[k] for k in
                                    ("open", "at_risk", "overdue", "callbacks_due")}}
        if write_notice(connection, key=f"digest:{user_id}:{today}", kind=Kind.DIGEST,
                        people=[user_id], now=now, detail=detail):
            written += 1
    return written
