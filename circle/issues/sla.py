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

Clocks (:class:`~circle.issues.models.Clock`): *calendar* time; *business hours* — the
morning and afternoon sessions of working days, from the admin-edited
:class:`~circle.issues.sla_models.WorkSchedule` (with its seasons); and the legacy *working-day*
clock, every hour of a working day. Working days are Monday–Friday, less the public holidays,
plus the weekend days made working days (调休), from the admin-edited
:class:`~circle.issues.sla_models.CalendarDay` table. Days begin at midnight in the configured zone
(``CIRCLE_TIMEZONE``). Every rule but ``calendar_days`` (and a calendar-time duration) puts its
deadline on a working day.

Time on hold (挂起) does not count: when an issue continues, each open deadline moves out by
exactly the time held, measured on that deadline's clock.

Everything here is a plain function of its arguments; only :func:`load_calendar` and
:func:`policy_for` read the database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from circle.extensions import db
from circle.issues.models import Clock, DeadlineRule, Issue, Status
from circle.issues.response import response_moment
from circle.issues.sla_models import CalendarDay, DayKind, SlaPolicy, WorkSchedule
from circle.timeutil import local_zone

# A deadline can never be further away than this (guards a calendar in which an
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


# --- the calendar -------------------------------------------------------------------------

@dataclass(frozen=True)
class WorkHours:
    """One working day: its two sessions and the registration cut-offs the rules read.

    The defaults are the all-year schedule a new install starts with (see
    :data:`circle.reference.DEFAULT_WORK_SCHEDULE`): each half-day's cut-off an hour before
    it ends, the evening cut-off half an hour after the day's close.
    """

    morning_start: time = time(8, 30)
    morning_end: time = time(12, 0)
    afternoon_start: time = time(13, 30)
    afternoon_end: time = time(17, 30)
    noon_cutoff: time = time(11, 0)
    afternoon_cutoff: time = time(16, 30)
    evening_cutoff: time = time(18, 0)

    @classmethod
    def of(cls, row) -> WorkHours:
        """The hours of a :class:`~circle.issues.sla_models.WorkSchedule` row."""
        return cls(*(getattr(row, name) for name in cls.__dataclass_fields__))


@dataclass(frozen=True)
class Season:
    """Hours that hold from ``first`` to ``last`` (``MM-DD``, both included) each year."""

    first: str
    last: str
    hours: WorkHours

    def covers(self, day: date) -> bool:
        key = f"{day.month:02d}-{day.day:02d}"
        if self.first <= self.last:
            return self.first <= key <= self.last
        return key >= self.first or key <= self.last  # a season over the new year


@dataclass(frozen=True)
class WorkCalendar:
    """Which days are working days, their working hours, and where days begin and end."""

    zone: ZoneInfo
    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)
    hours: WorkHours = field(default_factory=WorkHours)
    seasons: tuple[Season, ...] = ()
    # Sessions per day, in UTC: the clocks ask for the same days over and over.
    _sessions: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def hours_on(self, day: date) -> WorkHours:
        """The working hours of ``day`` (its season's, or the all-year ones)."""
        for season in self.seasons:
            if season.covers(day):
                return season.hours
        return self.hours

    def at(self, day: date, clock_time: time) -> datetime:
        """``clock_time`` local time on ``day``, in UTC."""
        return datetime.combine(day, clock_time, tzinfo=self.zone).astimezone(timezone.utc)

    def day_end(self, day: date) -> datetime:
        """24:00 local time of ``day`` (the next day's midnight), in UTC."""
        return self.at(day + timedelta(days=1), time(0))

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def next_midnight(self, moment: datetime) -> datetime:
        """The start of the local day after ``moment``, in UTC."""
        return self.day_end(self.local_date(moment))

    def sessions(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The working sessions of ``day`` as UTC ``(start, end)`` pairs (none on a day off)."""
        cached = self._sessions.get(day)
        if cached is None:
            cached = ()
            if self.is_working_day(day):
                h = self.hours_on(day)
                cached = ((self.at(day, h.morning_start), self.at(day, h.morning_end)),
                          (self.at(day, h.afternoon_start), self.at(day, h.afternoon_end)))
            self._sessions[day] = cached
        return cached

    def working_days_from(self, day: date) -> Iterator[date]:
        """``day`` (if it is a working day) and the working days after it, in order."""
        for offset in range(_MAX_DAYS):
            candidate = day + timedelta(days=offset)
            if self.is_working_day(candidate):
                yield candidate
        raise ValueError("no working days in the calendar for three years")


def load_calendar(zone: ZoneInfo | None = None) -> WorkCalendar:
    """The holiday calendar and the working hours as the administrator keeps them."""
    holidays, workdays = set(), set()
    for day, kind in db.session.execute(sa.select(CalendarDay.day, CalendarDay.kind)):
        (holidays if kind == DayKind.HOLIDAY else workdays).add(day)
    hours, seasons = WorkHours(), []
    for row in db.session.scalars(sa.select(WorkSchedule).order_by(WorkSchedule.id)):
        if row.season_start and row.season_end:
            seasons.append(Season(row.season_start, row.season_end, WorkHours.of(row)))
        else:
            hours = WorkHours.of(row)
    return WorkCalendar(zone or local_zone(), frozenset(holidays), frozenset(workdays), hours,
                        tuple(seasons))


# --- clocks -------------------------------------------------------------------------------

def _clock(clock: str | None, working_days: bool) -> str:
    # ``working_days=`` is the keyword of the time before clocks had names.
    return clock or (Clock.WORKING_DAYS if working_days else Clock.CALENDAR)


def _counted_spans(start: datetime, calendar: WorkCalendar,
                   clock: str) -> Iterator[tuple[datetime, datetime]]:
    """The stretches of time ``clock`` counts, from ``start`` on (the first clipped to it)."""
    day = calendar.local_date(start)
    for offset in range(_MAX_DAYS):
        current = day + timedelta(days=offset)
        if clock == Clock.BUSINESS_HOURS:
            spans = calendar.sessions(current)
        elif calendar.is_working_day(current):
            spans = ((calendar.at(current, time(0)), calendar.day_end(current)),)
        else:
            spans = ()
        for begin, end in spans:
            if end > start:
                yield max(begin, start), end
    raise ValueError("no working time in the calendar for three years")


def add_time(start: datetime, budget: timedelta, *, calendar: WorkCalendar,
             clock: str | None = None, working_days: bool = False) -> datetime:
    """The first moment at which ``budget`` of ``clock`` time has passed since ``start``.

    ``clock`` is a :class:`~circle.issues.models.Clock`; without it, ``working_days=True``
    means the working-day clock and ``False`` the calendar. A budget that ends exactly at the
    end of a session ends there, not at the start of the next one.
    """
    start = start.astimezone(timezone.utc)
    clock = _clock(clock, working_days)
    if clock == Clock.CALENDAR or budget <= timedelta(0):
        return start + max(budget, timedelta(0))
    remaining = budget
    for begin, end in _counted_spans(start, calendar, clock):
        if remaining <= end - begin:
            return begin + remaining
        remaining -= end - begin
    raise AssertionError("unreachable")  # _counted_spans raises first


def clock_time_between(start: datetime, end: datetime, *, calendar: WorkCalendar,
                       clock: str | None = None, working_days: bool = False) -> timedelta:
    """How much ``clock`` time passes from ``start`` to ``end`` (zero if ``end`` is earlier)."""
    if end <= start:
        return timedelta(0)
    clock = _clock(clock, working_days)
    if clock == Clock.CALENDAR:
        return end - start
    total = timedelta(0)
    for begin, stop in _counted_spans(start.astimezone(timezone.utc), calendar, clock):
        if begin >= end:
            break
        total += min(stop, end) - begin
    return total


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
    from flask_babel import gettext as _

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


def schedule_problem(row, others) -> str | None:
    """Why a :class:`~circle.issues.sla_models.WorkSchedule` row as edited cannot stand
    (translated), or ``None``. ``others`` are the other rows."""
    from flask_babel import gettext as _

    h = WorkHours.of(row)
    if not (h.morning_start < h.morning_end <= h.afternoon_start < h.afternoon_end):
        return _("The sessions must run in order: the morning starts before it ends, and "
                 "ends no later than the afternoon starts.")
    if not (h.morning_start <= h.noon_cutoff <= h.morning_end
            and h.afternoon_start <= h.afternoon_cutoff <= h.afternoon_end):
        return _("Each half-day's cut-off must lie within its session.")
    if bool(row.season_start) != bool(row.season_end):
        return _("A season needs both its first and its last day; leave both empty for "
                 "the all-year schedule.")
    for value in (row.season_start, row.season_end):
        if value and not _month_day(value):
            return _("Write the season's days as MM-DD, for example 05-01.")
    if not row.season_start:
        if any(not other.season_start for other in others):
            return _("There is already an all-year schedule; give this one a season.")
        return None
    season = Season(row.season_start, row.season_end, WorkHours())
    for other in others:
        if other.season_start and _overlap(season, Season(other.season_start,
                                                          other.season_end, WorkHours())):
            return _("The season overlaps “%(name)s”.", name=other.name)
    return None


def _month_day(value: str) -> bool:
    try:
        datetime.strptime(f"2024-{value}", "%Y-%m-%d")  # a leap year: 02-29 is a day
    except ValueError:
        return False
    return len(value) == 5


def _overlap(a: Season, b: Season) -> bool:
    year = date(2024, 1, 1)
    return any(a.covers(day) and b.covers(day)
               for day in (year + timedelta(days=i) for i in range(366)))


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
    from flask_babel import gettext as _

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
