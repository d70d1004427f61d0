"""Links from a dashboard figure to the issue list filtered like it (Flask-Admin internals).

Flask-Admin names list filters by their position (``flt{n}_{index}``), which changes when
someone adds a filter; this module is the one place that knows how to find them.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import quote_plus
from zoneinfo import ZoneInfo

from flask import current_app, url_for
from flask_admin.contrib.sqla.filters import (
    DateTimeBetweenFilter,
    DateTimeNotBetweenFilter,
    FilterEqual,
    FilterSmaller,
)

from circle.adminkit import ClauseFilter, CommunityFilter, StreetFilter
from circle.reports.counts import COUNT
from circle.reports.periods import Period
from circle.timeutil import local_zone

#: What werkzeug leaves unencoded in a URL's query.
_SAFE = "!$'()*,/:;?@"


class IssueListLinks:
    """URLs of the issue list filtered like a figure, using the list view's own filters.

    Flask-Admin names filters by their position (``flt{n}_{index}``), which changes when
    someone adds a filter, so the positions are looked up at runtime by column and kind.
    A criterion whose filter has disappeared is dropped: the link shows more, never breaks.
    """

    endpoint = "issue"

    def __init__(self, community: int | None = None, street: int | None = None):
        #: Every link not about one row keeps to this community or street (the narrowed view).
        self.community, self.street = community, street
        self._view = next(
            (view for admin in current_app.extensions.get("admin", [])
             for view in admin._views if getattr(view, "endpoint", None) == self.endpoint),
            None,
        )
        # The page builds hundreds of links with the same few filters.
        self._found: dict[tuple[str, str], str | None] = {}
        self._base: str | None = None
        self._periods: dict[tuple, tuple[str, str]] = {}
        self._pairs: dict[tuple[str, str], str] = {}

    def _arg(self, column_key: str, kind: str) -> str | None:
        if (column_key, kind) not in self._found:
            self._found[column_key, kind] = self._find(column_key, kind)
        return self._found[column_key, kind]

    def _find(self, column_key: str, kind: str) -> str | None:
        view = self._view
        if view is None or not view._filters:
            return None
        for index, flt in enumerate(view._filters):
            key = getattr(flt, "link_key", None) or getattr(
                getattr(flt, "column", None), "key", None)
            if key != column_key:
                continue
            if (kind == "community" and isinstance(flt, CommunityFilter)) or (
                    kind == "street" and isinstance(flt, StreetFilter)) or (
                    kind == "clause" and isinstance(flt, ClauseFilter)) or (
                    kind == "equal" and isinstance(flt, FilterEqual)) or (
                kind == "smaller" and isinstance(flt, FilterSmaller)) or (
                kind == "between" and isinstance(flt, DateTimeBetweenFilter)
                    and not isinstance(flt, DateTimeNotBetweenFilter)):
                return view.get_filter_arg(index, flt)
        return None

    def __call__(self, *, circle: int | None = None, community: int | None = None,
                 street: int | None = None, status: str | None = None, group: str | None = None,
                 overdue: bool = False, rehandled: bool | None = None,
                 level: int | None = None, category: int | None = None,
                 count: str | None = None,
                 first: date | None = None, last: date | None = None,
                 zone: ZoneInfo | None = None) -> str:
        """The list URL for the given criteria; ``group`` is a status group of the list's
        "status group" filter (``open``, ``settled``, ``left``), ``overdue`` keeps the
        issues overdue when the list is read, ``rehandled`` those re-handled (or not);
        ``count`` the issues a figure's count counts (:data:`circle.reports.counts.COUNTS`);
        ``first``/``last`` are local days of the date that dates the count (registration
        without one), matched exactly as ``[first 00:00, day after last 00:00)``."""
        if circle is None and community is None and street is None:
            community, street = self.community, self.street
            if community is not None:
                street = None  # a community narrows further than its street
        dated = COUNT[count].dated if count is not None else "reported_at"
        criteria = [("circle_id", "equal", circle), ("circle_id", "community", community),
                    ("circle_id", "street", street),
                    ("status", "equal", status), ("status", "clause", group),
                    ("resolution_due_at", "clause", "yes" if overdue else None),
                    ("rehandle_count", "clause",
                     None if rehandled is None else ("yes" if rehandled else "no")),
                    ("level", "equal", level), ("category_id", "equal", category),
                    ("count", "clause", count)]
        if first is not None and last is not None:
            since, until = self._bounds(first, last, zone)
            # BETWEEN includes both ends; "smaller than" then drops the next day's midnight.
            criteria += [(dated, "between", f"{since} to {until}"),
                         (dated, "smaller", until)]
        pairs, position = [], 0
        for column, kind, value in criteria:
            arg = None if value is None else self._arg(column, kind)
            if arg is not None:
                pairs.append(self._pair(f"flt{position}_{arg}", str(value)))
                position += 1
        # The list's address is built once: url_for per link was a tenth of the dashboard.
        if self._base is None:
            self._base = url_for(f"{self.endpoint}.index_view")
        return self._base + ("?" + "&".join(pairs) if pairs else "")

    def _pair(self, name: str, value: str) -> str:
        """``name=value`` encoded as ``urlencode`` with werkzeug's safe characters encodes
        it, each pair once per page: a district's page has two thousand links made of a
        few dozen pairs (encoding them was a third of the page)."""
        pair = self._pairs.get((name, value))
        if pair is None:
            pair = self._pairs[name, value] = (quote_plus(name, safe=_SAFE) + "="
                                               + quote_plus(value, safe=_SAFE))
        return pair

    def _bounds(self, first: date, last: date, zone: ZoneInfo | None) -> tuple[str, str]:
        """The local times typed into the list's date filters for a period (each period's
        are computed once: a page links to every count of a few periods)."""
        if (first, last, zone) not in self._periods:
            period = Period(first, last, zone or local_zone())
            fmt = "%Y-%m-%d %H:%M:%S"
            self._periods[first, last, zone] = (period.local_start.strftime(fmt),
                                                period.local_end.strftime(fmt))
        return self._periods[first, last, zone]
