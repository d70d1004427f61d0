"""Photos kept across a failed desk form (issue #17).

A file input cannot be refilled: when a form with photos comes back with an error (a field
missing, the workflow refusing an input), the photos that passed the upload checks are kept
here, as *staged uploads*, so that a liaison on a phone need not pick them again. The form
shown again carries each one's random token; the next submission of the same form, by the
same user, on the same issue, claims them — they are attached with any new photos and then
deleted. A staged upload nobody claims expires after :data:`STAGED_TTL` and is removed by
the daily job (:mod:`circle.jobs`) or by the next staging, whichever comes first.

Plain functions of the user, the issue and the action; the caller commits.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, undefer

from circle.extensions import db
from circle.timeutil import UTCDateTime, utcnow

#: How long a staged photo waits for the form to be sent again.
STAGED_TTL = timedelta(hours=24)
#: Tokens are ``secrets.token_urlsafe(32)``: 43 characters.
TOKEN_LENGTH = 43


class StagedUpload(db.Model):
    """A photo that came with a failed desk form, waiting for the form to be sent again."""

    __tablename__ = "staged_upload"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(sa.String(TOKEN_LENGTH), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"),
                                         index=True)
    issue_id: Mapped[int] = mapped_column(sa.ForeignKey("issue.id", ondelete="CASCADE"),
                                          index=True)
    action: Mapped[str] = mapped_column(sa.String(40))
    filename: Mapped[str] = mapped_column(sa.String(200), default="")
    content_type: Mapped[str] = mapped_column(sa.String(20))
    size: Mapped[int]
    data: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    @property
    def upload(self) -> tuple[str, bytes]:
        """The photo as the workflow takes uploads: ``(filename, bytes)``."""
        return self.filename, self.data


def _fresh(now: datetime):
    return StagedUpload.created_at >= now - STAGED_TTL


def stage(user_id: int, issue_id: int, action: str, photos: Iterable[tuple[str, bytes, str]],
          now: datetime | None = None) -> list[StagedUpload]:
    """Keep checked photos, ``(filename, bytes, content type)``, for the form's next
    submission; expired staged photos of anybody are removed on the way."""
    now = now or utcnow()
    purge_expired(now)
    rows = [StagedUpload(token=secrets.token_urlsafe(32), user_id=user_id, issue_id=issue_id,
                         action=action, filename=(filename or "")[:200],
                         content_type=content_type, size=len(data), data=data, created_at=now)
            for filename, data, content_type in photos]
    db.session.add_all(rows)
    db.session.flush()
    return rows


def claim(user_id: int, issue_id: int, action: str, tokens: Iterable[str],
          now: datetime | None = None) -> tuple[list[StagedUpload], bool]:
    """The staged photos these tokens name, in the order given, if they belong to this user,
    issue and action and have not expired; and whether any token was refused."""
    now = now or utcnow()
    wanted = list(dict.fromkeys(t for t in tokens if t and len(t) <= TOKEN_LENGTH))
    if not wanted:
        return [], False
    found = {row.token: row for row in db.session.scalars(
        sa.select(StagedUpload).options(undefer(StagedUpload.data)).where(
            StagedUpload.token.in_(wanted), StagedUpload.user_id == user_id,
            StagedUpload.issue_id == issue_id, StagedUpload.action == action, _fresh(now)))}
    return [found[t] for t in wanted if t in found], len(found) < len(wanted)


def visible_to(user_id: int, token: str, now: datetime | None = None) -> StagedUpload | None:
    """The staged photo with this token, if this user staged it and it has not expired."""
    if not token or len(token) > TOKEN_LENGTH:
        return None
    return db.session.scalar(
        sa.select(StagedUpload).options(undefer(StagedUpload.data)).where(
            StagedUpload.token == token, StagedUpload.user_id == user_id,
            _fresh(now or utcnow())))


def discard(rows: Iterable[StagedUpload]) -> None:
    """Delete staged photos (attached to the record now, or removed by the user)."""
    for row in rows:
        db.session.delete(row)
    db.session.flush()


def purge_expired(now: datetime | None = None) -> int:
    """Delete every staged photo older than :data:`STAGED_TTL`; how many there were."""
    cutoff = (now or utcnow()) - STAGED_TTL
    result = db.session.execute(sa.delete(StagedUpload)
                                .where(StagedUpload.created_at < cutoff)
                                .execution_options(synchronize_session=False))
    return result.rowcount or 0
