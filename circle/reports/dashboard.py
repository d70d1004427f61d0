"""The dashboard: open work and the 12345-style rates, scoped to what the user may see.

Everything is counted by the database with a fixed handful of aggregate queries, whatever
the number of issues, circles, categories or weeks: the rows that come back are already
totals per circle (and per day), never issues. The period's rates are summed from figures
pre-aggregated per circle and local day (:mod:`circle.reports.figures`), which hold the
counts defined below; what is open now is counted from the (few) open issues.

Which date puts an issue in a period depends on the figure — each rate uses the moment its
event happened:

==========================  =============================================================
figure                      dated by
==========================  =============================================================
reported, withdrawn,        ``Issue.reported_at`` (registration)
resolution rate (解决率),
response on-time rate
on-time resolution rate     ``Issue.resolved_at`` (the latest resolution)
(按时办结率), callback rate
satisfaction rate (满意率),  ``Callback.called_at`` of the issue's effective callback (the
merchant-confirmed rate,    latest reached one) or, for unreachable merchants, of the last
unreachable                 failed call
==========================  =============================================================

The exact definitions are in :data:`DEFINITIONS`, which the page shows as they are.

A period is a run of whole local days (``CIRCLE_TIMEZONE``), half-open in UTC:
``[first day 00:00, day after the last 00:00)``. The computing functions take
``(user, start, end, now)`` with aware datetimes and need no request; only
:func:`dashboard_context` reads the query string and builds URLs.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app, url_for
from flask_admin.contrib.sqla.filters import (
    DateTimeBetweenFilter,
    DateTimeNotBetweenFilter,
    FilterEqual,
    FilterSmaller,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from circle.adminkit import CommunityFilter
from circle.extensions import db
from circle.issues.models import Issue, IssueCategory, Status
from circle.labels import LEVEL_LABELS, STATUS_LABELS
from circle.org.models import BusinessCircle, Community
from circle.permissions import scope_by_circle
from circle.sqlhints import selective
from circle.reports.figures import FIELDS as FIGURE_FIELDS
from circle.reports.figures import CircleDayFigures, count_if
from circle.timeutil import local_zone, utcnow

DEFAULT_DAYS = 30
# Longer periods are refused: a figure over years says little and the trend would have
# hundreds of weeks.
MAX_PERIOD_DAYS = 731
# Dates outside these years are refused before any arithmetic: year 1 or 9999 overflow
# when local midnight is converted to UTC.
_MIN_YEAR, _MAX_YEAR = 2000, 2999


# --- figures ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Rate:
    """A share ``numerator / denominator``; no denominator means no figure ("—")."""

    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    @property
    def percent(self) -> float | None:
        """The rate in per cent, one decimal (what the page and the charts show)."""
        return None if self.value is None else round(self.value * 100, 1)

    def __str__(self) -> str:
        return "—" if self.percent is None else f"{self.percent:.1f}%"


@dataclass
class PeriodCounts:
    """Counts for one period, for one circle, one week, or everything in view.

    Each field is a count of issues; the rates are properties built from them.
    """

    # Dated by registration (reported_at).
    reported: int = 0
    withdrawn: int = 0
    settled: int = 0  # now resolved or closed
    responded: int = 0  # not withdrawn, with a response deadline, and responded to
    responded_on_time: int = 0
    # Dated by the latest resolution (resolved_at); withdrawn issues left out.
    resolved: int = 0
    resolved_with_deadline: int = 0
    resolved_on_time: int = 0
    called_back: int = 0  # at least one callback attempt for that resolution
    # Dated by the effective callback (or the last failed call, for unreachable).
    callbacks: int = 0  # effective (latest reached) callbacks
    rated: int = 0
    satisfied: int = 0  # very satisfied + satisfied + basically satisfied
    confirmed: int = 0  # the merchant said it was solved
    unreachable: int = 0

    def add(self, row) -> None:
        """Add the same-named columns of a result row (missing ones count as zero)."""
        mapping = row._mapping
        for f in fields(self):
            if f.name in mapping:
                setattr(self, f.name, getattr(self, f.name) + int(mapping[f.name] or 0))

    def merge(self, other: PeriodCounts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def valid(self) -> int:
        """Issues reported in the period less the withdrawn ones."""
        return self.reported - self.withdrawn

    @property
    def resolution_rate(self) -> Rate:
        """解决率."""
        return Rate(self.settled, self.valid)

    @property
    def response_on_time_rate(self) -> Rate:
        return Rate(self.responded_on_time, self.responded)

    @property
    def on_time_resolution_rate(self) -> Rate:
        """按时办结率."""
        return Rate(self.resolved_on_time, self.resolved_with_deadline)

    @property
    def callback_rate(self) -> Rate:
        """回访率."""
        return Rate(self.called_back, self.resolved)

    @property
    def satisfaction_rate(self) -> Rate:
        """满意率."""
        return Rate(self.satisfied, self.rated)

    @property
    def confirmed_rate(self) -> Rate:
        """Merchant-confirmed resolution rate."""
        return Rate(self.confirmed, self.callbacks)


@dataclass
class NowCounts:
    """What is open right now, for one circle or everything in view."""

    by_level: dict[int, int] = field(default_factory=lambda: dict.fromkeys(LEVEL_LABELS, 0))
    by_status: dict[str, int] = field(default_factory=lambda: dict.fromkeys(Status.OPEN, 0))
    overdue: int = 0
    awaiting_callback: int = 0

    @property
    def open_total(self) -> int:
        return sum(self.by_status.values())

    def merge(self, other: NowCounts) -> None:
        for level, count in other.by_level.items():
            self.by_level[level] = self.by_level.get(level, 0) + count
        for status, count in other.by_status.items():
            self.by_status[status] = self.by_status.get(status, 0) + count
        self.overdue += other.overdue
        self.awaiting_callback += other.awaiting_callback


@dataclass(frozen=True)
class CircleInfo:
    id: int
    name: str
    community: str
    community_id: int


@dataclass
class Unit:
    """One row of the per-circle tables: a business circle or, for someone who sees several
    communities (a district administrator with a thousand circles), a whole community."""

    kind: str  # "circle" or "community"
    id: int
    name: str
    now: NowCounts
    period: PeriodCounts
    drill_url: str | None = None  # the dashboard narrowed to this community

    @property
    def filters(self) -> dict:
        """Criteria of the issue-list links for this row."""
        return {self.kind: self.id}


def table_units(circles: list[CircleInfo], now: NowFigures, period: PeriodFigures,
                drill_url) -> list[Unit]:
    """Rows of the per-circle tables: circles, or communities when circles span several
    (``drill_url(community_id)`` opens the dashboard for one of them)."""
    if len({circle.community_id for circle in circles}) <= 1:
        return [Unit("circle", c.id, c.name, now.by_circle.get(c.id, NowCounts()),
                     period.by_circle.get(c.id, PeriodCounts())) for c in circles]
    units: dict[int, Unit] = {}
    for circle in circles:
        unit = units.get(circle.community_id)
        if unit is None:
            unit = units[circle.community_id] = Unit(
                "community", circle.community_id, circle.community, NowCounts(),
                PeriodCounts(), drill_url(circle.community_id))
        if circle.id in now.by_circle:
            unit.now.merge(now.by_circle[circle.id])
        if circle.id in period.by_circle:
            unit.period.merge(period.by_circle[circle.id])
    return list(units.values())


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
        return _("%(year)d-W%(week)02d", year=self.year, week=self.number)


@dataclass(frozen=True)
class CategoryRow:
    id: int
    name: str
    reported: int
    withdrawn: int
    settled: int

    @property
    def resolution_rate(self) -> Rate:
        return Rate(self.settled, self.reported - self.withdrawn)


@dataclass
class NowFigures:
    overall: NowCounts
    by_circle: dict[int, NowCounts]


@dataclass
class PeriodFigures:
    overall: PeriodCounts
    by_circle: dict[int, PeriodCounts]
    by_week: dict[int, PeriodCounts]
    weeks: list[Week]


# --- SQL helpers -----------------------------------------------------------------------

def _scoped(stmt, user, within=None, column=Issue.circle_id):
    """Rows in the user's scope and, if ``within`` (circle ids) is given, in those circles."""
    stmt = scope_by_circle(stmt, column, user)
    return stmt if within is None else stmt.where(column.in_(within))


def _weeks(start: datetime, end: datetime) -> list[Week]:
    """The ISO weeks that the period ``[start, end)`` touches, each clipped to it."""
    zone = local_zone()
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


# --- the computations ------------------------------------------------------------------

def visible_circles(user) -> list[CircleInfo]:
    """The business circles the user may see, by community and name."""
    stmt = scope_by_circle(
        sa.select(BusinessCircle.id, BusinessCircle.name, Community.name.label("community"),
                  Community.id.label("community_id"))
        .join(Community, Community.id == BusinessCircle.community_id),
        BusinessCircle.id, user,
    ).order_by(Community.name, BusinessCircle.name)
    return [CircleInfo(row.id, row.name, row.community, row.community_id)
            for row in db.session.execute(stmt)]


def open_now(user, now: datetime, within=None) -> NowFigures:
    """Open issues by level and status, overdue now, and awaiting callback (one query).

    Overdue: open, not on hold (its clock is stopped), resolution deadline before ``now``.
    ``within``: only these circles (ids) of the user's scope.
    """
    stmt = _scoped(
        sa.select(
            Issue.circle_id, Issue.status, Issue.level,
            sa.func.count().label("issues"),
            count_if(sa.and_(Issue.status != Status.ON_HOLD,
                              Issue.resolution_due_at < now)).label("overdue"),
        ).where(selective(Issue.status.in_((*Status.OPEN, Status.RESOLVED))))
        .group_by(Issue.circle_id, Issue.status, Issue.level),
        user, within,
    )
    by_circle: dict[int, NowCounts] = {}
    for row in db.session.execute(stmt):
        counts = by_circle.setdefault(row.circle_id, NowCounts())
        if row.status == Status.RESOLVED:
            counts.awaiting_callback += row.issues
            continue
        counts.by_status[row.status] = counts.by_status.get(row.status, 0) + row.issues
        counts.by_level[row.level] = counts.by_level.get(row.level, 0) + row.issues
        counts.overdue += int(row.overdue or 0)
    overall = NowCounts()
    for counts in by_circle.values():
        overall.merge(counts)
    return NowFigures(overall, by_circle)


def period_figures(user, start: datetime, end: datetime, now: datetime,
                   within=None) -> PeriodFigures:
    """The 12345-style counts for ``[start, end)``: overall, per circle and per ISO week.

    Read from the pre-aggregated :class:`~circle.reports.figures.CircleDayFigures` (one
    row per circle and local day, kept correct on every change): two small GROUP BY
    queries, whatever the number of issues. ``start`` and ``end`` are local midnights.
    Weeks that begin after ``now`` are left out of the trend: they can hold nothing yet.
    """
    zone = local_zone()
    first = start.astimezone(zone).date()
    last = (end - timedelta(microseconds=1)).astimezone(zone).date()
    sums = [sa.func.sum(getattr(CircleDayFigures, name)).label(name) for name in FIGURE_FIELDS]

    def grouped(column):
        return db.session.execute(_scoped(
            sa.select(column, *sums).where(CircleDayFigures.day >= first,
                                           CircleDayFigures.day <= last),
            user, within, CircleDayFigures.circle_id,
        ).group_by(column))

    by_circle: dict[int, PeriodCounts] = {}
    for row in grouped(CircleDayFigures.circle_id):
        by_circle.setdefault(row.circle_id, PeriodCounts()).add(row)
    monday = first - timedelta(days=first.weekday())
    by_week: dict[int, PeriodCounts] = {}
    for row in grouped(CircleDayFigures.day):
        by_week.setdefault((row.day - monday).days // 7, PeriodCounts()).add(row)
    overall = PeriodCounts()
    for counts in by_circle.values():
        overall.merge(counts)
    today = now.astimezone(zone).date()
    weeks = [week for week in _weeks(start, end) if week.first <= today]
    return PeriodFigures(overall, by_circle, by_week, weeks)


def category_breakdown(user, start: datetime, end: datetime,
                       within=None) -> list[CategoryRow]:
    """Issues reported in ``[start, end)`` per category: reported, withdrawn, settled."""
    # Counted per category id first, then named: joining the categories first would lead
    # SQLite to walk the period once per category.
    counts = _scoped(
        sa.select(
            Issue.category_id,
            sa.func.count().label("reported"),
            count_if(Issue.status == Status.WITHDRAWN).label("withdrawn"),
            count_if(Issue.status.in_((Status.RESOLVED, Status.CLOSED))).label("settled"),
        ).where(Issue.reported_at >= start, Issue.reported_at < end)
        .group_by(Issue.category_id),
        user, within,
    ).subquery()
    stmt = (sa.select(IssueCategory.id, IssueCategory.name, counts.c.reported,
                      counts.c.withdrawn, counts.c.settled)
            .join(counts, counts.c.category_id == IssueCategory.id)
            .order_by(IssueCategory.sort_order, IssueCategory.name))
    return [CategoryRow(row.id, row.name, int(row.reported), int(row.withdrawn or 0),
                        int(row.settled or 0)) for row in db.session.execute(stmt)]


# --- the period the user asks for ------------------------------------------------------

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

    A missing ``to`` means today; a missing ``from``, 30 days before ``to``. Anything not
    understood gives the default period and a message for the form — never an error page.
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


# --- links to the issue list -----------------------------------------------------------

class IssueListLinks:
    """URLs of the issue list filtered like a figure, using the list view's own filters.

    Flask-Admin names filters by their position (``flt{n}_{index}``), which changes when
    someone adds a filter, so the positions are looked up at runtime by column and kind.
    A criterion whose filter has disappeared is dropped: the link shows more, never breaks.
    """

    endpoint = "issue"

    def __init__(self, community: int | None = None):
        #: Every link not about one circle keeps to this community (the narrowed view).
        self.community = community
        self._view = next(
            (view for admin in current_app.extensions.get("admin", [])
             for view in admin._views if getattr(view, "endpoint", None) == self.endpoint),
            None,
        )
        # The page builds hundreds of links with the same few filters.
        self._found: dict[tuple[str, str], str | None] = {}

    def _arg(self, column_key: str, kind: str) -> str | None:
        if (column_key, kind) not in self._found:
            self._found[column_key, kind] = self._find(column_key, kind)
        return self._found[column_key, kind]

    def _find(self, column_key: str, kind: str) -> str | None:
        view = self._view
        if view is None or not view._filters:
            return None
        for index, flt in enumerate(view._filters):
            if getattr(getattr(flt, "column", None), "key", None) != column_key:
                continue
            if (kind == "community" and isinstance(flt, CommunityFilter)) or (
                    kind == "equal" and isinstance(flt, FilterEqual)) or (
                kind == "smaller" and isinstance(flt, FilterSmaller)) or (
                kind == "between" and isinstance(flt, DateTimeBetweenFilter)
                    and not isinstance(flt, DateTimeNotBetweenFilter)):
                return view.get_filter_arg(index, flt)
        return None

    def __call__(self, *, circle: int | None = None, community: int | None = None,
                 status: str | None = None,
                 level: int | None = None, category: int | None = None,
                 first: date | None = None, last: date | None = None,
                 zone: ZoneInfo | None = None) -> str:
        """The list URL for the given criteria; ``first``/``last`` are local days of
        registration, matched exactly as ``[first 00:00, day after last 00:00)``."""
        if circle is None and community is None:
            community = self.community
        criteria = [("circle_id", "equal", circle), ("circle_id", "community", community),
                    ("status", "equal", status),
                    ("level", "equal", level), ("category_id", "equal", category)]
        if first is not None and last is not None:
            period = Period(first, last, zone or local_zone())
            fmt = "%Y-%m-%d %H:%M:%S"
            since, until = period.local_start.strftime(fmt), period.local_end.strftime(fmt)
            # BETWEEN includes both ends; "smaller than" then drops the next day's midnight.
            criteria += [("reported_at", "between", f"{since} to {until}"),
                         ("reported_at", "smaller", until)]
        args, position = {}, 0
        for column, kind, value in criteria:
            arg = None if value is None else self._arg(column, kind)
            if arg is not None:
                args[f"flt{position}_{arg}"] = str(value)
                position += 1
        return url_for(f"{self.endpoint}.index_view", **args)


# --- the page --------------------------------------------------------------------------

DEFINITIONS = [
    (_l("Open issues"),
     _l("Issues not yet resolved, closed or withdrawn, on hold included, as of now.")),
    (_l("Overdue now"),
     _l("Open issues, not on hold (their clock is stopped), whose resolution deadline has "
        "passed.")),
    (_l("Awaiting callback"),
     _l("Resolved issues waiting for the callback to the merchant.")),
    (_l("Period"),
     _l("From 00:00 on the first day to 24:00 on the last day, local time. Each figure puts "
        "an issue in the period by the date of its own event, as said below.")),
    (_l("Issues reported"),
     _l("Issues registered in the period (by registration time), withdrawn ones included.")),
    (_l("Resolution rate (解决率)"),
     _l("Of the issues registered in the period, less the withdrawn ones: the share that is "
        "now resolved or closed.")),
    (_l("Response on-time rate"),
     _l("Of the issues registered in the period (not withdrawn, with a response deadline) "
        "that have had a response — the first on-site arrival or, for a matter settled "
        "without a visit, its resolution: the share whose response came no later than the "
        "response deadline.")),
    (_l("On-time resolution rate (按时办结率)"),
     _l("Of the issues resolved in the period (by the time of their latest resolution; not "
        "withdrawn; with a resolution deadline): the share resolved no later than the "
        "deadline. The deadline moves out by time on hold, becomes the date agreed at a "
        "symposium, and starts again when an issue is sent back for re-handling.")),
    (_l("Callback rate (回访率)"),
     _l("Of the issues resolved in the period (by the time of their latest resolution; not "
        "withdrawn): the share with at least one callback attempt, reached or not, about "
        "that resolution.")),
    (_l("Satisfaction rate (满意率)"),
     _l("(Very satisfied + Satisfied + Basically satisfied) / rated callbacks. Each issue "
        "counts once, with its effective rating — that of its latest reached callback — in "
        "the period in which that callback was made. Issues closed because the merchant "
        "could not be reached are left out and counted apart.")),
    (_l("Unreachable merchants"),
     _l("Issues closed because the merchant could not be reached after repeated calls, "
        "dated by the last call.")),
    (_l("Merchant-confirmed resolution rate"),
     _l("Of the same effective callbacks: the share in which the merchant said the problem "
        "was solved.")),
    (_l("Weekly trend"),
     _l("By ISO week (Monday to Sunday), the first and last weeks cut to the period. Each "
        "series is dated like its figure: reported by registration, resolved by resolution, "
        "satisfaction by callback.")),
    (_l("Links"),
     _l("A count opens the list of exactly those issues. Rates, and figures the issue list "
        "cannot filter on (open, overdue, resolution or callback time), open the closest "
        "list — shown with a dotted underline — such as the circle's issues registered in "
        "the period.")),
]


def _trend_chart(weeks: list[Week], by_week: dict[int, PeriodCounts]) -> dict:
    """Data for the trend chart (drawn by dashboard.js; the table shows the same)."""
    rows = [by_week.get(week.index, PeriodCounts()) for week in weeks]
    return {
        "labels": [week.label for week in weeks],
        "datasets": [
            {"key": "reported", "label": _("Issues reported"), "kind": "bar", "axis": "count",
             "data": [row.reported for row in rows]},
            {"key": "resolved", "label": _("Issues resolved"), "kind": "bar", "axis": "count",
             "data": [row.resolved for row in rows]},
            {"key": "satisfaction", "label": _("Satisfaction rate (%)"), "kind": "line",
             "axis": "rate", "data": [row.satisfaction_rate.percent for row in rows]},
        ],
    }


def _category_chart(categories: list[CategoryRow]) -> dict:
    return {
        "labels": [row.name for row in categories],
        "datasets": [
            {"key": "reported", "label": _("Issues reported"), "kind": "bar", "axis": "count",
             "data": [row.reported for row in categories]},
            {"key": "settled", "label": _("Resolved or closed"), "kind": "bar",
             "axis": "count", "data": [row.settled for row in categories]},
        ],
    }


def _selected_community(args, circles: list[CircleInfo]) -> int | None:
    """The community asked for in ``community``, if it is one the user sees; else None."""
    raw = (args.get("community") or "").strip()
    if not raw.isdigit():
        return None
    return int(raw) if int(raw) in {circle.community_id for circle in circles} else None


def dashboard_context(user, args) -> dict:
    """Template variables for the landing page, from the query string (``from``, ``to``,
    and ``community`` to narrow a many-community view to one community)."""
    zone = local_zone()
    now = utcnow()
    today = now.astimezone(zone).date()
    period, period_error = parse_period(args, today, zone)
    circles = visible_circles(user)
    communities = {circle.community_id: circle.community for circle in circles}
    community = _selected_community(args, circles)
    within = None
    if community is not None and len(communities) > 1:
        circles = [circle for circle in circles if circle.community_id == community]
        within = [circle.id for circle in circles]
    else:
        community = None
    now_figures = open_now(user, now, within)
    figures = period_figures(user, period.start, period.end, now, within)
    categories = category_breakdown(user, period.start, period.end, within)
    narrowed = {"community": community} if community is not None else {}

    def page_url(**kwargs):
        return url_for("admin.index", **narrowed, **kwargs)

    def drill_url(community_id):
        return url_for("admin.index", community=community_id, **{
            "from": period.first.isoformat(), "to": period.last.isoformat()})

    presets = [
        {"key": key, "label": label, "active": preset == period,
         "url": page_url(**{"from": preset.first.isoformat(), "to": preset.last.isoformat()})}
        for key, label, preset in preset_periods(today, zone)
    ]
    return {
        "period": period,
        "period_error": period_error,
        "period_form": {"from": period.first.isoformat(), "to": period.last.isoformat()},
        "presets": presets,
        "zone_name": zone.key,
        "now_figures": now_figures,
        "level_labels": LEVEL_LABELS,
        "open_statuses": [(status, STATUS_LABELS[status]) for status in Status.OPEN],
        "units": table_units(circles, now_figures, figures, drill_url),
        "community": community,
        "community_name": communities.get(community),
        "all_communities_url": url_for("admin.index", **{
            "from": period.first.isoformat(), "to": period.last.isoformat()}),
        "period_figures": figures,
        "categories": categories,
        "trend_chart": _trend_chart(figures.weeks, figures.by_week),
        "category_chart": _category_chart(categories),
        "definitions": DEFINITIONS,
        "issue_url": IssueListLinks(community),
        "empty_counts": PeriodCounts(),
    }
