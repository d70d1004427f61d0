"""The four-level closed loop (商铺四级闭环) declared once, as data.

:data:`STEPS` declares every step of the loop — who may take it (a capability of
:mod:`circle.permissions`), from which statuses, the status and level it leads to, the event
it writes on the timeline (and its label), and the inputs it requires. The engine
(:mod:`circle.issues.workflow`) plays it; the desk's buttons and refusals, the API's list of
events, the timeline's labels, the README's table of the loop (:func:`steps_table`) and the
check that replays generated or imported timelines (:func:`replay_problems`) are derived
from it.

Adding a step: an entry here, its step function in :mod:`circle.issues.workflow` (listed in
``ACTION_FUNCTIONS`` when people take it on the desk), and its form in
:mod:`circle.issues.desk_forms`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

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
    doc: str = ""
    #: A further condition on the issue, when the status alone does not say (e.g. only a
    #: merchant's own report waits for confirmation).
    when: Callable[[Issue], bool] | None = None

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


_OPEN = frozenset(Status.OPEN)
_WORKING = _OPEN - {Status.ON_HOLD}
_RESOLVED = _s(Status.RESOLVED)
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
    Step("accept", _l("Accepted by specialist"), Cap.DISPATCH,
         _s(Status.ESCALATED, Status.DISPATCHED), Status.DISPATCHED,
         requires=(Input("assignee", _l("Choose the hotline specialist who handles the "
                                        "issue.")),),
         doc="A specialist takes it, or is assigned (again)."),
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
         None, when=lambda issue: _awaits_confirmation(issue),
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

#: The desk's actions (each a form), in the order the desk offers them.
ACTIONS: tuple[str, ...] = tuple(dict.fromkeys(
    step.action for step in STEPS.values() if step.action))


def steps_of(action: str) -> list[Step]:
    """The steps a desk action may take (the visit logs ``arrive`` or ``visit``…)."""
    return [step for step in STEPS.values() if step.action == action]


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
