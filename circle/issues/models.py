"""Issues (诉求/工单), their timeline, and the records the four-level loop produces: site
visits with their photos, symposiums and callbacks, with the words (severity, status, rating,
clock, deadline rule) they are kept in.

The records of the 12345 lifecycle around the loop (extensions, returns, supervision) are in
:mod:`circle.issues.lifecycle_models`; the SLA policy and the working calendar in
:mod:`circle.issues.sla_models`; a merchant's self-report photos in
:mod:`circle.selfreport.models`. :mod:`circle.models` imports them all before anything binds
the metadata.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from circle.accounts.models import User
from circle.extensions import db
from circle.merchants.models import Merchant
from circle.org.models import BusinessCircle, Department, ReferenceData
from circle.timeutil import UTCDateTime, utcnow
from circle.versioning import Versioned

if TYPE_CHECKING:  # they build on Issue: imported at the end of this module
    from circle.issues.lifecycle_models import ApprovalRequest, Supervision
    from circle.selfreport.models import IssuePhoto


class Severity:
    """Severity classes of the service promise 小事不过晌、大事不过夜、难事不过周."""

    SMALL = "small"  # 小事
    BIG = "big"  # 大事
    HARD = "hard"  # 难事
    ALL = (SMALL, BIG, HARD)


class Status:
    """Where an issue stands in the loop."""

    REGISTERED = "registered"  # level 1, the liaison is handling it
    ESCALATED = "escalated"  # level 2, waiting for a specialist
    DISPATCHED = "dispatched"  # a specialist accepted it
    ON_SITE = "on_site"  # the specialist has arrived
    JOINT_OFFICE = "joint_office"  # level 3, departments convened on site
    SYMPOSIUM = "symposium"  # level 4, a symposium agrees the deadline
    ON_HOLD = "on_hold"  # 挂起: waiting on the merchant or a third party
    RESOLVED = "resolved"  # awaiting the callback
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"  # duplicate or invalid
    RETURNED = "returned"  # 退单: not the community's remit, return approved by a leader
    ALL = (
        REGISTERED, ESCALATED, DISPATCHED, ON_SITE, JOINT_OFFICE, SYMPOSIUM,
        ON_HOLD, RESOLVED, CLOSED, WITHDRAWN, RETURNED,
    )
    OPEN = (REGISTERED, ESCALATED, DISPATCHED, ON_SITE, JOINT_OFFICE, SYMPOSIUM, ON_HOLD)
    # Open with the resolution clock running (on hold stops it): the ones that can be overdue.
    RUNNING = (REGISTERED, ESCALATED, DISPATCHED, ON_SITE, JOINT_OFFICE, SYMPOSIUM)
    # Resolved (awaiting the callback) or closed: the dashboard's "resolved or closed".
    SETTLED = (RESOLVED, CLOSED)
    # Left the community's hands, and so its clocks and rates: withdrawn or returned.
    LEFT = (WITHDRAWN, RETURNED)


class Rating:
    """The national five-level satisfaction scale."""

    VERY_SATISFIED = "very_satisfied"  # 非常满意
    SATISFIED = "satisfied"  # 满意
    BASICALLY_SATISFIED = "basically_satisfied"  # 基本满意
    DISSATISFIED = "dissatisfied"  # 不满意
    VERY_DISSATISFIED = "very_dissatisfied"  # 非常不满意
    ALL = (VERY_SATISFIED, SATISFIED, BASICALLY_SATISFIED, DISSATISFIED, VERY_DISSATISFIED)
    SATISFIED_SET = (VERY_SATISFIED, SATISFIED, BASICALLY_SATISFIED)


class Clock:
    """How an SLA clock counts time (:mod:`circle.issues.sla`)."""

    CALENDAR = "calendar"  # every minute of every day
    BUSINESS_HOURS = "business_hours"  # the morning and afternoon sessions of working days
    # Every hour of a working day, midnight to midnight: how "working days" counted before
    # the deadline rules; kept so that issues registered then keep their clocks.
    WORKING_DAYS = "working_days"
    ALL = (CALENDAR, BUSINESS_HOURS, WORKING_DAYS)


class DeadlineRule:
    """How a resolution deadline is set from the moment an issue is registered."""

    HALF_DAY = "half_day"  # 不过晌: the end of the current half-day
    END_OF_DAY = "end_of_day"  # 不过夜: the end of the current (working) day
    CALENDAR_DAYS = "calendar_days"  # 不过周: the end of the 7th calendar day after
    WORKING_HOURS = "working_hours"  # N hours of business hours
    WORKING_DAYS = "working_days"  # close of business on the Nth working day after
    # A fixed number of minutes (on the calendar or working-day clock): every deadline was
    # set this way before the rules, and issues registered then keep it.
    DURATION = "duration"
    ALL = (HALF_DAY, END_OF_DAY, CALENDAR_DAYS, WORKING_HOURS, WORKING_DAYS, DURATION)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class IssueCategory(ReferenceData, Versioned, db.Model):
    """What an issue is about (power supply, property dispute, ...)."""

    __audited__ = True  # admin changes are written to the audit log
    __tablename__ = "issue_category"


class IssueSource(ReferenceData, Versioned, db.Model):
    """How an issue reached us (12345 work order, walk-in, ...)."""

    __audited__ = True  # admin changes are written to the audit log
    __tablename__ = "issue_source"

    # A 12345 hotline source asks for the city work-order number.
    is_hotline: Mapped[bool] = mapped_column(default=False)


class Issue(db.Model):
    """诉求/工单 — one merchant problem travelling through the four-level loop."""

    __audited__ = True  # admin changes are written to the audit log
    __tablename__ = "issue"
    __table_args__ = (
        sa.CheckConstraint(_in("severity", Severity.ALL), name="severity"),
        sa.CheckConstraint(_in("status", Status.ALL), name="status"),
        sa.CheckConstraint("level BETWEEN 1 AND 4", name="level"),
        sa.Index("ix_issue_status_reported_at", "status", "reported_at"),
        sa.Index("ix_issue_circle_reported_at", "circle_id", "reported_at"),
        # The issue list's search matches the start of a work-order number. PostgreSQL's
        # collation keeps LIKE 'x%' off the unique index, so it gets a pattern-ops index;
        # SQLite searches the unique index with a range (circle/biglists.py).
        sa.Index("ix_issue_work_order_no_pattern", "work_order_no",
                 postgresql_ops={"work_order_no": "text_pattern_ops"}
                 ).ddl_if(dialect="postgresql"),
        # The callback queue counts merchants not reached in the last 30 days.
        sa.Index("ix_issue_unreachable_closed_at", "callback_unreachable", "closed_at"),
        # Covering indexes for the dashboard: what is open now is read from the index alone
        # (a few thousand entries, never the closed million), and so are a period's issues
        # by category (in place of a plain index on reported_at).
        sa.Index("ix_issue_open_figures", "status", "circle_id", "level", "resolution_due_at",
                 postgresql_include=["id"]),
        sa.Index("ix_issue_reported_category", "reported_at", "category_id", "status",
                 "circle_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(
        sa.ForeignKey("merchant.id", ondelete="RESTRICT"), index=True
    )
    # Copied from the merchant at registration so that lists scope and filter without a join.
    circle_id: Mapped[int] = mapped_column(
        sa.ForeignKey("business_circle.id", ondelete="RESTRICT")
    )
    category_id: Mapped[int] = mapped_column(
        sa.ForeignKey("issue_category.id", ondelete="RESTRICT"), index=True
    )
    source_id: Mapped[int] = mapped_column(
        sa.ForeignKey("issue_source.id", ondelete="RESTRICT"), index=True
    )
    description: Mapped[str] = mapped_column(sa.Text)
    severity: Mapped[str] = mapped_column(sa.String(10))
    # The 12345 city-hotline work-order number; unique when present (NULLs never clash).
    work_order_no: Mapped[str | None] = mapped_column(sa.String(40), unique=True)
    level: Mapped[int] = mapped_column(default=1)
    highest_level: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(sa.String(20), default=Status.REGISTERED)
    # The status to return to when an on-hold issue continues.
    status_before_hold: Mapped[str | None] = mapped_column(sa.String(20))
    reporter_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    assignee_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    first_on_site_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # --- reported figures (circle/issues/response.py) ---
    # When the issue was first responded to: the earliest on-site arrival or resolution
    # ever recorded. Kept on flush and never cleared, so re-handling (which clears
    # resolved_at) cannot flip whether the response was on time.
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # --- end of reported figures ---
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the current resolution clock started: registration, or the last 重办.
    resolution_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # SLA clocks stop while the issue is on hold; held_seconds is the time spent on hold
    # since resolution_started_at, counted on the resolution clock.
    hold_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    held_seconds: Mapped[int] = mapped_column(default=0)
    # The terms of the SLA policy in force when the issue was registered, so that a later
    # policy change affects new issues only: the response budget and its clock; the
    # resolution rule with its N (or, for the fixed-duration rule, its minutes) and the
    # clock its time counts on (for holds). Issues registered before the rules have the
    # duration rule. No CHECK constraints: adding one to "issue" on SQLite would copy the
    # table (see migration 0010); sla.start_clocks writes only declared values.
    response_minutes: Mapped[int | None]
    response_clock: Mapped[str] = mapped_column(sa.String(20), default=Clock.CALENDAR,
                                                server_default=Clock.CALENDAR)
    resolution_rule: Mapped[str] = mapped_column(sa.String(20), default=DeadlineRule.DURATION,
                                                 server_default=DeadlineRule.DURATION)
    resolution_amount: Mapped[int | None]
    resolution_minutes: Mapped[int | None]
    resolution_clock: Mapped[str] = mapped_column(sa.String(20), default=Clock.CALENDAR,
                                                  server_default=Clock.CALENDAR)
    # --- the 12345 work-order clocks (circle/issues/lifecycle.py) ---
    # When the issue reached the community's specialists (escalation, or a transfer from
    # another community): the 签收 (signing-for) and 先行联系 (first contact) clocks start.
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sign_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    contact_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    contacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    contact_channel: Mapped[str | None] = mapped_column(sa.String(10))
    # Approved extensions (延期) of the resolution deadline, and automatic chases (催办).
    extension_count: Mapped[int] = mapped_column(default=0, server_default="0")
    chase_count: Mapped[int] = mapped_column(default=0, server_default="0")
    # The latest supervision order (督办): the 督办 mark shows while the issue is open.
    supervised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_summary: Mapped[str] = mapped_column(sa.Text, default="")
    rehandle_count: Mapped[int] = mapped_column(default=0)
    # Callback outcome: the effective rating (the latest reached callback's), the number of
    # failed attempts in the current round, and whether the merchant could not be reached.
    rating: Mapped[str | None] = mapped_column(sa.String(30))
    callback_attempts: Mapped[int] = mapped_column(default=0)
    callback_unreachable: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Optimistic locking: two people acting on one issue at once cannot both succeed.
    version: Mapped[int] = mapped_column(default=1)
    # --- one case per problem, and the merchant's own link (circle/selfreport) ---
    # The one-time key of the form (or QR page) that registered the issue: a repeated POST
    # with the same key finds this issue instead of making a second (a unique index decides).
    registration_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True,
                                                         index=True)
    # The unguessable part of the merchant's tracking link (secrets.token_urlsafe).
    tracking_token: Mapped[str | None] = mapped_column(sa.String(64), unique=True, index=True)
    # A duplicate merged into its original: withdrawn, with this pointing at the original.
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("issue.id"), index=True)

    __mapper_args__ = {"version_id_col": version}

    merchant: Mapped[Merchant] = relationship()
    circle: Mapped[BusinessCircle] = relationship()
    category: Mapped[IssueCategory] = relationship()
    source: Mapped[IssueSource] = relationship()
    reporter: Mapped[User | None] = relationship(foreign_keys=[reporter_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    events: Mapped[list[IssueEvent]] = relationship(
        back_populates="issue", order_by="IssueEvent.id", cascade="all, delete-orphan"
    )
    site_visits: Mapped[list[SiteVisit]] = relationship(
        back_populates="issue", order_by="SiteVisit.arrived_at", cascade="all, delete-orphan"
    )
    symposiums: Mapped[list[Symposium]] = relationship(
        back_populates="issue", order_by="Symposium.held_at", cascade="all, delete-orphan"
    )
    callbacks: Mapped[list[Callback]] = relationship(
        back_populates="issue", order_by="Callback.called_at", cascade="all, delete-orphan"
    )
    requests: Mapped[list[ApprovalRequest]] = relationship(
        back_populates="issue", order_by="ApprovalRequest.id", cascade="all, delete-orphan"
    )
    supervisions: Mapped[list[Supervision]] = relationship(
        back_populates="issue", order_by="Supervision.id", cascade="all, delete-orphan"
    )

    @property
    def pending_request(self) -> ApprovalRequest | None:
        """The extension or return waiting for a leader's decision, if any."""
        from circle.issues.lifecycle_models import RequestStatus  # builds on these models

        return next((r for r in self.requests if r.status == RequestStatus.PENDING), None)

    @property
    def is_supervised(self) -> bool:
        """Whether the 督办 mark shows: a supervision order, and the issue not yet resolved."""
        return self.supervised_at is not None and self.status in Status.OPEN
    merged_into: Mapped[Issue | None] = relationship(remote_side=[id])
    photos: Mapped[list[IssuePhoto]] = relationship(
        back_populates="issue", order_by="IssuePhoto.id", cascade="all, delete-orphan"
    )

    def __str__(self) -> str:
        return f"#{self.id} {self.merchant.shop_name if self.merchant else ''}".strip()

    @property
    def response_due_words(self) -> str:
        """The response deadline as people say it ("今天10:50前"), seen from now."""
        return _deadline_words(self.response_due_at)

    @property
    def resolution_due_words(self) -> str:
        """The resolution deadline as people say it ("今晚前", "12月8日前"), seen from now."""
        return _deadline_words(self.resolution_due_at)


def overdue_clause(now: datetime):
    """SQL condition: the issue is overdue at ``now`` (the dashboard's 当前超时): open, its
    clock running (not on hold), its resolution deadline passed."""
    return sa.and_(Issue.status.in_(Status.RUNNING), Issue.resolution_due_at < now)


def _deadline_words(due: datetime | None) -> str:
    from circle.issues.sla import deadline_words  # sla builds on these models
    from circle.timeutil import local_zone

    return deadline_words(due, utcnow(), local_zone())


class IssueEvent(db.Model):
    """One append-only row of an issue's timeline: who changed what, when, and why."""

    __tablename__ = "issue_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(
        sa.ForeignKey("issue.id", ondelete="CASCADE"), index=True
    )
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    action: Mapped[str] = mapped_column(sa.String(30))
    from_status: Mapped[str | None] = mapped_column(sa.String(20))
    to_status: Mapped[str | None] = mapped_column(sa.String(20))
    from_level: Mapped[int | None]
    to_level: Mapped[int | None]
    note: Mapped[str] = mapped_column(sa.Text, default="")

    issue: Mapped[Issue] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


site_visit_attendee = sa.Table(
    "site_visit_attendee",
    db.metadata,
    sa.Column("visit_id", sa.ForeignKey("site_visit.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
)

site_visit_department = sa.Table(
    "site_visit_department",
    db.metadata,
    sa.Column("visit_id", sa.ForeignKey("site_visit.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "department_id", sa.ForeignKey("department.id", ondelete="RESTRICT"), primary_key=True
    ),
)


class VisitOutcome:
    RESOLVED = "resolved"  # resolved on site
    TEMPORARY = "temporary"  # a temporary measure is in place
    ESCALATE = "escalate"  # needs the next level
    ALL = (RESOLVED, TEMPORARY, ESCALATE)


class SiteVisit(db.Model):
    """现场查看 (level 2) or 联合现场办公 with departments (level 3)."""

    __tablename__ = "site_visit"
    __table_args__ = (
        sa.CheckConstraint(_in("outcome", VisitOutcome.ALL), name="outcome"),
        sa.CheckConstraint("level BETWEEN 2 AND 3", name="level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(
        sa.ForeignKey("issue.id", ondelete="CASCADE"), index=True
    )
    level: Mapped[int] = mapped_column(default=2)
    arrived_at: Mapped[datetime] = mapped_column(UTCDateTime)
    findings: Mapped[str] = mapped_column(sa.Text, default="")
    outcome: Mapped[str] = mapped_column(sa.String(20))
    recorded_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    issue: Mapped[Issue] = relationship(back_populates="site_visits")
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
    attendees: Mapped[list[User]] = relationship(secondary=site_visit_attendee)
    departments: Mapped[list[Department]] = relationship(secondary=site_visit_department)
    photos: Mapped[list[SiteVisitPhoto]] = relationship(
        back_populates="visit", order_by="SiteVisitPhoto.id", cascade="all, delete-orphan"
    )


symposium_department = sa.Table(
    "symposium_department",
    db.metadata,
    sa.Column(
        "symposium_id", sa.ForeignKey("symposium.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "department_id", sa.ForeignKey("department.id", ondelete="RESTRICT"), primary_key=True
    ),
)


class Symposium(db.Model):
    """座谈会 (level 4): the parties agree a deadline for the solution."""

    __tablename__ = "symposium"

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(
        sa.ForeignKey("issue.id", ondelete="CASCADE"), index=True
    )
    held_at: Mapped[datetime] = mapped_column(UTCDateTime)
    participants: Mapped[str] = mapped_column(sa.Text, default="")
    minutes: Mapped[str] = mapped_column(sa.Text, default="")
    agreed_deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    issue: Mapped[Issue] = relationship(back_populates="symposiums")
    recorded_by: Mapped[User | None] = relationship()
    departments: Mapped[list[Department]] = relationship(secondary=symposium_department)


class SiteVisitPhoto(db.Model):
    """A photo taken on site. Kept in the database, not on a worker's disk, so that any
    number of app processes and hosts serve it (they hold no files of their own)."""

    __tablename__ = "site_visit_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(
        sa.ForeignKey("site_visit.id", ondelete="CASCADE"), index=True
    )
    content_type: Mapped[str] = mapped_column(sa.String(20))
    size: Mapped[int]
    original_name: Mapped[str] = mapped_column(sa.String(200), default="")
    data: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    visit: Mapped[SiteVisit] = relationship(back_populates="photos")
    uploaded_by: Mapped[User | None] = relationship()


class CallbackChannel:
    """How a callback's answers reached us."""

    PHONE = "phone"  # 电话回访: staff called the merchant
    SELF = "self"  # 商户自评: the merchant rated on the tracking page
    ALL = (PHONE, SELF)


class Callback(db.Model):
    """回访 — one call to the merchant after resolution (reached or not)."""

    __tablename__ = "callback"
    __table_args__ = (
        sa.CheckConstraint(
            "rating IS NULL OR " + _in("rating", Rating.ALL), name="rating"
        ),
        sa.Index("ix_callback_called_at", "called_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(
        sa.ForeignKey("issue.id", ondelete="CASCADE"), index=True
    )
    called_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    called_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    reached: Mapped[bool] = mapped_column(default=True)
    # Two separate answers: was it resolved (是/否), and the five-level rating.
    resolved_per_merchant: Mapped[bool | None]
    rating: Mapped[str | None] = mapped_column(sa.String(30))
    comments: Mapped[str] = mapped_column(sa.Text, default="")
    # Which handling round this callback judged (0 = first, 1 = after the first 重办, ...).
    round: Mapped[int] = mapped_column(default=0)
    # CallbackChannel: a staff call, or the merchant's own rating on the tracking page. No
    # CHECK constraint: adding one to "callback" on SQLite would copy the table.
    channel: Mapped[str] = mapped_column(sa.String(20), default=CallbackChannel.PHONE,
                                         server_default=CallbackChannel.PHONE)

    issue: Mapped[Issue] = relationship(back_populates="callbacks")
    called_by: Mapped[User | None] = relationship()


# Issue's relationships name the records that build on it in their own modules: import them
# with it, so that its mapper finds them wherever Issue is used (they import Issue, which
# exists by now).
from circle.issues import lifecycle_models  # noqa: E402, F401
from circle.selfreport import models as _selfreport_models  # noqa: E402, F401
