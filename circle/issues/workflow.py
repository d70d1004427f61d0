"""The engine that plays the four-level closed loop (商铺四级闭环) declared in
:mod:`circle.issues.steps`.

From the declaration come the buttons a person sees (:func:`allowed_actions`) and the
refusals (:func:`refusal`, :func:`step_refusal`).

The step functions below (``escalate_to_community``, ``record_site_visit``…) check the
declaration, validate their inputs *before* changing anything, change the issue, append an
:class:`~circle.issues.models.IssueEvent` through :func:`_take`, and flush. They never
commit: the caller wraps one request, command or job in
:func:`circle.transaction.unit_of_work`, so steps chain in one transaction and a refusal
anywhere writes nothing. An illegal request raises a :class:`WorkflowError` whose message is
ready to show (translated).

Concurrency: the caller passes the ``expected_version`` of the issue the user was looking at.
If someone else changed it meanwhile — before this request loaded it, or between loading and
flushing (the ``version`` column makes the UPDATE conditional) — :class:`StaleIssue` is
raised and nothing is written.

    registered ─┬─ resolve_level1 ─────────────────────────────────────┐
                └─ escalate → escalated (2) → accept → dispatched       │
                     dispatched ─ arrive → on_site ─ resolve ──────────┤
                     dispatched/on_site ─ joint_office (3) ─ resolve ──┤
                     joint_office ─ escalate_symposium (4) ─ symposium ┤
                                                                        ▼
      closed ← close / unreachable (callback) ───────────────────── resolved
      dispatched / escalated (2, 重办, new clock) ← rehandle (callback)

Any open issue can be put on hold (挂起, clocks pause) and resumed, or withdrawn.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError

from circle.accounts.models import Role, User
from circle.extensions import db
from circle.i18n import lazy_gettext as _l
from circle.issues import sla, workcalendar
from circle.issues.lifecycle_models import ContactChannel
from circle.issues.models import (
    Issue,
    IssueEvent,
    Severity,
    SiteVisit,
    SiteVisitPhoto,
    Status,
    Symposium,
    VisitOutcome,
)
from circle.issues.rules import issue_problem
from circle.issues.steps import (  # noqa: F401  (re-exported: callers read the loop here too)
    ACTIONS,
    CALLBACK_ATTEMPTS_BEFORE_UNREACHABLE,
    EVENT_LABELS,
    STEPS,
    Step,
    replay_problems,
    steps_of,
    steps_table,
)
from circle.permissions import Cap, can, issue_in_scope, merchant_in_scope
from circle.timeutil import format_local, utcnow

PHOTO_TYPES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}
MAX_PHOTOS_PER_VISIT = 6
# Clocks on phones drift: an arrival a few minutes "in the future" is accepted.
CLOCK_SKEW = timedelta(minutes=5)


def human_size(n: int) -> str:
    """A byte count as people read it (5 MB, 64 KB)."""
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.3g} MB"
    return f"{max(1, n // 1024)} KB"


# --- refusals ---------------------------------------------------------------------------

class WorkflowError(Exception):
    """A refused action. ``message`` is a translated, user-facing explanation."""

    def __init__(self, message):
        # Kept lazy: the desk asks for every action's refusal and shows none of them, so
        # the message is translated only when someone reads it.
        super().__init__(message)
        self.message = message


class NotAllowed(WorkflowError):
    """The actor's role or scope does not allow this action."""


class IllegalTransition(WorkflowError):
    """The issue is not in a state where this action makes sense."""


class InvalidInput(WorkflowError):
    """Something the user entered cannot be accepted.

    ``fields`` maps each input at fault to its message (a form shows them next to the
    fields); ``message`` is the first of them, or the only message when no input is named.
    """

    def __init__(self, message, field: str | None = None, *, fields: dict | None = None):
        super().__init__(message)
        self.fields = dict(fields or ({field: message} if field else {}))


class StaleIssue(WorkflowError):
    """Someone else changed the issue first."""

    def __init__(self):
        super().__init__(_l("This issue was changed by someone else in the meantime. "
                            "Reload the page to see the latest state, then try again."))


# --- the engine -------------------------------------------------------------------------

def step_refusal(issue: Issue, actor: User | None, step: Step, *,
                 in_scope: bool | None = None,
                 now: datetime | None = None) -> WorkflowError | None:
    """Why ``actor`` may not take ``step`` on ``issue`` now, or ``None`` if they may.

    ``in_scope`` is :func:`issue_in_scope` when the caller already knows it (it may cost a
    query, and the answer is the same for every step).
    """
    if not can(actor, step.capability):
        return NotAllowed(_l("Your role does not allow this action."))
    if not (issue_in_scope(actor, issue) if in_scope is None else in_scope):
        return NotAllowed(_l("This issue is outside your business circles or community."))
    if issue.status not in step.sources:
        return IllegalTransition(_l("This action is not possible while the issue is "
                                    "in its current state."))
    if step.above_level1 and (issue.level or 1) > 1 and not can(actor, step.above_level1):
        return NotAllowed(_l("The issue has been escalated; the community handles it now."))
    for guard in step.guards:
        if not guard.holds(issue, now or utcnow()):
            return IllegalTransition(guard.refusal)
    return None


def refusal(issue: Issue, actor: User | None, action: str, *,
            in_scope: bool | None = None,
            now: datetime | None = None) -> WorkflowError | None:
    """Why ``actor`` may not take the desk ``action`` on ``issue`` now, or ``None``."""
    steps = steps_of(action)
    if not steps:
        return IllegalTransition(_l("Unknown action."))
    if in_scope is None and actor is not None and any(can(actor, s.capability) for s in steps):
        in_scope = issue_in_scope(actor, issue)
    refusals = [step_refusal(issue, actor, step, in_scope=in_scope, now=now)
                for step in steps]
    return None if any(r is None for r in refusals) else refusals[0]


def allowed_actions(issue: Issue, actor: User | None) -> set[str]:
    """The desk actions this user may take on this issue now (the buttons to show)."""
    in_scope = actor is not None and issue_in_scope(actor, issue)
    return {action for action in ACTIONS
            if refusal(issue, actor, action, in_scope=in_scope) is None}


def _check(issue: Issue, actor: User, name: str, expected_version: int | None,
           now: datetime | None = None) -> Step:
    if expected_version is not None and issue.version != expected_version:
        raise StaleIssue()
    step = STEPS[name]
    problem = step_refusal(issue, actor, step, now=now)
    if problem is not None:
        raise problem
    return step


def _require(name: str, **values) -> None:
    """Refuse (before anything changes) when inputs the step declares are empty."""
    missing = {}
    for wanted in STEPS[name].requires:
        value = values.get(wanted.name)
        if isinstance(value, str):
            value = value.strip()
        if value is None or value == "" or value == [] or value == ():
            missing[wanted.name] = wanted.missing
    if missing:
        raise InvalidInput(next(iter(missing.values())), fields=missing)


def _take(issue: Issue, actor: User, name: str, now: datetime, note: str = "") -> IssueEvent:
    """Move the issue as step ``name`` declares and write its event (no checks here)."""
    step = STEPS[name]
    if issue.status not in step.sources:
        # A chained step the declaration does not allow from here: a bug, never data.
        raise IllegalTransition(_l("This action is not possible while the issue is "
                                   "in its current state."))
    from_status, from_level = issue.status, issue.level
    issue.status = step.target_for(issue)
    if step.level is not None:
        issue.level = step.level
        issue.highest_level = max(issue.highest_level or 1, step.level)
    issue.updated_at = now  # every step bumps the version, even a pure record
    event = IssueEvent(actor=_person(actor), action=step.event, created_at=now,
                       from_status=from_status, to_status=issue.status, from_level=from_level,
                       to_level=issue.level, note=note)
    issue.events.append(event)
    return event


def _flush() -> None:
    """Write the step; a conditional UPDATE that matched no row means someone was first."""
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise StaleIssue() from None


def _text(value: str | None) -> str:
    return (value or "").strip()


def _resolve(issue: Issue, actor: User, name: str, summary: str, now: datetime) -> None:
    """Resolved at whatever level the issue is: it now waits for the callback."""
    issue.resolved_at = now
    issue.resolution_summary = _text(summary)
    _take(issue, actor, name, now, note=issue.resolution_summary)


# --- level 1: registration and the liaison's own handling -----------------------------------

def register_issue(actor: User, *, merchant, category, source, severity: str,
                   description: str, work_order_no: str | None = None, note: str = "",
                   registration_key: str | None = None, step: str = "register",
                   now: datetime | None = None) -> Issue:
    """Register a merchant's problem at level 1 and start its SLA clocks.

    ``note`` is the timeline's note on the registration (how the problem reached us).
    ``registration_key`` is the one-time key of the form that sent it: the same key again
    (a double tap, a network retry, 20 at once) returns the issue it first made — the
    unique index on ``issue.registration_key`` decides, not a lock in this process.
    ``step`` is ``self_report`` when the merchant reports through their own link.
    """
    now = now or utcnow()
    if registration_key:
        first = issue_with_key(registration_key)
        if first is not None:
            return first
    if not can(actor, STEPS[step].capability):
        raise NotAllowed(_l("Your role does not allow this action."))
    if merchant is None or not merchant_in_scope(actor, merchant):
        raise NotAllowed(_l("Choose a merchant in your own business circles."))
    if severity not in Severity.ALL:
        raise InvalidInput(_l("Choose how serious the matter is."), field="severity")
    _require(step, description=description)
    policy = sla.policy_for(severity)
    if policy is None:
        raise InvalidInput(_l("No SLA policy is set for this severity; ask an administrator."))
    issue = Issue(merchant=merchant, category=category, source=source, severity=severity,
                  description=_text(description), work_order_no=work_order_no,
                  registration_key=registration_key or None,
                  tracking_token=secrets.token_urlsafe(24))
    with db.session.no_autoflush:
        problem = issue_problem(issue)
    if problem:
        if issue in db.session:  # the merchant's relationship cascaded it in: take it out
            db.session.expunge(issue)
        raise InvalidInput(problem)
    issue.circle_id = merchant.circle_id
    issue.reporter = _person(actor)
    issue.reported_at = now
    issue.status, issue.level, issue.highest_level = None, None, 1
    sla.start_clocks(issue, policy, now, workcalendar.load_calendar())
    _take(issue, actor, step, now, note=_text(note))
    db.session.add(issue)
    try:
        db.session.flush()
    except sa.exc.IntegrityError:
        # The same form sent twice at once, or two people registering the same 12345 work
        # order: the unique index decides, and the loser gets the winner's issue or a reason.
        db.session.rollback()
        first = issue_with_key(registration_key) if registration_key else None
        if first is not None:
            return first
        raise InvalidInput(_l("This 12345 work order has just been registered by someone "
                              "else."), field="work_order_no") from None
    return issue


def resolve_at_level1(issue: Issue, actor: User, *, summary: str,
                      expected_version: int | None, now: datetime | None = None) -> Issue:
    """The liaison solved it themselves: resolved at level 1, awaiting the callback."""
    now = now or utcnow()
    _check(issue, actor, "resolve_level1", expected_version)
    _require("resolve_level1", summary=summary)
    _resolve(issue, actor, "resolve_level1", summary, now)
    _flush()
    return issue


def escalate_to_community(issue: Issue, actor: User, *, note: str = "",
                          expected_version: int | None, now: datetime | None = None) -> Issue:
    """The liaison cannot solve it: hand it to the community hotline specialists (level 2)."""
    now = now or utcnow()
    _check(issue, actor, "escalate", expected_version)
    _take(issue, actor, "escalate", now, note=_text(note))
    sla.start_community_clocks(issue, sla.policy_for(issue.severity), now,
                               workcalendar.load_calendar())
    _flush()
    return issue


# --- level 2: the hotline specialist ----------------------------------------------------

def accept_issue(issue: Issue, actor: User, *, assignee: User | None = None, note: str = "",
                 expected_version: int | None, now: datetime | None = None) -> Issue:
    """A specialist takes the issue (or an admin/specialist assigns it to a colleague)."""
    now = now or utcnow()
    _check(issue, actor, "accept", expected_version)
    assignee = assignee or actor
    if assignee.id != actor.id and not can(actor, Cap.ASSIGN_OTHERS):
        raise NotAllowed(_l("You may take the issue yourself, but not assign it to someone "
                            "else."))
    # Who can be assigned is a fact about the person (a hotline specialist of the issue's
    # community), not a right: an administrator dispatches but is never the assignee.
    if assignee.role != Role.SPECIALIST or not assignee.active or not issue_in_scope(
        assignee, issue
    ):
        raise InvalidInput(_l("Assign the issue to an active hotline specialist of its "
                              "community."), field="assignee")
    issue.assignee = assignee
    if issue.received_at is not None and issue.signed_at is None:
        issue.signed_at = now  # 签收: the signing-for clock stops at the first acceptance
    _take(issue, actor, "accept", now, note=f"{assignee} {_text(note)}".strip())
    _flush()
    return issue


def photo_type(upload, max_bytes: int) -> str:
    """The content type of one uploaded ``(filename, bytes)``, checked by its content (JPEG
    or PNG) and size; :class:`InvalidInput` naming the file otherwise."""
    filename, data = upload
    content_type = next((t for magic, t in PHOTO_TYPES.items() if data.startswith(magic)), None)
    if content_type is None:
        raise InvalidInput(_l("%(name)s is not a JPEG or PNG image.", name=filename or "?"),
                           field="photos")
    if len(data) > max_bytes:
        raise InvalidInput(_l("%(name)s is larger than %(limit)s.", name=filename or "?",
                              limit=human_size(max_bytes)), field="photos")
    return content_type


def _photo(upload, actor: User, max_bytes: int) -> SiteVisitPhoto:
    """One uploaded file, checked, as a photo of a visit."""
    filename, data = upload
    return SiteVisitPhoto(content_type=photo_type(upload, max_bytes), size=len(data),
                          data=data, original_name=(filename or "")[:200], uploaded_by=actor)


#: What a visit's outcome chains after logging it, by the level the visit was at.
_AFTER_VISIT = {
    (VisitOutcome.RESOLVED, 2): "resolve", (VisitOutcome.RESOLVED, 3): "resolve",
    (VisitOutcome.ESCALATE, 2): "joint_office", (VisitOutcome.ESCALATE, 3): "escalate_symposium",
}


def record_site_visit(issue: Issue, actor: User, *, arrived_at: datetime, outcome: str,
                      findings: str = "", summary: str = "", attendees=(), departments=(),
                      photos=(), photo_max_bytes: int = 5 * 1024 * 1024,
                      expected_version: int | None, now: datetime | None = None) -> SiteVisit:
    """Log an on-site visit (level 2) or joint on-site office (level 3) and its outcome.

    The visit is step ``arrive`` (the first, from dispatched) or ``visit``; its ``outcome``
    chains the next step: ``resolve`` (needs ``summary``), ``joint_office`` from level 2
    (needs ``departments``) or ``escalate_symposium`` from level 3; a temporary measure
    keeps the issue open at this level. ``photos`` are ``(filename, bytes)``.
    """
    now = now or utcnow()
    name = "arrive" if issue.status == Status.DISPATCHED else "visit"
    _check(issue, actor, name, expected_version)
    _require(name, arrived_at=arrived_at, outcome=outcome)
    if outcome not in VisitOutcome.ALL:
        raise InvalidInput(_l("Choose the outcome of the visit."), field="outcome")
    if arrived_at > now + CLOCK_SKEW:
        raise InvalidInput(_l("The arrival time cannot be in the future."), field="arrived_at")
    # Arrival times are typed to the minute; the report time has seconds.
    if arrived_at < issue.reported_at.replace(second=0, microsecond=0):
        raise InvalidInput(_l("The arrival time cannot be before the issue was reported."),
                           field="arrived_at")
    departments, level = list(departments), min(issue.level, 3)
    if level == 3:
        _require("joint_office", departments=departments)
    follow = _AFTER_VISIT.get((outcome, level))
    if follow:
        if not can(actor, STEPS[follow].capability):
            raise NotAllowed(_l("Your role does not allow this action."))
        _require(follow, summary=summary, departments=departments)
    photos = list(photos)
    if len(photos) > MAX_PHOTOS_PER_VISIT:
        raise InvalidInput(_l("At most %(n)d photos per visit.", n=MAX_PHOTOS_PER_VISIT),
                           field="photos")
    checked = [_photo(p, actor, photo_max_bytes) for p in photos]
    visit = SiteVisit(level=level, arrived_at=arrived_at, findings=_text(findings),
                      outcome=outcome, recorded_by=actor, created_at=now,
                      attendees=list(attendees), departments=departments, photos=checked)
    issue.site_visits.append(visit)
    if issue.first_on_site_at is None or arrived_at < issue.first_on_site_at:
        issue.first_on_site_at = arrived_at
    if issue.received_at is not None and issue.contacted_at is None:
        # 先行联系: being on site is a contact with the merchant.
        issue.contacted_at, issue.contact_channel = arrived_at, ContactChannel.ON_SITE
    _take(issue, actor, name, now, note=visit.findings)
    if follow == "resolve":
        _resolve(issue, actor, "resolve", summary, now)
    elif follow == "joint_office":
        _take(issue, actor, follow, now, note="、".join(str(d) for d in departments))
    elif follow:
        _take(issue, actor, follow, now)
    _flush()
    return visit


def escalate_to_joint_office(issue: Issue, actor: User, *, departments, note: str = "",
                             expected_version: int | None,
                             now: datetime | None = None) -> Issue:
    """Level 3: convene the relevant departments and the liaison for a joint office."""
    now = now or utcnow()
    _check(issue, actor, "joint_office", expected_version)
    departments = list(departments)
    _require("joint_office", departments=departments)
    text = "、".join(str(d) for d in departments)
    _take(issue, actor, "joint_office", now, note=f"{text} {_text(note)}".strip())
    _flush()
    return issue


def escalate_to_symposium(issue: Issue, actor: User, *, note: str = "",
                          expected_version: int | None, now: datetime | None = None) -> Issue:
    """Level 4: the joint office could not solve it; a symposium will agree a deadline."""
    now = now or utcnow()
    _check(issue, actor, "escalate_symposium", expected_version)
    _take(issue, actor, "escalate_symposium", now, note=_text(note))
    _flush()
    return issue


def record_symposium(issue: Issue, actor: User, *, held_at: datetime, agreed_deadline: datetime,
                     participants: str = "", minutes: str = "", departments=(),
                     expected_version: int | None,
                     now: datetime | None = None) -> Symposium:
    """Record the symposium; its agreed deadline replaces the resolution deadline."""
    now = now or utcnow()
    _check(issue, actor, "symposium", expected_version)
    _require("symposium", held_at=held_at, agreed_deadline=agreed_deadline)
    if held_at > now + CLOCK_SKEW:
        raise InvalidInput(_l("The symposium date cannot be in the future."), field="held_at")
    if held_at < issue.reported_at.replace(second=0, microsecond=0):
        raise InvalidInput(_l("The symposium cannot be before the issue was reported."),
                           field="held_at")
    if agreed_deadline <= max(held_at, now):
        raise InvalidInput(_l("The agreed deadline must be in the future, after the "
                              "symposium."), field="agreed_deadline")
    symposium = Symposium(held_at=held_at, agreed_deadline=agreed_deadline,
                          participants=_text(participants), minutes=_text(minutes),
                          departments=list(departments), recorded_by=actor, created_at=now)
    issue.symposiums.append(symposium)
    old = issue.resolution_due_at
    issue.resolution_due_at = agreed_deadline
    _take(issue, actor, "symposium", now,
          note=str(_l("Resolution deadline %(old)s → %(new)s (agreed at the symposium)",
                      old=format_local(old) or "—", new=format_local(agreed_deadline))))
    _flush()
    return symposium


def resolve_issue(issue: Issue, actor: User, *, summary: str, expected_version: int | None,
                  now: datetime | None = None) -> Issue:
    """Mark the issue resolved (levels 2–4); it now waits for the callback."""
    now = now or utcnow()
    _check(issue, actor, "resolve", expected_version)
    _require("resolve", summary=summary)
    _resolve(issue, actor, "resolve", summary, now)
    _flush()
    return issue


# --- at any level: hold, resume, withdraw -------------------------------------------------

def put_on_hold(issue: Issue, actor: User, *, reason: str, expected_version: int | None,
                now: datetime | None = None) -> Issue:
    """挂起: waiting on the merchant or a third party; the SLA clocks pause."""
    now = now or utcnow()
    _check(issue, actor, "hold", expected_version)
    _require("hold", reason=reason)
    issue.status_before_hold = issue.status
    sla.pause_clocks(issue, now)
    _take(issue, actor, "hold", now, note=_text(reason))
    _flush()
    return issue


def resume_issue(issue: Issue, actor: User, *, note: str = "", expected_version: int | None,
                 now: datetime | None = None) -> Issue:
    """Continue a held issue where it was; its deadlines move out by the time on hold."""
    now = now or utcnow()
    _check(issue, actor, "resume", expected_version)
    sla.resume_clocks(issue, now, workcalendar.load_calendar())
    _take(issue, actor, "resume", now, note=_text(note))
    issue.status_before_hold = None
    _flush()
    return issue


def withdraw_issue(issue: Issue, actor: User, *, reason: str, expected_version: int | None,
                   now: datetime | None = None) -> Issue:
    """Withdraw a duplicate or invalid issue (with the reason); it leaves every queue."""
    now = now or utcnow()
    _check(issue, actor, "withdraw", expected_version)
    _require("withdraw", reason=reason)
    issue.hold_started_at = None
    issue.status_before_hold = None
    issue.closed_at = now
    _take(issue, actor, "withdraw", now, note=_text(reason))
    _flush()
    return issue


def record_edit(issue: Issue, actor: User, changed: list[str]) -> None:
    """Add the timeline row saying which registration fields someone corrected."""
    if changed:
        _take(issue, actor, "edit", utcnow(), note=", ".join(changed))


#: The step function behind each desk action; the desk's form supplies its keyword inputs.
ACTION_FUNCTIONS: dict[str, Callable] = {
    "resolve_level1": resolve_at_level1,
    "escalate": escalate_to_community,
    "accept": accept_issue,
    "visit": record_site_visit,
    "joint_office": escalate_to_joint_office,
    "escalate_symposium": escalate_to_symposium,
    "symposium": record_symposium,
    "resolve": resolve_issue,
    "hold": put_on_hold,
    "resume": resume_issue,
    "withdraw": withdraw_issue,
}


# --- one case per problem; the merchant's own link (issue #16) -----------------------------
# Registration with a one-time key and the self-report step live in register_issue above;
# the merchant's own rating in record_callback (channel 商户自评).

def _person(actor) -> User | None:
    """The account to name on the timeline: ``None`` for a merchant's link (no account)."""
    return actor if isinstance(actor, User) else None


def issue_with_key(registration_key: str) -> Issue | None:
    """The issue a form with this one-time key already registered, if any."""
    return db.session.scalar(sa.select(Issue).where(Issue.registration_key == registration_key))



# Duplicates and the merchant's own reports (circle.issues.cases) and the 12345 work-order
# lifecycle (circle.issues.lifecycle) live in their own modules; imported last, as they build
# on everything above (and add their desk actions to ACTION_FUNCTIONS).
from circle.issues.callback import record_callback  # noqa: E402, F401  (re-exported)
from circle.issues.cases import (  # noqa: E402, F401  (re-exported: callers read them here)
    awaits_confirmation,
    confirm_issue,
    merge_issue,
    nudge_issue,
    possible_duplicates,
)
from circle.issues.lifecycle import (  # noqa: E402, F401  (re-exported: callers read them here)
    chase_overdue_supervisions,
    decide_extension,
    decide_request,
    decide_return,
    record_first_contact,
    request_extension,
    request_return,
    supervise_issue,
    transfer_issue,
)
