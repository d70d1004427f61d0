"""Notifications: what happened (``Notice``), who hears it (``Notification``, the in-app
inbox), how it travels (``Delivery``, the outbox of the WeCom and e-mail channels), each
person's choices, each community's WeCom group robot, and the claims of periodic jobs."""

from __future__ import annotations

from datetime import datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from circle.accounts.models import User
from circle.extensions import db
from circle.issues.models import Issue
from circle.org.models import Community
from circle.timeutil import UTCDateTime, utcnow
from circle.versioning import Versioned


class Notice(db.Model):
    """One happening worth telling people about: a workflow event, a deadline threshold
    reached, a rung of the escalation ladder, a digest. ``key`` makes it happen once."""

    __tablename__ = "notice"

    id: Mapped[int] = mapped_column(primary_key=True)
    # e.g. "event:123", "sla:resolution:at_risk:45:2026-12-01T09:00", "digest:7:2026-12-01"
    key: Mapped[str] = mapped_column(sa.String(120), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(30))
    issue_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("issue.id", ondelete="CASCADE"), index=True)
    # Whatever the message needs besides the issue (a digest's counts, the event's note).
    detail: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    issue: Mapped[Issue | None] = relationship()


class Notification(db.Model):
    """A notice addressed to one person: the in-app channel (the bell and its page)."""

    __tablename__ = "notification"
    __table_args__ = (
        sa.UniqueConstraint("notice_id", "user_id"),
        # The bell's unread count on every page reads this index alone.
        sa.Index("ix_notification_user_read", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(sa.ForeignKey("notice.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    notice: Mapped[Notice] = relationship()
    user: Mapped[User] = relationship()


class DeliveryStatus:
    PENDING = "pending"  # waiting for its first attempt (or for the end of quiet hours)
    RETRY = "retry"  # failed, tried again after a back-off
    SENT = "sent"
    FAILED = "failed"  # gave up after the last attempt
    ALL = (PENDING, RETRY, SENT, FAILED)
    WAITING = (PENDING, RETRY)


class Channel:
    WECOM = "wecom"
    EMAIL = "email"
    ALL = (WECOM, EMAIL)


class Delivery(db.Model):
    """One message to send on an outside channel (the outbox). Written in the transaction
    of the notice; sent by the job engine with retries and back-off. ``key`` travels with
    the message (a header, the e-mail's Message-ID) so that a redelivery is harmless."""

    __tablename__ = "notification_delivery"
    __table_args__ = (
        sa.CheckConstraint(sa.column("channel").in_(Channel.ALL), name="channel"),
        sa.CheckConstraint(sa.column("status").in_(DeliveryStatus.ALL), name="status"),
        # The relay picks what is due from this index, never from the sent history.
        sa.Index("ix_notification_delivery_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(160), unique=True)
    notice_id: Mapped[int] = mapped_column(
        sa.ForeignKey("notice.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(sa.String(10))
    # The person (e-mail) or the community's group robot (WeCom) it goes to.
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    webhook_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("wecom_webhook.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(sa.String(10), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A worker holds a claimed delivery until then; one killed mid-send lets it go.
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    notice: Mapped[Notice] = relationship()
    user: Mapped[User | None] = relationship()
    webhook: Mapped[WecomWebhook | None] = relationship()


class WecomWebhook(Versioned, db.Model):
    """A community's WeCom (企业微信) group robot: its webhook address holds a secret key."""

    __audited__ = True  # admin changes are written to the audit log
    __tablename__ = "wecom_webhook"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(
        sa.ForeignKey("community.id", ondelete="CASCADE"), unique=True)
    url: Mapped[str] = mapped_column(sa.String(500))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    community: Mapped[Community] = relationship()

    def __str__(self) -> str:
        return str(self.community) if self.community else str(self.id)


class Preference(db.Model):
    """One person's choices: the channels besides the in-app one, and quiet hours (local
    time; overnight when ``quiet_start`` is after ``quiet_end``)."""

    __tablename__ = "notification_preference"

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(200), default="")
    email_enabled: Mapped[bool] = mapped_column(default=False)
    wecom_enabled: Mapped[bool] = mapped_column(default=True)
    quiet_start: Mapped[time | None] = mapped_column(sa.Time)
    quiet_end: Mapped[time | None] = mapped_column(sa.Time)
    digest_enabled: Mapped[bool] = mapped_column(default=True)

    user: Mapped[User] = relationship()


class JobRun(db.Model):
    """A periodic job's claim on one period: the unique row makes it run once per period
    however many workers and hosts try."""

    __tablename__ = "job_run"
    __table_args__ = (sa.UniqueConstraint("job", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(sa.String(40))
    period: Mapped[str] = mapped_column(sa.String(40))
    worker: Mapped[str] = mapped_column(sa.String(80), default="")
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[str] = mapped_column(sa.Text, default="")
