"""SLA clocks and deadline rules for 小事不过晌、大事不过夜、难事不过周.

Two clocks run per issue: *response* (registered → first on-site arrival) and *resolution*
(registered, or the last 重办 → resolved). Their terms come from the admin-edited
:class:`~circle.issues.sla_models.SlaPolicy` of the issue's severity and are copied onto the issue
when it is registered (:func:`start_clocks`), so a later policy change affects new issues only.

**Resolution** deadlines are set by a rule (:data:`RULES`), read the way the promise reads:

- ``half_day`` (不过晌): the end of the current half-day. Registered before the noon cut-off,
  by the end of the morning; before the afternoon cut-off, by the end of the afternoon;
  later, or on a day off, by the end of the next working morning. N counts half-days.
- ``end_of_day`` (不过夜): by 24:00 of the day, if it is a working day and the matter came
  in before the evening cut-off; otherwise of the next working day. N counts working days.
- ``calendar_days`` (不过周 = 7): by 24:00 of the Nth calendar day after the day of
  registration — the day itself does not count, as for any period counted in days (民法典
  第二百零一条、第二百零三条). Calendar time: this deadline may fall on a holiday.
- ``working_hours``: after N hours of business hours.
- ``working_days``: by the close of business of the Nth working day after the day of
  registration.
- ``duration``: a fixed number of minutes on the calendar or on the working-day clock — how
  every deadline was set before the rules; issues registered then keep it.

**Response** is a budget of minutes on its own clock (on site within half an hour), never
later than the resolution deadline.

Clocks (:class:`~circle.issues.models.Clock`) — calendar time, business hours, the legacy
working-day clock — count on the working calendar of :mod:`circle.issues.workcalendar`. Every
rule but ``calendar_days`` (and a calendar-time duration) puts its deadline on a working day.

Time on hold (挂起) does not count: when an issue continues, each open deadline moves out by
exactly the time held, measured on that deadline's clock.

Everything here is a plain function of its arguments; only :func:`policy_for` reads the
database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from circle.extensions import db
from circle.issues.models import Clock, DeadlineRule, Issue, Status
from circle.issues.response import response_moment
from circle.issues.sla_models import SlaPolicy
from circle.issues.workcalendar import WorkCalendar, add_time, clock_time_between

AT_RISK_FRACTION = 0.75


class SlaState:
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OVERDUE = "overdue"
    MET = "met"
    MISSED = "missed"
    ALL = (ON_TRACK, AT_RISK, OVERDUE, MET, MISSED)


# --- deadline rules -----------------------------------------------------------------------

def half_day_end(start: datetime, calendar: WorkCalendar, n: int = 1) -> datetime:
    """不过晌: the end of the Nth half-day, counting the one ``start`` is registered in.

    A half-day takes registrations until its cut-off (the noon cut-off for the morning, the
    afternoon cut-off for the afternoon); outside working days the next working morning is
    the first.
    """
    count = 0
    for day in calendar.working_days_from(calendar.local_date(start)):
        h = calendar.hours_on(day)
        for cutoff, end in ((h.noon_cutoff, h.morning_end), (h.afternoon_cutoff, h.afternoon_end)):
            if calendar.at(day, cutoff) <= start:
                continue
            count += 1
            if count >= n:
                return calendar.at(day, end)
    raise AssertionError("unreachable")


def end_of_day(start: datetime, calendar: WorkCalendar, n: int = 1) -> datetime:
    """不过夜: 24:00 of the Nth working day, the day of registration being the first if it is
    a working day and ``start`` is before its evening cut-off."""
    count = 0
    registered_on = calendar.local_date(start)
    for day in calendar.working_days_from(registered_on):
        if day == registered_on and start >= calendar.at(day, calendar.hours_on(day)
                                                          .evening_cutoff):
            continue
        count += 1
        if count >= n:
            return calendar.day_end(day)
    raise AssertionError("unreachable")


def calendar_days_end(start: datetime, calendar: WorkCalendar, n: int = 7) -> datetime:
    """不过周: 24:00 of the Nth calendar day after the day of registration."""
    return calendar.day_end(calendar.local_date(start) + timedelta(days=n))


def working_hours_end(start: datetime, calendar: WorkCalendar, n: int = 1) -> datetime:
    """After N hours of business hours."""
    return add_time(start, timedelta(hours=n), clock=Clock.BUSINESS_HOURS, calendar=calendar)


def working_days_close(start: datetime, calendar: WorkCalendar, n: int = 1) -> datetime:
    """The close of business of the Nth working day after the day of registration."""
    registered_on = calendar.local_date(start)
    days = calendar.working_days_from(registered_on + timedelta(days=1))
    for count, day in enumerate(days, start=1):
        if count >= n:
            return calendar.at(day, calendar.hours_on(day).afternoon_end)
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Rule:
    """A resolution rule: the clock its time counts on (for holds and "at risk"; ``None``:
    the policy's own, for the fixed duration), how it sets a deadline from a start and N,
    and the N a new policy of this kind starts with."""

    clock: str | None
    deadline: Callable[[datetime, WorkCalendar, int], datetime] | None
    default_amount: int | None


RULES: dict[str, Rule] = {
    DeadlineRule.HALF_DAY: Rule(Clock.BUSINESS_HOURS, half_day_end, 1),
    DeadlineRule.END_OF_DAY: Rule(Clock.BUSINESS_HOURS, end_of_day, 1),
    DeadlineRule.CALENDAR_DAYS: Rule(Clock.CALENDAR, calendar_days_end, 7),
    DeadlineRule.WORKING_HOURS: Rule(Clock.BUSINESS_HOURS, working_hours_end, 4),
    DeadlineRule.WORKING_DAYS: Rule(Clock.BUSINESS_HOURS, working_days_close, 1),
    DeadlineRule.DURATION: Rule(None, None, None),
}


@dataclass(frozen=True)
class Terms:
    """What an issue is promised, as copied from its policy at registration."""

    response_minutes: int | None
    response_clock: str
    rule: str
    amount: int | None
    minutes: int | None  # the fixed-duration rule's
    clock: str  # the clock the resolution rule counts on

    @classmethod
    def of_policy(cls, policy) -> Terms:
        duration = policy.rule == DeadlineRule.DURATION
        legacy_clock = Clock.WORKING_DAYS if policy.working_days else Clock.CALENDAR
        return cls(policy.respond_minutes, policy.respond_clock, policy.rule,
                   None if duration else policy.amount,
                   policy.resolve_minutes if duration else None,
                   RULES[policy.rule].clock or legacy_clock)

    @classmethod
    def of_issue(cls, issue: Issue) -> Terms:
        return cls(issue.response_minutes, issue.response_clock or Clock.CALENDAR,
                   issue.resolution_rule or DeadlineRule.DURATION, issue.resolution_amount,
                   issue.resolution_minutes, issue.resolution_clock or Clock.CALENDAR)

    def resolution_due(self, start: datetime, calendar: WorkCalendar) -> datetime | None:
        """The resolution deadline of a clock started at ``start`` (``None``: no budget)."""
        start = start.astimezone(timezone.utc)
        rule = RULES[self.rule]
        if rule.deadline is None:
            if not self.minutes:
                return None
            return add_time(start, timedelta(minutes=self.minutes), clock=self.clock,
                            calendar=calendar)
        return rule.deadline(start, calendar, self.amount or rule.default_amount)

    def deadlines(self, start: datetime, calendar: WorkCalendar
                  ) -> tuple[datetime | None, datetime | None]:
        """``(response due, resolution due)`` for an issue registered at ``start``.

        Being on site is never due after the matter is due to be solved.
        """
        resolution = self.resolution_due(start, calendar)
        response = None
        if self.response_minutes:
            response = add_time(start, timedelta(minutes=self.response_minutes),
                                clock=self.response_clock, calendar=calendar)
            if resolution is not None:
                response = min(response, resolution)
        return response, resolution


def policy_problem(policy) -> str | None:
    """Why a policy as edited cannot stand (translated), or ``None``."""
    from circle.i18n import gettext as _

    if policy.rule not in RULES:
        return _("Choose a deadline rule.")
    if policy.rule == DeadlineRule.DURATION:
        if not policy.resolve_minutes:
            return _("A fixed duration needs the minutes to resolve within.")
        if policy.resolve_minutes < policy.respond_minutes:
            return _("The resolution time cannot be shorter than the response time.")
    elif not policy.amount:
        return _("Give the number the rule counts (1 for the end of the half-day or day, "
                 "7 for seven calendar days).")
    if not policy.sign_minutes or policy.sign_minutes <= 0:
        return _("Give the minutes within which an issue must be signed for.")
    if not policy.contact_minutes or policy.contact_minutes <= 0:
        return _("Give the minutes within which the merchant must be contacted first.")
    return None


def policy_for(severity: str) -> SlaPolicy | None:
    """The current policy for a severity class."""
    return db.session.scalar(sa.select(SlaPolicy).where(SlaPolicy.severity == severity))


# --- the clocks of an issue ---------------------------------------------------------------

def start_clocks(issue: Issue, policy, now: datetime, calendar: WorkCalendar) -> None:
    """Copy the policy's terms onto a newly registered issue and set both deadlines."""
    terms = Terms.of_policy(policy)
    issue.response_minutes = terms.response_minutes
    issue.response_clock = terms.response_clock
    issue.resolution_rule = terms.rule
    issue.resolution_amount = terms.amount
    issue.resolution_minutes = terms.minutes
    issue.resolution_clock = terms.clock
    issue.resolution_started_at = now
    issue.held_seconds = 0
    issue.response_due_at, issue.resolution_due_at = terms.deadlines(now, calendar)


def restart_resolution_clock(issue: Issue, now: datetime, calendar: WorkCalendar) -> None:
    """A new resolution clock for re-handling (重办), with the issue's own terms."""
    issue.resolution_started_at = now
    issue.held_seconds = 0
    issue.resolved_at = None
    due = Terms.of_issue(issue).resolution_due(now, calendar)
    if due is not None:
        issue.resolution_due_at = due


def start_community_clocks(issue: Issue, policy, now: datetime,
                           calendar: WorkCalendar) -> None:
    """The issue reaches the community's specialists (escalation, or a transfer from another
    community): the 签收 (signing-for) clock starts, and, unless the merchant was contacted
    already, the 先行联系 (first-contact) clock — both on the response clock, with the budgets
    of the policy for the issue's severity (none: no clock)."""
    issue.received_at = now
    issue.signed_at = None
    issue.sign_due_at = None
    if policy is None:
        return
    clock = issue.response_clock or Clock.CALENDAR
    issue.sign_due_at = add_time(now, timedelta(minutes=policy.sign_minutes), clock=clock,
                                 calendar=calendar)
    if issue.contacted_at is None:
        issue.contact_due_at = add_time(now, timedelta(minutes=policy.contact_minutes),
                                        clock=clock, calendar=calendar)


def pause_clocks(issue: Issue, now: datetime) -> None:
    issue.hold_started_at = now


def resume_clocks(issue: Issue, now: datetime, calendar: WorkCalendar) -> None:
    """End a hold: each open deadline moves out by the time held, on its own clock."""
    began = issue.hold_started_at
    if began is None:
        return
    terms = Terms.of_issue(issue)
    held = clock_time_between(began, now, clock=terms.clock, calendar=calendar)
    issue.held_seconds = (issue.held_seconds or 0) + int(held.total_seconds())
    if response_moment(issue) is None and issue.response_due_at and began < issue.response_due_at:
        issue.response_due_at = moved_by_hold(issue.response_due_at, began, now,
                                              terms.response_clock, calendar)
    if issue.resolution_due_at and began < issue.resolution_due_at:
        issue.resolution_due_at = moved_by_hold(issue.resolution_due_at, began, now,
                                                terms.clock, calendar)
    if issue.response_due_at and issue.resolution_due_at and response_moment(issue) is None:
        issue.response_due_at = min(issue.response_due_at, issue.resolution_due_at)
    # The 12345 clocks still running move out too, on the response clock.
    if issue.signed_at is None and issue.sign_due_at and began < issue.sign_due_at:
        issue.sign_due_at = moved_by_hold(issue.sign_due_at, began, now, terms.response_clock,
                                          calendar)
    if issue.contacted_at is None and issue.contact_due_at and began < issue.contact_due_at:
        issue.contact_due_at = moved_by_hold(issue.contact_due_at, began, now,
                                             terms.response_clock, calendar)
    issue.hold_started_at = None


def moved_by_hold(due: datetime, began: datetime, ended: datetime, clock: str,
                  calendar: WorkCalendar) -> datetime:
    """``due`` moved out by the ``clock`` time of a hold from ``began`` to ``ended``: a hold
    in the evening moves a business-hours deadline not at all, one of an hour in the
    afternoon moves it by an hour of business hours."""
    held = clock_time_between(began, ended, clock=clock, calendar=calendar)
    if held <= timedelta(0):
        return due
    return add_time(due, held, clock=clock, calendar=calendar)


def _state(start, due, done_at, *, budget: timedelta | None, ref: datetime, clock: str,
           calendar: WorkCalendar) -> str | None:
    if start is None or due is None:
        return None
    if done_at is not None:
        return SlaState.MET if done_at <= due else SlaState.MISSED
    if ref > due:
        return SlaState.OVERDUE
    if budget is None:
        budget = clock_time_between(start, due, clock=clock, calendar=calendar)
    left = clock_time_between(ref, due, clock=clock, calendar=calendar)
    if budget <= timedelta(0) or left <= budget * (1 - AT_RISK_FRACTION):
        return SlaState.AT_RISK
    return SlaState.ON_TRACK


def response_state(issue: Issue, now: datetime, calendar: WorkCalendar) -> str | None:
    """On track / at risk / overdue / met / missed for the response clock (None: no clock)."""
    if issue.status in Status.LEFT:
        return None
    # Recorded once (circle/issues/response.py): the first arrival, or the resolution of a
    # matter settled without a visit; re-handling never changes it.
    done = response_moment(issue)
    # The budget is the issue's minutes (however a hold moved the deadline).
    budget = timedelta(minutes=issue.response_minutes) if issue.response_minutes else None
    return _state(issue.reported_at, issue.response_due_at, done, budget=budget,
                  ref=issue.hold_started_at or now,
                  clock=issue.response_clock or Clock.CALENDAR, calendar=calendar)


def resolution_state(issue: Issue, now: datetime, calendar: WorkCalendar) -> str | None:
    """On track / at risk / overdue / met / missed for the resolution clock."""
    if issue.status in Status.LEFT:
        return None
    start = issue.resolution_started_at or issue.reported_at
    clock = issue.resolution_clock or Clock.CALENDAR
    budget = None
    if start is not None and issue.resolution_due_at is not None:
        budget = (clock_time_between(start, issue.resolution_due_at, clock=clock,
                                     calendar=calendar)
                  - timedelta(seconds=issue.held_seconds or 0))
    return _state(start, issue.resolution_due_at, issue.resolved_at, budget=budget,
                  ref=issue.hold_started_at or now, clock=clock, calendar=calendar)


def sign_state(issue: Issue, now: datetime, calendar: WorkCalendar) -> str | None:
    """The 签收 clock: from reaching the community to being signed for (accepted)."""
    if issue.status in Status.LEFT and issue.signed_at is None:
        return None
    return _state(issue.received_at, issue.sign_due_at, issue.signed_at, budget=None,
                  ref=issue.hold_started_at or now,
                  clock=issue.response_clock or Clock.CALENDAR, calendar=calendar)


def contact_state(issue: Issue, now: datetime, calendar: WorkCalendar) -> str | None:
    """The 先行联系 clock: from reaching the community to the first contact with the
    merchant, by phone or on site."""
    if issue.status in Status.LEFT and issue.contacted_at is None:
        return None
    return _state(issue.received_at, issue.contact_due_at, issue.contacted_at, budget=None,
                  ref=issue.hold_started_at or now,
                  clock=issue.response_clock or Clock.CALENDAR, calendar=calendar)


def urgency_key(issue: Issue, now: datetime):
    """Sort key for boards: overdue first, then the nearest resolution deadline."""
    due = issue.resolution_due_at
    if due is None:
        return (2, datetime.max.replace(tzinfo=timezone.utc))
    return (0 if due < now else 1, due)


# --- deadlines in words -------------------------------------------------------------------

def deadline_words(due: datetime | None, now: datetime, zone: ZoneInfo) -> str:
    """A deadline as people say it, seen from ``now``: "今天12:00前", "今晚前" (24:00 today),
    "明天12:00前", "12月8日前" (by the end of 8 December), "2027年1月3日17:30前"; in English
    "by 12:00 today", "by tonight", …"""
    from babel.dates import format_skeleton
    from flask_babel import get_locale

    from circle.i18n import gettext as _

    if due is None:
        return ""
    local = due.astimezone(zone)
    today = now.astimezone(zone).date()

    def day_words(day: date) -> str:
        skeleton = "MMMd" if day.year == today.year else "yMMMd"
        return format_skeleton(skeleton, day, locale=get_locale() or "en")

    if local.time() == time(0):  # 24:00 of the day before: "by the end of that day"
        day = local.date() - timedelta(days=1)
        if day == today:
            return _("by tonight")
        if day == today + timedelta(days=1):
            return _("by tomorrow night")
        return _("by %(date)s", date=day_words(day))
    clock_time = local.strftime("%H:%M")
    if local.date() == today:
        return _("by %(time)s today", time=clock_time)
    if local.date() == today + timedelta(days=1):
        return _("by %(time)s tomorrow", time=clock_time)
    return _("by %(time)s on %(date)s", time=clock_time, date=day_words(local.date()))
