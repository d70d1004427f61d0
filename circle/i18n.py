"""Locale selection and the language switch (Simplified Chinese by default, English too)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, has_request_context, redirect, request, session, url_for

LANGUAGES = {"zh_CN": "中文", "en": "English"}

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    """The user's chosen language, else the configured default (``CIRCLE_LOCALE``)."""
    chosen = session.get("lang") if has_request_context() else None
    if chosen in LANGUAGES:
        return chosen
    return current_app.config["CIRCLE_LOCALE"]


def safe_next(target: str | None, fallback: str) -> str:
    """Return ``target`` only if it is a path on this site, never another host."""
    if not target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    return target


@bp.route("/lang/<code>", methods=["POST"])
def switch_language(code: str):
    """Remember the chosen UI language in the session and go back where the user was."""
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(safe_next(request.form.get("next"), url_for("admin.index")))
