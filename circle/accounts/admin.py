"""Admin view for user accounts."""

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField
from wtforms.validators import Length, Optional, ValidationError

from circle.accounts.models import MIN_PASSWORD_LENGTH, User, password_problem, role_problem
from circle.adminkit import (
    AdminOnlyModelView,
    PhoneField,
    PhoneNumber,
    choice_filter,
    label_formatter,
    phone_link,
    related_filter,
)
from circle.labels import ROLE_LABELS, choices
from circle.org.models import Community
from circle.permissions import Cap


class UserView(AdminOnlyModelView):
    """Accounts: who signs in, in which role, for which community or circles."""

    capability = Cap.ADMINISTER_USERS
    column_list = ("username", "display_name", "role", "community", "circles", "street",
                   "phone", "active", "last_login_at")
    column_details_exclude_list = ("password_hash", "session_version")
    column_export_exclude_list = ("password_hash", "session_version")
    column_searchable_list = ("username", "display_name", "phone")
    column_filters = (
        choice_filter(User.role, _l("Role"), ROLE_LABELS),
        related_filter(User.community_id, _l("Community"), Community),
        "active",
    )
    column_formatters = {"role": label_formatter(ROLE_LABELS), "phone": phone_link}
    form_columns = ("username", "display_name", "phone", "role", "community", "circles",
                    "street", "active", "new_password")
    form_choices = {"role": choices(ROLE_LABELS)}
    form_extra_fields = {
        "new_password": PasswordField(
            _l("New password"),
            validators=[Optional(), Length(min=MIN_PASSWORD_LENGTH, max=200)],
            description=_l("At least %(n)d characters. Leave empty to keep the current "
                           "password.", n=MIN_PASSWORD_LENGTH),
        )
    }
    form_overrides = {"phone": PhoneField}
    form_args = {
        "phone": {"validators": [PhoneNumber(optional=True)]},
        "street": {"description": _l("Leaders only: the street they oversee. A leader "
                                     "without a street oversees the whole district.")},
    }
    column_labels = {
        "username": _l("Username"),
        "display_name": _l("Display name"),
        "phone": _l("Phone"),
        "role": _l("Role"),
        "community": _l("Community"),
        "circles": _l("Business circles"),
        "street": _l("Street"),
        "active": _l("Active"),
        "is_service_account": _l("Service account"),
        "last_login_at": _l("Last login"),
        "created_at": _l("Created at"),
    }

    def on_model_change(self, form, model, is_created):
        problem = role_problem(model.role, model.community, model.circles)
        if problem:
            raise ValidationError(str(problem))
        if form.new_password.data and not is_created and model.is_service_account:
            raise ValidationError(str(_l("This account belongs to an API token and never "
                                         "signs in; it cannot have a password.")))
        if form.new_password.data:
            problem = password_problem(form.new_password.data,
                                       (model.username, model.display_name))
            if problem:
                raise ValidationError(str(problem))
            model.set_password(form.new_password.data)
        elif is_created:
            raise ValidationError(str(_l("A new account needs a password.")))
        if not is_created and not model.active:
            # Deactivation ends the user's sessions at once, not at their next login.
            model.end_sessions()


def register(admin, db):
    admin.add_view(UserView(User, db, name=_l("Users"), category=_l("Organisation"),
                            endpoint="user"))
