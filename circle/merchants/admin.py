"""Admin view for merchants, with their emergency contacts edited inline."""

from flask_admin.model.form import InlineFormAdmin
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from circle.adminkit import (
    CircleModelView,
    CommunityFilter,
    CreditCode,
    PhoneNumber,
    phone_link,
    related_filter,
)
from circle.merchants.models import EmergencyContact, Merchant
from circle.org.models import BusinessCircle


def contacts_formatter(view, context, model, name):
    """Emergency contacts in priority order, each phone a ``tel:`` link."""
    items = [
        Markup('<li>{name}{relation} <a href="tel:{phone}">{phone}</a></li>').format(
            name=contact.name,
            relation=f" ({contact.relation})" if contact.relation else "",
            phone=contact.phone,
        )
        for contact in model.emergency_contacts
    ]
    if not items:
        return ""
    return Markup('<ul class="list-unstyled mb-0">{}</ul>').format(Markup("").join(items))


class EmergencyContactInline(InlineFormAdmin):
    form_columns = ("id", "priority", "name", "phone", "relation", "user")
    form_args = {"phone": {"validators": [PhoneNumber()]}}
    form_label = _l("Emergency contact")
    column_labels = {
        "priority": _l("Priority"),
        "name": _l("Name"),
        "phone": _l("Phone"),
        "relation": _l("Relation"),
        "user": _l("Linked specialist account"),
    }


class MerchantView(CircleModelView):
    column_list = ("shop_name", "owner_name", "phone", "circle", "business_category",
                   "emergency_contacts", "active", "updated_at")
    column_details_list = ("shop_name", "owner_name", "phone", "address", "circle",
                           "business_category", "credit_code", "emergency_contacts",
                           "active", "created_at", "updated_at")
    column_searchable_list = ("shop_name", "owner_name", "phone", "credit_code")
    column_filters = (
        related_filter(Merchant.circle_id, _l("Business circle"), BusinessCircle),
        CommunityFilter(Merchant.circle_id, _l("Community")),
        "business_category",
        "active",
        "created_at",
    )
    column_formatters = {"phone": phone_link, "emergency_contacts": contacts_formatter}
    column_formatters_detail = column_formatters
    column_sortable_list = ("shop_name", "owner_name", "circle", "updated_at", "active")
    form_columns = ("shop_name", "owner_name", "phone", "address", "circle",
                    "business_category", "credit_code", "active")
    form_args = {
        "phone": {"validators": [PhoneNumber()]},
        "credit_code": {"validators": [CreditCode()],
                        "description": _l("Optional. 18 characters, printed on the business "
                                          "licence.")},
    }
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
        "active": _l("Active"),
        "created_at": _l("Created at"),
        "updated_at": _l("Updated at"),
    }


def register(admin, db):
    admin.add_view(MerchantView(Merchant, db, name=_l("Merchants"), endpoint="merchant"))
