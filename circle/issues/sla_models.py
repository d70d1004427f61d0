"""The terms the SLA clocks (:mod:`circle.issues.sla`) read, as an administrator edits
them: the service promise per severity (:class:`SlaPolicy`), the working hours with their
seasons (:class:`WorkSchedule`, 作息时间) and the exceptions to the Monday–Friday week
(:class:`CalendarDay`, 法定节假日 and 调休上班)."""

from __future__ import annotations

from datetime import date, datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from circle.extensions import db
from circle.issues.models import Clock, DeadlineRule, Severity, _in
from circle.timeutil import UTCDateTime, utcnow
from circle.versioning import Versioned


class SlaPolicy(Versioned, db.Model):
    """The service promise per severity (小事不过晌、大事不过夜、难事不过周), edited by an admin.

    Resolution: a deadline rule (:class:`DeadlineRule`) with its N (``amount``), or for the
    fixed-duration rule ``resolve_minutes`` on the calendar or, with ``working_days``, the
    working-day clock. Response (first on-site arrival): ``respond_minutes`` on
    ``respond_clock``. :func:`circle.issues.sla.start_clocks` copies them onto each issue.
    """

    __audited__ = True  # admin changes are written to the audit log
    __tablename__ = "sla_policy"
    __table_args__ = (
        sa.CheckConstraint(_in("severity", Severity.ALL), name="severity"),
        sa.CheckConstraint(_in("rule", DeadlineRule.ALL), name="rule"),
        sa.CheckConstraint(_in("respond_clock", Clock.ALL), name="respond_clock"),
        sa.CheckConstraint("respond_minutes > 0 AND (resolve_minutes IS NULL OR "
                           "resolve_minutes > 0) AND (amount IS NULL OR amount > 0)",
                           name="positive"),
        # Each rule has the number it counts: minutes for the fixed duration, N otherwise.
        sa.CheckConstraint(f"(rule = '{DeadlineRule.DURATION}' AND resolve_minutes IS NOT NULL)"
                           f" OR (rule <> '{DeadlineRule.DURATION}' AND amount IS NOT NULL)",
                           name="budget"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    severity: Mapped[str] = mapped_column(sa.String(10), unique=True)
    respond_minutes: Mapped[int]
    respond_clock: Mapped[str] = mapped_column(sa.String(20), default=Clock.CALENDAR)
    # The 12345 clocks, from the moment the issue reaches the specialists, on respond_clock:
    # signing for it (签收) and the first contact with the merchant (先行联系).
    sign_minutes: Mapped[int] = mapped_column(default=30, server_default="30")
    contact_minutes: Mapped[int] = mapped_column(default=120, server_default="120")
    rule: Mapped[str] = mapped_column(sa.String(20), default=DeadlineRule.DURATION)
    # N of the rule: half-days, days, calendar days, working hours or working days.
    amount: Mapped[int | None]
    # The fixed-duration rule only: minutes, and whether only working days count.
    resolve_minutes: Mapped[int | None]
    working_days: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __str__(self) -> str:
        return self.severity


class WorkSchedule(Versioned, db.Model):
    """作息时间: the working sessions of a working day and the registration cut-offs of the
    deadline rules — one row for the whole year, plus any seasons (夏季作息) that override it
    between two dates (``MM-DD``, both included; a season may run over the new year)."""

    __audited__ = True  # admin changes are written to the audit log
    __tablename__ = "work_schedule"
    __table_args__ = (
        # Times compare in order on both backends (SQLite keeps them as 'HH:MM:SS' text).
        sa.CheckConstraint("morning_start < morning_end AND morning_end <= afternoon_start "
                           "AND afternoon_start < afternoon_end", name="sessions"),
        sa.CheckConstraint("noon_cutoff <= morning_end AND afternoon_cutoff <= afternoon_end",
                           name="cutoffs"),
        sa.CheckConstraint("(season_start IS NULL AND season_end IS NULL) OR "
                           "(season_start IS NOT NULL AND season_end IS NOT NULL)",
                           name="season"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(50))
    # "MM-DD"; both empty for the row that holds all year.
    season_start: Mapped[str | None] = mapped_column(sa.String(5))
    season_end: Mapped[str | None] = mapped_column(sa.String(5))
    morning_start: Mapped[time] = mapped_column(sa.Time)
    morning_end: Mapped[time] = mapped_column(sa.Time)
    afternoon_start: Mapped[time] = mapped_column(sa.Time)
    afternoon_end: Mapped[time] = mapped_column(sa.Time)
    # 不过晌: registered from this time on, a matter is due at the end of the afternoon
    # (and from afternoon_cutoff on, at the end of the next morning).
    noon_cutoff: Mapped[time] = mapped_column(sa.Time)
    afternoon_cutoff: Mapped[time] = mapped_column(sa.Time)
    # 不过夜: registered from this time on, a matter is due at the end of the next working day.
    evening_cutoff: Mapped[time] = mapped_column(sa.Time)

    def __str__(self) -> str:
        return self.name


class DayKind:
    HOLIDAY = "holiday"  # a weekday off (法定节假日)
    WORKDAY = "workday"  # a weekend day worked instead (调休上班)
    ALL = (HOLIDAY, WORKDAY)


class CalendarDay(Versioned, db.Model):
    """An exception to the Monday–Friday week, from the official holiday schedule."""

    __audited__ = True  # admin changes are written to the audit log
    __tablename__ = "calendar_day"
    __table_args__ = (sa.CheckConstraint(_in("kind", DayKind.ALL), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date, unique=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    name: Mapped[str] = mapped_column(sa.String(50), default="")

    def __str__(self) -> str:
        return f"{self.day.isoformat()} {self.name}".strip()
