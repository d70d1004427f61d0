"""Issuing, finding and revoking API tokens (plain functions, no request inside).

Design: every token has its own *service account*, a ``specialist`` of the token's community
named ``api-<token name>``, active, marked ``User.is_service_account`` (so pickers of people
leave it out), with an empty password hash (so no password ever matches and it cannot sign in
to the panel). The API acts as that account: the workflow checks its role and scope like
anybody else's, issues show it as their reporter, and revoking the token deactivates the
account too. An administrator who later changes the account's role or
community, or deactivates it, switches the token off (the API answers 403).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

import sqlalchemy as sa

from circle.accounts.models import Role, User
from circle.api.models import MAX_TOKEN_NAME_LENGTH, ApiToken
from circle.audit.recording import record
from circle.extensions import db
from circle.i18n import lazy_gettext as _l
from circle.org.models import Community
from circle.timeutil import utcnow

#: Every secret starts with this, so that a leaked one is easy to recognise (and to scan for).
SECRET_PREFIX = "circle_"
# 32 random bytes, URL-safe base64 without padding: 43 characters.
_SECRET_BYTES = 32
_SECRET_LENGTH = len(SECRET_PREFIX) + 43
# How many characters of the secret the panel shows to identify a token.
SHOWN_PREFIX_LENGTH = len(SECRET_PREFIX) + 6


class TokenError(ValueError):
    """A token cannot be issued as asked; ``message`` is translated and ready to show."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def hash_secret(secret: str) -> str:
    """The stored form of a secret: its SHA-256 in hex."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret() -> str:
    """A fresh random secret (``circle_`` + 43 URL-safe characters)."""
    return SECRET_PREFIX + secrets.token_urlsafe(_SECRET_BYTES)


def service_username(name: str) -> str:
    return f"api-{name}"


def issue_token(*, name: str, community: Community | None, created_by: User | None,
                remote_addr: str = "", now: datetime | None = None) -> tuple[ApiToken, str]:
    """Create a token and its service account; return the token and its secret.

    The secret exists only in the return value: the caller shows it once and forgets it.
    Nothing is committed here (the caller commits, so that the audit record goes with it).
    """
    now = now or utcnow()
    name = (name or "").strip()
    if not name:
        raise TokenError(_l("Give the token a name (e.g. the system that will use it)."))
    if len(name) > MAX_TOKEN_NAME_LENGTH:
        raise TokenError(_l("The name may be at most %(n)d characters.",
                            n=MAX_TOKEN_NAME_LENGTH))
    if community is None:
        raise TokenError(_l("Choose the community whose issues the token may see."))
    if db.session.scalar(sa.select(ApiToken.id).where(ApiToken.name == name)):
        raise TokenError(_l("A token with this name already exists."))
    username = service_username(name)
    if db.session.scalar(sa.select(User.id).where(User.username == username)):
        raise TokenError(_l("An account named %(username)s already exists; choose another "
                            "name.", username=username))
    account = User(username=username, display_name=f"API · {name}"[:50], role=Role.SPECIALIST,
                   community=community, password_hash="", active=True,
                   is_service_account=True, created_at=now)
    secret = new_secret()
    token = ApiToken(name=name, prefix=secret[:SHOWN_PREFIX_LENGTH],
                     token_hash=hash_secret(secret), community=community,
                     service_user=account, created_by=created_by, created_at=now)
    db.session.add(token)
    db.session.flush()
    record("create", ApiToken.__tablename__, actor=created_by, remote_addr=remote_addr,
           object_id=token.id, object_repr=token.name,
           changes={"name": token.name, "community": str(community), "prefix": token.prefix,
                    "service_account": username})
    return token, secret


def revoke_token(token: ApiToken, *, actor: User | None, remote_addr: str = "",
                 now: datetime | None = None) -> bool:
    """Revoke a token for good and deactivate its service account.

    Returns ``False`` (and changes nothing) if it was already revoked. Not committed here.
    """
    if token.revoked_at is not None:
        return False
    token.revoked_at = now or utcnow()
    account = token.service_user
    if account is not None:
        account.active = False
        account.session_version = (account.session_version or 0) + 1
    record("update", ApiToken.__tablename__, actor=actor, remote_addr=remote_addr,
           object_id=token.id, object_repr=token.name,
           changes={"revoked_at": [None, token.revoked_at.isoformat()]})
    return True


def find_token(secret: str | None) -> ApiToken | None:
    """The token whose secret this is (revoked or not), or ``None``."""
    if not secret or len(secret) != _SECRET_LENGTH or not secret.startswith(SECRET_PREFIX):
        return None
    return db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == hash_secret(secret)))


def token_problem(token: ApiToken) -> str | None:
    """Why a (valid, unrevoked) token cannot act now, or ``None``.

    The token acts as its service account; an administrator may have deactivated that
    account or moved it to another role or community since.
    """
    account = token.service_user
    if (account is None or not account.active or not account.is_service_account
            or account.role != Role.SPECIALIST or account.community_id != token.community_id):
        return "service_account_disabled"
    return None
