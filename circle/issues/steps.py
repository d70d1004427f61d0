"""The four-level closed loop (商铺四级闭环) declared once, as data.

:data:`STEPS` declares every step of the loop — who may take it (a capability of
:mod:`circle.permissions`), from which statuses, the status and level it leads to, the event
it writes on the timeline (and its label), and the inputs it requires. The engine
(:mod:`circle.issues.workflow`) plays it; the desk's buttons and refusals, the API's list of
events, the timeline's labels, the README's table of the loop (:func:`steps_table`) and the
check that replays generated or imported timelines (:func:`replay_problems`) are derived
from it.

Adding a step: an entry here, its step function in :mod:`circle.issues.workflow` (or, for
the 12345 lifecycle, :mod:`circle.issues.lifecycle`; listed in
``ACTION_FUNCTIONS`` when people take it on the desk), and its form in
:mod:`circle.issues.desk_forms`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from circle.i18n import lazy_gettext as _l
from circle.issues.lifecycle_models import RequestKind
from circle.issues.models import Issue, Status
from circle.permissions import Cap, roles_with

CALLBACK_ATTEMPTS_BEFORE_UNREACHABLE = 3


# --- the declaration --------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """A target status that depends on the issue, e.g. "back to where it was"."""

    description: str  # for the docs
    possible: frozenset[str]  # every status it can lead to (for replay checks)
    pick: Callable[[Issue], str]


BEFORE_HOLD = Target(
    "the status before the hold", frozenset(set(Status.OPEN) - {Status.ON_HOLD}),
    lambda issue: issue.status_before_hold or Status.REGISTERED)
BACK_TO_SPECIALIST = Target(
    "dispatched (escalated if nobody is assigned)",
    frozenset({Status.DISPATCHED, Status.ESCALATED}),
    lambda issue: Status.DISPATCHED if issue.assignee_id else Status.ESCALATED)


@dataclass(frozen=True)
class Guard:
    """A condition on the issue besides its status, with what to say when it does not hold
    (e.g. "no other request is waiting"). ``holds(issue, now)``."""

    holds: Callable[[Issue, object], bool]
    refusal: object  # lazy string
    description: str  # for the docs


@dataclass(frozen=True)
class Input:
    """An input a step requires, with what to say when it is missing."""

    name: str
    missing: object  # lazy string


@dataclass(frozen=True)
class Step:
    """One step of the loop, as data. See :data:`STEPS`."""

    name: str
    #: The timeline's label of the event (translated).
    label: object
    capability: Cap
    #: Statuses the step may start from (``None`` for a new issue).
    sources: frozenset[str | None]
    #: Status afterwards: a status, a :class:`Target`, or ``None`` for unchanged.
    target: str | Target | None
    #: Level afterwards, or ``None`` for unchanged.
    level: int | None = None
    #: The timeline event it writes (defaults to the step's name).
    event: str = ""
    #: Inputs that must not be empty.
    requires: tuple[Input, ...] = ()
    #: Needed as well when the issue is above level 1 (liaison officers handle level 1).
    above_level1: Cap | None = Cap.HANDLE_ESCALATED
    #: The desk action (form) that takes this step; ``None`` when it has a page of its own.
    action: str | None = ""
    #: Conditions besides the status (checked by the engine, shown in the docs).
    guards: tuple[Guard, ...] = ()
    doc: str = ""

    def __post_init__(self):
        if not self.event:
            object.__setattr__(self, "event", self.name)
        if self.action == "":
            object.__setattr__(self, "action", self.name)

    def target_for(self, issue: Issue) -> str:
        """The status the issue will have after this step."""
        if self.target is None:
            return issue.status
        if isinstance(self.target, Target):
            return self.target.pick(issue)
        return self.target

    def possible_targets(self, source: str | None) -> frozenset[str]:
        if self.target is None:
            return frozenset({source})
        if isinstance(self.target, Target):
            return self.target.possible
        return frozenset({self.target})


def _s(*statuses) -> frozenset:
    return frozenset(statuses)


def _pending(kind: str | None):
    def holds(issue: Issue, now) -> bool:
        request = issue.pending_request
        return request is not None and (kind is None or request.kind == kind)
    return holds


NOTHING_PENDING = Guard(lambda issue, now: issue.pending_request is None,
                        _l("A request for this issue is waiting for a leader's decision."),
                        "no request waiting")
EXTENSION_PENDING = Guard(_pending(RequestKind.EXTENSION),
                          _l("No extension request is waiting for a decision."),
                          "an extension request waiting")
RETURN_PENDING = Guard(_pending(RequestKind.RETURN),
                       _l("No return request is waiting for a decision."),
                       "a return request waiting")
BEFORE_DEADLINE = Guard(
    lambda issue, now: issue.resolution_due_at is None or now <= issue.resolution_due_at,
    _l("The resolution deadline has passed: an extension must be asked for before it."),
    "before the resolution deadline")
NOT_CONTACTED = Guard(lambda issue, now: issue.contacted_at is None,
                      _l("The first contact with the merchant is already recorded."),
                      "merchant not yet contacted")


_OPEN = frozenset(Status.OPEN)
_WORKING = _OPEN - {Status.ON_HOLD}
_RESOLVED = _s(Status.RESOLVED)
# With the community's specialists: escalated, and every level-2–4 status.
_WITH_SPECIALISTS = _WORKING - {Status.REGISTERED}
_SIGNED = _WITH_SPECIALISTS - {Status.ESCALATED}
REASON = Input("reason", _l("Give the reason."))
DECISION = Input("note", _l("Say why the request is refused."))
SUMMARY = Input("summary", _l("Say how the problem was solved."))
DEPARTMENTS = Input("departments", _l("Choose the departments to convene for the joint "
                                      "on-site office."))
ARRIVAL = (Input("arrived_at", _l("Enter the arrival time.")),
           Input("outcome", _l("Choose the outcome of the visit.")))
ANSWERS = (Input("resolved", _l("Record whether the merchant says the problem was solved.")),
           Input("rating", _l("Record the merchant's satisfaction rating.")))

def _awaits_confirmation(issue: Issue) -> bool:
    from circle.issues.workflow import awaits_confirmation  # the rule lives with the engine

    return awaits_confirmation(issue)


AWAITS_CONFIRMATION = Guard(lambda issue, now: _awaits_confirmation(issue),
                            _l("Only a merchant's own report (商户扫码) waits for the "
                               "liaison's confirmation."),
                            "a merchant's own report not yet confirmed")


#: Every step of the loop, in the order the desk offers them. Positional: name, event label,
#: capability, source statuses, target status.
STEPS: dict[str, Step] = {step.name: step for step in (
    Step("register", _l("Registered"), Cap.REGISTER_ISSUE, _s(None), Status.REGISTERED,
         level=1, action=None,
         requires=(Input("description", _l("Describe the problem.")),),
         doc="A liaison (or the 12345 API) registers a merchant's problem; clocks start."),
    Step("resolve_level1", _l("Resolved"), Cap.RESOLVE_AT_LEVEL1, _s(Status.REGISTERED),
         Status.RESOLVED, event="resolve", requires=(SUMMARY,),
         doc="The liaison solved it themselves."),
    Step("escalate", _l("Escalated to the community"), Cap.ESCALATE, _s(Status.REGISTERED),
         Status.ESCALATED, level=2, doc="Handed to the community's hotline specialists."),
    Step("accept", _l("Signed for by specialist"), Cap.DISPATCH,
         _s(Status.ESCALATED, Status.DISPATCHED), Status.DISPATCHED,
         requires=(Input("assignee", _l("Choose the hotline specialist who handles the "
                                        "issue.")),),
         doc="签收: a specialist takes it, or is assigned (again); the first acceptance "
             "stops the signing-for clock."),
    Step("first_contact", _l("Merchant contacted first"), Cap.CONTACT_MERCHANT, _SIGNED,
         None, guards=(NOT_CONTACTED,),
         requires=(Input("contacted_at", _l("Enter when the merchant was contacted.")),
                   Input("channel", _l("Choose how the merchant was contacted."))),
         doc="先行联系: the first contact with the merchant, by phone or on site (an on-site "
             "arrival counts as one), stops the first-contact clock."),
    Step("arrive", _l("Specialist arrived on site"), Cap.WORK_ON_SITE, _s(Status.DISPATCHED),
         Status.ON_SITE, action="visit", requires=ARRIVAL,
         doc="The first on-site visit is logged."),
    Step("visit", _l("On-site visit logged"), Cap.WORK_ON_SITE,
         _s(Status.ON_SITE, Status.JOINT_OFFICE), None, requires=ARRIVAL,
         doc="A further visit or joint on-site office is logged."),
    Step("joint_office", _l("Joint on-site office convened"), Cap.WORK_ON_SITE,
         _s(Status.DISPATCHED, Status.ON_SITE), Status.JOINT_OFFICE, level=3,
         requires=(DEPARTMENTS,),
         doc="Level 3: the departments are convened for a joint on-site office."),
    Step("escalate_symposium", _l("Escalated to a symposium"), Cap.WORK_ON_SITE,
         _s(Status.JOINT_OFFICE), Status.SYMPOSIUM, level=4,
         doc="Level 4: a symposium will agree a deadline."),
    Step("symposium", _l("Symposium held"), Cap.WORK_ON_SITE, _s(Status.SYMPOSIUM), None,
         requires=(Input("held_at", _l("Enter when the symposium was held.")),
                   Input("agreed_deadline", _l("Enter the deadline agreed at the "
                                               "symposium."))),
         doc="The symposium is recorded; its agreed deadline replaces the resolution "
             "deadline."),
    Step("resolve", _l("Resolved"), Cap.WORK_ON_SITE,
         _s(Status.ON_SITE, Status.JOINT_OFFICE, Status.SYMPOSIUM), Status.RESOLVED,
         requires=(SUMMARY,), doc="Resolved at level 2–4; waits for the callback."),
    Step("hold", _l("Put on hold"), Cap.HOLD_ISSUE, _WORKING, Status.ON_HOLD,
         requires=(Input("reason", _l("Say what the issue is waiting for.")),),
         doc="挂起: waiting on the merchant or a third party; the clocks pause."),
    Step("resume", _l("Resumed"), Cap.HOLD_ISSUE, _s(Status.ON_HOLD), BEFORE_HOLD,
         doc="Continues where it was; the deadlines move out by the time on hold."),
    Step("withdraw", _l("Withdrawn"), Cap.HOLD_ISSUE, _OPEN, Status.WITHDRAWN,
         requires=(Input("reason", _l("Say why the issue is withdrawn (duplicate, "
                                      "invalid…).")),),
         doc="A duplicate or invalid issue leaves every queue."),
    Step("request_extension", _l("Extension requested"), Cap.REQUEST_EXCEPTION,
         _WITH_SPECIALISTS, None, guards=(NOTHING_PENDING, BEFORE_DEADLINE),
         requires=(REASON, Input("new_deadline", _l("Enter the new deadline asked for."))),
         doc="延期申请: before the resolution deadline, with a reason and the new deadline."),
    Step("approve_extension", _l("Extension approved"), Cap.APPROVE_EXCEPTION, _OPEN, None,
         action="decide_extension", above_level1=None, guards=(EXTENSION_PENDING,),
         doc="The resolution deadline moves to the new date; on time is judged against it."),
    Step("refuse_extension", _l("Extension refused"), Cap.APPROVE_EXCEPTION, _OPEN, None,
         action="decide_extension", above_level1=None, guards=(EXTENSION_PENDING,),
         requires=(DECISION,), doc="The deadline stays."),
    Step("request_return", _l("Return requested"), Cap.REQUEST_EXCEPTION, _WITH_SPECIALISTS,
         None, guards=(NOTHING_PENDING,),
         requires=(Input("basis", _l("Choose the basis for the return.")), REASON),
         doc="退单申请: not the community's remit; cites a basis from the list and explains."),
    Step("approve_return", _l("Return approved"), Cap.APPROVE_EXCEPTION, _OPEN,
         Status.RETURNED, action="decide_return", above_level1=None,
         guards=(RETURN_PENDING,),
         doc="退单: the issue leaves the community's queues and rates; a 12345 work order "
             "goes back to the platform (the API's change feed) to be dispatched again."),
    Step("refuse_return", _l("Return refused"), Cap.APPROVE_EXCEPTION, _OPEN, None,
         action="decide_return", above_level1=None, guards=(RETURN_PENDING,),
         requires=(DECISION,), doc="The community keeps handling the issue."),
    Step("transfer", _l("Transferred"), Cap.TRANSFER, _WORKING, None, guards=(NOTHING_PENDING,),
         requires=(Input("circle", _l("Choose the business circle to transfer the issue "
                                      "to.")),),
         doc="转办 within the community: the issue (and, if chosen, its merchant) moves to "
             "another circle; clocks and history stay."),
    Step("transfer_out", _l("Transferred"), Cap.TRANSFER, _WORKING, Status.ESCALATED, level=2,
         event="transfer", action="transfer", guards=(NOTHING_PENDING,),
         requires=(Input("circle", _l("Choose the business circle to transfer the issue "
                                      "to.")),),
         doc="转办 to another community: its specialists must sign for it (a new signing-for "
             "clock); the resolution clock and the history stay."),
    Step("supervise", _l("Supervision order (督办)"), Cap.SUPERVISE, _OPEN, None,
         above_level1=None, requires=(Input("note", _l("Say what the supervision order "
                                                      "asks for.")),),
         doc="督办: a leader's order, with a note and perhaps a deadline; the issue carries "
             "the 督办 mark until it is resolved."),
    Step("chase", _l("Chased (催办)"), Cap.SUPERVISE, _OPEN, None, action=None,
         above_level1=None,
         doc="催办: written automatically, once a day, from the day after a supervision "
             "order's deadline passed while the issue is still open."),
    Step("callback_missed", _l("Callback: merchant not reached"), Cap.RECORD_CALLBACK,
         _RESOLVED, None, action="callback", above_level1=None,
         doc="回访: the merchant was not reached; the attempt is logged."),
    Step("unreachable", _l("Closed: merchant unreachable"), Cap.RECORD_CALLBACK, _RESOLVED,
         Status.CLOSED, action="callback", above_level1=None,
         doc=f"Closed after {CALLBACK_ATTEMPTS_BEFORE_UNREACHABLE} calls without reaching "
             "the merchant."),
    Step("close", _l("Closed after callback"), Cap.RECORD_CALLBACK, _RESOLVED, Status.CLOSED,
         action="callback", above_level1=None, requires=ANSWERS,
         doc="回访: solved and satisfied; the issue is closed."),
    Step("rehandle", _l("Sent back for re-handling"), Cap.RECORD_CALLBACK, _RESOLVED,
         BACK_TO_SPECIALIST, level=2, action="callback", above_level1=None, requires=ANSWERS,
         doc="回访: not solved or dissatisfied; 重办 at level 2 with a new resolution clock."),
    Step("edit", _l("Registration corrected"), Cap.EDIT_ISSUES, frozenset(Status.ALL), None,
         action=None, above_level1=None,
         doc="Registration fields corrected by the community (category, severity…)."),
    # --- one case per problem; the merchant's own link (issue #16) ---
    Step("merge", _l("Merged into another issue"), Cap.HOLD_ISSUE, _OPEN, Status.WITHDRAWN,
         requires=(Input("original", _l("Enter the number of the issue this one "
                                        "duplicates.")),),
         doc="A duplicate closes as merged into its original; its clocks stop."),
    Step("merged_in", _l("A duplicate was merged in"), Cap.HOLD_ISSUE, _OPEN | _RESOLVED,
         None, action=None, above_level1=None,
         doc="The original's timeline names the duplicate merged into it."),
    Step("confirm", _l("Confirmed by the liaison"), Cap.REGISTER_ISSUE, _s(Status.REGISTERED),
         None, guards=(AWAITS_CONFIRMATION,),
         doc="A merchant's own report (商户扫码) is checked and accepted into the loop."),
    Step("self_report", _l("Reported by the merchant (QR code)"), Cap.SELF_REPORT, _s(None),
         Status.REGISTERED, level=1, event="register", action=None,
         requires=(Input("description", _l("Describe the problem.")),),
         doc="The merchant reports through the link on the shop's QR sticker; the liaison "
             "confirms or merges it."),
    Step("self_close", _l("Closed after the merchant's own rating"), Cap.SELF_REPORT,
         _RESOLVED, Status.CLOSED, event="close", action=None, above_level1=None,
         requires=ANSWERS,
         doc="商户自评 before any call: solved and satisfied; recorded as the callback."),
    Step("self_rehandle", _l("Sent back by the merchant"), Cap.SELF_REPORT, _RESOLVED,
         BACK_TO_SPECIALIST, level=2, event="rehandle", action=None, above_level1=None,
         requires=(ANSWERS[0],),
         doc="商户自评: dissatisfied or \"still not solved\"; 重办 like a dissatisfied "
             "callback."),
    Step("self_nudge", _l("Merchant says: still not solved"), Cap.SELF_REPORT, _OPEN, None,
         event="merchant_nudge", action=None, above_level1=None,
         doc="The merchant presses \"still not solved\" while the issue is open."),
)}

#: The loop's next step from each status, as desk actions in the order people take them:
#: the desk offers these first, expanded, and every other allowed action below them (after
#: 签收 the specialist sees 先行联系 and the on-site visit, not 签收 again). A leader's
#: decision on a waiting request is next wherever it is allowed (:data:`NEXT_ANYWHERE`).
NEXT_ACTIONS: dict[str, tuple[str, ...]] = {
    Status.REGISTERED: ("confirm", "escalate", "resolve_level1"),
    Status.ESCALATED: ("accept",),
    Status.DISPATCHED: ("first_contact", "visit"),
    Status.ON_SITE: ("first_contact", "resolve", "visit"),
    Status.JOINT_OFFICE: ("first_contact", "visit", "resolve"),
    Status.SYMPOSIUM: ("first_contact", "symposium", "resolve"),
    Status.RESOLVED: ("callback",),
    Status.ON_HOLD: ("resume",),
}
NEXT_ANYWHERE: tuple[str, ...] = ("decide_extension", "decide_return")

#: The desk's actions (each a form), in the order the desk offers them.
ACTIONS: tuple[str, ...] = tuple(dict.fromkeys(
    step.action for step in STEPS.values() if step.action))


def steps_of(action: str) -> list[Step]:
    """The steps a desk action may take (the visit logs ``arrive`` or ``visit``…)."""
    return [step for step in STEPS.values() if step.action == action]


def next_actions(status: str, allowed) -> list[str]:
    """Of the ``allowed`` desk actions, those that move an issue in ``status`` on, in the
    order :data:`NEXT_ACTIONS` declares."""
    wanted = (*NEXT_ANYWHERE, *NEXT_ACTIONS.get(status, ()))
    return [action for action in dict.fromkeys(wanted) if action in allowed]


def _check_next_actions() -> None:
    # Each declared next step must be a desk action that can start from that status.
    for status, actions in NEXT_ACTIONS.items():
        for action in actions:
            if not any(status in step.sources for step in steps_of(action)):
                raise LookupError(f"{action!r} is declared next from {status!r}, "
                                  "but none of its steps starts there")


_check_next_actions()


#: The timeline's label of every event (the same event may end several steps).
EVENT_LABELS: dict[str, object] = {}
for _step in STEPS.values():
    EVENT_LABELS.setdefault(_step.event, _step.label)


# --- derived: labels, docs and replay checks -----------------------------------------------

def _status_text(status) -> str:
    return "new" if status is None else f"`{status}`"


def steps_table() -> str:
    """The loop as a Markdown table, generated from :data:`STEPS` (the README embeds it)."""
    lines = ["| step | event | who (capability → roles) | from | to | level | requires |",
             "|---|---|---|---|---|---|---|"]
    for step in STEPS.values():
        if isinstance(step.target, Target):
            to = step.target.description
        else:
            to = "unchanged" if step.target is None else f"`{step.target}`"
        roles = ", ".join(sorted(roles_with(step.capability)))
        who = f"{step.capability.value} → {roles}"
        if step.above_level1 and not roles_with(step.capability) <= roles_with(
                step.above_level1) and step.sources - {Status.REGISTERED, None}:
            who += (f"; above level 1 also {step.above_level1.value} → "
                    + ", ".join(sorted(roles_with(step.above_level1))))
        sources = ("any" if step.sources == frozenset(Status.ALL) else
                   ", ".join(_status_text(s) for s in sorted(step.sources, key=str)))
        requires = ", ".join(i.name for i in step.requires) or "—"
        if step.guards:
            sources += "; if " + ", ".join(g.description for g in step.guards)
        level = "unchanged" if step.level is None else str(step.level)
        lines.append(f"| `{step.name}` | `{step.event}` | {who} | {sources} | {to} | {level} "
                     f"| {requires} |")
    return "\n".join(lines) + "\n"


def replay_problems(events) -> list[str]:
    """Check one issue's timeline against the declaration; the problems found, if any.

    ``events`` are ``(action, from_status, to_status, from_level, to_level, role)`` in
    order (``role`` of the actor, or ``None`` when unknown). Each must be the event of a
    declared step taken from one of its source statuses by a role holding its capability
    (and, above level 1, the step's ``above_level1`` capability), reaching a status and level
    the step allows, and starting where the previous event ended.
    """
    problems, status, level = [], None, None
    by_event: dict[str, list[Step]] = {}
    for step in STEPS.values():
        by_event.setdefault(step.event, []).append(step)

    def allowed(step: Step, from_status, to_status, from_level, to_level, role) -> bool:
        if from_status not in step.sources:
            return False
        if to_status not in step.possible_targets(from_status):
            return False
        if to_level != (step.level if step.level is not None else from_level):
            return False
        if role is not None and role not in roles_with(step.capability):
            return False
        return not (role is not None and step.above_level1 and (from_level or 1) > 1
                    and role not in roles_with(step.above_level1))

    for n, (action, from_status, to_status, from_level, to_level, role) in enumerate(events):
        where = f"event {n} ({action} {from_status}→{to_status}, level {to_level}, {role})"
        if n and (from_status, from_level) != (status, level):
            problems.append(f"{where}: starts at {from_status}/{from_level}, "
                            f"but the issue was {status}/{level}")
        if not by_event.get(action):
            problems.append(f"{where}: no step writes this event")
        elif not any(allowed(s, from_status, to_status, from_level, to_level, role)
                     for s in by_event[action]):
            problems.append(f"{where}: no declared step allows it")
        status, level = to_status, to_level
    return problems


if __name__ == "__main__":  # python -m circle.issues.workflow: the README's table
    print(steps_table(), end="")
