"""QR stickers in the panel: one merchant's, or an A4 sheet for a circle; the report link
revoked and reissued by an administrator.

A sticker shows the shop, its circle, the promise 小事不过晌、大事不过夜、难事不过周, the
emergency contact's name and phone, and the QR code of the shop's report link.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from sqlalchemy.orm import selectinload

from circle.adminkit import CircleBaseView
from circle.audit.recording import audit_context
from circle.extensions import db
from circle.i18n import gettext as _
from circle.merchants.models import Merchant
from circle.org.models import BusinessCircle
from circle.permissions import Cap, can, circle_in_scope, merchant_in_scope
from circle.selfreport.links import issue_report_link, qr_svg, revoke_report_link
from circle.transaction import unit_of_work


def report_url(merchant: Merchant) -> str | None:
    """The full URL the merchant's sticker encodes (``None`` without a link)."""
    if not merchant.report_token:
        return None
    return url_for("selfreport.report", token=merchant.report_token, _external=True)


def sticker(merchant: Merchant) -> dict:
    """What one sticker shows."""
    contact = merchant.emergency_contacts[0] if merchant.emergency_contacts else None
    url = report_url(merchant)
    return {"merchant": merchant, "contact": contact, "url": url,
            "qr": qr_svg(url) if url else None}


class StickerView(CircleBaseView):
    """Print QR stickers (whoever edits merchants); revoke and reissue links (admins)."""

    capability = Cap.EDIT_MERCHANTS

    def is_visible(self) -> bool:
        return False  # reached from a merchant's page and the circle list

    def _merchant_or_404(self, merchant_id: int) -> Merchant:
        merchant = db.session.get(Merchant, merchant_id)
        if merchant is None or not merchant_in_scope(current_user, merchant):
            abort(404)
        return merchant

    @expose("/")
    def index(self):
        """The circles the user may print sheets for."""
        circles = [c for c in db.session.scalars(sa.select(BusinessCircle)
                                                 .order_by(BusinessCircle.name))
                   if circle_in_scope(current_user, c.id)]
        return self.render("selfreport/admin_index.html", circles=circles)

    @expose("/merchant/<int:merchant_id>")
    def merchant(self, merchant_id: int):
        """One merchant's sticker, ready to print."""
        merchant = self._merchant_or_404(merchant_id)
        return self.render("selfreport/stickers.html", stickers=[sticker(merchant)],
                           merchant=merchant, circle=merchant.circle, missing=0,
                           may_reissue=can(current_user, Cap.MANAGE_REPORT_LINKS))

    @expose("/circle/<int:circle_id>")
    def circle(self, circle_id: int):
        """An A4 sheet of stickers for every active merchant of the circle with a link."""
        circle = db.session.get(BusinessCircle, circle_id)
        if circle is None or not circle_in_scope(current_user, circle_id):
            abort(404)
        merchants = db.session.scalars(
            sa.select(Merchant).where(Merchant.circle_id == circle_id, Merchant.active)
            .options(selectinload(Merchant.emergency_contacts)).order_by(Merchant.shop_name)
        ).all()
        return self.render("selfreport/stickers.html", circle=circle, merchant=None,
                           stickers=[sticker(m) for m in merchants if m.report_token],
                           missing=sum(1 for m in merchants if not m.report_token),
                           may_reissue=False)

    @expose("/circle/<int:circle_id>/issue", methods=["POST"])
    def issue_missing(self, circle_id: int):
        """Give every active merchant of the circle without a link one (nobody's sticker
        changes: existing links stay)."""
        if not circle_in_scope(current_user, circle_id):
            abort(404)
        with unit_of_work(), audit_context(current_user, request.remote_addr or ""):
            merchants = db.session.scalars(sa.select(Merchant).where(
                Merchant.circle_id == circle_id, Merchant.active,
                Merchant.report_token.is_(None))).all()
            for merchant in merchants:
                issue_report_link(merchant)
        flash(_("%(n)d merchants got a report link.", n=len(merchants)), "success")
        return redirect(url_for(".circle", circle_id=circle_id))

    @expose("/merchant/<int:merchant_id>/issue", methods=["POST"])
    def issue(self, merchant_id: int):
        """A first link for a merchant that has none (changing an existing one is
        :meth:`reissue`'s, for administrators)."""
        merchant = self._merchant_or_404(merchant_id)
        if merchant.report_token is None:
            with unit_of_work(), audit_context(current_user, request.remote_addr or ""):
                issue_report_link(merchant)
        return redirect(url_for(".merchant", merchant_id=merchant_id))

    @expose("/merchant/<int:merchant_id>/reissue", methods=["POST"])
    def reissue(self, merchant_id: int):
        """Revoke the merchant's link and, unless only revoking, issue a new one."""
        if not can(current_user, Cap.MANAGE_REPORT_LINKS):
            abort(403)
        merchant = self._merchant_or_404(merchant_id)
        with unit_of_work(), audit_context(current_user, request.remote_addr or ""):
            if request.form.get("revoke_only"):
                revoke_report_link(merchant)
                flash(_("The report link is revoked; the old sticker no longer works."),
                      "success")
            else:
                issue_report_link(merchant)
                flash(_("A new report link is issued; print the new sticker. The old one no "
                        "longer works."), "success")
        return redirect(url_for(".merchant", merchant_id=merchant_id))
