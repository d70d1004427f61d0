"""Locale selection and the language switch (Simplified Chinese by default, English too)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Blueprint, current_app, has_request_context, redirect, request, session, url_for
from flask.globals import _cv_app
from flask_babel import get_translations

LANGUAGES = {"zh_CN": "中文", "en": "English"}

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    """The user's chosen language, else the configured default (``CIRCLE_LOCALE``)."""
    chosen = session.get("lang") if has_request_context() else None
    if chosen in LANGUAGES:
        return chosen
    return current_app.config["CIRCLE_LOCALE"]


def _translations():
    """Flask-Babel's translations for this context, looked up once per context, locale and
    domain rather than on every ``_()`` in a template (three context lookups and a locale
    formatted to text each time: a third of a dashboard's rendering). ``force_locale``
    swaps the locale object, so a forced locale is never served the cached catalogue."""
    app_ctx = _cv_app.get(None)
    state = app_ctx.g.__dict__.get("_flask_babel") if app_ctx is not None else None
    if state is not None:
        cached = state.__dict__.get("circle_translations")
        if cached is not None and cached[0] is state.__dict__.get("babel_locale") \
                and cached[1] is state.__dict__.get("babel_domain"):
            return cached[2]
    translations = get_translations()
    state = app_ctx.g.__dict__.get("_flask_babel") if app_ctx is not None else None
    if state is not None and state.__dict__.get("babel_locale") is not None:
        state.circle_translations = (state.babel_locale, state.__dict__.get("babel_domain"),
                                     translations)
    return translations


def install_template_gettext(app) -> None:
    """Templates' ``_()`` and friends through :func:`_translations` (same results as
    Flask-Babel's own callables, which this replaces)."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
    )


# Browsers read a backslash as a slash ("/\\evil" is "//evil", another host), drop tabs
# and line breaks inside URLs, and some proxies decode %2F and %5C before routing.
_UNSAFE_IN_NEXT = re.compile(r"[\\\x00-\x20\x7f]|%(?:2f|5c|0[0-9a-f]|1[0-9a-f]|7f)",
                             re.IGNORECASE)


def safe_next(target: str | None, fallback: str) -> str:
    """Return ``target`` only if it is a path on this site, never another host.

    A path starts with exactly one ``/`` and holds no character a browser would read as
    one more (backslash), drop (control characters, spaces) or that decodes to one of them.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return fallback
    if _UNSAFE_IN_NEXT.search(target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return fallback
    return target


@bp.route("/lang/<code>", methods=["POST"])
def switch_language(code: str):
    """Remember the chosen UI language in the session and go back where the user was."""
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(safe_next(request.form.get("next"), url_for("admin.index")))
