"""The records of the 12345 work-order lifecycle around the loop, written by
:mod:`circle.issues.lifecycle`: how the merchant was first contacted (先行联系), the grounds
on which an issue may be returned (退单依据), the extensions and returns a street leader
decides (延期申请, 退单申请), and the supervision orders (督办) with their daily chase (催办).
Transfers (转办) are events on the issue's timeline and have no table of their own."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from circle.accounts.models import User
from circle.extensions import db
from circle.issues.models import Issue, _in
from circle.org.models import ReferenceData
from circle.timeutil import UTCDateTime, utcnow
from circle.versioning import Versioned


class ContactChannel:
    """How the merchant was first contacted (先行联系)."""

    PHONE = "phone"
    ON_SITE = "on_site"
    ALL = (PHONE, ON_SITE)


class ReturnBasis(ReferenceData, Versioned, db.Model):
    """The grounds on which an issue may be returned (退单依据): not the community's remit,
    belongs to another district, a matter for the courts… An admin-edited list."""

    __audited__ = True  # admin changes are written to the audit log
    __tablename__ = "return_basis"


class RequestKind:
    EXTENSION = "extension"  # 延期申请
    RETURN = "return"  # 退单申请
    ALL = (EXTENSION, RETURN)


class RequestStatus:
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"
    ALL = (PENDING, APPROVED, REFUSED)


class ApprovalRequest(db.Model):
    """An exception a handler asks a street leader to approve: an extension of the resolution
    deadline (延期申请) or the return of an issue outside the community's remit (退单)."""

    __tablename__ = "approval_request"
    __table_args__ = (
        sa.CheckConstraint(_in("kind", RequestKind.ALL), name="kind"),
        sa.CheckConstraint(_in("status", RequestStatus.ALL), name="status"),
        # The leaders' queue: what is waiting, oldest first.
        sa.Index("ix_approval_request_status_requested_at", "status", "requested_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(
        sa.ForeignKey("issue.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(10))
    status: Mapped[str] = mapped_column(sa.String(10), default=RequestStatus.PENDING)
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    # A return cites its basis; an extension names the deadline it asks for.
    basis_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("return_basis.id", ondelete="RESTRICT")
    )
    old_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    new_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    requested_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str] = mapped_column(sa.Text, default="")

    issue: Mapped[Issue] = relationship(back_populates="requests")
    basis: Mapped[ReturnBasis | None] = relationship()
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


class Supervision(db.Model):
    """督办 — a leader's supervision order on an issue, with a note and perhaps a deadline.
    The day after a missed deadline, and every day after until the issue is resolved, an
    automatic 催办 (chase) is recorded (``last_chased_on`` keeps it to once a day)."""

    __tablename__ = "supervision"
    __table_args__ = (
        # The daily chase reads the orders with a deadline.
        sa.Index("ix_supervision_deadline", "deadline"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(
        sa.ForeignKey("issue.id", ondelete="CASCADE"), index=True
    )
    issued_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str] = mapped_column(sa.Text, default="")
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_chased_on: Mapped[date | None] = mapped_column(sa.Date)
    chase_count: Mapped[int] = mapped_column(default=0)

    issue: Mapped[Issue] = relationship(back_populates="supervisions")
    issued_by: Mapped[User | None] = relationship()
