"""The one activity log: every change is recorded here, at flush time, in one place.

- **Admin edits.** Admin views open an :func:`audit_context` around their
  create/update/delete work; every audited object the session then inserts, changes or
  deletes — including inline emergency contacts and many-to-many links — becomes one
  :class:`AuditRecord` with the field-level difference.
- **Workflow steps.** Every :class:`~circle.issues.models.IssueEvent` the session inserts —
  whoever wrote it: the desk, the boards, the API, the merchant's own link, a job — is copied
  into the log as a ``step`` record (the issue timeline stays the per-case view of it).
- **Sign-ins.** Flask-Login's signals (and :data:`login_failed`, sent by the login view)
  record logins, logouts and failed attempts — the name tried and the client address, never
  the password.
- **Exports, imports, API calls** write their record with :func:`record`.
"""

from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from blinker import Namespace
from flask import has_request_context, request
from flask_login import user_logged_in, user_logged_out
from sqlalchemy import event
from sqlalchemy.orm import Session

from circle.audit.models import AuditAction, AuditRecord

# Fields whose values never go into the log (only the fact that they changed).
REDACTED = {"password_hash", "session_version", "data"}
# Bookkeeping columns that change with everything and say nothing.
IGNORED = {"updated_at", "version"}


@dataclass
class AuditContext:
    actor_id: int | None
    actor_name: str
    remote_addr: str
    pending: list


_current: contextvars.ContextVar[AuditContext | None] = contextvars.ContextVar(
    "circle_audit", default=None
)


@contextlib.contextmanager
def audit_context(actor, remote_addr: str = ""):
    """Record the audited changes made inside this block as done by ``actor``."""
    token = _current.set(AuditContext(getattr(actor, "id", None), str(actor or ""),
                                      remote_addr or "", []))
    try:
        yield
    finally:
        _current.reset(token)


def record(action: str, object_type: str, *, actor, remote_addr: str = "",
           object_id: str = "", object_repr: str = "", changes: dict | None = None,
           circle_id: int | None = None):
    """Add one audit record directly (exports and imports, which change no row)."""
    from circle.extensions import db

    entry = AuditRecord(actor_id=_account_id(actor), actor_name=str(actor or "")[:100],
                        remote_addr=remote_addr or client_address(), action=action,
                        object_type=object_type, object_id=str(object_id),
                        object_repr=str(object_repr)[:200], changes=changes or {},
                        circle_id=circle_id)
    db.session.add(entry)
    return entry


def client_address() -> str:
    """The address of the client of the current request ("" outside a request)."""
    return (request.remote_addr or "")[:64] if has_request_context() else ""


def _account_id(actor) -> int | None:
    # Only accounts have ids the log can point at (a merchant's link is no account).
    return actor.id if getattr(actor, "__tablename__", None) == "user" else None


# --- sign-ins ---------------------------------------------------------------------------

_signals = Namespace()
#: Sent by the login view when a sign-in is refused: ``login_failed.send(app,
#: username=...)``. The password is never passed.
login_failed = _signals.signal("circle-login-failed")


@user_logged_in.connect
def _logged_in(app, user, **extra):
    record(AuditAction.LOGIN, "user", actor=user, object_id=str(user.id),
           object_repr=str(user))


@user_logged_out.connect
def _logged_out(app, user, **extra):
    if user is not None and getattr(user, "is_authenticated", False):
        record(AuditAction.LOGOUT, "user", actor=user, object_id=str(user.id),
               object_repr=str(user))


@login_failed.connect
def _login_refused(app, username: str = "", **extra):
    name = (username or "")[:100]
    record(AuditAction.LOGIN_FAILED, "user", actor=None, object_repr=name,
           changes={"username": name})


def _plain(value):
    """A JSON-friendly rendering of a column or relationship value."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    return str(value)


def _is_audited(obj) -> bool:
    return getattr(type(obj), "__audited__", False)


def _columns(obj):
    mapper = sa.inspect(obj).mapper
    return [attr for attr in mapper.column_attrs if attr.key not in IGNORED]


def _snapshot(obj) -> dict:
    values = {}
    for attr in _columns(obj):
        value = getattr(obj, attr.key, None)
        values[attr.key] = "•••" if attr.key in REDACTED else _plain(value)
    return values


def _diff(obj) -> dict:
    state = sa.inspect(obj)
    changes = {}
    for attr in state.mapper.attrs:
        if attr.key in IGNORED:
            continue
        history = state.attrs[attr.key].history
        if not history.has_changes():
            continue
        if isinstance(attr, sa.orm.RelationshipProperty):
            if attr.uselist:
                changes[attr.key] = {"added": [_plain(o) for o in history.added],
                                     "removed": [_plain(o) for o in history.deleted]}
            else:
                old = history.deleted[0] if history.deleted else None
                new = history.added[0] if history.added else None
                if old is not new:
                    changes[attr.key] = [_plain(old), _plain(new)]
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if old == new:
            continue
        if attr.key in REDACTED:
            changes[attr.key] = ["•••", "•••"]
        else:
            changes[attr.key] = [_plain(old), _plain(new)]
    return changes


def _identity(obj) -> str:
    return ",".join(str(part) for part in (sa.inspect(obj).identity or ()))


def _label(obj) -> str:
    try:
        return str(obj)[:200]
    except Exception:  # a __str__ that needs a lazy load the flush cannot give
        return type(obj).__name__


def _circle_of(obj) -> int | None:
    """The business circle of an object, for the log's row scope (``None``: no circle)."""
    circle_id = getattr(obj, "circle_id", None)
    if circle_id is None and type(obj).__tablename__ == "emergency_contact":
        merchant = getattr(obj, "merchant", None)
        circle_id = getattr(merchant, "circle_id", None)
    return circle_id if isinstance(circle_id, int) else None


def _is_step(obj) -> bool:
    return getattr(type(obj), "__tablename__", None) == "issue_event"


def _step_record(event_row) -> AuditRecord:
    """The log's copy of one timeline event: the step, and status and level from → to."""
    issue = event_row.issue
    changes = {"step": event_row.action}
    if event_row.from_status != event_row.to_status:
        changes["status"] = [event_row.from_status, event_row.to_status]
    if event_row.from_level != event_row.to_level:
        changes["level"] = [event_row.from_level, event_row.to_level]
    if event_row.note:
        changes["note"] = event_row.note[:1000]
    actor = event_row.actor
    ctx = _current.get()
    return AuditRecord(
        actor_id=event_row.actor_id, actor_name=str(actor or "")[:100],
        remote_addr=(ctx.remote_addr if ctx else "") or client_address(),
        action=AuditAction.STEP, object_type="issue", object_id=str(event_row.issue_id),
        object_repr=_label(issue), changes=changes, created_at=event_row.created_at,
        circle_id=getattr(issue, "circle_id", None))


@event.listens_for(Session, "before_flush")
def _collect(session, flush_context, instances):
    """Refuse to change audit records; note what the admin changed in audited models."""
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditRecord):
            raise PermissionError("audit records are append-only")
    steps = [obj for obj in session.new if _is_step(obj)]
    if steps:
        session.info.setdefault("audit_steps", []).extend(steps)
    ctx = _current.get()
    if ctx is None:
        return
    for obj in session.new:
        if _is_audited(obj):
            # Ids and defaults exist only after the flush: snapshot it then.
            ctx.pending.append((AuditAction.CREATE, obj, None, None, None))
    for obj in session.dirty:
        if _is_audited(obj) and session.is_modified(obj):
            changes = _diff(obj)
            if changes:
                ctx.pending.append((AuditAction.UPDATE, obj, changes, _identity(obj),
                                    _label(obj)))
    for obj in session.deleted:
        if _is_audited(obj):
            ctx.pending.append((AuditAction.DELETE, obj, _snapshot(obj), _identity(obj),
                                _label(obj)))


@event.listens_for(Session, "after_rollback")
def _forget(session):
    """Steps of a flush that was rolled back never happened: nothing to copy."""
    session.info.pop("audit_steps", None)


@event.listens_for(Session, "after_flush_postexec")
def _write(session, flush_context):
    """Write the noted changes; the commit that is flushing flushes these rows too."""
    for step in session.info.pop("audit_steps", ()):
        session.add(_step_record(step))
    ctx = _current.get()
    if ctx is None or not ctx.pending:
        return
    pending, ctx.pending = ctx.pending, []
    for action, obj, changes, identity, label in pending:
        if action == AuditAction.CREATE:
            changes, identity, label = _snapshot(obj), _identity(obj), _label(obj)
        session.add(AuditRecord(
            actor_id=ctx.actor_id, actor_name=ctx.actor_name, remote_addr=ctx.remote_addr,
            action=action, object_type=type(obj).__tablename__, object_id=identity,
            object_repr=label, changes=changes, circle_id=_circle_of(obj),
        ))
