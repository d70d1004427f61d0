"""Configuration read from the environment, with safe defaults.

Nothing secret is written here: ``SECRET_KEY`` comes from the environment or from a key
generated on first run and kept in the instance folder (see :func:`load_secret_key`).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


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
    key = os.environ.get("SECRET_KEY")
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


def engine_options(url: str) -> dict:
    """Connection pool settings: pre-ping everywhere; a pool sized per worker for servers.

    Each gunicorn worker has its own pool, so the server sees at most
    workers × (CIRCLE_DB_POOL_SIZE + CIRCLE_DB_MAX_OVERFLOW) connections.
    """
    options = {"pool_pre_ping": True}
    if url.startswith(("postgres", "postgresql")):
        options.update(
            pool_size=int(os.environ.get("CIRCLE_DB_POOL_SIZE", 5)),
            max_overflow=int(os.environ.get("CIRCLE_DB_MAX_OVERFLOW", 5)),
            pool_recycle=int(os.environ.get("CIRCLE_DB_POOL_RECYCLE", 1800)),
        )
    return options


def from_environment(instance_path: str) -> dict:
    """Build the configuration mapping from environment variables."""
    default_db = "sqlite:///" + str(Path(instance_path) / "circle.sqlite3")
    return {
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(
            os.environ.get("DATABASE_URL", default_db)
        ),
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(os.environ.get("DATABASE_URL", "")),
        "CIRCLE_TIMEZONE": os.environ.get("CIRCLE_TIMEZONE", "Asia/Shanghai"),
        "CIRCLE_LOCALE": os.environ.get("CIRCLE_LOCALE", "zh_CN"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("SESSION_COOKIE_SECURE", "")
        .lower() in {"1", "true", "yes"},
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        # Keep CSRF tokens valid for a working day: liaison officers leave forms open.
        "WTF_CSRF_TIME_LIMIT": 12 * 3600,
        # Six on-site photos of up to 5 MB each must fit in one visit form.
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_CONTENT_LENGTH", 32 * 1024 * 1024)),
        "FLASK_ADMIN_FLUID_LAYOUT": True,
        # Static files are fingerprinted by their ?v= query or rarely change: cache a day.
        "SEND_FILE_MAX_AGE_DEFAULT": int(os.environ.get("CIRCLE_STATIC_MAX_AGE", 86400)),
        # Login throttling. memory:// counts per process; with several workers or hosts use
        # Redis (redis://127.0.0.1:6379/0) so that every process shares the counts.
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": False,
        "CIRCLE_LOGIN_LIMIT_PER_ACCOUNT": os.environ.get(
            "CIRCLE_LOGIN_LIMIT_PER_ACCOUNT", "5 per 5 minutes;20 per day"),
        "CIRCLE_LOGIN_LIMIT_PER_IP": os.environ.get("CIRCLE_LOGIN_LIMIT_PER_IP",
                                                    "30 per 5 minutes"),
        # Number of reverse proxies in front of the app whose X-Forwarded-* to trust
        # (the client address feeds the per-IP login limit and the audit log).
        "CIRCLE_PROXY_COUNT": int(os.environ.get("CIRCLE_PROXY_COUNT", 0)),
    }
