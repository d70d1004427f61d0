"""Who may do what, and who may see which rows: the permission table and row scope.

Two separate questions, each answered here once:

- **Capabilities** (:data:`PERMISSIONS`): what a role may do at all — see merchants, see full
  phone numbers, register an issue, dispatch, record a callback, approve an extension,
  export, administer users…
  Views, templates, forms, the workflow engine and the API ask :func:`can`; none of them
  names a role. Giving a role a new right is one line in the table.
- **Row scope** (:func:`circle_ids_subquery` and friends): which business circles' merchants
  and issues a user may see — an administrator everything, specialists and callback staff
  their community, liaison officers their own circle(s), a street leader the communities of
  the street (a leader without a street, the whole district).
"""

from __future__ import annotations

from enum import StrEnum

import sqlalchemy as sa

from circle.accounts.models import Role, User, user_circle
from circle.org.models import BusinessCircle, Community


class Cap(StrEnum):
    """A capability: one thing a role may do. The value is what templates pass to ``can``."""

    SEE_DASHBOARD = "see_dashboard"
    SEE_MERCHANTS = "see_merchants"
    SEE_ISSUES = "see_issues"
    SEE_FULL_PHONE = "see_full_phone"
    CALL_ISSUE_MERCHANT = "call_issue_merchant"
    SEE_TIMELINE_LOG = "see_timeline_log"
    SEE_AUDIT_LOG = "see_audit_log"
    EDIT_MERCHANTS = "edit_merchants"
    DELETE_MERCHANTS = "delete_merchants"
    IMPORT_MERCHANTS = "import_merchants"
    # The loop: the steps of circle.issues.steps name these.
    REGISTER_ISSUE = "register_issue"
    RESOLVE_AT_LEVEL1 = "resolve_at_level1"
    ESCALATE = "escalate"
    HOLD_ISSUE = "hold_issue"
    HANDLE_ESCALATED = "handle_escalated"
    SEE_DISPATCH_BOARD = "see_dispatch_board"
    DISPATCH = "dispatch"
    ASSIGN_OTHERS = "assign_others"
    WORK_ON_SITE = "work_on_site"
    RECORD_CALLBACK = "record_callback"
    # The 12345 work-order lifecycle around the loop.
    CONTACT_MERCHANT = "contact_merchant"
    REQUEST_EXCEPTION = "request_exception"
    APPROVE_EXCEPTION = "approve_exception"
    TRANSFER = "transfer"
    SUPERVISE = "supervise"
    EDIT_ISSUES = "edit_issues"
    EXPORT = "export"
    ADMINISTER_USERS = "administer_users"
    MANAGE_OWN_DEVICES = "manage_own_devices"
    ADMINISTER_ORGANISATION = "administer_organisation"
    ADMINISTER_REFERENCE_DATA = "administer_reference_data"
    MANAGE_API_TOKENS = "manage_api_tokens"
    # The merchant through the shop's own link (circle.selfreport), never a person's account.
    SELF_REPORT = "self_report"
    MANAGE_REPORT_LINKS = "manage_report_links"


#: What each capability allows (the README's table is generated from this and PERMISSIONS).
MEANING: dict[Cap, str] = {
    Cap.SEE_DASHBOARD: "the overview and its figures (of the rows in scope)",
    Cap.SEE_MERCHANTS: "merchant lists and pages",
    Cap.SEE_ISSUES: "issue lists, the issue desk and the records of visits, symposiums, callbacks",
    Cap.SEE_FULL_PHONE: "merchants' and contacts' numbers unmasked in lists, details and forms",
    Cap.CALL_ISSUE_MERCHANT: "the numbers of an issue's merchant as one-tap links on the desk "
                             "and boards",
    Cap.SEE_TIMELINE_LOG: "every issue event, across issues",
    Cap.SEE_AUDIT_LOG: "the activity log (a leader: the records of the circles in scope)",
    Cap.EDIT_MERCHANTS: "create and edit merchants with their emergency contacts",
    Cap.DELETE_MERCHANTS: "delete merchants",
    Cap.IMPORT_MERCHANTS: "import merchants from CSV or XLSX",
    Cap.REGISTER_ISSUE: "register an issue",
    Cap.RESOLVE_AT_LEVEL1: "resolve an issue at level 1",
    Cap.ESCALATE: "escalate an issue to the community",
    Cap.HOLD_ISSUE: "hold, resume, withdraw an issue, or merge it into the one it repeats",
    Cap.HANDLE_ESCALATED: "act on an issue above level 1",
    Cap.SEE_DISPATCH_BOARD: "the dispatch board (its buttons as the other rights allow)",
    Cap.DISPATCH: "sign for (签收) and accept an issue",
    Cap.ASSIGN_OTHERS: "assign an issue to a specialist other than oneself",
    Cap.WORK_ON_SITE: "visits, joint offices, symposiums; resolve at levels 2–4",
    Cap.RECORD_CALLBACK: "the callback queue; record callbacks",
    Cap.CONTACT_MERCHANT: "record the first contact with the merchant (先行联系)",
    Cap.REQUEST_EXCEPTION: "ask for an extension (延期申请) or the return (退单) of an issue",
    Cap.APPROVE_EXCEPTION: "approve or refuse extensions and returns",
    Cap.TRANSFER: "transfer an issue to another business circle or community (转办)",
    Cap.SUPERVISE: "issue supervision orders (督办) on issues",
    Cap.EDIT_ISSUES: "correct an issue's registration fields",
    Cap.EXPORT: "the satisfaction export",
    Cap.ADMINISTER_USERS: "user accounts, and the devices each one is signed in on",
    Cap.MANAGE_OWN_DEVICES: "the list of one's own signed-in devices; sign any of them out",
    Cap.ADMINISTER_ORGANISATION: "communities, circles, departments, advisors and collectors",
    Cap.ADMINISTER_REFERENCE_DATA: "categories, sources, department kinds, SLA policy, working "
                                   "hours, holidays",
    Cap.MANAGE_API_TOKENS: "API tokens of the 12345 integration",
    Cap.MANAGE_REPORT_LINKS: "revoke and reissue a merchant's QR report link",
    Cap.SELF_REPORT: "report a problem of one's own shop, follow it, rate it or say it is "
                     "not solved (the QR sticker's link; no account)",
}


_EVERYONE = frozenset(Role.ALL)
_ADMIN = frozenset({Role.ADMIN})
_COMMUNITY = frozenset({Role.ADMIN, Role.SPECIALIST})
_HANDLERS = frozenset({Role.ADMIN, Role.SPECIALIST, Role.LIAISON})
_CALLERS = frozenset({Role.ADMIN, Role.STAFF})
# Street leaders see, approve and supervise; they change no case data otherwise.
_LEADERS = frozenset({Role.ADMIN, Role.LEADER})
_OVERSEERS = frozenset({Role.ADMIN, Role.SPECIALIST, Role.LEADER})

#: Not an account's role: whoever holds a merchant's own report link (the QR sticker) acts
#: as this (:class:`circle.selfreport.links.MerchantLink`), on that merchant's issues only.
MERCHANT_LINK = "merchant_link"

#: The permission table: capability → the roles that hold it.
PERMISSIONS: dict[Cap, frozenset[str]] = {
    Cap.SEE_DASHBOARD: _EVERYONE,
    Cap.SEE_MERCHANTS: _EVERYONE,
    Cap.SEE_ISSUES: _EVERYONE,
    # Roles that telephone merchants (dispatch, on-site work, callbacks) see numbers in
    # full; liaison officers see them masked (138****1234).
    Cap.SEE_FULL_PHONE: frozenset({Role.ADMIN, Role.SPECIALIST, Role.STAFF}),
    # On the desk and the boards, whoever handles an issue phones its merchant: one tap.
    # Leaders oversee; they do not phone merchants, and see numbers masked.
    Cap.CALL_ISSUE_MERCHANT: _EVERYONE - {Role.LEADER},
    Cap.SEE_TIMELINE_LOG: _ADMIN,
    Cap.SEE_AUDIT_LOG: _LEADERS,
    Cap.EDIT_MERCHANTS: _HANDLERS,
    Cap.DELETE_MERCHANTS: _ADMIN,
    Cap.IMPORT_MERCHANTS: _COMMUNITY,
    Cap.REGISTER_ISSUE: _HANDLERS,
    Cap.RESOLVE_AT_LEVEL1: _HANDLERS,
    Cap.ESCALATE: _HANDLERS,
    Cap.HOLD_ISSUE: _HANDLERS,
    Cap.HANDLE_ESCALATED: _COMMUNITY,
    Cap.SEE_DISPATCH_BOARD: _OVERSEERS,
    Cap.DISPATCH: _COMMUNITY,
    # A specialist hands an issue to the colleague on duty; an administrator dispatches.
    Cap.ASSIGN_OTHERS: _COMMUNITY,
    Cap.WORK_ON_SITE: _COMMUNITY,
    Cap.RECORD_CALLBACK: _CALLERS,
    Cap.CONTACT_MERCHANT: _COMMUNITY,
    Cap.REQUEST_EXCEPTION: _COMMUNITY,
    Cap.APPROVE_EXCEPTION: _LEADERS,
    Cap.TRANSFER: _COMMUNITY,
    Cap.SUPERVISE: _LEADERS,
    Cap.EDIT_ISSUES: _COMMUNITY,
    Cap.EXPORT: _CALLERS,
    Cap.ADMINISTER_USERS: _ADMIN,
    Cap.MANAGE_OWN_DEVICES: _EVERYONE,
    Cap.ADMINISTER_ORGANISATION: _ADMIN,
    Cap.ADMINISTER_REFERENCE_DATA: _ADMIN,
    Cap.MANAGE_API_TOKENS: _ADMIN,
    Cap.MANAGE_REPORT_LINKS: _ADMIN,
    Cap.SELF_REPORT: frozenset({MERCHANT_LINK}),
}


def can(user: User | None, capability: Cap | str) -> bool:
    """Whether ``user`` holds ``capability``: signed in, active, and in a role that has it.

    Unknown capability names raise ``ValueError`` (a typo must not quietly deny or allow).
    """
    capability = Cap(capability)
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if not getattr(user, "active", False):
        return False
    return user.role in PERMISSIONS[capability]


def roles_with(capability: Cap | str) -> frozenset[str]:
    """The roles holding ``capability`` (for docs and for picking people, e.g. assignees)."""
    return PERMISSIONS[Cap(capability)]


def _sees_everything(user: User) -> bool:
    """An administrator, or a district leader (a leader with no street)."""
    return user.role == Role.ADMIN or (user.role == Role.LEADER and user.street_id is None)


def _street_community_ids(user: User):
    return sa.select(Community.id).where(Community.street_id == user.street_id)


def circle_ids_subquery(user: User):
    """A SELECT of the circle ids ``user`` works in, or ``None`` for no restriction."""
    if _sees_everything(user):
        return None
    if user.role == Role.LEADER:
        return sa.select(BusinessCircle.id).where(
            BusinessCircle.community_id.in_(_street_community_ids(user)))
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
    if _sees_everything(user):
        return True
    if circle_id is None or user.role == MERCHANT_LINK:
        return False
    if user.role == Role.LIAISON:
        return any(circle.id == circle_id for circle in user.circles)
    from circle.extensions import db

    if user.role == Role.LEADER:
        street_id = db.session.scalar(
            sa.select(Community.street_id).join(BusinessCircle)
            .where(BusinessCircle.id == circle_id))
        return street_id is not None and street_id == user.street_id
    community_id = db.session.scalar(
        sa.select(BusinessCircle.community_id).where(BusinessCircle.id == circle_id)
    )
    return community_id is not None and community_id == user.community_id


def issue_in_scope(user: User, issue) -> bool:
    if user.role == MERCHANT_LINK:  # a merchant's link reaches that merchant's issues only
        return issue.merchant_id == user.merchant_id
    return circle_in_scope(user, issue.circle_id)


def merchant_in_scope(user: User, merchant) -> bool:
    if user.role == MERCHANT_LINK:
        return merchant.id == user.merchant_id
    return circle_in_scope(user, merchant.circle_id)


def scope_communities(stmt, community_column, user: User):
    """Restrict a statement to the communities the user works in."""
    if _sees_everything(user):
        return stmt
    if user.role == Role.LEADER:
        return stmt.where(community_column.in_(_street_community_ids(user)))
    if user.role == Role.LIAISON:
        mine = sa.select(BusinessCircle.community_id).where(
            BusinessCircle.id.in_(circle_ids_subquery(user))
        )
        return stmt.where(community_column.in_(mine))
    return stmt.where(community_column == user.community_id)


def sees_whole_communities(user: User) -> bool:
    """Whether the user's scope is made of whole communities (every circle of each
    community it reaches): true for all but liaisons, whose circles are their own."""
    return user.role != Role.LIAISON and user.role != MERCHANT_LINK


def may_see_full_phone(user: User | None) -> bool:
    """Whether phone numbers are shown to ``user`` in full (else masked)."""
    return can(user, Cap.SEE_FULL_PHONE)


def permissions_table() -> str:
    """The permission table as Markdown (the README embeds it)."""
    holders = (*Role.ALL, MERCHANT_LINK)
    lines = ["| capability | allows | " + " | ".join(holders) + " |",
             "|---|---|" + "---|" * len(holders)]
    for capability in Cap:
        held = " | ".join("✓" if role in PERMISSIONS[capability] else "" for role in holders)
        lines.append(f"| `{capability.value}` | {MEANING[capability]} | {held} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # python -m circle.permissions: the README's table
    print(permissions_table(), end="")
