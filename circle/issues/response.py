"""When an issue was responded to, and whether in time: one definition for every report.

The **response** is the first time anyone acted on the spot: the earliest on-site arrival or,
for a matter settled without a visit (at level 1, or by phone), the earliest resolution —
whichever came first. It is kept on the issue as :attr:`Issue.responded_at` and only ever
moves earlier (a corrected, earlier arrival); it is never cleared. Re-handling (重办) clears
``resolved_at`` and later sets a new one, but the response happened once, so a re-handled
issue keeps the response it had: its on-time response can no longer flip from "on time" to
"not responded" to "late" while it is handled again.

The response is **on time** when it came no later than ``response_due_at`` (which already
carries working days and time on hold). An issue without a response deadline has no
on-time answer; a withdrawn one is left out of every rate.

:attr:`Issue.responded_at` is kept by a flush hook (:func:`_keep_responded_at`), so every
path that records an arrival or a resolution — the workflow's steps, the API, an
administrator's edit, test factories — keeps it, with nothing to remember. Bulk SQL that
bypasses the ORM (``flask circle gen-synthetic``, migration 0009) writes it itself by the
same rule.

The dashboard (:mod:`circle.reports.figures`), the satisfaction export and the API read
:func:`on_time` / :func:`response_on_time` and the SQL forms :func:`responded_clause` /
:func:`responded_on_time_clause`; nothing else restates the rule.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import event
from sqlalchemy.orm import Session

from circle.issues.models import Issue, Status


def response_moment(issue: Issue) -> datetime | None:
    """The issue's response by the rule above, from what it records now: the earliest of its
    kept ``responded_at``, its first on-site arrival and its resolution (``None``: none yet)."""
    moments = [moment for moment in (issue.responded_at, issue.first_on_site_at,
                                     issue.resolved_at) if moment is not None]
    return min(moments, default=None)


def on_time(done_at: datetime | None, due_at: datetime | None) -> bool | None:
    """Whether a clock finished in time: ``None`` without a deadline; a clock that has not
    finished is not (yet) on time."""
    if due_at is None:
        return None
    return done_at is not None and done_at <= due_at


def response_on_time(issue) -> bool | None:
    """Whether ``issue`` (or an export row with the same attributes) was responded to in
    time; ``None`` for a withdrawn issue or one without a response deadline."""
    if issue.status in Status.LEFT:
        return None
    return on_time(issue.responded_at, issue.response_due_at)


# --- the same rule in SQL --------------------------------------------------------------

def responded_clause(issue=Issue):
    """The issue has a response deadline and has been responded to (not yet withdrawal-
    filtered: callers apply :func:`circle.reports.counts.counted_issue`)."""
    return issue.response_due_at.is_not(None) & issue.responded_at.is_not(None)


def responded_on_time_clause(issue=Issue):
    """Responded to no later than the response deadline."""
    return responded_clause(issue) & (issue.responded_at <= issue.response_due_at)


# --- keeping it ----------------------------------------------------------------------------

@event.listens_for(Session, "before_flush")
def _keep_responded_at(session, flush_context, instances):
    """Record the response on every issue being written whose arrival or resolution is
    earlier than the response it keeps (or that has none yet)."""
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, Issue):
            moment = response_moment(obj)
            if moment is not None and moment != obj.responded_at:
                obj.responded_at = moment
