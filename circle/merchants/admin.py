"""Admin view for merchants, with their emergency contacts edited inline.

Seeing merchants needs ``Cap.SEE_MERCHANTS``, creating and editing them (with their contacts)
``Cap.EDIT_MERCHANTS``, deleting ``Cap.DELETE_MERCHANTS``; rows are limited to the user's
circles. Phone numbers — the merchant's and its emergency contacts' alike — are shown in full
only with ``Cap.SEE_FULL_PHONE``: masked in the list and details, and kept out of the edit
form (see :class:`~circle.adminkit.PhoneField`).
"""

import sqlalchemy as sa
from flask import url_for
from flask_admin.model.form import InlineFormAdmin
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy.orm import selectinload
from wtforms.validators import ValidationError

from circle.accounts.models import Role, User
from circle.adminkit import (
    CommunityFilter,
    CreditCode,
    PhoneField,
    PhoneNumber,
    ScopedModelView,
    StreetFilter,
    phone_html,
    phone_link,
    related_filter,
    restrict_to_user,
)
from circle.extensions import db
from circle.i18n import lazy_gettext as _l
from circle.merchants.models import EmergencyContact, Merchant
from circle.org.models import BusinessCircle
from circle.permissions import Cap, circle_in_scope, scope_communities


def contacts_formatter(view, context, model, name):
    """Emergency contacts in priority order, each phone a ``tel:`` link — or masked, exactly
    as the merchant's own number is (:func:`~circle.adminkit.phone_html`)."""
    # Each value escaped once and the list made Markup once (as list rows are).
    items = "".join([
        f"<li>{escape(contact.name)}"
        f"{f' ({escape(contact.relation)})' if contact.relation else ''}"
        f" {escape(phone_html(contact.phone))}</li>"
        for contact in model.emergency_contacts
    ])
    return Markup(f'<ul class="list-unstyled mb-0">{items}</ul>') if items else ""


def report_link_formatter(view, context, model, name):
    """The way to the merchant's QR sticker (never the link itself: it is the credential)."""
    text = _l("Print the QR sticker") if model.report_token else _l("Create the QR sticker")
    return Markup('<a href="{}">{}</a>').format(
        url_for("stickers.merchant", merchant_id=model.id), text)


def circles_for_user():
    """The business circles the signed-in user may put merchants in."""
    stmt = restrict_to_user(sa.select(BusinessCircle), BusinessCircle, current_user)
    return db.session.scalars(stmt.order_by(BusinessCircle.name)).all()


def specialists_for_user():
    """Active hotline specialists a merchant may keep as emergency contact: those of the
    communities the signed-in user works in (every community for an administrator)."""
    # Being a hotline specialist is a fact about the contact (the desk marks them), not a
    # right, so the role is named here as data; which communities is row scope.
    stmt = User.people().where(User.role == Role.SPECIALIST)
    stmt = scope_communities(stmt, User.community_id, current_user)
    return db.session.scalars(stmt.order_by(User.display_name)).all()


class EmergencyContactInline(InlineFormAdmin):
    form_columns = ("id", "priority", "name", "phone", "relation", "user")
    form_overrides = {"phone": PhoneField}
    form_args = {
        "phone": {"validators": [PhoneNumber()]},
        "user": {"query_factory": specialists_for_user},
    }
    form_label = _l("Emergency contact")
    column_labels = {
        "priority": _l("Priority"),
        "name": _l("Full name"),  # a person's (姓名), not a thing's (名称)
        "phone": _l("Phone"),
        "relation": _l("Relation"),
        "user": _l("Linked specialist account"),
    }


class MerchantView(ScopedModelView):
    """Merchants of the user's circles, with their emergency contacts."""

    capability = Cap.SEE_MERCHANTS
    create_capability = edit_capability = Cap.EDIT_MERCHANTS
    delete_capability = Cap.DELETE_MERCHANTS
    column_list = ("shop_name", "owner_name", "phone", "circle", "business_category",
                   "emergency_contacts", "active", "updated_at")
    column_details_list = ("shop_name", "owner_name", "phone", "address", "circle",
                           "business_category", "credit_code", "emergency_contacts",
                           "report_token", "active", "created_at", "updated_at")
    column_searchable_list = ("shop_name", "owner_name", "phone", "credit_code")
    column_filters = (
        related_filter(Merchant.circle_id, _l("Business circle"), BusinessCircle),
        CommunityFilter(Merchant.circle_id, _l("Community")),
        "business_category",
        "active",
        "created_at",
        # Last: Flask-Admin names filters by position, and bookmarked lists keep theirs.
        StreetFilter(Merchant.circle_id, _l("Street")),
    )
    column_formatters = {"phone": phone_link, "emergency_contacts": contacts_formatter}
    column_formatters_detail = {**column_formatters, "report_token": report_link_formatter}
    column_sortable_list = ("shop_name", "owner_name", ("circle", "circle.name"), "updated_at",
                            "active")
    form_columns = ("shop_name", "owner_name", "phone", "address", "circle",
                    "business_category", "credit_code", "active")
    form_args = {
        "phone": {"validators": [PhoneNumber()]},
        "circle": {"query_factory": circles_for_user},
        "credit_code": {"validators": [CreditCode()],
                        "description": _l("Optional. 18 characters, printed on the business "
                                          "licence.")},
    }
    form_overrides = {"phone": PhoneField}
    inline_models = (EmergencyContactInline(EmergencyContact),)
    column_labels = {
        "shop_name": _l("Shop name"),
        "owner_name": _l("Owner"),
        "phone": _l("Phone"),
        "address": _l("Address"),
        "circle": _l("Business circle"),
        "circle.community": _l("Community"),
        "circle.name": _l("Business circle"),
        "community.name": _l("Community"),
        "business_category": _l("Business category"),
        "credit_code": _l("Unified social credit code"),
        "emergency_contacts": _l("Emergency contacts"),
        "report_token": _l("QR sticker"),
        "active": _l("Active"),
        "created_at": _l("Created at"),
        "updated_at": _l("Updated at"),
    }


    def get_query(self):
        # The contacts column would otherwise load each row's contacts with its own query.
        return super().get_query().options(selectinload(Merchant.emergency_contacts))

    def on_model_change(self, form, model, is_created):
        # The circle choices are already limited; this guards any other way in.
        if not circle_in_scope(current_user, model.circle_id or getattr(model.circle, "id", None)):
            raise ValidationError("circle outside scope")


def register(admin, db):
    from circle.reports.merchant_import import MerchantImportView

    category = _l("Merchants")
    admin.add_view(MerchantView(Merchant, db, name=_l("Merchant list"), category=category,
                                endpoint="merchant"))
    admin.add_view(MerchantImportView(name=_l("Import merchants"), category=category,
                                      endpoint="merchant_import", url="/admin/merchant-import"))
