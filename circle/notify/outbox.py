"""The transactional outbox: notices, their in-app notifications and their outside
deliveries are written in the transaction of whatever caused them.

A workflow step appends an :class:`~circle.issues.models.IssueEvent` and flushes; the
session listener below sees the new event rows after that flush and writes, on the same
connection (so in the same transaction, committed or rolled back with the step), the notice
:data:`~circle.notify.rules.ON_EVENT` declares for the event's action. The job engine then
sends the deliveries (:mod:`circle.notify.delivery`). Every row carries an idempotency key
(``INSERT ... ON CONFLICT DO NOTHING``): writing the same notice twice writes it once.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from circle.issues.models import IssueEvent, Severity
from circle.notify.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    Notice,
    Notification,
    Preference,
    WecomWebhook,
)
from circle.notify.rules import ON_EVENT, ON_KIND, pings_at_night, recipients
from circle.org.models import BusinessCircle

_DEFAULT_QUIET = (time(22, 0), time(7, 0))
_DIRTY = "circle_outbox_dirty"


def _insert(connection, table):
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def insert_once(connection, table, values: dict, key_column: str | None = "key") -> int | None:
    """Insert a row unless its idempotency key (or, with ``key_column=None``, any unique
    constraint) is taken; its new id, or ``None``."""
    target = [key_column] if key_column else None
    stmt = (_insert(connection, table).values(**values)
            .on_conflict_do_nothing(index_elements=target).returning(table.c.id))
    return connection.scalar(stmt)


def quiet_hours(pref) -> tuple[time, time] | None:
    """A person's quiet hours (start, end), local time; ``None``: none at all."""
    if pref is not None and pref.quiet_start is not None and pref.quiet_end is not None:
        start, end = pref.quiet_start, pref.quiet_end
    else:
        start, end = default_quiet_hours()
    return None if start == end else (start, end)


def default_quiet_hours() -> tuple[time, time]:
    """``CIRCLE_NOTIFY_QUIET_FROM`` – ``CIRCLE_NOTIFY_QUIET_UNTIL`` (22:00–07:00)."""
    if not has_app_context():
        return _DEFAULT_QUIET
    config = current_app.config
    return (time.fromisoformat(config["CIRCLE_NOTIFY_QUIET_FROM"]),
            time.fromisoformat(config["CIRCLE_NOTIFY_QUIET_UNTIL"]))


def not_before(now: datetime, quiet: tuple[time, time] | None, zone) -> datetime:
    """``now``, or the end of the quiet hours ``now`` falls in (UTC)."""
    if quiet is None:
        return now
    start, end = quiet
    local = now.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    inside = (start <= clock < end) if start < end else (clock >= start or clock < end)
    if not inside:
        return now
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone).astimezone(timezone.utc)


def write_notice(connection, *, key: str, kind: str, issue=None, people: list[int],
                 now: datetime, detail: dict | None = None, zone=None,
                 cache: dict | None = None) -> int | None:
    """Write one notice with its notifications and deliveries; its id, or ``None`` when a
    notice with this key exists (nothing is written twice). ``cache`` keeps lookups
    (preferences, robots) across the many notices of one scan."""
    notice_id = insert_once(connection, Notice.__table__, {
        "key": key, "kind": kind, "issue_id": getattr(issue, "id", None),
        "detail": detail or {}, "created_at": now})
    if notice_id is None:
        return None
    if people:
        connection.execute(Notification.__table__.insert(), [
            {"notice_id": notice_id, "user_id": user_id, "created_at": now}
            for user_id in people])
    _write_deliveries(connection, notice_id, key, kind, issue, people, now, zone,
                      {} if cache is None else cache)
    return notice_id


def _preferences(connection, people: list[int], cache: dict) -> dict:
    known = cache.setdefault("preferences", {})
    missing = [user_id for user_id in people if user_id not in known]
    if missing:
        known.update(dict.fromkeys(missing))
        known.update({p.user_id: p for p in connection.execute(
            sa.select(Preference.__table__).where(Preference.user_id.in_(missing)))})
    return {user_id: known[user_id] for user_id in people if known[user_id] is not None}


def _write_deliveries(connection, notice_id, key, kind, issue, people, now, zone,
                      cache) -> None:
    from circle.timeutil import local_zone

    zone = zone or local_zone()
    prefs = _preferences(connection, people, cache)
    severity = getattr(issue, "severity", None) or Severity.SMALL
    urgent = pings_at_night(kind, severity)
    rows = []
    for user_id in people:
        pref = prefs.get(user_id)
        if pref is None or not pref.email_enabled or not pref.email:
            continue
        due = now if urgent else not_before(now, quiet_hours(pref), zone)
        rows.append({"key": f"{key}:email:{user_id}", "notice_id": notice_id,
                     "channel": Channel.EMAIL, "user_id": user_id, "next_attempt_at": due})
    listeners = [u for u in people if prefs.get(u) is None or prefs[u].wecom_enabled]
    # The robot is looked up only for someone to hear it (most registrations tell no one).
    webhook = _cached_webhook(connection, issue, cache) if listeners else None
    if webhook is not None:
        due = now if urgent else min(
            not_before(now, quiet_hours(prefs.get(u)), zone) for u in listeners)
        rows.append({"key": f"{key}:wecom:{webhook}", "notice_id": notice_id,
                     "channel": Channel.WECOM, "webhook_id": webhook, "next_attempt_at": due})
    for row in rows:
        insert_once(connection, Delivery.__table__, {
            **row, "status": DeliveryStatus.PENDING, "created_at": now, "attempts": 0,
            "last_error": ""})


def _cached_webhook(connection, issue, cache: dict) -> int | None:
    circle_id = getattr(issue, "circle_id", None)
    robots = cache.setdefault("robots", {})
    if circle_id not in robots:
        robots[circle_id] = _webhook_for(connection, issue)
    return robots[circle_id]


def _webhook_for(connection, issue) -> int | None:
    if issue is None or getattr(issue, "circle_id", None) is None:
        return None
    community = sa.select(BusinessCircle.community_id).where(
        BusinessCircle.id == issue.circle_id).scalar_subquery()
    return connection.scalar(sa.select(WecomWebhook.id).where(
        WecomWebhook.community_id == community, WecomWebhook.active))


def notice_for_kind(connection, kind: str, issue, *, key: str, now: datetime,
                    detail: dict | None = None, zone=None,
                    cache: dict | None = None) -> int | None:
    """Write a notice of a kind the job engine makes (:data:`ON_KIND`) about ``issue``."""
    cache = {} if cache is None else cache
    people = recipients(connection, ON_KIND[kind], issue, cache=cache)
    return write_notice(connection, key=key, kind=kind, issue=issue, people=people, now=now,
                        detail=detail, zone=zone, cache=cache)


# --- the session listener -----------------------------------------------------------------

@event.listens_for(Session, "after_flush")
def _notify_events(session, flush_context) -> None:
    new_events = [obj for obj in session.new if isinstance(obj, IssueEvent)]
    if not new_events:
        return
    connection = session.connection()
    for issue_event in new_events:
        rule = ON_EVENT.get(issue_event.action)
        if rule is None or issue_event.id is None:
            continue
        issue = issue_event.issue
        people = recipients(connection, rule.audiences, issue, actor_id=issue_event.actor_id)
        written = write_notice(
            connection, key=f"event:{issue_event.id}", kind=rule.kind, issue=issue,
            people=people, now=issue_event.created_at,
            detail={"event_id": issue_event.id, "action": issue_event.action,
                    "actor_id": issue_event.actor_id, "note": issue_event.note or ""})
        if written and people:
            # Deliveries go to people only: a notice for no one leaves the relay nothing
            # to send, and waking it costs a write to the job queue.
            session.info[_DIRTY] = True


@event.listens_for(Session, "after_commit")
def _wake_the_relay(session) -> None:
    """Notices were committed: ask the job engine to send their deliveries now (the
    periodic relay sends them anyway if this wake-up is lost)."""
    if session.info.pop(_DIRTY, False) and has_app_context():
        from circle.jobs import wake_relay

        wake_relay()


@event.listens_for(Session, "after_rollback")
def _forget(session) -> None:
    session.info.pop(_DIRTY, None)
