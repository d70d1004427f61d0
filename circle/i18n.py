"""Locale selection and the language switch (Simplified Chinese by default, English too)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Blueprint, current_app, has_request_context, redirect, request, session, url_for
from flask.globals import _cv_app
from flask_babel import get_translations
from flask_babel.speaklater import LazyString

LANGUAGES = {"zh_CN": "中文", "en": "English"}

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    """The user's chosen language, else the configured default (``CIRCLE_LOCALE``)."""
    chosen = session.get("lang") if has_request_context() else None
    if chosen in LANGUAGES:
        return chosen
    return current_app.config["CIRCLE_LOCALE"]


def current_translations():
    """Flask-Babel's translations for this context, looked up once per context, locale and
    domain rather than on every ``_()`` in a template (three context lookups and a locale
    formatted to text each time: a third of a dashboard's rendering). ``force_locale``
    swaps the locale object, so a forced locale is never served the cached catalogue."""
    return _remembered("circle_translations", get_translations)


def _remembered(key: str, find):
    """``find()`` (a domain's translations), kept in Flask-Babel's per-context state under
    ``key`` for as long as the context's locale and default domain stay the same objects."""
    app_ctx = _cv_app.get(None)
    state = app_ctx.g.__dict__.get("_flask_babel") if app_ctx is not None else None
    if state is not None:
        cached = state.__dict__.get(key)
        if cached is not None and cached[0] is state.__dict__.get("babel_locale") \
                and cached[1] is state.__dict__.get("babel_domain"):
            return cached[2]
    translations = find()
    state = app_ctx.g.__dict__.get("_flask_babel") if app_ctx is not None else None
    if state is not None and state.__dict__.get("babel_locale") is not None:
        state.__dict__[key] = (state.babel_locale, state.__dict__.get("babel_domain"),
                               translations)
    return translations


def remember_translations(domain) -> None:
    """Have a Flask-Babel ``Domain`` of a library (Flask-Admin's own strings) look its
    translations up once per context too (its filter names, buttons and messages are
    translated through it a few dozen times on every list page)."""
    if getattr(domain, "_circle_remembered", False):
        return
    find = domain.get_translations
    key = f"circle_translations_{domain.domain[0]}"
    domain.get_translations = lambda: _remembered(key, find)
    domain._circle_remembered = True


def gettext(string: str, **variables) -> str:
    """Flask-Babel's ``gettext`` (the same result, in the same locale and domain) through
    :func:`current_translations`: ~2 µs a call instead of ~25 µs. A list page translates a few
    hundred labels, filter names and messages; the app imports this one."""
    text = current_translations().ugettext(string)
    return text % variables if variables else text


def lazy_gettext(string: str, **variables) -> LazyString:
    """Flask-Babel's ``lazy_gettext``, translated by :func:`gettext` when shown."""
    return LazyString(gettext, string, **variables)


def install_template_gettext(app) -> None:
    """Templates' ``_()`` and friends through :func:`current_translations` (same results as
    Flask-Babel's own callables, which this replaces)."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: current_translations().ugettext(s),
        ngettext=lambda s, p, n: current_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: current_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: current_translations().unpgettext(c, s, p, n),
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
