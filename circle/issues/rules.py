"""Plain domain rules for issues that do not depend on a request.

The full four-level workflow (transitions, SLA clocks) builds on these.
"""

from __future__ import annotations

import sqlalchemy as sa

from circle.extensions import db
from circle.i18n import lazy_gettext as _l
from circle.issues.models import Issue, Severity


def normalise_work_order_no(raw: str | None) -> str | None:
    """Strip spaces; an empty work-order number is no number at all."""
    value = (raw or "").strip().replace(" ", "")
    return value or None


def issue_problem(issue: Issue) -> str | None:
    """Why an issue's registration fields cannot be saved as they are, or ``None``."""
    if issue.severity not in Severity.ALL:
        return _l("Choose how serious the matter is.")
    if not (issue.description or "").strip():
        return _l("Describe the problem.")
    issue.work_order_no = normalise_work_order_no(issue.work_order_no)
    if issue.source is not None and issue.source.is_hotline and not issue.work_order_no:
        return _l("A 12345 hotline issue needs its work-order number.")
    if issue.work_order_no:
        # The half-built issue is already in the session: don't flush it to ask the question.
        with db.session.no_autoflush:
            clash = db.session.scalar(
                sa.select(Issue.id).where(
                    Issue.work_order_no == issue.work_order_no,
                    Issue.id != (issue.id or 0),
                )
            )
        if clash:
            return _l("12345 work order %(no)s is already registered as issue #%(id)d.",
                      no=issue.work_order_no, id=clash)
    return None


def record_edit(issue: Issue, actor, changed: list[str]) -> None:
    """Add a timeline row saying which registration fields someone corrected (step ``edit``)."""
    from circle.issues.workflow import record_edit as take_edit_step

    take_edit_step(issue, actor, changed)
