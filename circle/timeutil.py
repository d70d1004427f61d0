"""Time helpers: everything is stored as aware UTC and shown in the configured zone."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app, has_app_context

from circle.config import default


def utcnow() -> datetime:
    """The current time as an aware UTC datetime (use as a column default callable)."""
    return datetime.now(timezone.utc)


def local_zone() -> ZoneInfo:
    """The configured display time zone (``CIRCLE_TIMEZONE``)."""
    if has_app_context():
        return ZoneInfo(current_app.config["CIRCLE_TIMEZONE"])
    return ZoneInfo(default("CIRCLE_TIMEZONE"))


def to_local(value: datetime | None) -> datetime | None:
    """Convert an aware (or naive-UTC) datetime to the configured zone."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(local_zone())


def format_local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Format a stored timestamp for people, in the configured zone."""
    local = to_local(value)
    return local.strftime(fmt) if local else ""


class UTCDateTime(sa.types.TypeDecorator):
    """A timezone-aware timestamp stored in UTC on every backend.

    PostgreSQL keeps ``timestamptz``; SQLite has no zone support, so values are stored as
    naive UTC and given back their UTC zone on the way out. Naive values coming in are
    refused: they are almost always a local time someone forgot to convert.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; attach a time zone")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def zone_label(zone: ZoneInfo | str) -> str:
    """A time zone as people say it, in the page's language: ``Asia/Shanghai`` is
    中国（上海）时间 in Chinese, "China (Shanghai) Time" in English (never the code)."""
    from babel.dates import get_timezone_location
    from flask_babel import get_locale

    if isinstance(zone, str):
        zone = ZoneInfo(zone)
    return get_timezone_location(zone, locale=get_locale() or "en")
