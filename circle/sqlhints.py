"""Planner hints that keep queries on the right index on every database.

SQLite's statistics (``ANALYZE`` without STAT4) know how many distinct values a column
has, not how skewed they are: to them ``status IN (the open statuses)`` looks like most
of the issue table, when in a mature deployment 95 % of issues are closed. Left alone,
SQLite then walks a million rows in some index's order rather than look up the few
thousand open ones. PostgreSQL keeps per-value frequencies and needs no hint.
"""

from __future__ import annotations

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import NullType


class Selective(ColumnElement):
    """A condition true for few rows: ``likelihood(condition, p)`` on SQLite (a no-op at
    run time that only informs the planner), the bare condition elsewhere."""

    # NullType, not Boolean: SQLite would otherwise compare the result with 1, and the
    # planner only reads likelihood() as a bare term.
    type = NullType()
    inherit_cache = True
    _traverse_internals = [("condition", InternalTraversal.dp_clauseelement),
                           ("probability", InternalTraversal.dp_plain_obj)]

    def __init__(self, condition, probability: float = 0.02):
        self.condition = condition
        self.probability = probability

    @property
    def _from_objects(self):
        return self.condition._from_objects


def selective(condition, probability: float = 0.02):
    """Mark ``condition`` as true for about ``probability`` of the rows (see module)."""
    return Selective(condition, probability)


@compiles(Selective)
def _compile_default(element, compiler, **kw):
    return compiler.process(element.condition, **kw)


@compiles(Selective, "sqlite")
def _compile_sqlite(element, compiler, **kw):
    return f"likelihood({compiler.process(element.condition, **kw)}, {element.probability!r})"
