"""The append-only audit log of changes made through the admin."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from circle.extensions import db
from circle.timeutil import UTCDateTime, utcnow


class AuditAction:
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    EXPORT = "export"
    IMPORT = "import"
    API = "api"  # a call to the 12345 API
    STEP = "step"  # a step of the loop (the issue timeline's event, copied here)
    LOGIN = "login"
    LOGOUT = "logout"
    LOGIN_FAILED = "login_fail"  # the name tried and the address; never the password
    ALL = (CREATE, UPDATE, DELETE, EXPORT, IMPORT, API, STEP, LOGIN, LOGOUT, LOGIN_FAILED)


class AuditRecord(db.Model):
    """Who changed which object when, and each field from what to what: the one activity
    log of the panel (admin edits, workflow steps, imports, exports, API calls, sign-ins).

    Rows are only ever added: the ORM refuses to update or delete them (see
    :mod:`circle.audit.recording`) and the admin view is read-only.
    """

    __tablename__ = "audit_record"
    __table_args__ = (
        sa.Index("ix_audit_record_object", "object_type", "object_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    # A copy of the actor's name: the record must stay readable if the account goes.
    actor_name: Mapped[str] = mapped_column(sa.String(100), default="")
    remote_addr: Mapped[str] = mapped_column(sa.String(64), default="")
    action: Mapped[str] = mapped_column(sa.String(10))
    object_type: Mapped[str] = mapped_column(sa.String(50))
    object_id: Mapped[str] = mapped_column(sa.String(50), default="")
    object_repr: Mapped[str] = mapped_column(sa.String(200), default="")
    # {"field": [old, new]} for updates; {"field": value} for creates and deletes.
    changes: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    # The business circle the object belongs to (issues, merchants…), for row scope: a
    # street leader reads the records of their street's circles. No foreign key: a record
    # outlives the circle it names.
    circle_id: Mapped[int | None] = mapped_column(index=True)
