"""One case per problem (issue #16): possible duplicates (可能重复) and merging them, and the
steps of a merchant's own report — a liaison confirms it, the merchant nudges it — played by
the engine of :mod:`circle.issues.workflow` like every other declared step."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from circle.accounts.models import User
from circle.extensions import db
from circle.i18n import lazy_gettext as _l
from circle.issues.models import Issue, Status
from circle.issues.steps import STEPS
from circle.issues.workflow import (
    ACTION_FUNCTIONS,
    InvalidInput,
    _check,
    _flush,
    _require,
    _take,
    _text,
)
from circle.permissions import issue_in_scope
from circle.timeutil import utcnow


def possible_duplicates(merchant_id: int | None, category_id: int | None, window: timedelta,
                        *, now: datetime | None = None, exclude: int | None = None):
    """The merchant's open (or resolved, awaiting the callback) issues of this category
    registered within ``window`` before ``now``: 可能重复, newest first."""
    if merchant_id is None or category_id is None:
        return []
    now = now or utcnow()
    stmt = sa.select(Issue).where(
        Issue.merchant_id == merchant_id, Issue.category_id == category_id,
        Issue.status.in_((*Status.OPEN, Status.RESOLVED)), Issue.reported_at >= now - window,
    ).order_by(Issue.reported_at.desc(), Issue.id.desc())
    if exclude is not None:
        stmt = stmt.where(Issue.id != exclude)
    return list(db.session.scalars(stmt))


def merge_issue(issue: Issue, actor: User, *, original: Issue | None, note: str = "",
                expected_version: int | None, now: datetime | None = None) -> Issue:
    """Merge the duplicate ``issue`` into ``original``: the duplicate closes as merged (it
    leaves every queue and rate, its clocks stop), both timelines say so, and the
    merchant's tracking link of the duplicate leads to the original."""
    now = now or utcnow()
    _check(issue, actor, "merge", expected_version)
    _require("merge", original=original)
    if original.id == issue.id:
        raise InvalidInput(_l("An issue cannot be merged into itself."), field="original")
    if not issue_in_scope(actor, original):
        raise InvalidInput(_l("No issue with this number in your business circles."),
                           field="original")
    if original.status not in STEPS["merged_in"].sources:
        raise InvalidInput(_l("Issue #%(id)d is already closed or withdrawn; merge into an "
                              "issue that is still being handled.", id=original.id),
                           field="original")
    _check(original, actor, "merged_in", None)
    issue.hold_started_at = None
    issue.status_before_hold = None
    issue.closed_at = now
    issue.merged_into = original
    _take(issue, actor, "merge", now, note=f"→ #{original.id} {_text(note)}".strip())
    _take(original, actor, "merged_in", now, note=f"#{issue.id} {_text(note)}".strip())
    _flush()
    return issue


def awaits_confirmation(issue: Issue) -> bool:
    """A merchant's own report (source 商户扫码) that no liaison has confirmed yet."""
    from circle.reference import SELF_REPORT

    return (issue.source is not None and issue.source.name == SELF_REPORT
            and not any(e.action == "confirm" for e in issue.events))


def confirm_issue(issue: Issue, actor: User, *, note: str = "",
                  expected_version: int | None, now: datetime | None = None) -> Issue:
    """The liaison accepts a merchant's own report into the loop (it stays at level 1)."""
    now = now or utcnow()
    _check(issue, actor, "confirm", expected_version)  # the step's `when`: a self-report
    _take(issue, actor, "confirm", now, note=_text(note))
    _flush()
    return issue


def nudge_issue(issue: Issue, actor, *, note: str = "", now: datetime | None = None) -> Issue:
    """The merchant says, on the tracking page, that the open issue is still not solved."""
    now = now or utcnow()
    _check(issue, actor, "self_nudge", None)
    _take(issue, actor, "self_nudge", now, note=_text(note))
    _flush()
    return issue


ACTION_FUNCTIONS.update(merge=merge_issue, confirm=confirm_issue)
