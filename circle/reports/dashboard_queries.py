"""The dashboard's SQL: open work now, the period's counts, the categories, the circles in view.

Everything is counted by the database with a fixed handful of aggregate queries, whatever
the number of issues, circles, categories or weeks: the rows that come back are already
totals per circle (and per day), never issues. The period's counts are summed from figures
pre-aggregated per circle and local day (:mod:`circle.reports.figures`); what is open now is
counted from the (few) open issues.

Each function takes the user whose scope applies and aware datetimes (``start``/``end`` are
local midnights, :class:`~circle.reports.periods.Period`), and needs no request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from circle.extensions import db
from circle.issues.models import Issue, IssueCategory, Status
from circle.labels import LEVEL_LABELS
from circle.org.models import BusinessCircle, Community, Street
from circle.permissions import scope_by_circle, scope_communities, sees_whole_communities
from circle.reports.figures import FIELDS as FIGURE_FIELDS
from circle.reports.figures import (
    CategoryDayFigures,
    CircleDayFigures,
    CommunityDayFigures,
    category_counts,
    count_if,
)
from circle.reports.periods import Week, iso_weeks
from circle.reports.rates import FIGURE, PeriodCounts, Rate
from circle.sqlhints import selective
from circle.timeutil import local_zone


@dataclass(frozen=True)
class CircleInfo:
    id: int
    name: str
    community: str
    community_id: int


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


#: The rows the dashboard's tables can count by: a circle, its community, or that
#: community's street (a district administrator's fifty communities in ten streets).
UNITS = ("circle", "community", "street")


@dataclass(frozen=True)
class InView:
    """What the tables count: rows per ``unit`` (one of :data:`UNITS`), of the circles
    ``circles`` (ids) or of the communities ``communities`` (ids) only, or (neither given)
    of everything in the user's scope."""

    unit: str = "circle"
    circles: tuple[int, ...] | None = None
    communities: tuple[int, ...] | None = None

    def __post_init__(self):
        if self.unit not in UNITS:
            raise ValueError(f"unit must be one of {UNITS}, not {self.unit!r}")

    @property
    def whole_communities(self) -> bool:
        """No circle picked out: each community counted is counted whole (the user's
        scope allowing, :func:`_whole_communities`)."""
        return self.circles is None


EVERYTHING = InView()


@dataclass
class NowFigures:
    overall: NowCounts
    by_unit: dict[int, NowCounts]  # by circle, community or street id (``InView.unit``)


@dataclass
class PeriodFigures:
    overall: PeriodCounts
    by_unit: dict[int, PeriodCounts]
    by_week: dict[int, PeriodCounts]
    weeks: list[Week]


@dataclass(frozen=True)
class CategoryRow:
    id: int
    name: str
    reported: int
    withdrawn: int
    settled: int

    @property
    def valid(self) -> int:
        return self.reported - self.withdrawn

    @property
    def resolution_rate(self) -> Rate:
        return FIGURE["resolution_rate"].of(self)


def _scoped(stmt, user, view: InView = EVERYTHING, column=Issue.circle_id):
    """Rows in the user's scope and in ``view``'s circles or communities (``column``
    holds a circle id)."""
    stmt = scope_by_circle(stmt, column, user)
    if view.circles is not None:
        stmt = stmt.where(column.in_(view.circles))
    if view.communities is not None:
        stmt = stmt.where(column.in_(sa.select(BusinessCircle.id).where(
            BusinessCircle.community_id.in_(view.communities))))
    return stmt


def _by_unit(stmt, circle_column, unit: str):
    """``stmt`` with its rows' unit as the first column, ``unit``: the circle, or its
    community, or that community's street — so that the database, not Python, sums a
    thousand circles into their fifty communities or ten streets."""
    if unit == "circle":
        return stmt.add_columns(circle_column.label("unit")).group_by(circle_column)
    stmt = stmt.join(BusinessCircle, BusinessCircle.id == circle_column)
    if unit == "community":
        return (stmt.add_columns(BusinessCircle.community_id.label("unit"))
                .group_by(BusinessCircle.community_id))
    return (stmt.add_columns(Community.street_id.label("unit"))
            .join(Community, Community.id == BusinessCircle.community_id)
            .group_by(Community.street_id))


def _local_days(start: datetime, end: datetime):
    """The first and last local day of ``[start, end)`` (local midnights)."""
    zone = local_zone()
    return (start.astimezone(zone).date(),
            (end - timedelta(microseconds=1)).astimezone(zone).date())


def _whole_communities(user, view: InView) -> bool:
    """Whether the rows per community apply: whole communities in view (no circles picked
    out, a scope of whole communities)."""
    return view.whole_communities and sees_whole_communities(user)


def _community_rows(stmt, table, user, view: InView):
    """``stmt`` over rows per community (``table.community_id``) limited to the user's
    scope and ``view``'s communities."""
    stmt = scope_communities(stmt, table.community_id, user)
    if view.communities is not None:
        stmt = stmt.where(table.community_id.in_(view.communities))
    return stmt


def _by_community_unit(stmt, table, unit: str):
    """``stmt`` over rows per community with its unit as the column ``unit``: the
    community itself, or its street."""
    if unit == "street":
        return (stmt.add_columns(Community.street_id.label("unit"))
                .join(Community, Community.id == table.community_id)
                .group_by(Community.street_id))
    return stmt.add_columns(table.community_id.label("unit")).group_by(table.community_id)


def visible_circles(user, community_id: int | None = None) -> list[CircleInfo]:
    """The business circles the user may see (of one community, if given), by community
    and name."""
    stmt = scope_by_circle(
        sa.select(BusinessCircle.id, BusinessCircle.name, Community.name.label("community"),
                  Community.id.label("community_id"))
        .join(Community, Community.id == BusinessCircle.community_id),
        BusinessCircle.id, user,
    ).order_by(Community.name, BusinessCircle.name)
    if community_id is not None:
        stmt = stmt.where(BusinessCircle.community_id == community_id)
    return [CircleInfo(row.id, row.name, row.community, row.community_id)
            for row in db.session.execute(stmt)]


@dataclass(frozen=True)
class CommunityInfo:
    id: int
    name: str
    street_id: int | None


def visible_communities(user) -> dict[int, CommunityInfo]:
    """The communities the user sees circles of, by name: id → community. A district's
    dashboard needs its fifty communities, not its thousand circles."""
    circles = sa.select(BusinessCircle.community_id)
    stmt = (sa.select(Community.id, Community.name, Community.street_id)
            .where(Community.id.in_(scope_by_circle(circles, BusinessCircle.id, user)))
            .order_by(Community.name))
    return {row.id: CommunityInfo(row.id, row.name, row.street_id)
            for row in db.session.execute(stmt)}


def street_names(street_ids) -> dict[int, str]:
    """The streets of these ids, by name: id → name."""
    stmt = sa.select(Street.id, Street.name).where(Street.id.in_(street_ids))
    return dict(db.session.execute(stmt.order_by(Street.name)).all())


def open_now(user, now: datetime, view: InView = EVERYTHING) -> NowFigures:
    """Open issues by level and status, overdue now, and awaiting callback (one query),
    per ``view.unit`` of what ``view`` holds of the user's scope.

    Overdue: open, not on hold (its clock is stopped), resolution deadline before ``now``.
    """
    stmt = _scoped(_by_unit(
        sa.select(
            Issue.status, Issue.level,
            sa.func.count().label("issues"),
            count_if(sa.and_(Issue.status != Status.ON_HOLD,
                              Issue.resolution_due_at < now)).label("overdue"),
        ).where(selective(Issue.status.in_((*Status.OPEN, Status.RESOLVED))))
        .group_by(Issue.status, Issue.level),
        Issue.circle_id, view.unit), user, view)
    by_unit: dict[int, NowCounts] = {}
    for row in db.session.execute(stmt):
        counts = by_unit.setdefault(row.unit, NowCounts())
        if row.status == Status.RESOLVED:
            counts.awaiting_callback += row.issues
            continue
        counts.by_status[row.status] = counts.by_status.get(row.status, 0) + row.issues
        counts.by_level[row.level] = counts.by_level.get(row.level, 0) + row.issues
        counts.overdue += int(row.overdue or 0)
    overall = NowCounts()
    for counts in by_unit.values():
        overall.merge(counts)
    return NowFigures(overall, by_unit)


def period_figures(user, start: datetime, end: datetime, now: datetime,
                   view: InView = EVERYTHING) -> PeriodFigures:
    """The period's counts for ``[start, end)``: overall, per ``view.unit`` (circle,
    community or street) and per ISO week.

    Read from the pre-aggregated :class:`~circle.reports.figures.CircleDayFigures` (one
    row per circle and local day, kept correct on every change) or, per community or
    street over whole communities, :class:`~circle.reports.figures.CommunityDayFigures`: two small
    GROUP BY queries, whatever the number of issues. ``start`` and ``end`` are local midnights.
    Weeks that begin after ``now`` are left out of the trend: they can hold nothing yet.
    """
    zone = local_zone()
    first, last = _local_days(start, end)
    # Over whole communities, their own rows (fifty) rather than their circles' (a thousand).
    by_rows = view.unit != "circle" and _whole_communities(user, view)
    table = CommunityDayFigures if by_rows else CircleDayFigures
    sums = [sa.func.sum(getattr(table, name)).label(name) for name in FIGURE_FIELDS]

    def in_period(stmt):
        stmt = stmt.where(table.day >= first, table.day <= last)
        if by_rows:
            return db.session.execute(_community_rows(stmt, table, user, view))
        return db.session.execute(_scoped(stmt, user, view, CircleDayFigures.circle_id))

    by_unit: dict[int, PeriodCounts] = {}
    units = (_by_community_unit(sa.select(*sums), table, view.unit) if by_rows
             else _by_unit(sa.select(*sums), CircleDayFigures.circle_id, view.unit))
    for row in in_period(units):
        by_unit.setdefault(row.unit, PeriodCounts()).add(row)
    monday = first - timedelta(days=first.weekday())
    by_week: dict[int, PeriodCounts] = {}
    for row in in_period(sa.select(table.day, *sums).group_by(table.day)):
        by_week.setdefault((row.day - monday).days // 7, PeriodCounts()).add(row)
    overall = PeriodCounts()
    for counts in by_unit.values():
        overall.merge(counts)
    today = now.astimezone(zone).date()
    weeks = [week for week in iso_weeks(start, end, zone) if week.first <= today]
    return PeriodFigures(overall, by_unit, by_week, weeks)


def category_breakdown(user, start: datetime, end: datetime,
                       view: InView = EVERYTHING) -> list[CategoryRow]:
    """Issues reported in ``[start, end)`` per category: reported, withdrawn, settled.

    Over whole communities, summed from
    :class:`~circle.reports.figures.CategoryDayFigures` (days × communities × categories
    rows); for a liaison's circles or circles picked out (``view.circles``), counted from the
    issues. ``start`` and ``end`` are local midnights.
    """
    if _whole_communities(user, view):
        first, last = _local_days(start, end)
        table = CategoryDayFigures
        counts = _community_rows(
            sa.select(table.category_id,
                      *[sa.func.sum(getattr(table, name)).label(name)
                        for name in ("reported", "withdrawn", "settled")])
            .where(table.day >= first, table.day <= last)
            .group_by(table.category_id),
            table, user, view).subquery()
    else:
        # Counted per category id first, then named: joining the categories first would
        # lead SQLite to walk the period once per category.
        counts = _scoped(
            sa.select(Issue.category_id, *category_counts())
            .where(Issue.reported_at >= start, Issue.reported_at < end)
            .group_by(Issue.category_id),
            user, view,
        ).subquery()
    stmt = (sa.select(IssueCategory.id, IssueCategory.name, counts.c.reported,
                      counts.c.withdrawn, counts.c.settled)
            .join(counts, counts.c.category_id == IssueCategory.id)
            .order_by(IssueCategory.sort_order, IssueCategory.name))
    return [CategoryRow(row.id, row.name, int(row.reported), int(row.withdrawn or 0),
                        int(row.settled or 0)) for row in db.session.execute(stmt)]
