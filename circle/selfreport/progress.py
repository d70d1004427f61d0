"""What the merchant reads on the tracking page: the case's progress in plain words.

Read from the issue's timeline; staff are never named, except the handling specialist (with
their work phone) shown apart. Events that mean nothing to the merchant (corrections,
missed calls) are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from circle.i18n import lazy_gettext as _l
from circle.issues.models import Issue
from circle.timeutil import to_local

#: The merchant's words for each event of the loop (None: not shown).
PLAIN_WORDS = {
    "register": _l("Report received"),
    "confirm": _l("Accepted (已受理)"),
    "escalate": _l("Accepted (已受理); handed to the community's hotline specialist"),
    "accept": _l("A hotline specialist is handling it"),
    "arrive": _l("The specialist is on site (专员已到场)"),
    "visit": _l("The specialist came again"),
    "joint_office": _l("Joint on-site office with the departments (联合现场办公)"),
    "escalate_symposium": _l("A symposium (座谈会) will agree a solution"),
    "hold": _l("Waiting (for you or a third party)"),
    "resume": _l("Work continues"),
    "resolve": _l("Resolved (已解决)"),
    "rehandle": _l("Being handled again"),
    "close": _l("Closed"),
    "unreachable": _l("Closed: we could not reach you by phone"),
    "withdraw": _l("Withdrawn"),
    "merged_in": _l("Another report of the same problem was joined to this case"),
    "merchant_nudge": _l("You said: still not solved"),
}


@dataclass(frozen=True)
class Step:
    at: datetime
    words: str
    detail: str = ""


def progress(issue: Issue) -> list[Step]:
    """The issue's progress, oldest first, in the merchant's words."""
    steps = []
    symposiums = sorted(issue.symposiums, key=lambda s: s.created_at)
    for event in issue.events:
        words = PLAIN_WORDS.get(event.action)
        if words is None and event.action != "symposium":
            continue
        detail = ""
        if event.action == "symposium":
            agreed = next((s for s in symposiums if s.created_at >= event.created_at),
                          symposiums[-1] if symposiums else None)
            day = to_local(agreed.agreed_deadline) if agreed else None
            words = (_l("Symposium held: to be solved by %(day)s (座谈会确定)",
                        day=f"{day.month}月{day.day}日") if day else _l("Symposium held"))
        elif event.action == "resolve":
            detail = issue.resolution_summary or event.note
        steps.append(Step(event.created_at, str(words), detail))
    return steps
