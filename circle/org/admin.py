"""Admin views for streets, communities, circles, departments and circle members.

City-wide tables, not row-scoped: whoever holds ``Cap.ADMINISTER_ORGANISATION`` sees them all
(department kinds are reference data: ``Cap.ADMINISTER_REFERENCE_DATA``).
"""

from circle.adminkit import (
    AdminOnlyModelView,
    PhoneField,
    PhoneNumber,
    ReferenceDataView,
    choice_filter,
    label_formatter,
    phone_link,
    related_filter,
)
from circle.i18n import lazy_gettext as _l
from circle.labels import MEMBER_ROLE_LABELS, choices
from circle.org.models import (
    BusinessCircle,
    CircleMember,
    Community,
    Department,
    DepartmentKind,
    Street,
)


class StreetView(AdminOnlyModelView):
    column_list = ("name", "communities", "created_at")
    column_searchable_list = ("name",)
    column_default_sort = ("name", False)
    form_columns = ("name", "description")
    column_labels = {
        "name": _l("Name"),
        "description": _l("Description"),
        "communities": _l("Communities"),
        "created_at": _l("Created at"),
    }


class CommunityView(AdminOnlyModelView):
    column_list = ("name", "street", "address", "circles", "created_at")
    column_searchable_list = ("name",)
    column_filters = (related_filter(Community.street_id, _l("Street"), Street),)
    column_default_sort = ("name", False)
    form_columns = ("name", "street", "address", "description")
    column_labels = {
        "name": _l("Name"),
        "street": _l("Street"),
        "address": _l("Address"),
        "description": _l("Description"),
        "circles": _l("Business circles"),
        "created_at": _l("Created at"),
    }


class BusinessCircleView(AdminOnlyModelView):
    column_list = ("name", "community", "description")
    column_searchable_list = ("name",)
    column_filters = (related_filter(BusinessCircle.community_id, _l("Community"), Community),)
    column_default_sort = ("name", False)
    form_columns = ("name", "community", "description")
    column_labels = {
        "name": _l("Name"),
        "community": _l("Community"),
        "description": _l("Description"),
    }


class DepartmentView(AdminOnlyModelView):
    column_list = ("name", "kind", "contact_person", "phone", "active")
    column_searchable_list = ("name", "contact_person", "phone")
    column_filters = (
        related_filter(Department.kind_id, _l("Kind"), DepartmentKind, DepartmentKind.sort_order),
        "active",
    )
    column_default_sort = ("name", False)
    column_formatters = {"phone": phone_link}
    form_columns = ("name", "kind", "contact_person", "phone", "active")
    form_overrides = {"phone": PhoneField}
    form_args = {"phone": {"validators": [PhoneNumber(optional=True)]}}
    column_labels = {
        "name": _l("Name"),
        "kind": _l("Kind"),
        "contact_person": _l("Contact person"),
        "phone": _l("Phone"),
        "active": _l("Active"),
    }


class CircleMemberView(AdminOnlyModelView):
    column_list = ("name", "role", "phone", "circle", "active")
    column_searchable_list = ("name", "phone")
    column_filters = (
        related_filter(CircleMember.circle_id, _l("Business circle"), BusinessCircle),
        choice_filter(CircleMember.role, _l("Role"), MEMBER_ROLE_LABELS),
        "active",
    )
    column_formatters = {"phone": phone_link, "role": label_formatter(MEMBER_ROLE_LABELS)}
    form_columns = ("name", "role", "phone", "circle", "active", "notes")
    form_choices = {"role": choices(MEMBER_ROLE_LABELS)}
    form_overrides = {"phone": PhoneField}
    form_args = {"phone": {"validators": [PhoneNumber()]}}
    column_labels = {
        "name": _l("Full name"),  # a person's (姓名)
        "role": _l("Role"),
        "phone": _l("Phone"),
        "circle": _l("Business circle"),
        "active": _l("Active"),
        "notes": _l("Notes"),
    }


def register(admin, db):
    """Add this feature's views to the admin."""
    category = _l("Organisation")
    admin.add_view(StreetView(Street, db, name=_l("Streets"), category=category,
                              endpoint="street"))
    admin.add_view(CommunityView(Community, db, name=_l("Communities"), category=category,
                                 endpoint="community"))
    admin.add_view(BusinessCircleView(BusinessCircle, db, name=_l("Business circles"),
                                      category=category, endpoint="circle"))
    admin.add_view(CircleMemberView(CircleMember, db, name=_l("Advisors & collectors"),
                                    category=category, endpoint="member"))
    admin.add_view(DepartmentView(Department, db, name=_l("Departments"), category=category,
                                  endpoint="department"))
    admin.add_view(ReferenceDataView(DepartmentKind, db, name=_l("Department kinds"),
                                      category=_l("Reference data"), endpoint="department_kind"))
