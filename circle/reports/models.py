"""What the reports package stores of its own: the import confirmations already used."""

from __future__ import annotations

import hashlib
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from circle.extensions import db
from circle.timeutil import UTCDateTime, utcnow


class UsedImportToken(db.Model):
    """A merchant-import confirmation that has imported its rows, by the digest of its signed
    token: the primary key lets one confirmation through however many arrive at once, as
    the import commits in the same transaction. Rows older than the tokens' lifetime are
    useless (the signature has expired) and are removed as new ones are written."""

    __tablename__ = "used_import_token"

    digest: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    @staticmethod
    def digest_of(token: str) -> str:
        """The SHA-256 of a token: what is stored (the token itself carries the rows)."""
        return hashlib.sha256(token.encode()).hexdigest()
