"""SLA clocks for 小事不过晌、大事不过夜、难事不过周.

Two clocks run per issue: *response* (registered → first on-site arrival) and *resolution*
(registered, or the last 重办 → resolved). Their budgets come from the admin-edited
:class:`~circle.issues.models.SlaPolicy` of the issue's severity, copied onto the issue when
it is registered, so a later policy change affects new issues only.

A policy counts either calendar time or working days. In working-day mode only time on
working days counts: Monday–Friday, less the public holidays, plus the weekend days made
working days (调休) — both from the admin-edited :class:`~circle.issues.models.CalendarDay`
table. Day boundaries are midnight in the configured zone (``CIRCLE_TIMEZONE``).

Time on hold (挂起) does not count: when an issue continues, its open deadlines move out by
the budget that was left when it was put on hold.

Everything here is a plain function of its arguments; only :func:`load_calendar` and
:func:`policy_for` read the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from circle.extensions import db
from circle.issues.models import CalendarDay, DayKind, Issue, SlaPolicy, Status
from circle.timeutil import local_zone

# A working-day deadline can never be further away than this (guards a calendar in which an
# administrator has, by mistake, made every day a holiday).
_MAX_DAYS = 3 * 366

AT_RISK_FRACTION = 0.75


class SlaState:
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OVERDUE = "overdue"
    MET = "met"
    MISSED = "missed"
    ALL = (ON_TRACK, AT_RISK, OVERDUE, MET, MISSED)


@dataclass(frozen=True)
class WorkCalendar:
    """Which days are working days, and where days begin and end."""

    zone: ZoneInfo
    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def next_midnight(self, moment: datetime) -> datetime:
        """The start of the local day after ``moment``, in UTC."""
        local_day = moment.astimezone(self.zone).date()
        return datetime.combine(local_day + timedelta(days=1), time(0), tzinfo=self.zone
                                ).astimezone(timezone.utc)


def load_calendar(zone: ZoneInfo | None = None) -> WorkCalendar:
    """The holiday calendar as the administrator keeps it."""
    holidays, workdays = set(), set()
    for day, kind in db.session.execute(sa.select(CalendarDay.day, CalendarDay.kind)):
        (holidays if kind == DayKind.HOLIDAY else workdays).add(day)
    return WorkCalendar(zone or local_zone(), frozenset(holidays), frozenset(workdays))


def add_time(start: datetime, budget: timedelta, *, working_days: bool,
             calendar: WorkCalendar) -> datetime:
    """The moment at which ``budget`` of clock time has passed since ``start``."""
    start = start.astimezone(timezone.utc)
    if not working_days:
        return start + budget
    remaining, cursor = budget, start
    for _ in range(_MAX_DAYS):
        boundary = calendar.next_midnight(cursor)
        if calendar.is_working_day(cursor.astimezone(calendar.zone).date()):
            available = boundary - cursor
            if remaining <= available:
                return cursor + remaining
            remaining -= available
        cursor = boundary
    raise ValueError("no working days in the calendar for three years")


def clock_time_between(start: datetime, end: datetime, *, working_days: bool,
                       calendar: WorkCalendar) -> timedelta:
    """How much clock time passes from ``start`` to ``end`` (zero if ``end`` is earlier)."""
    if end <= start:
        return timedelta(0)
    if not working_days:
        return end - start
    total, cursor = timedelta(0), start.astimezone(timezone.utc)
    while cursor < end:
        boundary = min(calendar.next_midnight(cursor), end)
        if calendar.is_working_day(cursor.astimezone(calendar.zone).date()):
            total += boundary - cursor
        cursor = boundary
    return total


def policy_for(severity: str) -> SlaPolicy | None:
    """The current policy for a severity class."""
    return db.session.scalar(sa.select(SlaPolicy).where(SlaPolicy.severity == severity))


def start_clocks(issue: Issue, policy: SlaPolicy, now: datetime,
                 calendar: WorkCalendar) -> None:
    """Copy the policy onto a newly registered issue and set both deadlines."""
    issue.response_minutes = policy.respond_minutes
    issue.resolution_minutes = policy.resolve_minutes
    issue.sla_working_days = policy.working_days
    issue.resolution_started_at = now
    issue.held_seconds = 0
    issue.response_due_at = add_time(now, timedelta(minutes=policy.respond_minutes),
                                     working_days=policy.working_days, calendar=calendar)
    issue.resolution_due_at = add_time(now, timedelta(minutes=policy.resolve_minutes),
                                       working_days=policy.working_days, calendar=calendar)


def restart_resolution_clock(issue: Issue, now: datetime, calendar: WorkCalendar) -> None:
    """A new resolution clock for re-handling (重办), with the issue's own budget."""
    issue.resolution_started_at = now
    issue.held_seconds = 0
    issue.resolved_at = None
    if issue.resolution_minutes:
        issue.resolution_due_at = add_time(
            now, timedelta(minutes=issue.resolution_minutes),
            working_days=issue.sla_working_days, calendar=calendar,
        )


def pause_clocks(issue: Issue, now: datetime) -> None:
    issue.hold_started_at = now


def resume_clocks(issue: Issue, now: datetime, calendar: WorkCalendar) -> None:
    """End a hold: keep the budget each open clock had left when the hold began."""
    began = issue.hold_started_at
    if began is None:
        return
    kw = {"working_days": issue.sla_working_days, "calendar": calendar}
    issue.held_seconds = (issue.held_seconds or 0) + int(
        clock_time_between(began, now, **kw).total_seconds()
    )
    if issue.first_on_site_at is None and issue.response_due_at and began < issue.response_due_at:
        left = clock_time_between(began, issue.response_due_at, **kw)
        issue.response_due_at = add_time(now, left, **kw)
    if issue.resolution_due_at and began < issue.resolution_due_at:
        left = clock_time_between(began, issue.resolution_due_at, **kw)
        issue.resolution_due_at = add_time(now, left, **kw)
    issue.hold_started_at = None


def _state(start, due, done_at, *, held: timedelta, ref: datetime, working_days: bool,
           calendar: WorkCalendar) -> str | None:
    if start is None or due is None:
        return None
    if done_at is not None:
        return SlaState.MET if done_at <= due else SlaState.MISSED
    if ref > due:
        return SlaState.OVERDUE
    kw = {"working_days": working_days, "calendar": calendar}
    total = clock_time_between(start, due, **kw) - held
    used = clock_time_between(start, ref, **kw) - held
    if total <= timedelta(0) or used / total >= AT_RISK_FRACTION:
        return SlaState.AT_RISK
    return SlaState.ON_TRACK


def response_state(issue: Issue, now: datetime, calendar: WorkCalendar) -> str | None:
    """On track / at risk / overdue / met / missed for the response clock (None: no clock)."""
    if issue.status == Status.WITHDRAWN:
        return None
    # A matter settled without a visit (level 1, or by phone) got its response then.
    done = issue.first_on_site_at or issue.resolved_at or issue.closed_at
    held = timedelta(seconds=issue.held_seconds or 0) if issue.rehandle_count == 0 else timedelta(0)
    return _state(issue.reported_at, issue.response_due_at, done, held=held,
                  ref=issue.hold_started_at or now, working_days=issue.sla_working_days,
                  calendar=calendar)


def resolution_state(issue: Issue, now: datetime, calendar: WorkCalendar) -> str | None:
    """On track / at risk / overdue / met / missed for the resolution clock."""
    if issue.status == Status.WITHDRAWN:
        return None
    return _state(issue.resolution_started_at or issue.reported_at, issue.resolution_due_at,
                  issue.resolved_at, held=timedelta(seconds=issue.held_seconds or 0),
                  ref=issue.hold_started_at or now, working_days=issue.sla_working_days,
                  calendar=calendar)


def urgency_key(issue: Issue, now: datetime):
    """Sort key for boards: overdue first, then the nearest resolution deadline."""
    due = issue.resolution_due_at
    if due is None:
        return (2, datetime.max.replace(tzinfo=timezone.utc))
    return (0 if due < now else 1, due)
