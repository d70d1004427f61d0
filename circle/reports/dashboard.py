"""The dashboard page: open work and the 12345-style rates, scoped to what the user may see.

This module only builds the page's context from the query string: the period
(:mod:`circle.reports.periods`), the figures and their definitions
(:mod:`circle.reports.rates`), the counts (:mod:`circle.reports.dashboard_queries`) and the
links to the issue list (:mod:`circle.reports.issue_links`).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for

from circle.i18n import gettext as _
from circle.inputs import parse_id
from circle.issues.models import Status
from circle.labels import LEVEL_LABELS, STATUS_LABELS
from circle.reports.dashboard_queries import (
    CategoryRow,
    InView,
    NowCounts,
    NowFigures,
    PeriodFigures,
    category_breakdown,
    open_now,
    period_figures,
    street_names,
    visible_circles,
    visible_communities,
)
from circle.reports.figure_html import figure_link, period_figures_of, rate_figure
from circle.reports.issue_links import IssueListLinks
from circle.reports.periods import Week, parse_period, preset_periods
from circle.reports.rates import DEFINITIONS, FIGURES, PeriodCounts
from circle.timeutil import local_zone, utcnow


@dataclass
class Unit:
    """One row of the per-unit tables: a business circle or, for someone who sees several
    communities, a whole community or (over several streets: a district administrator's
    fifty communities) a whole street."""

    kind: str  # "circle", "community" or "street"
    id: int
    name: str
    now: NowCounts
    period: PeriodCounts
    drill_url: str | None = None  # the dashboard narrowed to this street or community

    @property
    def filters(self) -> dict:
        """Criteria of the issue-list links for this row."""
        return {self.kind: self.id}


def table_units(kind: str, names: dict[int, str], now: NowFigures, period: PeriodFigures,
                drill_url=None) -> list[Unit]:
    """Rows of the per-unit tables: one per ``names`` (id → name, in order) of ``kind``
    ("circle", "community" or "street", as ``now`` and ``period`` were counted);
    ``drill_url(id)`` opens the dashboard narrowed to a row."""
    return [Unit(kind, unit_id, name, now.by_unit.get(unit_id, NowCounts()),
                 period.by_unit.get(unit_id, PeriodCounts()),
                 drill_url(unit_id) if drill_url else None)
            for unit_id, name in names.items()]


@dataclass(frozen=True)
class Narrowing:
    """What the page shows of the user's scope, from the query string: everything, one
    street (``?street=``) or one community (``?community=``), and the rows of its tables.

    Over several streets (every community in one) the rows are streets; a street or
    several communities, its communities; one community, its circles. A street or
    community the user cannot see is ignored (the whole scope shows)."""

    view: InView
    names: dict[int, str]  # the rows: id → name
    street: int | None = None
    street_name: str | None = None
    community: int | None = None
    community_name: str | None = None
    streets_above: bool = False  # the page is one street of several: "all streets" leads back
    communities_above: bool = False  # one community of several: "all communities"

    @classmethod
    def of(cls, user, args) -> Narrowing:
        communities = visible_communities(user)
        street_ids = {info.street_id for info in communities.values()}
        # Streets apply when every community in view has one and there are several.
        by_street = len(street_ids) > 1 and None not in street_ids
        community = parse_id(args.get("community"))
        if len(communities) > 1 and community in communities:
            info = communities[community]
            circles = visible_circles(user, community)
            street = info.street_id if by_street else None
            return cls(InView("circle", communities=(community,)),
                       {c.id: c.name for c in circles},
                       street=street,
                       street_name=street_names([street]).get(street) if street else None,
                       community=community, community_name=info.name,
                       streets_above=by_street, communities_above=True)
        street = parse_id(args.get("street")) if by_street else None
        if street is not None and street in street_ids:
            members = {c.id: c.name for c in communities.values() if c.street_id == street}
            return cls(InView("community", communities=tuple(members)), members,
                       street=street, street_name=street_names([street])[street],
                       streets_above=True)
        if by_street:
            return cls(InView("street"), street_names(street_ids))
        if len(communities) > 1:
            return cls(InView("community"), {c.id: c.name for c in communities.values()})
        circles = visible_circles(user)
        return cls(InView("circle"), {c.id: c.name for c in circles})

    @property
    def args(self) -> dict:
        """The query string's part that keeps the page narrowed."""
        if self.community is not None:
            return {"community": self.community}
        return {"street": self.street} if self.street is not None else {}


TREND_FIGURES = [figure for figure in FIGURES if figure.trend]


def _trend_chart(weeks: list[Week], by_week: dict[int, PeriodCounts]) -> dict:
    """Data for the trend chart (drawn by dashboard.js; the table shows the same)."""
    rows = [by_week.get(week.index, PeriodCounts()) for week in weeks]
    return {
        "labels": [week.label for week in weeks],
        "datasets": [
            {"key": figure.trend.key, "label": str(figure.trend.label or figure.label),
             "kind": "line" if figure.is_rate else "bar",
             "axis": "rate" if figure.is_rate else "count",
             "data": [figure.of(row).percent if figure.is_rate else figure.of(row)
                      for row in rows]}
            for figure in TREND_FIGURES
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


def dashboard_context(user, args) -> dict:
    """Template variables for the landing page, from the query string (``from``, ``to``,
    and ``street`` or ``community`` to narrow a many-street or many-community view, see
    :class:`Narrowing`)."""
    zone = local_zone()
    now = utcnow()
    today = now.astimezone(zone).date()
    period, period_error = parse_period(args, today, zone)
    narrowing = Narrowing.of(user, args)
    view = narrowing.view
    now_figures = open_now(user, now, view)
    figures = period_figures(user, period.start, period.end, now, view)
    categories = category_breakdown(user, period.start, period.end, view)
    issue_url = IssueListLinks(narrowing.community, narrowing.street)
    period_args = {"from": period.first.isoformat(), "to": period.last.isoformat()}

    def page_url(**kwargs):
        return url_for("admin.index", **narrowing.args, **kwargs)

    drill_url = None
    if view.unit != "circle":
        def drill_url(unit_id):
            return url_for("admin.index", **{view.unit: unit_id}, **period_args)

    presets = [
        {"key": key, "label": label, "active": preset == period,
         "url": page_url(**{"from": preset.first.isoformat(), "to": preset.last.isoformat()})}
        for key, label, preset in preset_periods(today, zone)
    ]
    return {
        "period": period,
        "period_error": period_error,
        "period_form": period_args,
        "presets": presets,
        "zone_name": zone.key,
        "now_figures": now_figures,
        "level_labels": LEVEL_LABELS,
        "open_statuses": [(status, STATUS_LABELS[status]) for status in Status.OPEN],
        "units": table_units(view.unit, narrowing.names, now_figures, figures, drill_url),
        "unit_kind": view.unit,
        "narrowing": narrowing,
        "community": narrowing.community,
        "community_name": narrowing.community_name,
        "all_url": url_for("admin.index", **period_args),
        "street_url": (url_for("admin.index", street=narrowing.street, **period_args)
                       if narrowing.street is not None else None),
        "period_figures": figures,
        "figures": FIGURES,
        "trend_figures": TREND_FIGURES,
        "categories": categories,
        "trend_chart": _trend_chart(figures.weeks, figures.by_week),
        "category_chart": _category_chart(categories),
        "definitions": DEFINITIONS,
        "issue_url": issue_url,
        "figure_link": figure_link,
        "rate_figure": rate_figure,
        "period_figure": period_figures_of(issue_url),
        "empty_counts": PeriodCounts(),
    }
