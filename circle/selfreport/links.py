"""The merchant's own links: the report link on the QR sticker, and an issue's tracking link.

Both are ``secrets.token_urlsafe`` values (192 bits): they cannot be guessed, and holding
one is what lets someone report for a shop or follow its case. An administrator revokes and
reissues a shop's report link (a lost or misused sticker); the old link then opens nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from io import BytesIO

import segno
import sqlalchemy as sa
from markupsafe import Markup

from circle.extensions import db
from circle.issues.models import Issue
from circle.merchants.models import Merchant
from circle.permissions import MERCHANT_LINK
from circle.timeutil import utcnow

#: token_urlsafe(24) gives 32 characters; anything longer is not one of ours.
MAX_TOKEN_LENGTH = 64


@dataclass(frozen=True)
class MerchantLink:
    """The actor behind a merchant's own link: the workflow's "who" for a self-report, a
    self-rating or "still not solved". It is nobody's account (the timeline names no one)
    and reaches this merchant's issues only (:func:`circle.permissions.issue_in_scope`)."""

    merchant: Merchant
    role: str = MERCHANT_LINK
    is_authenticated: bool = True
    active: bool = True
    id: None = None
    community_id: None = None

    @property
    def merchant_id(self) -> int:
        return self.merchant.id

    def __str__(self) -> str:
        return f"{self.merchant.shop_name}（商户扫码）"


def issue_report_link(merchant: Merchant) -> str:
    """Give the merchant a new report token (the previous sticker stops working)."""
    merchant.report_token = secrets.token_urlsafe(24)
    merchant.report_token_issued_at = utcnow()
    return merchant.report_token


def revoke_report_link(merchant: Merchant) -> None:
    """Take the merchant's report link away; its sticker opens nothing any more."""
    merchant.report_token = None
    merchant.report_token_issued_at = None


def _plausible(token: str | None) -> bool:
    return bool(token) and len(token) <= MAX_TOKEN_LENGTH


def merchant_for_token(token: str | None) -> Merchant | None:
    """The active merchant whose report link this is, or ``None``."""
    if not _plausible(token):
        return None
    return db.session.scalar(sa.select(Merchant).where(Merchant.report_token == token,
                                                       Merchant.active))


def issue_for_tracking(token: str | None) -> Issue | None:
    """The issue this tracking link follows: a merged duplicate leads to its original."""
    if not _plausible(token):
        return None
    issue = db.session.scalar(sa.select(Issue).where(Issue.tracking_token == token))
    seen = set()
    while issue is not None and issue.merged_into is not None and issue.id not in seen:
        seen.add(issue.id)
        issue = issue.merged_into
    return issue


def qr_svg(url: str, scale: int = 4) -> Markup:
    """The URL as an inline SVG QR code (segno; error correction M survives a scuffed
    sticker). The markup is segno's own, from our URL: safe to embed."""
    out = BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=scale, xmldecl=False,
                                    svgns=True, nl=False, dark="#000")
    return Markup(out.getvalue().decode("utf-8"))
