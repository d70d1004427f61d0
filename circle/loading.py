"""Loading the collections of a few objects: the empty ones skipped, the rest read plainly.

A page that shows one object with everything recorded about it (the issue desk: its timeline,
visits and their photos, symposiums, callbacks, requests, the merchant's contacts) needs a
dozen collections, most of them empty. ``selectinload`` would read each of them with its own
statement, built again on every query with all the query's loader options in its cache key:
on the desk that was most of the page's time, for statements that mostly found nothing.

:func:`load_collections` instead asks once, in one statement, which of the collections have
rows; marks the empty ones loaded (so that nothing loads them lazily later); and reads each
of the others with one plain ``SELECT`` for all its parents, its own many-to-one
relationships joined in. Then the same for the collections of what it read, level by level.

    load_collections(([issue], {Issue.events: {IssueEvent.actor: {}},
                                Issue.site_visits: {SiteVisit.photos: {}}}),
                     ([issue.merchant], {Merchant.emergency_contacts: {}}))

A specification maps a relationship of the parents to the specification of its own rows:
collections in it are loaded the same way at the next level, many-to-one relationships are
joined into the statement that reads the rows. Only what the desk needs is supported —
collections over one foreign key (or one link table) with no extra join condition, and
many-to-ones with nothing below them; anything else is refused (``ValueError``), not
silently left to lazy loading.
"""

from __future__ import annotations

import functools
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy.orm import RelationshipDirection, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from circle.extensions import db

#: A relationship of the parents (``Issue.events``) to the specification of its rows.
Spec = dict[Any, "Spec"]


def load_collections(*jobs: tuple[list, Spec]) -> None:
    """Load every collection the ``(parents, spec)`` jobs name, and theirs, level by level."""
    for _parents, spec in jobs:
        _check(spec, top=True)
    level = [(parents, attr, inner) for parents, spec in jobs if parents
             for attr, inner in spec.items()]
    # The probe is a plain SELECT: rows added in this session must be in the database first.
    if level and db.session.autoflush:
        db.session.flush()
    while level:
        filled = _which_have_rows(level)
        below = []
        for (parents, attr, inner), has_rows in zip(level, filled, strict=True):
            # A row of a many-to-many collection may belong to several parents: once each.
            children = list(dict.fromkeys(_read(parents, attr, inner))) if has_rows else []
            below.extend((children, child, deeper) for child, deeper in inner.items()
                         if children and _is_collection(child))
            if not has_rows:
                for parent in parents:
                    set_committed_value(parent, attr.key, [])
        level = below


def _is_collection(attr) -> bool:
    return attr.property.uselist


def _check(spec: Spec, *, top: bool) -> None:
    """Refuse what :func:`load_collections` cannot load as asked."""
    for attr, inner in spec.items():
        prop = attr.property
        if prop.direction is RelationshipDirection.MANYTOONE and not top:
            if inner:
                raise ValueError(f"{attr}: nothing can be loaded below a many-to-one")
            continue
        if not prop.uselist or len(prop.synchronize_pairs) != 1 \
                or len(prop.secondary_synchronize_pairs or ()) > 1 \
                or _has_extra_condition(prop):
            raise ValueError(f"{attr}: only collections over one key are loaded here")
        _check(inner, top=False)


def _has_extra_condition(prop) -> bool:
    """Whether the relationship's join says more than its key pairs (a filtered one)."""
    pairs = len(prop.synchronize_pairs) + len(prop.secondary_synchronize_pairs or ())
    conditions = [prop.primaryjoin] + ([prop.secondaryjoin] if prop.secondary is not None
                                       else [])
    compared = sum(len(getattr(c, "clauses", ())) or 1 for c in conditions)
    return compared != pairs


def _parent_keys(parents: Iterable, attr) -> list:
    """The values of the parents' column the collection's rows refer to (usually ids)."""
    (parent_column, _), = attr.property.synchronize_pairs
    key = attr.property.parent.get_property_by_column(parent_column).key
    return [getattr(parent, key) for parent in parents]


def _referring_column(attr) -> sa.Column:
    """The column that holds the parent's key: the rows' foreign key, or the link table's."""
    (_, column), = attr.property.synchronize_pairs
    return column


def _which_have_rows(level: list) -> list[bool]:
    """For each (parents, collection): whether any of the parents has a row in it — all
    asked in one statement."""
    statement = _probe(tuple(attr for _, attr, _ in level))
    keys = {f"keys_{i}": _parent_keys(parents, attr) for i, (parents, attr, _) in
            enumerate(level)}
    return list(db.session.execute(statement, keys).one())


@functools.cache
def _probe(attrs: tuple) -> sa.Select:
    """The statement that asks whether each collection has rows (built once per shape)."""
    return sa.select(*(sa.exists().where(_referring_column(attr).in_(
        sa.bindparam(f"keys_{i}", expanding=True))) for i, attr in enumerate(attrs)))


@functools.cache
def _reader(attr, joined: tuple) -> sa.Select:
    """The statement that reads a collection's rows for a list of parent keys, each row
    with its parent's key, the many-to-one relationships ``joined`` loaded with it."""
    prop = attr.property
    target = prop.mapper.class_
    column = _referring_column(attr)
    keys = sa.bindparam("keys", expanding=True)
    if prop.secondary is None:
        statement = sa.select(column, target).where(column.in_(keys))
    else:
        (target_column, link_column), = prop.secondary_synchronize_pairs
        statement = (sa.select(column, target)
                     .join_from(prop.secondary, target, target_column == link_column)
                     .where(column.in_(keys)))
    if prop.order_by:
        statement = statement.order_by(*prop.order_by)
    return statement.options(*(joinedload(child) for child in joined))


def _read(parents: list, attr, inner: Spec) -> list:
    """Read one collection for all its parents and put each parent's rows in place; returns
    every row read."""
    keys = _parent_keys(parents, attr)
    joined = tuple(child for child in inner
                   if child.property.direction is RelationshipDirection.MANYTOONE)
    by_parent: dict = {}
    rows = []
    for key, row in db.session.execute(_reader(attr, joined), {"keys": keys}):
        by_parent.setdefault(key, []).append(row)
        rows.append(row)
    for parent, key in zip(parents, keys, strict=True):
        set_committed_value(parent, attr.key, by_parent.get(key, []))
    return rows
