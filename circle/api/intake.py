"""Registering a 12345 hotline work order as an issue (plain functions, no request inside).

Idempotency: the work-order number is unique in the database (``issue.work_order_no``). A
number already registered in the token's community returns that issue; in another community
it is a conflict (and nothing about the other issue is revealed). Two identical requests at
the same moment both pass the first look-up, but only one insert can win the unique index:
the loser's registration fails, the look-up is repeated, and it returns the winner's issue.

Merchants not yet registered are created in the community's holding circle (待审核商户), in
the same transaction as the issue, so a refused registration leaves no stray merchant.
"""

from __future__ import annotations

import sqlalchemy as sa

from circle.api.models import ApiToken
from circle.audit.recording import audit_context
from circle.extensions import db
from circle.i18n import lazy_gettext as _l
from circle.issues import workflow
from circle.issues.models import Issue, IssueCategory, IssueSource
from circle.merchants.models import Merchant
from circle.org.models import BusinessCircle
from circle.transaction import unit_of_work

#: The circle where merchants first met through a work order wait for a specialist to
#: check them and move them to their real circle.
HOLDING_CIRCLE_NAME = "待审核商户"
HOLDING_CIRCLE_DESCRIPTION = "由12345热线工单自动登记、待社区核实的商户。"
#: The issue source used for work orders; any active hotline source is the fallback.
HOTLINE_SOURCE_NAME = "12345热线工单"


class IntakeError(Exception):
    """The work order cannot be registered: HTTP status, message, field messages.

    ``message`` and the field messages may be lazy translations (rendered by the API).
    """

    def __init__(self, status: int, message, fields: dict | None = None):
        super().__init__(str(message))
        self.status, self.message, self.fields = status, message, fields or {}


def community_circles(community_id: int):
    """A SELECT of the ids of the community's business circles."""
    return sa.select(BusinessCircle.id).where(BusinessCircle.community_id == community_id)


def in_community(circle_id: int | None, community_id: int) -> bool:
    return circle_id is not None and db.session.scalar(
        sa.select(BusinessCircle.community_id).where(BusinessCircle.id == circle_id)
    ) == community_id


def existing_issue(token: ApiToken, work_order_no: str) -> Issue | None:
    """The issue already registered for this work order, if the token may see it.

    Raises a 409 :class:`IntakeError` if another community registered it.
    """
    issue = db.session.scalar(sa.select(Issue).where(Issue.work_order_no == work_order_no))
    if issue is None:
        return None
    if not in_community(issue.circle_id, token.community_id):
        raise IntakeError(409, _l("This 12345 work order is already registered by another "
                                  "community."), {"work_order_no": [_l("Already registered.")]})
    return issue


def holding_circle(community_id: int) -> BusinessCircle:
    """The community's circle for merchants awaiting review (created on first use)."""
    circle = db.session.scalar(sa.select(BusinessCircle).where(
        BusinessCircle.community_id == community_id,
        BusinessCircle.name == HOLDING_CIRCLE_NAME,
    ))
    if circle is None:
        circle = BusinessCircle(name=HOLDING_CIRCLE_NAME, community_id=community_id,
                                description=HOLDING_CIRCLE_DESCRIPTION)
        db.session.add(circle)
    return circle


def _merchant_error(path: str, message) -> IntakeError:
    return IntakeError(422, _l("The merchant cannot be identified."), {path: [message]})


def resolve_merchant(token: ApiToken, ref: dict) -> Merchant:
    """The merchant a work order is about (see :class:`~circle.api.schemas.MerchantRefSchema`).

    A new merchant is added to the session (not flushed, not committed).
    """
    community_id = token.community_id
    merchant = None
    if ref.get("id"):
        merchant = db.session.get(Merchant, ref["id"])
        if merchant is None or not in_community(merchant.circle_id, community_id):
            raise _merchant_error("merchant.id",
                                  _l("No merchant with this id in the token's community."))
        path = "merchant.id"
    elif ref.get("credit_code"):
        merchant = db.session.scalar(
            sa.select(Merchant).where(Merchant.credit_code == ref["credit_code"]))
        if merchant is not None and not in_community(merchant.circle_id, community_id):
            raise _merchant_error("merchant.credit_code",
                                  _l("This credit code belongs to a merchant of another "
                                     "community."))
        if merchant is None and not (ref.get("shop_name") and ref.get("phone")):
            raise _merchant_error("merchant.credit_code",
                                  _l("No merchant has this credit code yet; also give shop_name "
                                     "and phone to register it for review."))
        path = "merchant.credit_code"
    if merchant is None:
        # Same shop calling again before anyone reviewed it: reuse, don't duplicate.
        merchant = db.session.scalar(
            sa.select(Merchant).where(
                Merchant.circle_id.in_(community_circles(community_id)),
                Merchant.shop_name == ref["shop_name"],
                Merchant.phone == ref["phone"],
            ).order_by(Merchant.id)
        )
        path = "merchant"
    if merchant is None:
        merchant = Merchant(shop_name=ref["shop_name"], phone=ref["phone"],
                            owner_name=ref.get("owner_name") or "",
                            address=ref.get("address") or "",
                            credit_code=ref.get("credit_code") or None,
                            circle=holding_circle(community_id))
        db.session.add(merchant)
        return merchant
    if not merchant.active:
        raise _merchant_error(path, _l("This merchant is marked inactive in the panel."))
    return merchant


def _category(name: str) -> IssueCategory:
    category = db.session.scalar(
        sa.select(IssueCategory).where(IssueCategory.name == name, IssueCategory.active))
    if category is None:
        known = db.session.scalars(sa.select(IssueCategory.name).where(IssueCategory.active)
                                   .order_by(IssueCategory.sort_order, IssueCategory.name))
        raise IntakeError(422, _l("Unknown issue category."), {"category": [
            _l("Use one of: %(names)s.", names=", ".join(known))]})
    return category


def hotline_source() -> IssueSource:
    """The issue source for 12345 work orders."""
    source = db.session.scalar(
        sa.select(IssueSource).where(IssueSource.active, IssueSource.is_hotline)
        .order_by(IssueSource.name != HOTLINE_SOURCE_NAME, IssueSource.sort_order)
        .limit(1))
    if source is None:
        raise IntakeError(422, _l("No active 12345 hotline issue source is configured; ask an "
                                  "administrator."))
    return source


def _status_for(error: workflow.WorkflowError) -> int:
    if isinstance(error, workflow.NotAllowed):
        return 403
    if isinstance(error, workflow.InvalidInput):
        return 422
    return 409


DISPATCHED_BY_12345 = _l("Dispatched by the 12345 hotline")


def register_work_order(token: ApiToken, order: dict, *,
                        remote_addr: str = "") -> tuple[Issue, bool]:
    """Register ``order`` (validated by ``IssueCreateSchema``) as the token's service account.

    Returns ``(issue, created)``; ``created`` is ``False`` when the work order was already
    registered. Raises :class:`IntakeError` when it cannot be registered.
    """
    number = order["work_order_no"]
    issue = existing_issue(token, number)
    if issue is not None:
        return issue, False
    actor = token.service_user
    for attempt in (1, 2):
        try:
            category = _category(order["category"])
            source = hotline_source()
            # New circles and merchants are written to the audit log as the service account.
            with audit_context(actor, remote_addr):
                merchant = resolve_merchant(token, order["merchant"])
                # The workflow checks the merchant's circle, which needs ids.
                db.session.flush()
        except sa.exc.IntegrityError:
            # A concurrent request created the same holding circle or merchant first.
            db.session.rollback()
            if attempt == 1:
                continue
            raise IntakeError(409, _l("Another request changed the same data; try again.")
                              ) from None
        except IntakeError:
            db.session.rollback()
            raise
        try:
            with unit_of_work():
                issue = workflow.register_issue(
                    actor, merchant=merchant, category=category, source=source,
                    severity=order["severity"], description=order["description"],
                    work_order_no=number,
                )
                # A work order the city dispatched is the community's to sign for (签收):
                # it goes straight to the specialists' board, its signing clock running.
                workflow.escalate_to_community(issue, actor, note=str(DISPATCHED_BY_12345),
                                               expected_version=None)
            return issue, True
        except workflow.WorkflowError as exc:
            # Rolled back. Lost the race for this work order? Then the winner's issue is
            # the answer.
            issue = existing_issue(token, number)
            if issue is not None:
                return issue, False
            # The workflow names its inputs as the request body does.
            fields = {name: [message] for name, message in getattr(exc, "fields", {}).items()}
            raise IntakeError(_status_for(exc), exc.message, fields) from None
    raise AssertionError("unreachable")
