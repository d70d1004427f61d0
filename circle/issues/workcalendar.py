"""The working calendar the SLA clocks (:mod:`circle.issues.sla`) count on: which days are
working days (Monday–Friday, less the public holidays, plus the weekend days made working days,
调休), their working hours with their seasons (作息时间), and how much time a clock counts
between two moments — *calendar* time, *business hours* (the morning and afternoon sessions of
working days) or the legacy *working-day* clock (every hour of a working day). Days begin at
midnight in the configured zone (``CIRCLE_TIMEZONE``).

The calendar is read from :class:`~circle.issues.sla_models.CalendarDay` and
:class:`~circle.issues.sla_models.WorkSchedule` by :func:`load_calendar`, the only function
here that reads the database; :func:`schedule_problem` checks a schedule row as edited.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from circle.extensions import db
from circle.issues.models import Clock
from circle.issues.sla_models import CalendarDay, DayKind, WorkSchedule
from circle.timeutil import local_zone

# A deadline can never be further away than this (guards a calendar in which an
# administrator has, by mistake, made every day a holiday).
_MAX_DAYS = 3 * 366


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


def schedule_problem(row, others) -> str | None:
    """Why a :class:`~circle.issues.sla_models.WorkSchedule` row as edited cannot stand
    (translated), or ``None``. ``others`` are the other rows."""
    from circle.i18n import gettext as _

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
