"""What a merchant's self-report (:mod:`circle.selfreport`) keeps besides the issue it
registers: the photos the merchant attached (:class:`IssuePhoto`). The issue itself, with its
one-time registration key and tracking token, is :class:`circle.issues.models.Issue`."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from circle.extensions import db
from circle.issues.models import Issue
from circle.timeutil import UTCDateTime, utcnow


class IssuePhoto(db.Model):
    """A photo the merchant attached to a self-report (kept in the database, like the
    on-site photos, so any app process serves it)."""

    __tablename__ = "issue_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(
        sa.ForeignKey("issue.id", ondelete="CASCADE"), index=True
    )
    content_type: Mapped[str] = mapped_column(sa.String(20))
    size: Mapped[int]
    original_name: Mapped[str] = mapped_column(sa.String(200), default="")
    data: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    issue: Mapped[Issue] = relationship(back_populates="photos")
