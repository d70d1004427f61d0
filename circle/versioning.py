"""Optimistic locking for rows people edit in the admin.

A :class:`Versioned` model carries a ``version`` that SQLAlchemy bumps on every UPDATE and
compares in its WHERE clause (``version_id_col``): of two people saving the same row, the
second's UPDATE matches nothing and fails (``StaleDataError``) instead of overwriting the
first's change. The admin's edit forms carry the version the person saw
(:class:`circle.adminkit.CircleModelView`) and refuse a save made from an older one.
"""

from __future__ import annotations

from sqlalchemy.orm import Mapped, declared_attr, mapped_column


class Versioned:
    """Mixin: a ``version`` column compared and bumped by every ORM UPDATE."""

    version: Mapped[int] = mapped_column(default=1, server_default="1")

    @declared_attr.directive
    def __mapper_args__(cls):
        return {"version_id_col": cls.__table__.c.version}
