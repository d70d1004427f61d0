"""Admin views for user accounts and the devices they are signed in on."""

import sqlalchemy as sa
from flask import abort, flash, g, redirect, url_for
from flask_admin import expose
from flask_login import current_user
from markupsafe import Markup
from wtforms import PasswordField
from wtforms.validators import Length, Optional, ValidationError

from circle.accounts.models import (
    MIN_PASSWORD_LENGTH,
    LoginDevice,
    User,
    password_problem,
    role_problem,
)
from circle.adminkit import (
    AdminOnlyModelView,
    CircleBaseView,
    PhoneField,
    PhoneNumber,
    choice_filter,
    label_formatter,
    phone_link,
    related_filter,
)
from circle.extensions import db
from circle.i18n import gettext as _
from circle.i18n import lazy_gettext as _l
from circle.labels import ROLE_LABELS, choices
from circle.org.models import Community
from circle.permissions import Cap, can
from circle.timeutil import utcnow
from circle.transaction import unit_of_work


class UserView(AdminOnlyModelView):
    """Accounts: who signs in, in which role, for which community or circles."""

    capability = Cap.ADMINISTER_USERS
    column_list = ("username", "display_name", "role", "community", "circles", "street",
                   "phone", "active", "last_login_at", "devices")
    column_details_exclude_list = ("password_hash", "session_version")
    column_export_exclude_list = ("password_hash", "session_version", "devices")
    column_searchable_list = ("username", "display_name", "phone")
    column_filters = (
        choice_filter(User.role, _l("Role"), ROLE_LABELS),
        related_filter(User.community_id, _l("Community"), Community),
        "active",
    )
    column_formatters = {"role": label_formatter(ROLE_LABELS), "phone": phone_link,
                         "devices": lambda view, context, model, name: Markup(
                             '<a href="{}">{}</a>').format(
                                 url_for("devices.user", user_id=model.id), _("Devices"))}
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
        "devices": _l("Signed-in devices"),
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


class DevicesView(CircleBaseView):
    """The devices (browsers) a user is signed in on: one's own, or, for an administrator,
    anyone's; each can be signed out, which ends its session and remember-me cookie."""

    capability = Cap.MANAGE_OWN_DEVICES

    def _user_or_404(self, user_id: int) -> User:
        """The user whose devices are asked for: oneself, or anyone for an administrator."""
        if user_id != current_user.id and not can(current_user, Cap.ADMINISTER_USERS):
            abort(403)
        user = db.session.get(User, user_id)
        if user is None:
            abort(404)
        return user

    def _list(self, user: User):
        devices = db.session.scalars(LoginDevice.signed_in(user.id, utcnow())).all()
        return self.render("auth/devices.html", person=user, devices=devices,
                           own=user.id == current_user.id,
                           current_device=g.get("login_device_id"))

    @expose("/")
    def index(self):
        """My signed-in devices."""
        return self._list(current_user._get_current_object())

    @expose("/user/<int:user_id>")
    def user(self, user_id: int):
        """A user's signed-in devices (administrators)."""
        return self._list(self._user_or_404(user_id))

    def _back(self, user: User):
        if user.id == current_user.id:
            return redirect(url_for(".index"))
        return redirect(url_for(".user", user_id=user.id))

    @expose("/<int:device_id>/sign-out", methods=("POST",))
    def sign_out(self, device_id: int):
        """Sign one device out."""
        device = db.session.get(LoginDevice, device_id)
        if device is None:
            abort(404)
        user = self._user_or_404(device.user_id)
        if device.id == g.get("login_device_id"):
            # Signing out the device in use is the logout button's job (it also clears the
            # cookies here); a stray POST must not end the session under the user's feet.
            flash(_("To sign out the device you are using, use Sign out."), "error")
            return self._back(user)
        with unit_of_work():
            device.revoke(utcnow())
        flash(_("The device is signed out."), "success")
        return self._back(user)

    @expose("/user/<int:user_id>/sign-out-all", methods=("POST",))
    def sign_out_all(self, user_id: int):
        """Sign out every device of the user (for oneself: every other device)."""
        user = self._user_or_404(user_id)
        now = utcnow()
        keep = g.get("login_device_id") if user.id == current_user.id else None
        with unit_of_work():
            db.session.execute(sa.update(LoginDevice).where(
                LoginDevice.user_id == user.id, LoginDevice.revoked_at.is_(None),
                LoginDevice.id != (keep or 0)).values(revoked_at=now))
        flash(_("The other devices are signed out.") if keep else
              _("Every device of this user is signed out."), "success")
        return self._back(user)


def register(admin, db):
    admin.add_view(UserView(User, db, name=_l("Users"), category=_l("Organisation"),
                            endpoint="user"))
    admin.add_view(DevicesView(name=_l("My devices"), endpoint="devices",
                               url="/admin/devices"))
