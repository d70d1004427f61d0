"""The dashboard's period: whole local days, read from what the user typed, cut into weeks.

A period is a run of whole local days (``CIRCLE_TIMEZONE``), half-open in UTC:
``[first day 00:00, day after the last 00:00)``. :func:`parse_period` reads it from a
mapping of query-string values (``from``, ``to``) into a plain :class:`Period`; nothing
here needs a request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from circle.i18n import gettext as _

DEFAULT_DAYS = 30
# Longer periods are refused: a figure over years says little and the trend would have
# hundreds of weeks.
MAX_PERIOD_DAYS = 731
# Dates outside these years are refused before any arithmetic: year 1 or 9999 overflow
# when local midnight is converted to UTC.
_MIN_YEAR, _MAX_YEAR = 2000, 2999


@dataclass(frozen=True)
class Period:
    """Whole local days ``first`` … ``last`` (inclusive)."""

    first: date
    last: date
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        """Local midnight of the first day, in UTC."""
        return self.local_start.astimezone(timezone.utc)

    @property
    def end(self) -> datetime:
        """Local midnight after the last day, in UTC (excluded)."""
        return self.local_end.astimezone(timezone.utc)

    @property
    def local_start(self) -> datetime:
        return datetime.combine(self.first, time(0), tzinfo=self.zone)

    @property
    def local_end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=self.zone)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def default_period(today: date, zone: ZoneInfo) -> Period:
    """The last 30 days, today included."""
    return Period(today - timedelta(days=DEFAULT_DAYS - 1), today, zone)


def preset_periods(today: date, zone: ZoneInfo) -> list[tuple[str, str, Period]]:
    """``(key, label, period)`` for the preset buttons."""
    month_start = today.replace(day=1)
    last_month_end = month_start - timedelta(days=1)
    return [
        ("last30", _("Last 30 days"), default_period(today, zone)),
        ("week", _("This week"), Period(today - timedelta(days=today.weekday()), today, zone)),
        ("month", _("This month"), Period(month_start, today, zone)),
        ("last_month", _("Last month"), Period(last_month_end.replace(day=1), last_month_end,
                                                zone)),
    ]


def _parse_day(value: str) -> date:
    day = date.fromisoformat(value.strip())
    if not _MIN_YEAR <= day.year <= _MAX_YEAR:
        raise ValueError(value)
    return day


def parse_period(args, today: date, zone: ZoneInfo) -> tuple[Period, str | None]:
    """The period asked for in ``from``/``to`` (YYYY-MM-DD), or the default and why.

    ``args`` is any mapping with ``get`` (the query string's values). A missing ``to``
    means today; a missing ``from``, 30 days before ``to``. Anything not understood gives
    the default period and a message for the form — never an error page.
    """
    default = default_period(today, zone)
    raw_first, raw_last = (args.get("from") or "").strip(), (args.get("to") or "").strip()
    if not raw_first and not raw_last:
        return default, None
    try:
        last = _parse_day(raw_last) if raw_last else today
        first = _parse_day(raw_first) if raw_first else last - timedelta(days=DEFAULT_DAYS - 1)
    except ValueError:
        return default, _("Dates must be given as YYYY-MM-DD; showing the last 30 days.")
    if first > last:
        return default, _("The first day is after the last day; showing the last 30 days.")
    period = Period(first, last, zone)
    if period.days > MAX_PERIOD_DAYS:
        return default, _("A period can be at most %(days)d days; showing the last 30 days.",
                          days=MAX_PERIOD_DAYS)
    return period, None


# --- the weekly trend ------------------------------------------------------------------

@dataclass(frozen=True)
class Week:
    """One ISO week of the trend, clipped to the period."""

    index: int  # whole weeks since the Monday of the period's first week
    year: int
    number: int
    first: date  # first day inside the period
    last: date  # last day inside the period (inclusive)

    @property
    def label(self) -> str:
        """The week as people read it (2024年第23周)."""
        return _("%(year)d-W%(week)02d", year=self.year, week=self.number)

    @property
    def key(self) -> str:
        """The ISO 8601 name of the week (``2024-W23``), the same in every language."""
        return f"{self.year}-W{self.number:02d}"


def iso_weeks(start: datetime, end: datetime, zone: ZoneInfo) -> list[Week]:
    """The ISO weeks that ``[start, end)`` (local midnights, in UTC) touches, each clipped
    to it."""
    first = start.astimezone(zone).date()
    last = (end - timedelta(microseconds=1)).astimezone(zone).date()
    monday = first - timedelta(days=first.weekday())
    weeks, index = [], 0
    while monday <= last:
        iso = monday.isocalendar()
        weeks.append(Week(index, iso.year, iso.week, max(monday, first),
                          min(monday + timedelta(days=6), last)))
        monday += timedelta(days=7)
        index += 1
    return weeks
