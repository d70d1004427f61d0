"""Login and logout."""

from __future__ import annotations

import secrets
from functools import lru_cache

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from circle.accounts.models import User
from circle.audit.recording import login_failed
from circle.extensions import db, limiter
from circle.i18n import gettext as _
from circle.i18n import lazy_gettext as _l
from circle.i18n import safe_next
from circle.issues.workflow import StaleIssue
from circle.timeutil import utcnow
from circle.transaction import unit_of_work

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=50)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Keep me signed in on this device"))


@lru_cache(maxsize=4)
def _decoy_hash(method: str) -> str:
    """A hash of the same kind as the stored ones, checked when no account matches."""
    return generate_password_hash(secrets.token_hex(16), method=method)


def authenticate(username: str, password: str) -> User | None:
    """Return the active user with these credentials, or ``None``.

    Unknown accounts, inactive users and wrong passwords look the same to the caller, so
    the login page gives one generic message — and take the same time: a password hash is
    checked in every case (a decoy one when no account matches), so the answer's delay
    does not tell which accounts exist.
    """
    user = db.session.scalar(sa.select(User).where(User.username == username.strip()))
    if user is None or not user.password_hash:
        check_password_hash(_decoy_hash(current_app.config["CIRCLE_PASSWORD_HASH"]), password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    return user


def _login_account_key() -> str:
    """Throttle by the account being tried, whatever address the attempts come from."""
    return "login-account:" + (request.form.get("username") or "").strip().lower()[:50]


def _failed_address_key() -> str:
    return "login-failed-address:" + get_remote_address()


#: How long an address that failed to sign in stays subject to the per-account limit.
FAILED_ADDRESS_MEMORY_SECONDS = 24 * 3600


def _address_never_failed() -> bool:
    """Whether this address has no failed sign-in on record (in the limiter's storage,
    which all workers share): the per-account limit then does not apply to it, so that
    guessing at an account from elsewhere cannot lock its owner out."""
    try:
        return not limiter.storage.get(_failed_address_key())
    except Exception:  # storage unreachable: the limit applies, as for a failed address
        return False


def _record_failed_address() -> None:
    try:
        limiter.storage.incr(_failed_address_key(), FAILED_ADDRESS_MEMORY_SECONDS)
    except Exception:
        current_app.logger.warning("login throttle storage unreachable")


def _owner_from_clean_address() -> bool:
    """Exempt from the per-account limit: the right password from an address that never
    failed. Guessing at an account from one place then cannot lock its owner out from
    another; every failed attempt, wherever from, still counts."""
    if request.method != "POST" or not _address_never_failed():
        return False
    username, password = request.form.get("username", ""), request.form.get("password", "")
    user = authenticate(username, password)
    g.login_checked = (username, password, user)
    return user is not None


def _failed(response) -> bool:
    # A successful login redirects; a failed one shows the form again.
    return response.status_code != 302


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["CIRCLE_LOGIN_LIMIT_PER_IP"], methods=["POST"],
               deduct_when=_failed)
@limiter.limit(lambda: current_app.config["CIRCLE_LOGIN_LIMIT_PER_ACCOUNT"], methods=["POST"],
               key_func=_login_account_key, deduct_when=_failed,
               exempt_when=_owner_from_clean_address)
def login():
    """Show the login form and sign the user in."""
    if current_user.is_authenticated:
        return redirect(url_for("admin.index"))
    form = LoginForm()
    if form.validate_on_submit():
        checked = g.pop("login_checked", None)
        if checked and checked[:2] == (form.username.data, form.password.data):
            user = checked[2]  # already checked for the per-account limit
        else:
            user = authenticate(form.username.data, form.password.data)
        if user is None:
            _record_failed_address()
            with unit_of_work():  # the activity log: the name tried and the address
                login_failed.send(current_app._get_current_object(),
                                  username=form.username.data or "")
            flash(_("Wrong username or password, or the account is disabled."), "error")
        else:
            _sign_in(user, remember=form.remember.data)
            return redirect(safe_next(request.args.get("next"), url_for("admin.index")))
    return render_template("auth/login.html", form=form), 200


def _sign_in(user: User, *, remember: bool) -> None:
    """Sign ``user`` in and note it (last login, the activity log) in one commit.

    The account row is versioned (an admin's edit and a sign-in cannot overwrite each
    other); a sign-in on another device that saved the row first only means trying the
    bookkeeping once more on the fresh row.
    """
    for attempt in range(3):
        try:
            with unit_of_work():
                user.last_login_at = utcnow()
                user.start_login(days=current_app.config["CIRCLE_REMEMBER_DAYS"],
                                 user_agent=request.user_agent.string,
                                 remote_addr=request.remote_addr or "")
                login_user(user, remember=remember)  # logged by its signal
            return
        except StaleIssue:
            if attempt == 2:
                raise
            db.session.refresh(user)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Sign out (POST only, so another site cannot log people out with a link).

    Every session and remember-me token of the user ends, on every device and host (issue
    #18), so a saved copy of a cookie no longer opens the panel; the devices page
    (我的登录设备) is where one device alone is signed out.
    """
    with unit_of_work():
        current_user.end_sessions()
        logout_user()  # logged by its signal, in the same commit
    flash(_("You have been signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/")
def root():
    return redirect(url_for("admin.index"))


@bp.route("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico on their own; answer with the project's icon."""
    return redirect(url_for("static", filename="favicon.svg"), code=301)
