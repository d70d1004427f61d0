"""The leaders' queue (待审批): extensions and returns waiting for a decision, and the issues
under supervision (督办) — of the street a leader oversees (everything for an administrator
or a district leader). The decisions themselves are taken on the issue desk, where the
whole case is in view; this page lists what waits, oldest first.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import url_for
from flask_admin import expose
from flask_login import current_user
from sqlalchemy.orm import joinedload

from circle.accounts.models import User
from circle.adminkit import CircleBaseView
from circle.extensions import db
from circle.issues.lifecycle_models import ApprovalRequest, RequestStatus
from circle.issues.models import Issue, Status
from circle.permissions import Cap, scope_by_circle

#: At most this many rows per list (the oldest); the page says how many more wait.
ROWS = 200


@dataclass
class Waiting:
    requests: list[ApprovalRequest]
    requests_total: int
    supervised: list[Issue]
    supervised_total: int


def waiting_for(user: User) -> Waiting:
    """The requests waiting and the supervised open issues ``user`` oversees."""
    pending = scope_by_circle(
        sa.select(ApprovalRequest).join(Issue, Issue.id == ApprovalRequest.issue_id)
        .where(ApprovalRequest.status == RequestStatus.PENDING,
               Issue.status.in_(Status.OPEN)),
        Issue.circle_id, user)
    supervised = scope_by_circle(
        sa.select(Issue).where(Issue.supervised_at.is_not(None),
                               Issue.status.in_(Status.OPEN)),
        Issue.circle_id, user)

    def count(stmt) -> int:
        return db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery()))

    requests = db.session.scalars(
        pending.options(joinedload(ApprovalRequest.issue).joinedload(Issue.merchant),
                        joinedload(ApprovalRequest.issue).joinedload(Issue.circle),
                        joinedload(ApprovalRequest.requested_by),
                        joinedload(ApprovalRequest.basis))
        .order_by(ApprovalRequest.requested_at, ApprovalRequest.id).limit(ROWS)).all()
    issues = db.session.scalars(
        supervised.options(joinedload(Issue.merchant), joinedload(Issue.circle),
                           joinedload(Issue.assignee))
        .order_by(Issue.resolution_due_at, Issue.id).limit(ROWS)).all()
    return Waiting(requests, count(pending), issues, count(supervised))


class ApprovalsView(CircleBaseView):
    """待审批: what waits for a leader's decision, and what is under supervision."""

    capability = Cap.APPROVE_EXCEPTION

    @property
    def extra_css(self) -> list[str]:
        return [url_for("static", filename="workflow.css")]

    @expose("/")
    def index(self):
        """The requests waiting, oldest first, each linking to its issue's desk."""
        return self.render("circle/approvals.html", waiting=waiting_for(current_user))
