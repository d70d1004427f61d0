"""The app's settings: every environment variable it reads, with its type, default and meaning.

:class:`Settings` is the one declaration. :func:`from_environment` builds the Flask config
from it, ``flask circle settings`` prints the README's configuration table from it, and
``tests/test_config.py`` fails when the two disagree. Code reads the Flask config
(``current_app.config["CIRCLE_PHOTO_MAX_BYTES"]``) and never restates a default.

Nothing secret has a default: ``SECRET_KEY`` comes from the environment or from a key
generated on first run and kept in the instance folder (see :func:`load_secret_key`).
gunicorn's own variables live in ``gunicorn.conf.py``, the benchmark's in ``bench/``.
"""

from __future__ import annotations

import math
import os
import re
import secrets
import types
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import cache
from pathlib import Path
from typing import Any, Literal, NewType, Union, get_args, get_origin, get_type_hints

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

#: A number of bytes, written ``5242880``, ``5 MiB`` or ``64 KiB``.
ByteSize = NewType("ByteSize", int)
#: Flask-Limiter's syntax, e.g. ``5 per 5 minutes;20 per day``; checked at startup.
RateLimit = NewType("RateLimit", str)
#: An IANA time zone name, e.g. ``Asia/Shanghai``; checked at startup.
TimeZoneName = NewType("TimeZoneName", str)
#: A local time of day, ``HH:MM``; checked at startup.
TimeOfDay = NewType("TimeOfDay", str)

_SAME_NAME = "<the variable's name>"


class SettingsError(ValueError):
    """An environment variable holds a value its setting cannot take (raised at startup)."""


def setting(env: str, default: Any, doc: str, *, key: str | None = _SAME_NAME,
            shown: str | None = None):
    """Declare one setting: its environment variable, default and one-line meaning.

    ``key`` is the Flask config key it becomes (the variable's own name unless given; None
    when :meth:`Settings.flask_config` derives other keys from it); ``shown`` documents a
    default that is not a plain value (one computed at startup).
    """
    return field(default=default, metadata={
        "env": env, "doc": doc, "key": env if key == _SAME_NAME else key, "shown": shown})


@dataclass(frozen=True)
class Settings:
    """Every setting of the app, read once from the environment by :meth:`from_environ`.

    The annotation is the type a value is parsed as; an unset or empty variable keeps the
    default.
    """

    database_url: str | None = setting(
        "DATABASE_URL", None,
        "SQLAlchemy URL. `postgresql://user@host/db` uses psycopg 3.",
        key=None, shown="`sqlite:///instance/circle.sqlite3`")
    secret_key: str | None = setting(
        "SECRET_KEY", None,
        "Signs sessions and import confirmations. **Set it** when running on more than one "
        "host.",
        shown="generated on first run into `instance/secret_key`")
    timezone: TimeZoneName = setting(
        "CIRCLE_TIMEZONE", "Asia/Shanghai",
        "Zone in which times are shown and deadlines computed (storage is UTC).")
    locale: Literal["zh_CN", "en"] = setting(
        "CIRCLE_LOCALE", "zh_CN",
        "Default UI language (`zh_CN` or `en`); users can switch.")
    session_cookie_secure: bool = setting(
        "SESSION_COOKIE_SECURE", False,
        "Set to `1` behind HTTPS: secure cookies, HSTS, plain HTTP redirected.")
    remember_days: int = setting(
        "CIRCLE_REMEMBER_DAYS", 30,
        "Days a sign-in (and its remember-me cookie) lasts at most; logout and password "
        "changes end it at once on every device, and the devices page (我的登录设备) signs "
        "out one.")
    # Tests use a one-round hash: scrypt's cost (~0.1 s per hash) would dominate the suite.
    password_hash_method: str = setting(
        "CIRCLE_PASSWORD_HASH", "scrypt",
        "How new passwords are hashed (a werkzeug method, e.g. `scrypt` or "
        "`pbkdf2:sha256:1000000`); stored hashes keep the method they were made with.")
    # Six on-site photos of up to 5 MiB each must fit in one visit form.
    max_content_length: ByteSize = setting(
        "MAX_CONTENT_LENGTH", 32 * MiB,
        "Largest accepted request body (six on-site photos).")
    photo_max_bytes: ByteSize = setting(
        "CIRCLE_PHOTO_MAX_BYTES", 5 * MiB, "Largest on-site photo.")
    import_max_bytes: ByteSize = setting(
        "CIRCLE_IMPORT_MAX_BYTES", 2 * MiB, "Largest merchant import file.")
    import_max_rows: int = setting(
        "CIRCLE_IMPORT_MAX_ROWS", 5000, "Most rows in one merchant import file.")
    import_max_token_bytes: ByteSize = setting(
        "CIRCLE_IMPORT_MAX_TOKEN_BYTES", 400_000,
        "Largest signed copy of checked rows a confirmation form carries back (kept under "
        "Flask's `MAX_FORM_MEMORY_SIZE`); larger imports are uploaded again to confirm.")
    import_token_max_age: int = setting(
        "CIRCLE_IMPORT_TOKEN_MAX_AGE", 3600,
        "Seconds within which a checked import can be confirmed.")
    # Large enough that a million rows take 200 queries, small enough that a batch is a
    # few megabytes.
    export_batch_size: int = setting(
        "CIRCLE_EXPORT_BATCH_SIZE", 5000,
        "Rows read per query (and per CSV chunk) while an export streams.")
    # A community's ~20 circles stay a dropdown; a district's thousand are looked up as
    # they are typed instead of riding in every list page (issue #19).
    filter_inline_options: int = setting(
        "CIRCLE_FILTER_INLINE_OPTIONS", 100,
        "Most rows (business circles, communities...) a list filter lists in its dropdown; "
        "a user who may see more gets a search-as-you-type box instead.")
    # Static files are fingerprinted by their ?v= query or rarely change: cache a day.
    static_max_age: int = setting(
        "CIRCLE_STATIC_MAX_AGE", 86400,
        "Seconds browsers may cache static files.", key="SEND_FILE_MAX_AGE_DEFAULT")
    # memory:// counts per process; several workers or hosts must share one Redis.
    ratelimit_storage_uri: str = setting(
        "RATELIMIT_STORAGE_URI", "memory://",
        "Where login-throttling counts live. With several workers or hosts use Redis, e.g. "
        "`redis://127.0.0.1:6379/0`, so that all processes share them. Under gunicorn with "
        "more than one worker it defaults to `redis://127.0.0.1:6379/0`, and `memory://` (or "
        "a store that does not answer) stops gunicorn at start.")
    login_limit_per_account: RateLimit = setting(
        "CIRCLE_LOGIN_LIMIT_PER_ACCOUNT", "5 per 5 minutes;20 per day",
        "Failed sign-ins allowed per account.")
    login_limit_per_ip: RateLimit = setting(
        "CIRCLE_LOGIN_LIMIT_PER_IP", "30 per 5 minutes",
        "Failed sign-ins allowed per client address.")
    # The client address feeds the per-IP login limit and the audit log.
    proxy_count: int = setting(
        "CIRCLE_PROXY_COUNT", 0,
        "Reverse proxies in front of the app whose `X-Forwarded-*` headers to trust.")
    # Each gunicorn worker has its own pool: the server sees at most
    # workers × (pool size + overflow) connections.
    db_pool_size: int = setting(
        "CIRCLE_DB_POOL_SIZE", 5,
        "PostgreSQL connections each worker keeps open.", key=None)
    db_max_overflow: int = setting(
        "CIRCLE_DB_MAX_OVERFLOW", 5,
        "Extra PostgreSQL connections a worker may open under load.", key=None)
    db_pool_recycle: int = setting(
        "CIRCLE_DB_POOL_RECYCLE", 1800,
        "Seconds after which a pooled PostgreSQL connection is replaced.", key=None)
    api_rate_limit: RateLimit = setting(
        "CIRCLE_API_RATE_LIMIT", "120 per minute", "API calls allowed per token.")
    api_max_body: ByteSize = setting(
        "CIRCLE_API_MAX_BODY", 64 * KiB, "Largest API request body.")
    api_feed_settle_seconds: float = setting(
        "CIRCLE_API_FEED_SETTLE_SECONDS", 5.0,
        "How long an event waits before the API's change feed shows it.")
    api_locale: Literal["en", "zh_CN"] = setting(
        "CIRCLE_API_LOCALE", "en", "Language of API error messages (`en` or `zh_CN`).")
    # --- background jobs and notifications (circle/jobs.py, circle/notify/) ---
    jobs_url: str = setting(
        "CIRCLE_JOBS_URL", "",
        "Where the job queue lives: `sqlite:///path` (one machine, no server), "
        "`redis://host:6379/1` (several hosts), `memory://` (tests).",
        shown="`sqlite:///instance/jobs.sqlite3`")
    jobs_in_app: bool = setting(
        "CIRCLE_JOBS_IN_APP", False,
        "Run the job consumer in threads of the app process (`make run` sets it); in "
        "production run `flask circle worker` instead.")
    jobs_tick_seconds: int = setting(
        "CIRCLE_JOBS_TICK_SECONDS", 60,
        "How often each worker wakes the periodic jobs and the outbox relay.")
    notify_scan_seconds: int = setting(
        "CIRCLE_NOTIFY_SCAN_SECONDS", 60,
        "Period of the SLA scan (75 % reminders, overdue warnings); run once per period "
        "however many workers run.")
    notify_ladder_minutes: int = setting(
        "CIRCLE_NOTIFY_LADDER_MINUTES", 120,
        "Minutes after an issue is overdue that the street leaders hear of it.")
    notify_digest_at: TimeOfDay = setting(
        "CIRCLE_NOTIFY_DIGEST_AT", "08:00", "Local time of each person's daily digest.")
    notify_quiet_from: TimeOfDay = setting(
        "CIRCLE_NOTIFY_QUIET_FROM", "22:00",
        "Start of the default quiet hours (no WeCom or e-mail but overdue big matters).")
    notify_quiet_until: TimeOfDay = setting(
        "CIRCLE_NOTIFY_QUIET_UNTIL", "07:00", "End of the default quiet hours.")
    notify_max_attempts: int = setting(
        "CIRCLE_NOTIFY_MAX_ATTEMPTS", 8,
        "Attempts at sending a WeCom or e-mail message before it is marked failed.")
    notify_retry_seconds: float = setting(
        "CIRCLE_NOTIFY_RETRY_SECONDS", 30.0,
        "Wait before the first retry of a failed message; doubled at each attempt.")
    notify_lease_seconds: int = setting(
        "CIRCLE_NOTIFY_LEASE_SECONDS", 120,
        "How long a worker holds a message it is sending; one killed mid-send lets it go "
        "after this, and another worker sends it.")
    base_url: str = setting(
        "CIRCLE_BASE_URL", "http://127.0.0.1:5000",
        "Address of the panel as people open it, for the links in messages.")
    webhook_timeout: float = setting(
        "CIRCLE_WEBHOOK_TIMEOUT", 10.0, "Seconds to wait for a WeCom robot or SMTP server.")
    smtp_host: str = setting(
        "CIRCLE_SMTP_HOST", "", "SMTP server for e-mail notifications (empty: no e-mail).",
        shown="none")
    smtp_port: int = setting("CIRCLE_SMTP_PORT", 25, "SMTP port.")
    smtp_security: Literal["none", "starttls", "ssl"] = setting(
        "CIRCLE_SMTP_SECURITY", "none", "`none`, `starttls` or `ssl`.")
    smtp_user: str = setting("CIRCLE_SMTP_USER", "", "SMTP login (empty: none).",
                             shown="none")
    smtp_password: str | None = setting(
        "CIRCLE_SMTP_PASSWORD", None, "SMTP password.", shown="none")
    smtp_from: str = setting(
        "CIRCLE_SMTP_FROM", "circle@localhost", "Sender address of notification e-mail.")
    # A week covers the longest promise (难事不过周): a shop reporting the same kind of
    # problem again within it is most likely chasing the same case.
    duplicate_window_days: int = setting(
        "CIRCLE_DUPLICATE_WINDOW_DAYS", 7,
        "Days within which an open issue of the same merchant and category is shown as a "
        "possible duplicate (可能重复) at registration.")
    self_report_limit_per_link: RateLimit = setting(
        "CIRCLE_SELF_REPORT_LIMIT_PER_LINK", "5 per hour;20 per day",
        "Reports a merchant's QR link may send.")
    self_report_limit_per_ip: RateLimit = setting(
        "CIRCLE_SELF_REPORT_LIMIT_PER_IP", "20 per hour",
        "Reports and ratings one client address may send through merchants' links.")
    self_report_photo_max_bytes: ByteSize = setting(
        "CIRCLE_SELF_REPORT_PHOTO_MAX_BYTES", 4 * MiB,
        "Largest photo a merchant may attach to a report (at most three).")

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every setting from ``environ`` (``os.environ`` by default).

        All invalid values are reported together, each with its variable's name, in one
        :class:`SettingsError`, before anything else starts.
        """
        environ = os.environ if environ is None else environ
        values, problems = {}, []
        for declared in declarations():
            raw = environ.get(declared.env, "").strip()
            if not raw:
                continue
            try:
                values[declared.attribute] = parse(declared.type, raw)
            except ValueError as err:
                problems.append(f"{declared.env}={raw!r}: {err}")
        if problems:
            raise SettingsError("invalid configuration in the environment:\n  "
                                + "\n  ".join(problems))
        return cls(**values)

    def flask_config(self, instance_path: str) -> dict:
        """The Flask config mapping: each setting under its key, plus fixed values."""
        config = {d.key: getattr(self, d.attribute) for d in declarations() if d.key}
        if not self.secret_key:
            del config["SECRET_KEY"]  # create_app falls back to the instance folder's key
        default_db = "sqlite:///" + str(Path(instance_path) / "circle.sqlite3")
        config.update({
            "SQLALCHEMY_DATABASE_URI": normalise_database_url(self.database_url or default_db),
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options(self.database_url or "", self),
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "REMEMBER_COOKIE_HTTPONLY": True,
            "REMEMBER_COOKIE_SAMESITE": "Lax",
            # Keep CSRF tokens valid for a working day: liaison officers leave forms open.
            "WTF_CSRF_TIME_LIMIT": 12 * 3600,
            "FLASK_ADMIN_FLUID_LAYOUT": True,
            "RATELIMIT_HEADERS_ENABLED": False,
        })
        return config


@dataclass(frozen=True)
class Declared:
    """One field of :class:`Settings` as the readers and the docs need it."""

    attribute: str
    env: str
    type: Any
    default: Any
    doc: str
    key: str | None
    shown: str | None

    @property
    def shown_default(self) -> str:
        """The default as the README's table writes it."""
        return self.shown or show(self.type, self.default)


@cache
def declarations() -> tuple[Declared, ...]:
    """The declared settings, in declaration order."""
    hints = get_type_hints(Settings)
    return tuple(
        Declared(f.name, f.metadata["env"], hints[f.name], f.default, f.metadata["doc"],
                 f.metadata["key"], f.metadata["shown"])
        for f in fields(Settings))


def default(env: str) -> Any:
    """The declared default of the setting read from ``env``, for code outside an app."""
    for declared in declarations():
        if declared.env == env:
            return declared.default
    raise KeyError(env)


def settings_table() -> str:
    """The README's configuration table (Markdown), written from the declaration."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    lines += [f"| `{d.env}` | {d.shown_default} | {d.doc} |" for d in declarations()]
    return "\n".join(lines)


# --- parsing ---------------------------------------------------------------------------------

_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}
_UNITS = {"": 1, "b": 1, "kib": KiB, "mib": MiB, "gib": GiB}
_BYTE_SIZE = re.compile(r"([0-9]+)\s*([a-z]*)", re.IGNORECASE)


def parse(kind: Any, text: str) -> Any:
    """Parse an environment variable's text as ``kind``; ValueError says what is expected."""
    if get_origin(kind) in (Union, types.UnionType):  # ``str | None``: set means the value
        (kind,) = [arg for arg in get_args(kind) if arg is not type(None)]
    if get_origin(kind) is Literal:
        if text not in get_args(kind):
            raise ValueError("expected one of " + ", ".join(get_args(kind)))
        return text
    if kind is bool:
        if text.lower() not in _TRUE | _FALSE:
            raise ValueError("expected 1/true/yes/on or 0/false/no/off")
        return text.lower() in _TRUE
    if kind is int:
        if not (text.isascii() and text.isdigit()):
            raise ValueError("expected a whole number, 0 or more")
        return int(text)
    if kind is float:
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not math.isfinite(number) or number < 0:
            raise ValueError("expected a number of seconds, 0 or more")
        return number
    if kind is ByteSize:
        match = _BYTE_SIZE.fullmatch(text)
        if not match or match[2].lower() not in _UNITS:
            raise ValueError("expected a size in bytes, e.g. 5242880, 64 KiB or 5 MiB")
        return int(match[1]) * _UNITS[match[2].lower()]
    if kind is RateLimit:
        from limits import parse_many

        try:
            parse_many(text)
        except ValueError:
            raise ValueError("expected a rate limit such as '120 per minute' "
                             "(several separated by ';')") from None
        return text
    if kind is TimeZoneName:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(text)
        except (ValueError, LookupError):
            raise ValueError("expected a time zone name such as Asia/Shanghai") from None
        return text
    if kind is TimeOfDay:
        from datetime import time

        try:
            time.fromisoformat(text)
        except ValueError:
            raise ValueError("expected a time of day such as 08:00") from None
        return text
    if kind is str:
        return text
    raise TypeError(f"no parser for {kind!r}")


def show(kind: Any, value: Any) -> str:
    """A default written as the README shows it, and as :func:`parse` reads it back."""
    if kind is bool:
        return "on" if value else "off"
    if kind is ByteSize:
        for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
            if value and value % size == 0:
                return f"{value // size} {unit}"
        return str(value)
    if kind in (int, float):
        return f"{value:g}"
    return f"`{value}`"


# --- helpers ---------------------------------------------------------------------------------

def normalise_database_url(url: str) -> str:
    """Point bare PostgreSQL URLs at the psycopg 3 driver the project installs.

    Hosting platforms hand out ``postgres://`` or ``postgresql://`` URLs; SQLAlchemy would
    then look for psycopg2, which is not a dependency.
    """
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def load_secret_key(instance_path: str) -> str:
    """Return ``SECRET_KEY`` from the environment, or a key persisted under ``instance/``.

    The file is created atomically (``O_EXCL``) so that several workers starting at once on
    one host agree on one key. Deployments on several hosts must set ``SECRET_KEY``.
    """
    key = Settings.from_environ().secret_key
    if key:
        return key
    path = Path(instance_path) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        key = secrets.token_hex(32)
        fh.write(key)
    return key


def engine_options(url: str, settings: Settings | None = None) -> dict:
    """Connection pool settings: pre-ping everywhere; a pool sized per worker for servers.

    Each gunicorn worker has its own pool, so the server sees at most
    workers × (CIRCLE_DB_POOL_SIZE + CIRCLE_DB_MAX_OVERFLOW) connections.
    """
    settings = settings or Settings.from_environ()
    options = {"pool_pre_ping": True}
    if url.startswith(("postgres", "postgresql")):
        options.update(pool_size=settings.db_pool_size,
                       max_overflow=settings.db_max_overflow,
                       pool_recycle=settings.db_pool_recycle)
    return options


def from_environment(instance_path: str, environ: Mapping[str, str] | None = None) -> dict:
    """Build the Flask config mapping from the environment (:class:`Settings`).

    Raises :class:`SettingsError`, naming each invalid variable, before the app starts.
    """
    return Settings.from_environ(environ).flask_config(instance_path)
