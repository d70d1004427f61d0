"""circle — the admin panel of a community's red business circle (红色商业圈)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError

from circle.config import from_environment, load_secret_key
from circle.extensions import babel, csrf, db, limiter, login_manager, migrate, talisman


def create_app(config: dict | None = None) -> Flask:
    """Application factory: configuration from the environment, overridden by ``config``."""
    app = Flask(__name__, template_folder="../templates", instance_relative_config=True)
    app.config.update(from_environment(app.instance_path))
    if config:
        app.config.update(config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = load_secret_key(app.instance_path)

    register_extensions(app)
    register_blueprints(app)
    from circle.api import init_api

    init_api(app)
    register_errorhandlers(app)
    register_commands(app)
    register_template_context(app)
    from circle.notify import init_app as init_notify

    init_notify(app)

    from circle.admin import init_admin

    init_admin(app)
    return app


def register_extensions(app: Flask) -> None:
    from flask_admin import babel as flask_admin_babel

    from circle import (
        inputs,
        models,  # noqa: F401  (complete metadata before anything binds it)
    )
    from circle.audit import recording  # noqa: F401  (session listeners for the audit log)
    from circle.i18n import install_template_gettext, remember_translations, select_locale

    inputs.init_app(app)  # first: the URL converter must exist before any route
    if app.config["CIRCLE_PROXY_COUNT"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        count = app.config["CIRCLE_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)
    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    limiter.init_app(app)
    register_security_headers(app)
    babel.init_app(app, locale_selector=select_locale, default_timezone="UTC")
    install_template_gettext(app)
    remember_translations(flask_admin_babel.domain)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    from circle.i18n import lazy_gettext as _l

    login_manager.login_message = _l("Please sign in to continue.")
    login_manager.user_loader(load_user)

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            sa.event.listen(db.engine, "connect", _sqlite_pragmas)


# The admin's own assets satisfy this policy: scripts only from this site (Flask-Admin's
# script tags carry the per-request nonce), no framing, no plugins, forms post here only.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    # Bootstrap and select2 write style attributes; styles cannot run code.
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'", "data:"],
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def register_security_headers(app: Flask) -> None:
    """CSP with nonces, nosniff, no framing, a strict referrer policy; HTTPS if configured."""
    secure = app.config["SESSION_COOKIE_SECURE"]
    # Remember-me cookies: as the session cookie, and lasting CIRCLE_REMEMBER_DAYS.
    app.config["REMEMBER_COOKIE_SECURE"] = secure
    app.config["REMEMBER_COOKIE_DURATION"] = timedelta(days=app.config["CIRCLE_REMEMBER_DAYS"])
    talisman.init_app(
        app,
        force_https=secure,
        strict_transport_security=secure,
        session_cookie_secure=secure,
        content_security_policy=CONTENT_SECURITY_POLICY,
        content_security_policy_nonce_in=["script-src"],
        frame_options="DENY",
        referrer_policy="strict-origin-when-cross-origin",
    )


def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """WAL for concurrent readers, enforced foreign keys, and writers that wait, not fail."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def load_user(identity: str):
    """Flask-Login loader: the session's user, if still active and the session still valid.

    The identity is ``id:session_version:token:signed_in_at`` (``User.get_id``): a session
    ends when the user's session version moves on (password change, deactivation), when its
    device (:class:`~circle.accounts.models.LoginDevice`, found by the token's hash) signs
    out or is revoked, and ``CIRCLE_REMEMBER_DAYS`` after it began, whatever its cookie says.
    """
    import time

    from flask import current_app, g

    from circle.accounts.models import LoginDevice, User
    from circle.inputs import parse_id
    from circle.timeutil import utcnow

    parts = identity.split(":")
    if len(parts) != 4 or not parts[2]:
        return None
    user_id, version = parse_id(parts[0]), parse_id(parts[1])
    started = int(parts[3]) if parts[3].isascii() and parts[3].isdigit() else 0
    max_age = current_app.config["CIRCLE_REMEMBER_DAYS"] * 86400
    if user_id is None or version is None or time.time() - started > max_age:
        return None
    # The user and the device in one query (every request signed in asks it).
    found = db.session.execute(
        sa.select(User, LoginDevice).join(LoginDevice, LoginDevice.user_id == User.id)
        .where(User.id == user_id, LoginDevice.token_hash == LoginDevice.hash_of(parts[2]))
    ).first()
    if found is None:
        return None
    user, device = found
    if not user.active or user.session_version != version or not device.is_signed_in(utcnow()):
        return None
    user._login_stamp = f"{parts[2]}:{parts[3]}"
    g.login_device_id = device.id
    return user


def register_blueprints(app: Flask) -> None:
    from circle.accounts.views import bp as auth_bp
    from circle.health import bp as health_bp
    from circle.i18n import bp as i18n_bp
    from circle.selfreport.views import init_app as init_selfreport

    app.register_blueprint(auth_bp)
    init_selfreport(app)
    app.register_blueprint(i18n_bp)
    app.register_blueprint(health_bp)


def register_errorhandlers(app: Flask) -> None:
    """Friendly error pages in the user's language; a 500 rolls the session back."""
    from circle.api.errors import handle_http_exception, handle_unexpected_error

    def render_error(error):
        code = getattr(error, "code", 500) or 500
        if request.path == "/api" or request.path.startswith("/api/"):
            # No route of the API matched (an unknown path or method): still its JSON shape.
            return handle_http_exception(error) if code != 500 else handle_unexpected_error(
                error)
        if code == 500:
            db.session.rollback()
        return render_template("errors/error.html", code=code, error=error), code

    for code in (400, 403, 404, 405, 413, 429, 500):
        app.register_error_handler(code, render_error)
    app.register_error_handler(CSRFError, render_error)


def register_commands(app: Flask) -> None:
    from circle.cli import circle_cli

    app.cli.add_command(circle_cli)


def register_template_context(app: Flask) -> None:
    from circle import labels
    from circle.i18n import LANGUAGES, select_locale
    from circle.permissions import can
    from circle.timeutil import format_local, zone_label
    from circle.validators import mask_phone

    app.add_template_filter(format_local, "localtime")
    app.add_template_filter(mask_phone, "mask_phone")
    # Templates ask the permission table, never a role: {% if can(current_user, "export") %}.
    app.add_template_global(can, "can")
    from circle.adminmenu import cached_menu

    app.add_template_global(cached_menu, "cached_menu")
    app.add_template_filter(zone_label, "zone_label")

    @app.context_processor
    def inject_globals():
        return {
            "languages": LANGUAGES,
            "current_locale": select_locale(),
            "role_labels": labels.ROLE_LABELS,
            "status_labels": labels.STATUS_LABELS,
            "severity_labels": labels.SEVERITY_LABELS,
            "level_labels": labels.LEVEL_LABELS,
            "rating_labels": labels.RATING_LABELS,
            "event_labels": labels.EVENT_LABELS,
            "outcome_labels": labels.VISIT_OUTCOME_LABELS,
            "sla_labels": labels.SLA_STATE_LABELS,
            "sla_colours": labels.SLA_STATE_COLOURS,
            "request_kind_labels": labels.REQUEST_KIND_LABELS,
            "request_status_labels": labels.REQUEST_STATUS_LABELS,
            "contact_channel_labels": labels.CONTACT_CHANNEL_LABELS,
        }
