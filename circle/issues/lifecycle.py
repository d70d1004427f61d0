"""The 12345 work-order lifecycle around the loop, played by the engine of
:mod:`circle.issues.workflow`: first contact (先行联系), extensions (延期) and returns (退单)
decided by a leader, transfers (转办), supervision orders (督办) and the daily chase (催办).

Each step is declared in :data:`circle.issues.steps.STEPS` like every other; these functions
check it, validate their inputs before anything changes, write the event and flush.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from circle.accounts.models import User
from circle.extensions import db
from circle.i18n import lazy_gettext as _l
from circle.issues import sla, workcalendar
from circle.issues.lifecycle_models import (
    ApprovalRequest,
    ContactChannel,
    RequestKind,
    RequestStatus,
    ReturnBasis,
    Supervision,
)
from circle.issues.models import Issue, Status
from circle.issues.workflow import (
    ACTION_FUNCTIONS,
    CLOCK_SKEW,
    IllegalTransition,
    InvalidInput,
    _check,
    _flush,
    _require,
    _take,
    _text,
)
from circle.org.models import BusinessCircle
from circle.timeutil import format_local, utcnow


def _past_time(value: datetime | None, issue: Issue, now: datetime, field: str) -> datetime:
    """A moment that happened: not in the future, not before the issue was reported."""
    if value > now + CLOCK_SKEW:
        raise InvalidInput(_l("The time cannot be in the future."), field=field)
    if value < issue.reported_at.replace(second=0, microsecond=0):
        raise InvalidInput(_l("The time cannot be before the issue was reported."),
                           field=field)
    return value


def record_first_contact(issue: Issue, actor: User, *, contacted_at: datetime | None,
                         channel: str | None, note: str = "", expected_version: int | None,
                         now: datetime | None = None) -> Issue:
    """先行联系: the specialist's first contact with the merchant, by phone or on site."""
    now = now or utcnow()
    _check(issue, actor, "first_contact", expected_version, now)
    _require("first_contact", contacted_at=contacted_at, channel=channel)
    if channel not in ContactChannel.ALL:
        raise InvalidInput(_l("Choose how the merchant was contacted."), field="channel")
    issue.contacted_at = _past_time(contacted_at, issue, now, "contacted_at")
    issue.contact_channel = channel
    from circle.labels import CONTACT_CHANNEL_LABELS

    text = f"{CONTACT_CHANNEL_LABELS[channel]} {format_local(contacted_at)} {_text(note)}"
    _take(issue, actor, "first_contact", now, note=text.strip())
    _flush()
    return issue


def request_extension(issue: Issue, actor: User, *, reason: str,
                      new_deadline: datetime | None, expected_version: int | None,
                      now: datetime | None = None) -> ApprovalRequest:
    """延期申请: before the resolution deadline, ask a leader for a later one."""
    now = now or utcnow()
    _check(issue, actor, "request_extension", expected_version, now)
    _require("request_extension", reason=reason, new_deadline=new_deadline)
    current = issue.resolution_due_at
    if new_deadline <= max(now, current or now):
        raise InvalidInput(_l("The new deadline must be later than the current one."),
                           field="new_deadline")
    request = ApprovalRequest(kind=RequestKind.EXTENSION, reason=_text(reason),
                              old_deadline=current, new_deadline=new_deadline,
                              requested_by=actor, requested_at=now)
    issue.requests.append(request)
    _take(issue, actor, "request_extension", now,
          note=str(_l("Deadline %(old)s → %(new)s asked for: %(reason)s",
                      old=format_local(current) or "—", new=format_local(new_deadline),
                      reason=request.reason)))
    _flush()
    return request


def request_return(issue: Issue, actor: User, *, basis: ReturnBasis | None, reason: str,
                   expected_version: int | None,
                   now: datetime | None = None) -> ApprovalRequest:
    """退单申请: the issue is not the community's remit; cite the basis and explain."""
    now = now or utcnow()
    _check(issue, actor, "request_return", expected_version, now)
    _require("request_return", basis=basis, reason=reason)
    request = ApprovalRequest(kind=RequestKind.RETURN, basis=basis, reason=_text(reason),
                              requested_by=actor, requested_at=now)
    issue.requests.append(request)
    _take(issue, actor, "request_return", now, note=f"{basis}: {request.reason}")
    _flush()
    return request


def decide_request(issue: Issue, actor: User, *, kind: str, approve: bool | None,
                   note: str = "", expected_version: int | None,
                   now: datetime | None = None) -> ApprovalRequest:
    """A leader (or administrator) approves or refuses the waiting extension or return.

    An approved extension moves the resolution deadline to the date asked for; an approved
    return takes the issue out of the community's hands (status ``returned``)."""
    now = now or utcnow()
    if approve is None:
        raise InvalidInput(_l("Choose whether to approve or refuse the request."),
                           field="approve")
    names = {RequestKind.EXTENSION: ("approve_extension", "refuse_extension"),
             RequestKind.RETURN: ("approve_return", "refuse_return")}.get(kind)
    if names is None:
        raise IllegalTransition(_l("Unknown action."))
    name = names[0] if approve else names[1]
    _check(issue, actor, name, expected_version, now)
    _require(name, note=note)
    request = issue.pending_request
    request.status = RequestStatus.APPROVED if approve else RequestStatus.REFUSED
    request.decided_by, request.decided_at = actor, now
    request.decision_note = _text(note)
    text = request.decision_note
    if approve and kind == RequestKind.EXTENSION:
        issue.resolution_due_at = request.new_deadline
        issue.extension_count = (issue.extension_count or 0) + 1
        text = str(_l("Resolution deadline %(old)s → %(new)s (extension approved)",
                      old=format_local(request.old_deadline) or "—",
                      new=format_local(request.new_deadline)))
        if request.decision_note:
            text += f"; {request.decision_note}"
    elif approve:
        # The change feed carries this event to the 12345 platform: say on what basis.
        text = "; ".join(part for part in (
            f"{request.basis}: {request.reason}" if request.basis else request.reason,
            request.decision_note) if part)
        issue.hold_started_at = None
        issue.status_before_hold = None
        issue.closed_at = now
    _take(issue, actor, name, now, note=text)
    _flush()
    return request


def decide_extension(issue: Issue, actor: User, **inputs) -> ApprovalRequest:
    """The desk's decision on a waiting extension (see :func:`decide_request`)."""
    return decide_request(issue, actor, kind=RequestKind.EXTENSION, **inputs)


def decide_return(issue: Issue, actor: User, **inputs) -> ApprovalRequest:
    """The desk's decision on a waiting return (see :func:`decide_request`)."""
    return decide_request(issue, actor, kind=RequestKind.RETURN, **inputs)


def transfer_issue(issue: Issue, actor: User, *, circle: BusinessCircle | None,
                   move_merchant: bool = False, note: str = "",
                   expected_version: int | None, now: datetime | None = None) -> Issue:
    """转办: move the issue to another business circle (and, if asked, its merchant too).

    Within the community it stays where it is in the loop; to another community it waits
    there to be signed for (escalated, level 2, nobody assigned, a new signing-for clock).
    Its resolution clock and its history stay."""
    now = now or utcnow()
    _check(issue, actor, "transfer", expected_version, now)
    _require("transfer", circle=circle)
    if circle.id == issue.circle_id:
        raise InvalidInput(_l("The issue is already in this business circle."), field="circle")
    old_circle = issue.circle
    across = circle.community_id != old_circle.community_id
    name = "transfer_out" if across else "transfer"
    _check(issue, actor, name, expected_version, now)
    issue.circle_id = circle.id
    issue.circle = circle
    if move_merchant:
        issue.merchant.circle_id = circle.id
    text = f"{old_circle} → {circle} {_text(note)}".strip()
    if across:
        issue.assignee = None  # the receiving community's specialists sign for it
    _take(issue, actor, name, now, note=text)
    if across:
        sla.start_community_clocks(issue, sla.policy_for(issue.severity), now,
                                   workcalendar.load_calendar())
    _flush()
    return issue


def supervise_issue(issue: Issue, actor: User, *, note: str, deadline: datetime | None = None,
                    expected_version: int | None, now: datetime | None = None) -> Supervision:
    """督办: a leader's supervision order; the issue carries the 督办 mark until resolved. With
    a deadline, every day after it passes with the issue still open a 催办 is recorded."""
    now = now or utcnow()
    _check(issue, actor, "supervise", expected_version, now)
    _require("supervise", note=note)
    if deadline is not None and deadline <= now:
        raise InvalidInput(_l("The supervision deadline must be in the future."),
                           field="deadline")
    order = Supervision(issued_by=actor, issued_at=now, note=_text(note), deadline=deadline)
    issue.supervisions.append(order)
    issue.supervised_at = now
    text = order.note
    if deadline is not None:
        text = str(_l("%(note)s (by %(deadline)s)", note=order.note,
                      deadline=format_local(deadline)))
    _take(issue, actor, "supervise", now, note=text)
    _flush()
    return order


def chase_overdue_supervisions(now: datetime | None = None) -> int:
    """催办: for each supervision order whose deadline passed before today (local) with its
    issue still open, record one chase today. Safe to run any number of times, from any
    number of processes: the conditional UPDATE of ``last_chased_on`` lets one run per order
    and day through. Returns the chases written. The caller commits."""
    from circle.timeutil import local_zone

    now = now or utcnow()
    zone = local_zone()
    today = now.astimezone(zone).date()
    start_of_today = datetime.combine(today, datetime.min.time(), tzinfo=zone)
    due = db.session.execute(
        sa.select(Supervision.id, Supervision.issue_id)
        .join(Issue, Issue.id == Supervision.issue_id)
        .where(Supervision.deadline < start_of_today, Issue.status.in_(Status.OPEN),
               sa.or_(Supervision.last_chased_on.is_(None),
                      Supervision.last_chased_on < today))
        .order_by(Supervision.id)
    ).all()
    written = 0
    for order_id, issue_id in due:
        claimed = db.session.execute(
            sa.update(Supervision)
            .where(Supervision.id == order_id,
                   sa.or_(Supervision.last_chased_on.is_(None),
                          Supervision.last_chased_on < today))
            .values(last_chased_on=today, chase_count=Supervision.chase_count + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            continue  # another process chased it today
        issue = db.session.get(Issue, issue_id)
        order = db.session.get(Supervision, order_id)
        db.session.refresh(order)
        issue.chase_count = (issue.chase_count or 0) + 1
        _take(issue, None, "chase", now,
              note=str(_l("Supervision deadline %(deadline)s passed; chase %(n)d",
                          deadline=format_local(order.deadline), n=order.chase_count)))
        written += 1
    _flush()
    return written


ACTION_FUNCTIONS.update({
    "first_contact": record_first_contact,
    "request_extension": request_extension,
    "decide_extension": decide_extension,
    "request_return": request_return,
    "decide_return": decide_return,
    "transfer": transfer_issue,
    "supervise": supervise_issue,
})
