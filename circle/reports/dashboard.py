"""The dashboard page: open work and the 12345-style rates, scoped to what the user may see.

This module only builds the page's context from the query string: the period
(:mod:`circle.reports.periods`), the figures and their definitions
(:mod:`circle.reports.rates`), the counts (:mod:`circle.reports.dashboard_queries`) and the
links to the issue list (:mod:`circle.reports.issue_links`).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from flask_babel import gettext as _

from circle.inputs import parse_id
from circle.issues.models import Status
from circle.labels import LEVEL_LABELS, STATUS_LABELS
from circle.reports.dashboard_queries import (
    CategoryRow,
    CircleInfo,
    NowCounts,
    NowFigures,
    PeriodFigures,
    category_breakdown,
    open_now,
    period_figures,
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


def table_units(communities: dict[int, str], circles: list[CircleInfo] | None,
                now: NowFigures, period: PeriodFigures, drill_url) -> list[Unit]:
    """Rows of the per-circle tables: the ``circles`` of one community or, when ``circles``
    is None, the ``communities`` (``drill_url(community_id)`` opens the dashboard for one
    of them). ``now`` and ``period`` are counted by the same unit."""
    if circles is not None:
        return [Unit("circle", c.id, c.name, now.by_unit.get(c.id, NowCounts()),
                     period.by_unit.get(c.id, PeriodCounts())) for c in circles]
    return [Unit("community", community, name, now.by_unit.get(community, NowCounts()),
                 period.by_unit.get(community, PeriodCounts()), drill_url(community))
            for community, name in communities.items()]


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
    and ``community`` to narrow a many-community view to one community)."""
    zone = local_zone()
    now = utcnow()
    today = now.astimezone(zone).date()
    period, period_error = parse_period(args, today, zone)
    communities = visible_communities(user)
    # Over several communities the tables show communities (their circles only once one is
    # picked: ``community``); within one, its circles.
    grouped = len(communities) > 1
    community = parse_id(args.get("community")) if grouped else None
    if community not in communities:
        community = None
    circles, within = None, None
    if community is not None:
        circles = visible_circles(user, community)
        within = [circle.id for circle in circles]
        grouped = False
    elif not grouped:
        circles = visible_circles(user)
    now_figures = open_now(user, now, within, grouped)
    figures = period_figures(user, period.start, period.end, now, within, grouped)
    categories = category_breakdown(user, period.start, period.end, within)
    narrowed = {"community": community} if community is not None else {}
    issue_url = IssueListLinks(community)

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
        "units": table_units(communities, circles, now_figures, figures, drill_url),
        "community": community,
        "community_name": communities.get(community),
        "all_communities_url": url_for("admin.index", **{
            "from": period.first.isoformat(), "to": period.last.isoformat()}),
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
