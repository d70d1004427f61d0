"""Who hears what: one table of defaults, edited here.

:data:`ON_EVENT` maps a timeline event (``IssueEvent.action``) to the kind of notice it
makes and the audiences who hear it; :data:`ON_KIND` gives the audiences of the notices
the job engine makes itself (deadline thresholds, the escalation ladder, the digest).
An audience is resolved to people by :func:`recipients`, from the issue alone, at the
moment the notice is written (in the transaction of the event).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from circle.accounts.models import Role, User, user_circle
from circle.i18n import lazy_gettext as _l
from circle.issues.models import Severity
from circle.org.models import BusinessCircle


class Kind:
    """What a notice is about (its label says it to people)."""

    NEW_ISSUE = "new_issue"
    ESCALATED = "escalated"
    ACCEPTED = "accepted"
    FIRST_CONTACT = "first_contact"
    RESOLVED = "resolved"
    CALLBACK_DUE = "callback_due"
    DISSATISFIED = "dissatisfied"
    RETURNED = "returned"
    AT_RISK = "at_risk"
    OVERDUE = "overdue"
    LADDER = "ladder"
    SUPERVISED = "supervised"
    CHASED = "chased"
    EXTENSION_REQUESTED = "extension_requested"
    EXTENSION_DECIDED = "extension_decided"
    RETURN_REQUESTED = "return_requested"
    RETURN_DECIDED = "return_decided"
    TRANSFERRED = "transferred"
    DIGEST = "digest"


KIND_LABELS = {
    Kind.NEW_ISSUE: _l("New issue in your circle"),
    Kind.ESCALATED: _l("Issue escalated to the community"),
    Kind.ACCEPTED: _l("Issue accepted by a specialist"),
    Kind.FIRST_CONTACT: _l("Merchant contacted"),
    Kind.RESOLVED: _l("Issue resolved"),
    Kind.CALLBACK_DUE: _l("Callback due"),
    Kind.DISSATISFIED: _l("Dissatisfied callback: handle again"),
    Kind.RETURNED: _l("Issue back in the queue"),
    Kind.AT_RISK: _l("Deadline at 75 %"),
    Kind.OVERDUE: _l("Overdue"),
    Kind.LADDER: _l("Overdue, escalated to the street"),
    Kind.SUPERVISED: _l("Supervision order (督办)"),
    Kind.CHASED: _l("Reminder to act (催办)"),
    Kind.EXTENSION_REQUESTED: _l("Extension requested"),
    Kind.EXTENSION_DECIDED: _l("Extension decided"),
    Kind.RETURN_REQUESTED: _l("Return requested"),
    Kind.RETURN_DECIDED: _l("Return decided"),
    Kind.TRANSFERRED: _l("Issue transferred to your community: sign for it"),
    Kind.DIGEST: _l("Daily digest"),
}


class Audience:
    """Who, relative to an issue, hears a notice."""

    LIAISONS = "liaisons"  # the liaison officers of the issue's circle
    SPECIALISTS = "specialists"  # the hotline specialists of the issue's community
    ASSIGNEE = "assignee"  # the assigned specialist; unassigned: whoever handles the level
    CALLBACK_STAFF = "callback_staff"  # the callback staff of the issue's community
    APPROVERS = "approvers"  # who approves extensions and returns: street leaders, admins
    STREET_LEADERS = "street_leaders"  # the leaders of the community's street


@dataclass(frozen=True)
class Rule:
    kind: str
    audiences: tuple[str, ...]


#: Timeline event → the notice it makes and who hears it. Events not listed make none.
ON_EVENT: dict[str, Rule] = {
    "register": Rule(Kind.NEW_ISSUE, (Audience.LIAISONS,)),
    "escalate": Rule(Kind.ESCALATED, (Audience.SPECIALISTS,)),
    "accept": Rule(Kind.ACCEPTED, (Audience.LIAISONS,)),
    "first_contact": Rule(Kind.FIRST_CONTACT, (Audience.LIAISONS,)),
    # Resolved: the community's callback staff now owe the merchant a call.
    "resolve": Rule(Kind.CALLBACK_DUE, (Audience.CALLBACK_STAFF,)),
    # 重办 after a dissatisfied (or "not solved") callback: back to the specialist.
    "rehandle": Rule(Kind.DISSATISFIED, (Audience.ASSIGNEE,)),
    "supervise": Rule(Kind.SUPERVISED, (Audience.ASSIGNEE,)),
    "chase": Rule(Kind.CHASED, (Audience.ASSIGNEE,)),
    "request_extension": Rule(Kind.EXTENSION_REQUESTED, (Audience.APPROVERS,)),
    "approve_extension": Rule(Kind.EXTENSION_DECIDED, (Audience.ASSIGNEE,)),
    "refuse_extension": Rule(Kind.EXTENSION_DECIDED, (Audience.ASSIGNEE,)),
    "request_return": Rule(Kind.RETURN_REQUESTED, (Audience.APPROVERS,)),
    "approve_return": Rule(Kind.RETURN_DECIDED, (Audience.ASSIGNEE, Audience.SPECIALISTS)),
    "refuse_return": Rule(Kind.RETURN_DECIDED, (Audience.ASSIGNEE,)),
    # The receiving community's specialists must sign for a transferred issue (the issue's
    # circle is already the new one when the event is written).
    "transfer": Rule(Kind.TRANSFERRED, (Audience.SPECIALISTS,)),
}

#: The notices the job engine writes itself.
ON_KIND: dict[str, tuple[str, ...]] = {
    Kind.AT_RISK: (Audience.ASSIGNEE,),
    Kind.OVERDUE: (Audience.ASSIGNEE, Audience.SPECIALISTS),
    # The escalation ladder's next rung, CIRCLE_NOTIFY_LADDER_MINUTES after overdue.
    Kind.LADDER: (Audience.STREET_LEADERS,),
}

#: Kinds (and, when given, only of these severities) that ping WeCom groups even during
#: quiet hours; every other outside message waits for the end of the quiet hours.
NIGHT_PINGS: dict[str, tuple[str, ...]] = {
    Kind.OVERDUE: (Severity.BIG,),
    Kind.LADDER: (Severity.BIG,),
}


def pings_at_night(kind: str, severity: str | None) -> bool:
    """Whether a notice of ``kind`` about a ``severity`` matter may wake people."""
    return kind in NIGHT_PINGS and severity in NIGHT_PINGS[kind]


# --- audiences to people ------------------------------------------------------------------

def _people():
    return sa.select(User.id).where(User.active, User.is_service_account.is_(False))


def _community_of(connection, circle_id: int) -> int | None:
    return connection.scalar(
        sa.select(BusinessCircle.community_id).where(BusinessCircle.id == circle_id))


def _in_community(connection, role: str, circle_id: int) -> list[int]:
    community_id = _community_of(connection, circle_id)
    return list(connection.scalars(
        _people().where(User.role == role, User.community_id == community_id)))


def street_leaders_for(connection, community_id: int | None) -> list[int]:
    """The ids of the street leaders who answer for a community: active accounts with the
    leader role, of the community's street or district-wide (no street)."""
    from circle.org.models import Community

    if community_id is None:
        return []
    street = sa.select(Community.street_id).where(Community.id == community_id)
    stmt = _people().where(User.role == Role.LEADER, sa.or_(
        User.street_id.is_(None), User.street_id.in_(street.scalar_subquery())))
    return list(connection.scalars(stmt))


def _audience(connection, audience: str, issue, cache: dict) -> list[int]:
    if audience == Audience.ASSIGNEE:
        if issue.assignee_id:
            return [issue.assignee_id]
        # Nobody assigned: whoever handles the issue at its level.
        fallback = Audience.LIAISONS if (issue.level or 1) == 1 else Audience.SPECIALISTS
        return _audience(connection, fallback, issue, cache)
    # Everything else depends on the circle alone: a scan asks once per circle.
    key = (audience, issue.circle_id)
    if key not in cache:
        cache[key] = _of_circle(connection, audience, issue.circle_id)
    return cache[key]


def _of_circle(connection, audience: str, circle_id: int) -> list[int]:
    if audience == Audience.LIAISONS:
        return list(connection.scalars(_people().where(
            User.role == Role.LIAISON,
            User.id.in_(sa.select(user_circle.c.user_id)
                        .where(user_circle.c.circle_id == circle_id)))))
    if audience == Audience.SPECIALISTS:
        return _in_community(connection, Role.SPECIALIST, circle_id)
    if audience == Audience.CALLBACK_STAFF:
        return _in_community(connection, Role.STAFF, circle_id)
    community_id = _community_of(connection, circle_id)
    if audience == Audience.STREET_LEADERS:
        return street_leaders_for(connection, community_id)
    if audience == Audience.APPROVERS:
        admins = list(connection.scalars(_people().where(User.role == Role.ADMIN)))
        return street_leaders_for(connection, community_id) + admins
    raise ValueError(f"unknown audience {audience!r}")


def recipients(connection, audiences: tuple[str, ...], issue, *,
               actor_id: int | None = None, cache: dict | None = None) -> list[int]:
    """The people an issue's notice goes to, in order, each once; never the person whose
    own action caused it. ``cache`` keeps the answers per circle across many notices."""
    cache = {} if cache is None else cache
    seen: list[int] = []
    for audience in audiences:
        for user_id in _audience(connection, audience, issue, cache):
            if user_id not in seen and user_id != actor_id:
                seen.append(user_id)
    return seen
