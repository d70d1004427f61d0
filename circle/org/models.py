"""Streets, their communities and business circles, departments, and circle members without a
login."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from circle.extensions import db
from circle.timeutil import UTCDateTime, utcnow
from circle.versioning import Versioned


class Street(Versioned, db.Model):
    """街道 — the street office above several communities; its leaders approve exceptions
    (extensions, returns) and supervise issues (督办)."""

    __audited__ = True  # admin changes are written to the audit log
    __tablename__ = "street"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    communities: Mapped[list[Community]] = relationship(
        back_populates="street", order_by="Community.name"
    )

    def __str__(self) -> str:
        return self.name


class Community(Versioned, db.Model):
    """社区 — a residential community that runs one or more business circles."""

    __audited__ = True  # admin changes are written to the audit log
    __tablename__ = "community"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    address: Mapped[str] = mapped_column(sa.String(200), default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    # The street (街道) the community belongs to; its leaders oversee the community.
    street_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("street.id", ondelete="RESTRICT"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    street: Mapped[Street | None] = relationship(back_populates="communities")
    circles: Mapped[list[BusinessCircle]] = relationship(
        back_populates="community", order_by="BusinessCircle.name"
    )

    def __str__(self) -> str:
        return self.name


class BusinessCircle(Versioned, db.Model):
    """商圈 — a shop street or cluster of shops within a community."""

    __audited__ = True  # admin changes are written to the audit log
    __tablename__ = "business_circle"
    __table_args__ = (sa.UniqueConstraint("community_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    community_id: Mapped[int] = mapped_column(
        sa.ForeignKey("community.id", ondelete="RESTRICT"), index=True
    )
    description: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    community: Mapped[Community] = relationship(back_populates="circles")
    members: Mapped[list[CircleMember]] = relationship(back_populates="circle")

    def __str__(self) -> str:
        return self.name


class ReferenceData:
    """Columns of an admin-edited list of names (the panel's "low-code" reference data).

    Categories, sources and department kinds are rows, not code enums, so each community can
    adapt them without a developer. Inactive rows stay for history but are not offered.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(50), unique=True)
    sort_order: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    def __str__(self) -> str:
        return self.name


class DepartmentKind(ReferenceData, Versioned, db.Model):
    """The kinds of department (power supply, property company, ...)."""

    __audited__ = True  # admin changes are written to the audit log
    __tablename__ = "department_kind"


class Department(Versioned, db.Model):
    """职能部门/单位 — a department or unit convened for a joint on-site office."""

    __audited__ = True  # admin changes are written to the audit log
    __tablename__ = "department"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    kind_id: Mapped[int] = mapped_column(
        sa.ForeignKey("department_kind.id", ondelete="RESTRICT"), index=True
    )
    contact_person: Mapped[str] = mapped_column(sa.String(50), default="")
    phone: Mapped[str] = mapped_column(sa.String(20), default="")
    active: Mapped[bool] = mapped_column(default=True)

    kind: Mapped[DepartmentKind] = relationship()

    def __str__(self) -> str:
        return self.name


class MemberRole:
    """Roles of circle members who have no login."""

    ADVISOR = "advisor"  # 群众建议员
    COLLECTOR = "collector"  # 民意收集员
    ALL = (ADVISOR, COLLECTOR)


class CircleMember(Versioned, db.Model):
    """A public advisor (群众建议员) or opinion collector (民意收集员) of a circle."""

    __audited__ = True  # admin changes are written to the audit log
    __tablename__ = "circle_member"
    __table_args__ = (
        sa.CheckConstraint("role IN ('advisor', 'collector')", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(50))
    role: Mapped[str] = mapped_column(sa.String(20))
    phone: Mapped[str] = mapped_column(sa.String(20))
    circle_id: Mapped[int] = mapped_column(
        sa.ForeignKey("business_circle.id", ondelete="RESTRICT"), index=True
    )
    active: Mapped[bool] = mapped_column(default=True)
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    circle: Mapped[BusinessCircle] = relationship(back_populates="members")

    def __str__(self) -> str:
        return self.name
