"""Who may see what: row-level scope of merchants and issues, in plain functions.

- admin: everything;
- specialist and staff: the merchants and issues of their own community;
- liaison: the merchants and issues of their own business circle(s).

Every list, form choice and workflow action goes through these, so the rule lives here once.
"""

from __future__ import annotations

import sqlalchemy as sa

from circle.accounts.models import Role, User, user_circle
from circle.org.models import BusinessCircle


def circle_ids_subquery(user: User):
    """A SELECT of the circle ids ``user`` works in, or ``None`` for no restriction."""
    if user.role == Role.ADMIN:
        return None
    if user.role == Role.LIAISON:
        return sa.select(user_circle.c.circle_id).where(user_circle.c.user_id == user.id)
    if user.community_id is None:
        return sa.select(BusinessCircle.id).where(sa.false())
    return sa.select(BusinessCircle.id).where(BusinessCircle.community_id == user.community_id)


def scope_by_circle(stmt, circle_column, user: User):
    """Restrict a statement to rows whose ``circle_column`` is in the user's scope."""
    circles = circle_ids_subquery(user)
    return stmt if circles is None else stmt.where(circle_column.in_(circles))


def circle_in_scope(user: User, circle_id: int | None) -> bool:
    """Whether the user may see things in this business circle."""
    if user.role == Role.ADMIN:
        return True
    if circle_id is None:
        return False
    if user.role == Role.LIAISON:
        return any(circle.id == circle_id for circle in user.circles)
    from circle.extensions import db

    community_id = db.session.scalar(
        sa.select(BusinessCircle.community_id).where(BusinessCircle.id == circle_id)
    )
    return community_id is not None and community_id == user.community_id


def issue_in_scope(user: User, issue) -> bool:
    return circle_in_scope(user, issue.circle_id)


def merchant_in_scope(user: User, merchant) -> bool:
    return circle_in_scope(user, merchant.circle_id)


def scope_communities(stmt, community_column, user: User):
    """Restrict a statement to the communities the user works in."""
    from circle.org.models import BusinessCircle

    if user.role == Role.ADMIN:
        return stmt
    if user.role == Role.LIAISON:
        mine = sa.select(BusinessCircle.community_id).where(
            BusinessCircle.id.in_(circle_ids_subquery(user))
        )
        return stmt.where(community_column.in_(mine))
    return stmt.where(community_column == user.community_id)


# Roles that telephone merchants (dispatch, on-site work, callbacks) see numbers in full;
# others see them masked (138****1234).
FULL_PHONE_ROLES = (Role.ADMIN, Role.SPECIALIST, Role.STAFF)


def may_see_full_phone(user: User | None) -> bool:
    return user is not None and getattr(user, "role", None) in FULL_PHONE_ROLES
