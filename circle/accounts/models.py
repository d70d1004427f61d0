"""User accounts and their roles."""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from circle.extensions import db
from circle.i18n import lazy_gettext as _l
from circle.org.models import BusinessCircle, Community, Street
from circle.timeutil import UTCDateTime, utcnow
from circle.versioning import Versioned


def hash_password(password: str) -> str:
    """A hash of ``password`` by the configured method (``CIRCLE_PASSWORD_HASH``)."""
    return generate_password_hash(
        password, method=current_app.config.get("CIRCLE_PASSWORD_HASH") or "scrypt")


class Role:
    """Account roles. Labels for people live in :mod:`circle.labels`."""

    ADMIN = "admin"
    SPECIALIST = "specialist"  # 社区热线专员
    LIAISON = "liaison"  # 商圈热线联络员
    STAFF = "staff"  # 回访/统计人员
    LEADER = "leader"  # 街道/区领导: oversees a street (or, without one, the district)
    ALL = (ADMIN, SPECIALIST, LIAISON, STAFF, LEADER)


user_circle = sa.Table(
    "user_circle",
    db.metadata,
    sa.Column("user_id", sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "circle_id", sa.ForeignKey("business_circle.id", ondelete="CASCADE"), primary_key=True
    ),
)

MIN_PASSWORD_LENGTH = 10
#: zxcvbn's score (0–4) a password must reach: 3 is "safely unguessable" against an
#: online attack and a throttled one alike.
MIN_PASSWORD_SCORE = 3
# zxcvbn's own limit; past it, a password is long enough for its first part to be judged.
_ZXCVBN_MAX_LENGTH = 72


def password_problem(password: str, user_inputs=()) -> str | None:
    """Why ``password`` is refused, or ``None``: too short, only whitespace, or easy to
    guess — a common password, a keyboard walk, a repetition, the account's own name
    (``user_inputs``), as zxcvbn estimates it."""
    from zxcvbn import zxcvbn

    from circle.i18n import lazy_gettext as _l

    if not password.strip():
        return _l("The password cannot be only spaces.")
    if len(password) < MIN_PASSWORD_LENGTH:
        return _l("The password must have at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)
    inputs = [str(value) for value in user_inputs if value]
    if zxcvbn(password[:_ZXCVBN_MAX_LENGTH], user_inputs=inputs)["score"] < MIN_PASSWORD_SCORE:
        return _l("This password is too easy to guess (a common password, a pattern or a "
                  "name). Choose a longer one, e.g. several unrelated words.")
    return None


class User(UserMixin, Versioned, db.Model):
    """A person who logs in to the panel."""

    __audited__ = True  # admin changes are written to the audit log
    __tablename__ = "user"
    # Renders as role IN ('admin', 'specialist', ...): a new role is added to Role.ALL only.
    __table_args__ = (sa.CheckConstraint(sa.column("role").in_(Role.ALL), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(50), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(50))
    phone: Mapped[str] = mapped_column(sa.String(20), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    role: Mapped[str] = mapped_column(sa.String(20))
    active: Mapped[bool] = mapped_column(default=True)
    # The account an API token acts as (circle.api.tokens): a specialist to the workflow, but
    # it never signs in and is nobody's colleague, so pickers of people leave it out.
    is_service_account: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Specialists and staff work for one community; liaisons through their circles.
    community_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("community.id", ondelete="SET NULL"), index=True
    )
    # Leaders oversee one street; a leader without a street oversees the whole district.
    street_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("street.id", ondelete="SET NULL"), index=True
    )
    # Bumped on password change or deactivation: every session carrying the old value ends.
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    community: Mapped[Community | None] = relationship()
    street: Mapped[Street | None] = relationship()
    circles: Mapped[list[BusinessCircle]] = relationship(
        secondary=user_circle, order_by=BusinessCircle.name
    )
    devices: Mapped[list[LoginDevice]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True,
        order_by="LoginDevice.created_at.desc()")

    def __str__(self) -> str:
        return self.display_name or self.username

    @classmethod
    def people(cls) -> sa.Select:
        """A SELECT of the active accounts of people (no service accounts): what a picker of
        assignees, attendees or emergency contacts offers, before its own conditions."""
        return sa.select(cls).where(cls.active, cls.is_service_account.is_(False))

    @property
    def is_active(self) -> bool:  # Flask-Login asks this on every request.
        return self.active

    #: Set by :meth:`start_login` for the session being signed in (and by the loader for
    #: the session of the request).
    _login_stamp = ""

    def start_login(self, *, days: int, user_agent: str = "",
                    remote_addr: str = "") -> LoginDevice:
        """Sign in a device: a random token, stored as its hash with the device's
        description and an expiry ``days`` ahead; the session and remember-me cookies carry
        the token and the start time (see :meth:`get_id`). Added to the session, not
        committed."""
        token = secrets.token_urlsafe(24)
        now = utcnow()
        if self.id is not None:
            # What no longer signs anyone in is of no use on the list: forget it.
            db.session.execute(sa.delete(LoginDevice).where(
                LoginDevice.user_id == self.id,
                sa.or_(LoginDevice.revoked_at.is_not(None), LoginDevice.expires_at <= now)))
        device = LoginDevice(user=self, token_hash=LoginDevice.hash_of(token), created_at=now,
                             expires_at=now + timedelta(days=days),
                             user_agent=(user_agent or "")[:200],
                             remote_addr=(remote_addr or "")[:45])
        db.session.add(device)
        self._login_stamp = f"{token}:{int(time.time())}"
        return device

    def get_id(self) -> str:
        """Session identity: id, session version, a random token per sign-in and the time
        of sign-in — so that cookies differ per login, end with the session version
        (:meth:`end_sessions`) and expire (:func:`circle.load_user`)."""
        return f"{self.id}:{self.session_version}:{self._login_stamp}"

    def set_password(self, password: str) -> None:
        """Hash and store a new password, ending every other session of this user.

        Raises ``ValueError`` with the reason when :func:`password_problem` refuses it.
        """
        problem = password_problem(password, (self.username, self.display_name))
        if problem:
            raise ValueError(str(problem))
        self.password_hash = hash_password(password)
        self.end_sessions()

    def end_sessions(self) -> None:
        """End every session and remember-me cookie of this user, on every device: each
        carries the session version it was signed in with (:func:`circle.load_user`), and
        every signed-in device is revoked."""
        self.session_version = (self.session_version or 0) + 1
        now = utcnow()
        for device in self.devices:
            if device.revoked_at is None:
                device.revoked_at = now

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


def role_problem(role: str, community, circles) -> str | None:
    """Why this combination of role and attachments is not allowed, or ``None``.

    Specialists and staff work for one community; liaison officers for at least one circle;
    a leader for a street, or, with none, for the whole district.
    """
    from circle.i18n import lazy_gettext as _l

    if role not in Role.ALL:
        return _l("Unknown role.")
    if role in (Role.SPECIALIST, Role.STAFF) and community is None:
        return _l("Hotline specialists and callback staff must belong to a community.")
    if role == Role.LIAISON and not circles:
        return _l("A circle liaison officer must belong to at least one business circle.")
    return None


#: (token in the User-Agent, what people call it), first match wins: WeCom and WeChat
#: name Chrome and Safari too, and Edge names Chrome.
_BROWSERS = (("wxwork", _l("WeCom")), ("MicroMessenger", _l("WeChat")), ("Edg/", "Edge"),
             ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari"))
_SYSTEMS = (("Android", _l("Android phone")), ("iPhone", "iPhone"), ("iPad", "iPad"),
            ("Windows", _l("Windows computer")), ("Macintosh", _l("Mac computer")),
            ("Linux", _l("Linux computer")))


def describe_user_agent(user_agent: str | None) -> str:
    """A User-Agent header as people name the device: browser · system, in the UI's
    language; an unknown one as "unknown browser"."""
    text = user_agent or ""
    browser = next((str(name) for token, name in _BROWSERS if token in text), None)
    system = next((str(name) for token, name in _SYSTEMS if token in text), None)
    return " · ".join(part for part in (browser, system) if part) or str(_l("Unknown browser"))


class LoginDevice(db.Model):
    """One sign-in of a user on one device (browser): what its session and remember-me
    cookies stand for. Only the SHA-256 of its random token is stored; the device stays
    signed in until it expires (``CIRCLE_REMEMBER_DAYS``), signs out, or is revoked by its
    user or an administrator (:func:`circle.load_user` checks all three on every request).
    """

    __tablename__ = "login_device"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"),
                                         index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user_agent: Mapped[str] = mapped_column(sa.String(200), default="")
    remote_addr: Mapped[str] = mapped_column(sa.String(45), default="")

    user: Mapped[User] = relationship(back_populates="devices")

    @staticmethod
    def hash_of(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @property
    def label(self) -> str:
        """The browser and system in words (企业微信 · 安卓手机), not the raw User-Agent."""
        return describe_user_agent(self.user_agent)

    def is_signed_in(self, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now

    def revoke(self, now: datetime) -> None:
        """Sign this device out (its cookies stop working at their next request)."""
        if self.revoked_at is None:
            self.revoked_at = now

    @classmethod
    def signed_in(cls, user_id: int, now: datetime) -> sa.Select:
        """The user's devices still signed in, newest first."""
        return (sa.select(cls).where(cls.user_id == user_id, cls.revoked_at.is_(None),
                                     cls.expires_at > now)
                .order_by(cls.created_at.desc(), cls.id.desc()))
