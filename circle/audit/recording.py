"""Record every change the admin makes to audited models, at flush time.

Admin views open an :func:`audit_context` around their create/update/delete work; every
audited object the session then inserts, changes or deletes — including inline emergency
contacts and many-to-many links — becomes one :class:`AuditRecord` with the field-level
difference. Outside such a context (workflow functions, CLI seeding) nothing is recorded
here: the workflow keeps its own timeline.
"""

from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
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
           object_id: str = "", object_repr: str = "", changes: dict | None = None):
    """Add one audit record directly (exports and imports, which change no row)."""
    from circle.extensions import db

    entry = AuditRecord(actor_id=getattr(actor, "id", None), actor_name=str(actor or ""),
                        remote_addr=remote_addr or "", action=action,
                        object_type=object_type, object_id=str(object_id),
                        object_repr=str(object_repr)[:200], changes=changes or {})
    db.session.add(entry)
    return entry


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


@event.listens_for(Session, "before_flush")
def _collect(session, flush_context, instances):
    """Refuse to change audit records; note what the admin changed in audited models."""
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditRecord):
            raise PermissionError("audit records are append-only")
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


@event.listens_for(Session, "after_flush_postexec")
def _write(session, flush_context):
    """Write the noted changes; the commit that is flushing flushes these rows too."""
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
            object_repr=label, changes=changes,
        ))
