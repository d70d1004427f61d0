"""API tokens: how the 12345 city platform (or another integration) signs its calls.

A token is a random secret shown once to the administrator who creates it; only its SHA-256
is stored. Each token belongs to one community and acts through its own *service account*: a
hotline specialist (``specialist``) of that community with no usable password, created with
the token and marked ``User.is_service_account``. Issues the API registers are reported by
that account, so the workflow's role and scope rules apply to the API exactly as they apply
to a person, and the timeline shows which integration did what. See :mod:`circle.api.tokens`
for issuing and revoking.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from circle.accounts.models import User
from circle.extensions import db
from circle.org.models import Community
from circle.timeutil import UTCDateTime, utcnow

# The service account's username is "api-" + the token's name, and usernames are String(50).
MAX_TOKEN_NAME_LENGTH = 46


class ApiToken(db.Model):
    """One API token of one community, acting as its own service account."""

    # Not ``__audited__``: the generic audit would copy ``token_hash`` into the log. Creating
    # and revoking a token write their own audit records instead (see circle.api.tokens).
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(MAX_TOKEN_NAME_LENGTH), unique=True)
    # The first characters of the secret, so that a token in a client's configuration can be
    # matched to its row here without storing the secret.
    prefix: Mapped[str] = mapped_column(sa.String(16))
    # SHA-256 of the whole secret (hex). The secret is 256 random bits, so a plain hash is
    # enough: there is nothing to brute-force, unlike a password.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    community_id: Mapped[int] = mapped_column(
        sa.ForeignKey("community.id", ondelete="RESTRICT"), index=True
    )
    # RESTRICT: the account is the author of everything the token did; deactivate, don't delete.
    service_user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user.id", ondelete="RESTRICT"), unique=True
    )
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    community: Mapped[Community] = relationship()
    service_user: Mapped[User] = relationship(foreign_keys=[service_user_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def __str__(self) -> str:
        return self.name
