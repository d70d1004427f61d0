"""List filters of the admin: dropdowns of reference rows read as (id, name) pairs once per
request and limited to the user's scope (looked up as you type when the scope holds more
rows than a dropdown should), equality on ids, fixed choices, named clauses and
"in this community", moments kept elsewhere (a call of the issue) — all ignoring what is not
a valid value instead of answering 500."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import current_app, g
from flask_admin.babel import lazy_gettext as admin_lazy_gettext
from flask_admin.contrib.sqla.filters import (
    BaseSQLAFilter,
    DateTimeBetweenFilter,
    DateTimeSmallerFilter,
    FilterEqual,
)
from flask_admin.model.ajax import AjaxModelLoader
from flask_login import current_user

from circle.extensions import db
from circle.inputs import has_control_characters, parse_id, parse_int
from circle.org.models import BusinessCircle
from circle.permissions import scope_by_circle, scope_communities
from circle.timeutil import local_zone

#: The filter type of a related filter that looks its rows up as they are typed
#: (circle/static/filter-lookup.js recognises it), and the prefix of its lookup's name
#: among the view's ``_form_ajax_refs`` (form fields never hold a hyphen).
LOOKUP_TYPE = "circle-lookup"
LOOKUP_PREFIX = "filter-"
#: Most rows one lookup answers, and how far into the matches it pages.
LOOKUP_MAX_LIMIT = 50
LOOKUP_MAX_OFFSET = 100_000
#: Longest typed text a lookup matches (more is cut).
LOOKUP_MAX_TERM = 50


class RowsAsOptions:
    """Filter options (id, name) read from a reference table, limited to the user's scope.

    Flask-Admin caches filter options when the view is built, before any database exists;
    this object reads them when a list page is drawn. Only the two columns are selected
    (never the rows as ORM objects). A user who may see at most
    ``CIRCLE_FILTER_INLINE_OPTIONS`` rows gets them in the page's dropdown
    (:meth:`inline`, read once per request); one who may see more gets a lookup that
    pages through the names matching what is typed (:meth:`matching`).
    """

    def __init__(self, model, order_by, label=None):
        self.model, self.order_by = model, order_by
        self.label = label if label is not None else model.name

    def __bool__(self) -> bool:
        return True

    def __iter__(self):
        # Flask-Admin's own reading of the options (the panel's views draw them through
        # ``inline``); a scope too large for a dropdown lists nothing.
        return iter(self.inline(current_user, current_app.config[
            "CIRCLE_FILTER_INLINE_OPTIONS"]) or ())

    def _select(self, user):
        stmt = sa.select(self.model.id, self.label)
        return restrict_to_user(stmt, self.model, user)

    def _key(self, user, most: int) -> tuple:
        return (self.model, str(self.order_by), str(self.label), getattr(user, "id", None),
                most)

    def inline(self, user, most: int) -> list[tuple[str, str]] | None:
        """The (id, name) pairs ``user`` may see, ordered, if there are at most ``most``;
        ``None`` if more (one query of at most ``most + 1`` rows, kept for the request)."""
        cache = g.setdefault("circle_filter_options", {})
        key = self._key(user, most)
        if key not in cache:
            self.read_inline([self], user, most)
        return cache[key]

    @staticmethod
    def read_inline(lists: list[RowsAsOptions], user, most: int) -> None:
        """Read what :meth:`inline` gives for each of ``lists`` in one statement (a list
        page offers up to five tables' rows: one round trip, not five), each list's rows
        numbered in its order and cut after ``most + 1``; kept for the request."""
        cache = g.setdefault("circle_filter_options", {})
        todo = list({rows._key(user, most): rows for rows in lists
                     if rows._key(user, most) not in cache}.items())
        if not todo:
            return
        # Each list's first most + 1 rows (a top-N read, as its own statement did), then
        # numbered in that order (the UNION keeps no order of its own).
        firsts = [
            rows._select(user).add_columns(rows.order_by.label("sort"))
            .order_by(rows.order_by, rows.model.id).limit(most + 1).subquery()
            for _key, rows in todo
        ]
        numbered = sa.union_all(*[
            sa.select(sa.literal(part).label("part"),
                      sa.func.row_number().over(order_by=(first.c.sort, list(first.c)[0]))
                      .label("position"), *list(first.c)[:2])
            for part, first in enumerate(firsts)]).subquery()
        found: dict[int, list] = {part: [] for part in range(len(todo))}
        for part, _position, row_id, name in db.session.execute(
                sa.select(*numbered.c).order_by(numbered.c.part, numbered.c.position)):
            found[part].append((str(row_id), str(name)))
        for part, (key, _rows) in enumerate(todo):
            pairs = found[part]
            cache[key] = pairs if len(pairs) <= most else None

    def matching(self, user, term, offset, limit) -> list[tuple[str, str]]:
        """A page of the (id, name) pairs ``user`` may see whose name holds ``term``
        (anywhere, any case), ordered by name; an unusable offset or limit counts as the
        first page of :data:`LOOKUP_MAX_LIMIT` at most, a term with control characters
        matches nothing."""
        term = (term if isinstance(term, str) else "").strip()[:LOOKUP_MAX_TERM]
        if has_control_characters(term):
            return []
        offset = parse_int(offset, minimum=0, maximum=LOOKUP_MAX_OFFSET) or 0
        limit = parse_int(limit, minimum=1, maximum=LOOKUP_MAX_LIMIT) or LOOKUP_MAX_LIMIT
        stmt = self._select(user)
        if term:
            stmt = stmt.where(self.label.icontains(term, autoescape=True))
        stmt = stmt.order_by(self.order_by, self.model.id).offset(offset).limit(limit)
        return [(str(row_id), str(name)) for row_id, name in db.session.execute(stmt)]

    def labels(self, user, ids) -> dict[str, str]:
        """``{id: name}`` of those of ``ids`` that ``user`` may see (the others are left
        out): what an active filter shows instead of its id."""
        wanted = {number for number in map(parse_id, ids or ()) if number is not None}
        if not wanted:
            return {}
        stmt = self._select(user).where(self.model.id.in_(wanted))
        return {str(row_id): str(name) for row_id, name in db.session.execute(stmt)}


class FilterLookup(AjaxModelLoader):
    """The loader Flask-Admin's ``ajax_lookup`` view asks for a filter's rows
    (``/admin/<view>/ajax/lookup/?name=filter-<arg>&query=…&offset=…&limit=…``): the
    signed-in user's rows only, as (id, name) pairs. (A filter has no form field: nothing
    asks it for one row, ``get_one``.)"""

    def __init__(self, name: str, rows: RowsAsOptions):
        super().__init__(name, {})
        self.rows = rows

    def format(self, model):
        return model

    def get_list(self, query, offset=0, limit=LOOKUP_MAX_LIMIT):
        return self.rows.matching(current_user, query, offset, limit)


def row_options(flt) -> RowsAsOptions | None:
    """The reference rows a filter offers, if it offers rows of a table."""
    options = getattr(flt, "options", None)
    return options if isinstance(options, RowsAsOptions) else None


def restrict_to_user(stmt, model, user):
    """Limit a query on circles, communities or streets to those the user works in."""
    from circle.org.models import Community, Street

    if model is BusinessCircle:
        return scope_by_circle(stmt, BusinessCircle.id, user)
    if model is Community:
        return scope_communities(stmt, Community.id, user)
    if model is Street:
        return stmt.where(Street.id.in_(
            scope_communities(sa.select(Community.street_id), Community.id, user)))
    return stmt


class IdEqualFilter(FilterEqual):
    """Equality on an integer column; anything but an id is ignored, never a 500."""

    def validate(self, value) -> bool:
        return parse_id(value) is not None

    def clean(self, value) -> int:
        return parse_id(value)


def related_filter(column, name, model, order_by=None):
    """A dropdown filter on a foreign key, offering the related rows by name."""
    return IdEqualFilter(column, name,
                         options=RowsAsOptions(model, order_by or model.name))


def choice_filter(column, name, labels: dict):
    """A dropdown filter on a coded column, offering the translated labels."""
    options = [(str(value), label) for value, label in labels.items()]
    if all(isinstance(value, int) for value in labels):
        return IdEqualFilter(column, name, options=options)

    class ChoiceEqualFilter(FilterEqual):
        def validate(self, value) -> bool:
            return value in labels

    return ChoiceEqualFilter(column, name, options=options)


class ClauseFilter(BaseSQLAFilter):
    """A dropdown filter whose options each stand for a SQL condition, built when the list
    is read (a group of statuses, "overdue now", "re-handled").

    ``clauses`` maps each option's value to its label and a function of no argument that
    returns the condition; an unknown value is ignored, never a 500. ``link_key`` names
    the filter for links (:mod:`circle.reports.issue_links`) when its column does not.
    """

    def __init__(self, column, name, clauses: dict, link_key: str | None = None):
        super().__init__(column, name,
                         options=[(value, label) for value, (label, _) in clauses.items()])
        self.clauses = clauses
        self.link_key = link_key

    def validate(self, value) -> bool:
        return value in self.clauses

    def apply(self, query, value, alias=None):
        return query.filter(self.clauses[value][1]())

    def operation(self):
        return admin_lazy_gettext("equals")


class _CircleGroupFilter(BaseSQLAFilter):
    """Rows whose circle belongs to the chosen group of circles (a subquery of circle ids,
    no join, so no repeated rows); the options are the groups the user sees."""

    def __init__(self, circle_column, name, model):
        super().__init__(circle_column, name, options=RowsAsOptions(model, model.name))

    def validate(self, value) -> bool:
        return parse_id(value) is not None

    def clean(self, value) -> int:
        return parse_id(value)

    def circles(self, value: int):
        raise NotImplementedError

    def apply(self, query, value, alias=None):
        return query.filter(self.get_column(alias).in_(self.circles(value)))

    def operation(self):
        return admin_lazy_gettext("equals")


class CommunityFilter(_CircleGroupFilter):
    """Rows whose circle belongs to the chosen community."""

    def __init__(self, circle_column, name):
        from circle.org.models import Community

        super().__init__(circle_column, name, Community)

    def circles(self, value: int):
        return sa.select(BusinessCircle.id).where(BusinessCircle.community_id == value)


class StreetFilter(_CircleGroupFilter):
    """Rows whose circle belongs to a community of the chosen street (街道)."""

    def __init__(self, circle_column, name):
        from circle.org.models import Street

        super().__init__(circle_column, name, Street)

    def circles(self, value: int):
        from circle.org.models import Community

        return (sa.select(BusinessCircle.id)
                .join(Community, Community.id == BusinessCircle.community_id)
                .where(Community.street_id == value))


def as_local(value):
    """Attach the configured zone to naive datetimes typed into a filter."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=local_zone())
    if isinstance(value, (list, tuple)):
        return type(value)(as_local(item) for item in value)
    return value


class _MomentFilter:
    """A date filter on a moment the row does not hold itself (the time of one call of an
    issue): ``where(test, drive=...)`` turns a test of the moment's column into the row's
    condition — one that reads the moments in range first (``drive``, for a range) or one
    checked for each row the other filters keep (an open bound). Typed times are local,
    like every date filter's."""

    def __init__(self, column, name, link_key: str, where):
        super().__init__(column, name)
        self.link_key, self.where = link_key, where

    def clean(self, value):
        return as_local(super().clean(value))


class MomentBetweenFilter(_MomentFilter, DateTimeBetweenFilter):
    def apply(self, query, value, alias=None):
        start, end = value
        return query.filter(self.where(lambda moment: moment.between(start, end),
                                       drive=True))


class MomentSmallerFilter(_MomentFilter, DateTimeSmallerFilter):
    def apply(self, query, value, alias=None):
        return query.filter(self.where(lambda moment: moment < value, drive=False))


def moment_filters(column, name, link_key: str, where) -> list:
    """"Between" and "smaller than" filters on a moment found by ``where`` (see
    :class:`_MomentFilter`); ``column`` is the row's own column the filters hang on
    (the list joins nothing for them)."""
    return [cls(column, name, link_key, where)
            for cls in (MomentBetweenFilter, MomentSmallerFilter)]
