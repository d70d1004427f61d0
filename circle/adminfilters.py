"""List filters of the admin: dropdowns of reference rows read as (id, name) pairs once per
request and limited to the user's scope, equality on ids, fixed choices, named clauses and
"in this community", moments kept elsewhere (a call of the issue) — all ignoring what is not
a valid value instead of answering 500."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import g
from flask_admin.babel import lazy_gettext as admin_lazy_gettext
from flask_admin.contrib.sqla.filters import (
    BaseSQLAFilter,
    DateTimeBetweenFilter,
    DateTimeSmallerFilter,
    FilterEqual,
)
from flask_login import current_user

from circle.extensions import db
from circle.inputs import parse_id
from circle.org.models import BusinessCircle
from circle.permissions import scope_by_circle, scope_communities
from circle.timeutil import local_zone


class _RowsAsOptions:
    """Filter options (id, name) read from a reference table once per list page.

    Flask-Admin caches filter options when the view is built, before any database exists;
    an iterable that queries on iteration keeps the dropdown current — and limited to what
    the signed-in user may see. Only the two columns are selected (never the rows as ORM
    objects: a thousand circles cost a fifth of a list page), and the pairs are kept for
    the rest of the request, which iterates them more than once.
    """

    def __init__(self, model, order_by, label=None):
        self.model, self.order_by = model, order_by
        self.label = label if label is not None else model.name

    def __bool__(self) -> bool:
        return True

    def __iter__(self):
        cache = g.setdefault("circle_filter_options", {})
        key = (self.model, str(self.order_by), str(self.label),
               getattr(current_user, "id", None))
        if key not in cache:
            stmt = sa.select(self.model.id, self.label)
            stmt = restrict_to_user(stmt, self.model, current_user).order_by(self.order_by)
            cache[key] = [(str(row_id), str(name)) for row_id, name in db.session.execute(stmt)]
        return iter(cache[key])


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
                         options=_RowsAsOptions(model, order_by or model.name))


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
        super().__init__(circle_column, name, options=_RowsAsOptions(model, model.name))

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
