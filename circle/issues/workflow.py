"""The four-level closed loop (商铺四级闭环) as plain functions.

Each transition takes the acting user and the issue, checks the actor's role and scope and
the issue's current state against :data:`TRANSITIONS`, changes the issue, appends an
:class:`~circle.issues.models.IssueEvent`, and commits both in one transaction. An illegal
request raises a :class:`WorkflowError` whose message is ready to show (translated), and
changes nothing.

Concurrency: the caller passes the ``expected_version`` of the issue the user was looking at.
If someone else changed it meanwhile — before this request loaded it, or between loading
and committing (the ``version`` column makes the UPDATE conditional) — :class:`StaleIssue`
is raised and nothing is written.

    registered ─┬─ resolve (level 1) ───────────────────────────────┐
                └─ escalate → escalated (2) → accept → dispatched    │
                     dispatched/on_site ─ visit ─ resolved on site ──┤
                     on_site ─ joint office (3, departments) ─ visit ┤
                     joint_office ─ symposium (4, agreed deadline) ──┤
                                                                     ▼
      closed ← callback (satisfied) ─────────────────────────── resolved
      dispatched (2, 重办, new clock) ← callback (dissatisfied / not resolved)

Any open issue can be put on hold (挂起, clocks pause) and resumed, or withdrawn.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.exc import StaleDataError

from circle.accounts.models import Role, User
from circle.extensions import db
from circle.issues import sla
from circle.issues.models import (
    Callback,
    Issue,
    IssueEvent,
    Rating,
    Severity,
    SiteVisit,
    SiteVisitPhoto,
    Status,
    Symposium,
    VisitOutcome,
)
from circle.issues.rules import issue_problem
from circle.permissions import issue_in_scope, merchant_in_scope
from circle.timeutil import utcnow

CALLBACK_ATTEMPTS_BEFORE_UNREACHABLE = 3
PHOTO_TYPES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}
MAX_PHOTOS_PER_VISIT = 6
# Clocks on phones drift: an arrival a few minutes "in the future" is accepted.
CLOCK_SKEW = timedelta(minutes=5)


def human_size(n: int) -> str:
    """A byte count as people read it (5 MB, 64 KB)."""
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.3g} MB"
    return f"{max(1, n // 1024)} KB"


class WorkflowError(Exception):
    """A refused action. ``message`` is a translated, user-facing explanation."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


class NotAllowed(WorkflowError):
    """The actor's role or scope does not allow this action."""


class IllegalTransition(WorkflowError):
    """The issue is not in a state where this action makes sense."""


class InvalidInput(WorkflowError):
    """Something the user entered cannot be accepted."""


class StaleIssue(WorkflowError):
    """Someone else changed the issue first."""

    def __init__(self):
        super().__init__(_l("This issue was changed by someone else in the meantime. "
                            "Reload the page to see the latest state, then try again."))


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    from_statuses: frozenset[str]
    # Liaison officers handle level 1 only.
    liaison_max_level: int = 1


def _rule(roles, statuses) -> Rule:
    return Rule(frozenset(roles), frozenset(statuses))


_OPEN = set(Status.OPEN) - {Status.ON_HOLD}
_HANDLERS = (Role.LIAISON, Role.SPECIALIST, Role.ADMIN)
_COMMUNITY = (Role.SPECIALIST, Role.ADMIN)

#: The permission table of the loop: who may do what from which status.
TRANSITIONS: dict[str, Rule] = {
    "resolve_level1": _rule((Role.LIAISON, Role.SPECIALIST, Role.ADMIN), {Status.REGISTERED}),
    "escalate": _rule(_HANDLERS, {Status.REGISTERED}),
    "accept": _rule(_COMMUNITY, {Status.ESCALATED, Status.DISPATCHED}),
    "visit": _rule(_COMMUNITY, {Status.DISPATCHED, Status.ON_SITE, Status.JOINT_OFFICE}),
    "joint_office": _rule(_COMMUNITY, {Status.DISPATCHED, Status.ON_SITE}),
    "escalate_symposium": _rule(_COMMUNITY, {Status.JOINT_OFFICE}),
    "symposium": _rule(_COMMUNITY, {Status.SYMPOSIUM}),
    "resolve": _rule(_COMMUNITY, {Status.ON_SITE, Status.JOINT_OFFICE, Status.SYMPOSIUM}),
    "hold": _rule(_HANDLERS, _OPEN),
    "resume": _rule(_HANDLERS, {Status.ON_HOLD}),
    "withdraw": _rule(_HANDLERS, set(Status.OPEN)),
    "callback": _rule((Role.STAFF, Role.ADMIN), {Status.RESOLVED}),
}


def allowed_actions(issue: Issue, actor: User) -> set[str]:
    """The actions this user may take on this issue now (for showing the right buttons)."""
    return {name for name in TRANSITIONS if _refusal(issue, actor, name) is None}


def refusal(issue: Issue, actor: User, action: str) -> WorkflowError | None:
    """Why ``actor`` may not take ``action`` on ``issue`` now, or ``None`` if they may."""
    return _refusal(issue, actor, action)


def _refusal(issue: Issue, actor: User, action: str):
    rule = TRANSITIONS[action]
    if actor is None or not actor.active or actor.role not in rule.roles:
        return NotAllowed(_l("Your role does not allow this action."))
    if not issue_in_scope(actor, issue):
        return NotAllowed(_l("This issue is outside your business circles or community."))
    if issue.status not in rule.from_statuses:
        return IllegalTransition(_l("This action is not possible while the issue is "
                                    "in its current state."))
    if actor.role == Role.LIAISON and issue.level > rule.liaison_max_level:
        return NotAllowed(_l("The issue has been escalated; the community handles it now."))
    return None


def _check(issue: Issue, actor: User, action: str, expected_version: int | None) -> None:
    if expected_version is not None and issue.version != expected_version:
        raise StaleIssue()
    refusal = _refusal(issue, actor, action)
    if refusal is not None:
        raise refusal


def _event(issue: Issue, actor: User, action: str, now: datetime, *, from_status: str,
           from_level: int, note: str = "") -> None:
    issue.updated_at = now  # every transition bumps the version, even a pure record
    issue.events.append(IssueEvent(
        actor=actor, action=action, created_at=now, from_status=from_status,
        to_status=issue.status, from_level=from_level, to_level=issue.level, note=note,
    ))


def _commit() -> None:
    db.session.commit()


def transition(func):
    """Run a workflow step as one transaction: all of it, or nothing.

    Any refusal or error rolls the session back, so a half-made change never lingers; a
    conditional UPDATE that matched no row (someone else committed first, detected at
    flush or at commit) becomes :class:`StaleIssue`.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except StaleDataError:
            db.session.rollback()
            raise StaleIssue() from None
        except Exception:
            db.session.rollback()
            raise

    return wrapper


def _move(issue: Issue, actor: User, action: str, now: datetime, *, status: str | None = None,
          level: int | None = None, note: str = "") -> None:
    from_status, from_level = issue.status, issue.level
    if status is not None:
        issue.status = status
    if level is not None:
        issue.level = level
        issue.highest_level = max(issue.highest_level or 1, level)
    _event(issue, actor, action, now, from_status=from_status, from_level=from_level,
           note=note)


def _resolve(issue: Issue, actor: User, summary: str, now: datetime) -> None:
    """Resolved at whatever level the issue is: it now waits for the callback."""
    summary = _required_text(summary, _l("Say how the problem was solved."))
    issue.resolved_at = now
    issue.resolution_summary = summary
    _move(issue, actor, "resolve", now, status=Status.RESOLVED, note=summary)
    _commit()


def _required_text(value: str | None, message) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput(message)
    return value


# --- level 1: registration and the liaison's own handling -----------------------------------

@transition
def register_issue(actor: User, *, merchant, category, source, severity: str,
                   description: str, work_order_no: str | None = None,
                   now: datetime | None = None) -> Issue:
    """Register a merchant's problem at level 1 and start its SLA clocks."""
    now = now or utcnow()
    if actor is None or actor.role not in _HANDLERS:
        raise NotAllowed(_l("Your role does not allow this action."))
    if merchant is None or not merchant_in_scope(actor, merchant):
        raise NotAllowed(_l("Choose a merchant in your own business circles."))
    if severity not in Severity.ALL:
        raise InvalidInput(_l("Choose how serious the matter is."))
    policy = sla.policy_for(severity)
    if policy is None:
        raise InvalidInput(_l("No SLA policy is set for this severity; ask an administrator."))
    issue = Issue(merchant=merchant, category=category, source=source, severity=severity,
                  description=(description or "").strip(), work_order_no=work_order_no)
    with db.session.no_autoflush:
        problem = issue_problem(issue)
    if problem:
        raise InvalidInput(problem)
    issue.circle_id = merchant.circle_id
    issue.reporter = actor
    issue.reported_at = now
    issue.status, issue.level, issue.highest_level = Status.REGISTERED, 1, 1
    sla.start_clocks(issue, policy, now, sla.load_calendar())
    _event(issue, actor, "register", now, from_status=None, from_level=None)
    db.session.add(issue)
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        # Two people registering the same 12345 work order at once: the index decides.
        db.session.rollback()
        raise InvalidInput(_l("This 12345 work order has just been registered by someone "
                              "else.")) from None
    return issue


@transition
def resolve_at_level1(issue: Issue, actor: User, *, summary: str,
                      expected_version: int | None, now: datetime | None = None) -> Issue:
    """The liaison solved it themselves: resolved at level 1, awaiting the callback."""
    now = now or utcnow()
    _check(issue, actor, "resolve_level1", expected_version)
    _resolve(issue, actor, summary, now)
    return issue


@transition
def escalate_to_community(issue: Issue, actor: User, *, note: str = "",
                          expected_version: int | None, now: datetime | None = None) -> Issue:
    """The liaison cannot solve it: hand it to the community hotline specialists (level 2)."""
    now = now or utcnow()
    _check(issue, actor, "escalate", expected_version)
    _move(issue, actor, "escalate", now, status=Status.ESCALATED, level=2,
          note=(note or "").strip())
    _commit()
    return issue


# --- level 2: the hotline specialist ----------------------------------------------------

@transition
def accept_issue(issue: Issue, actor: User, *, assignee: User | None = None,
                 expected_version: int | None, now: datetime | None = None) -> Issue:
    """A specialist takes the issue (or an admin/specialist assigns it to a colleague)."""
    now = now or utcnow()
    _check(issue, actor, "accept", expected_version)
    assignee = assignee or actor
    if assignee.role != Role.SPECIALIST or not assignee.active or not issue_in_scope(
        assignee, issue
    ):
        raise InvalidInput(_l("Assign the issue to an active hotline specialist of its "
                              "community."))
    issue.assignee = assignee
    new_status = Status.DISPATCHED if issue.status == Status.ESCALATED else issue.status
    _move(issue, actor, "accept", now, status=new_status, note=str(assignee))
    _commit()
    return issue


def _photo(upload, actor: User, max_bytes: int) -> SiteVisitPhoto:
    """Check one uploaded file by its content (JPEG or PNG) and size."""
    filename, data = upload
    content_type = next((t for magic, t in PHOTO_TYPES.items() if data.startswith(magic)), None)
    if content_type is None:
        raise InvalidInput(_l("Photos must be JPEG or PNG images."))
    if len(data) > max_bytes:
        raise InvalidInput(_l("Each photo may be at most %(limit)s.",
                              limit=human_size(max_bytes)))
    return SiteVisitPhoto(content_type=content_type, size=len(data), data=data,
                          original_name=(filename or "")[:200], uploaded_by=actor)


@transition
def record_site_visit(issue: Issue, actor: User, *, arrived_at: datetime, outcome: str,
                      findings: str = "", summary: str = "", attendees=(), departments=(),
                      photos=(), photo_max_bytes: int = 5 * 1024 * 1024,
                      expected_version: int | None, now: datetime | None = None) -> SiteVisit:
    """Log an on-site visit (level 2) or joint on-site office (level 3) and its outcome.

    ``outcome`` decides what happens next: resolved on site, a temporary measure (the issue
    stays open at this level), or escalate (to the joint office from level 2, which needs
    ``departments``; to a symposium from level 3). ``photos`` are ``(filename, bytes)``.
    """
    now = now or utcnow()
    _check(issue, actor, "visit", expected_version)
    if outcome not in VisitOutcome.ALL:
        raise InvalidInput(_l("Choose the outcome of the visit."))
    if arrived_at is None or arrived_at > now + CLOCK_SKEW:
        raise InvalidInput(_l("The arrival time cannot be in the future."))
    # Arrival times are typed to the minute; the report time has seconds.
    if arrived_at < issue.reported_at.replace(second=0, microsecond=0):
        raise InvalidInput(_l("The arrival time cannot be before the issue was reported."))
    departments = list(departments)
    level = issue.level
    if level == 3 and not departments:
        raise InvalidInput(_l("A joint on-site office needs at least one department."))
    if outcome == VisitOutcome.ESCALATE and level == 2 and not departments:
        raise InvalidInput(_l("Choose the departments to convene for the joint on-site "
                              "office."))
    if outcome == VisitOutcome.RESOLVED:
        summary = _required_text(summary or findings, _l("Say how the problem was solved."))
    photos = list(photos)
    if len(photos) > MAX_PHOTOS_PER_VISIT:
        raise InvalidInput(_l("At most %(n)d photos per visit.", n=MAX_PHOTOS_PER_VISIT))
    visit = SiteVisit(level=min(level, 3), arrived_at=arrived_at, findings=(findings or "").strip(),
                      outcome=outcome, recorded_by=actor, created_at=now,
                      attendees=list(attendees), departments=departments,
                      photos=[_photo(p, actor, photo_max_bytes) for p in photos])
    issue.site_visits.append(visit)
    if issue.first_on_site_at is None or arrived_at < issue.first_on_site_at:
        issue.first_on_site_at = arrived_at
    if issue.status == Status.DISPATCHED:
        _move(issue, actor, "arrive", now, status=Status.ON_SITE, note=visit.findings)
    else:
        _move(issue, actor, "visit", now, note=visit.findings)
    if outcome == VisitOutcome.RESOLVED:
        issue.resolved_at = now
        issue.resolution_summary = summary
        _move(issue, actor, "resolve", now, status=Status.RESOLVED, note=summary)
    elif outcome == VisitOutcome.ESCALATE and level == 2:
        _move(issue, actor, "joint_office", now, status=Status.JOINT_OFFICE, level=3,
              note="、".join(str(d) for d in departments))
    elif outcome == VisitOutcome.ESCALATE:
        _move(issue, actor, "escalate_symposium", now, status=Status.SYMPOSIUM, level=4)
    _commit()
    return visit


@transition
def escalate_to_joint_office(issue: Issue, actor: User, *, departments, note: str = "",
                             expected_version: int | None,
                             now: datetime | None = None) -> Issue:
    """Level 3: convene the relevant departments and the liaison for a joint office."""
    now = now or utcnow()
    _check(issue, actor, "joint_office", expected_version)
    departments = list(departments)
    if not departments:
        raise InvalidInput(_l("Choose the departments to convene for the joint on-site "
                              "office."))
    text = "、".join(str(d) for d in departments)
    _move(issue, actor, "joint_office", now, status=Status.JOINT_OFFICE, level=3,
          note=f"{text} {note or ''}".strip())
    _commit()
    return issue


@transition
def escalate_to_symposium(issue: Issue, actor: User, *, note: str = "",
                          expected_version: int | None, now: datetime | None = None) -> Issue:
    """Level 4: the joint office could not solve it; a symposium will agree a deadline."""
    now = now or utcnow()
    _check(issue, actor, "escalate_symposium", expected_version)
    _move(issue, actor, "escalate_symposium", now, status=Status.SYMPOSIUM, level=4,
          note=(note or "").strip())
    _commit()
    return issue


@transition
def record_symposium(issue: Issue, actor: User, *, held_at: datetime, agreed_deadline: datetime,
                     participants: str = "", minutes: str = "", departments=(),
                     expected_version: int | None,
                     now: datetime | None = None) -> Symposium:
    """Record the symposium; its agreed deadline replaces the resolution deadline."""
    now = now or utcnow()
    _check(issue, actor, "symposium", expected_version)
    if held_at is None or held_at > now + CLOCK_SKEW:
        raise InvalidInput(_l("The symposium date cannot be in the future."))
    if held_at < issue.reported_at.replace(second=0, microsecond=0):
        raise InvalidInput(_l("The symposium cannot be before the issue was reported."))
    if agreed_deadline is None or agreed_deadline <= max(held_at, now):
        raise InvalidInput(_l("The agreed deadline must be in the future, after the "
                              "symposium."))
    symposium = Symposium(held_at=held_at, agreed_deadline=agreed_deadline,
                          participants=(participants or "").strip(),
                          minutes=(minutes or "").strip(), departments=list(departments),
                          recorded_by=actor, created_at=now)
    issue.symposiums.append(symposium)
    old = issue.resolution_due_at
    issue.resolution_due_at = agreed_deadline
    from circle.timeutil import format_local

    _move(issue, actor, "symposium", now,
          note=str(_l("Resolution deadline %(old)s → %(new)s (agreed at the symposium)",
                      old=format_local(old) or "—", new=format_local(agreed_deadline))))
    _commit()
    return symposium


@transition
def resolve_issue(issue: Issue, actor: User, *, summary: str, expected_version: int | None,
                  now: datetime | None = None) -> Issue:
    """Mark the issue resolved (levels 2–4); it now waits for the callback."""
    now = now or utcnow()
    _check(issue, actor, "resolve", expected_version)
    _resolve(issue, actor, summary, now)
    return issue


# --- at any level: hold, resume, withdraw -------------------------------------------------

@transition
def put_on_hold(issue: Issue, actor: User, *, reason: str, expected_version: int | None,
                now: datetime | None = None) -> Issue:
    """挂起: waiting on the merchant or a third party; the SLA clocks pause."""
    now = now or utcnow()
    _check(issue, actor, "hold", expected_version)
    reason = _required_text(reason, _l("Say what the issue is waiting for."))
    issue.status_before_hold = issue.status
    sla.pause_clocks(issue, now)
    _move(issue, actor, "hold", now, status=Status.ON_HOLD, note=reason)
    _commit()
    return issue


@transition
def resume_issue(issue: Issue, actor: User, *, note: str = "", expected_version: int | None,
                 now: datetime | None = None) -> Issue:
    """Continue a held issue where it was; its deadlines move out by the time on hold."""
    now = now or utcnow()
    _check(issue, actor, "resume", expected_version)
    sla.resume_clocks(issue, now, sla.load_calendar())
    back_to = issue.status_before_hold or Status.REGISTERED
    issue.status_before_hold = None
    _move(issue, actor, "resume", now, status=back_to, note=(note or "").strip())
    _commit()
    return issue


@transition
def withdraw_issue(issue: Issue, actor: User, *, reason: str, expected_version: int | None,
                   now: datetime | None = None) -> Issue:
    """Withdraw a duplicate or invalid issue (with the reason); it leaves every queue."""
    now = now or utcnow()
    _check(issue, actor, "withdraw", expected_version)
    reason = _required_text(reason, _l("Say why the issue is withdrawn (duplicate, invalid…)."))
    issue.hold_started_at = None
    issue.status_before_hold = None
    issue.closed_at = now
    _move(issue, actor, "withdraw", now, status=Status.WITHDRAWN, note=reason)
    _commit()
    return issue


# --- after resolution: the callback -------------------------------------------------------

@transition
def record_callback(issue: Issue, actor: User, *, reached: bool, resolved: bool | None = None,
                    rating: str | None = None, comments: str = "",
                    called_at: datetime | None = None, expected_version: int | None,
                    now: datetime | None = None) -> Callback:
    """回访: record one call to the merchant.

    Not reached: the attempt is logged and the issue stays in the queue; after three failed
    attempts it is closed as unreachable (excluded from the satisfaction rate). Reached: the
    merchant's two answers — resolved or not, and the five-level rating — are recorded; a
    dissatisfied rating or "not resolved" sends the issue back for re-handling (重办) at
    level 2 with a new resolution clock, otherwise it is closed. The latest reached
    callback's rating is the effective one; earlier ones stay in the history.
    """
    now = now or utcnow()
    called_at = called_at or now
    _check(issue, actor, "callback", expected_version)
    if called_at > now + CLOCK_SKEW:
        raise InvalidInput(_l("The call time cannot be in the future."))
    if issue.resolved_at and called_at < issue.resolved_at.replace(second=0, microsecond=0):
        raise InvalidInput(_l("The call time cannot be before the issue was resolved."))
    comments = (comments or "").strip()
    callback = Callback(called_at=called_at, called_by=actor, reached=bool(reached),
                        comments=comments, round=issue.rehandle_count or 0)
    if not reached:
        issue.callbacks.append(callback)
        issue.callback_attempts = (issue.callback_attempts or 0) + 1
        if issue.callback_attempts >= CALLBACK_ATTEMPTS_BEFORE_UNREACHABLE:
            issue.callback_unreachable = True
            issue.closed_at = now
            _move(issue, actor, "unreachable", now, status=Status.CLOSED,
                  note=str(_l("Merchant not reached after %(n)d calls",
                              n=issue.callback_attempts)))
        else:
            _move(issue, actor, "callback_missed", now,
                  note=str(_l("Call %(n)d: merchant not reached", n=issue.callback_attempts)))
        _commit()
        return callback
    if resolved is None:
        raise InvalidInput(_l("Record whether the merchant says the problem was solved."))
    if rating not in Rating.ALL:
        raise InvalidInput(_l("Record the merchant's satisfaction rating."))
    callback.resolved_per_merchant = bool(resolved)
    callback.rating = rating
    issue.callbacks.append(callback)
    issue.rating = rating
    issue.callback_unreachable = False
    from circle.labels import RATING_LABELS

    note = f"{RATING_LABELS[rating]}; {comments}".strip("; ")
    if not resolved or rating not in Rating.SATISFIED_SET:
        issue.rehandle_count = (issue.rehandle_count or 0) + 1
        issue.callback_attempts = 0
        issue.closed_at = None
        sla.restart_resolution_clock(issue, now, sla.load_calendar())
        back_to = Status.DISPATCHED if issue.assignee_id else Status.ESCALATED
        _move(issue, actor, "rehandle", now, status=back_to, level=2, note=note)
    else:
        issue.closed_at = now
        _move(issue, actor, "close", now, status=Status.CLOSED, note=note)
    _commit()
    return callback
