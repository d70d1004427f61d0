"""The in-app channel (the bell, the notifications page, each person's choices) and the
administrator's pages: WeCom robots per community and the delivery log."""

from __future__ import annotations

from datetime import time

import sqlalchemy as sa
from flask import abort, flash, g, has_request_context, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy.orm import joinedload, selectinload
from wtforms import BooleanField, StringField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

from circle.adminkit import (
    AdminOnlyModelView,
    CircleBaseView,
    ReadOnlyModelView,
    choice_filter,
    label_formatter,
)
from circle.extensions import db
from circle.i18n import gettext as _
from circle.i18n import lazy_gettext as _l
from circle.notify.messages import render
from circle.notify.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    Notice,
    Notification,
    Preference,
    WecomWebhook,
)
from circle.permissions import Cap
from circle.timeutil import utcnow
from circle.transaction import unit_of_work

PAGE = 30

STATUS_LABELS = {
    DeliveryStatus.PENDING: _l("Waiting"),
    DeliveryStatus.RETRY: _l("Failed, will retry"),
    DeliveryStatus.SENT: _l("Sent"),
    DeliveryStatus.FAILED: _l("Failed"),
}
CHANNEL_LABELS = {Channel.WECOM: _l("WeCom group"), Channel.EMAIL: _l("E-mail")}


def unread_count(user) -> int:
    """How many of ``user``'s notifications are unread (the bell's badge)."""
    if not getattr(user, "is_authenticated", False):
        return 0
    # A page shows the bell twice (wide and narrow screens): count once per request.
    cache = g.setdefault("circle_unread_counts", {}) if has_request_context() else {}
    if user.id not in cache:
        cache[user.id] = db.session.scalar(
            sa.select(sa.func.count()).select_from(Notification).where(
                Notification.user_id == user.id, Notification.read_at.is_(None))) or 0
    return cache[user.id]


def mask_webhook(url: str | None) -> str:
    """A webhook address with its secret key hidden but its last four characters."""
    if not url:
        return ""
    head, sep, key = url.partition("key=")
    if not sep:
        head, key = url[: max(len(url) - 8, 0)], url[-8:]
    return f"{head}{sep}{'*' * 8}{key[-4:]}"


class TimeText(StringField):
    """A local time of day typed as ``HH:MM`` (empty: none)."""

    def process_formdata(self, valuelist):
        text = (valuelist[0] if valuelist else "").strip()
        self.raw = text
        if not text:
            self.data = None
            return
        try:
            self.data = time.fromisoformat(text).replace(second=0, microsecond=0)
        except ValueError:
            self.data = None
            raise ValueError(_("Enter a time such as 22:00.")) from None

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return self.data.strftime("%H:%M") if self.data else ""


class PreferenceForm(FlaskForm):
    """Which channels besides the bell, quiet hours, the daily digest."""

    email = StringField(_l("E-mail address"), validators=[
        Optional(), Length(max=200),
        Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Enter an e-mail address such "
                                                        "as name@example.com."))])
    email_enabled = BooleanField(_l("Send me e-mail"))
    wecom_enabled = BooleanField(_l("Post my notifications to my community's WeCom group"))
    quiet_start = TimeText(_l("Quiet from"))
    quiet_end = TimeText(_l("Quiet until"))
    digest_enabled = BooleanField(_l("Daily digest"))

    def validate_email_enabled(self, field):
        if field.data and not (self.email.data or "").strip():
            raise ValidationError(_("Enter an e-mail address to receive e-mail."))

    def validate_quiet_end(self, field):
        if (self.quiet_start.data is None) != (field.data is None):
            raise ValidationError(_("Give both ends of the quiet hours, or neither."))


class NotificationsView(CircleBaseView):
    """My notifications, newest first; opening one marks it read and goes to its issue."""

    capability = Cap.SEE_DASHBOARD

    def is_visible(self) -> bool:
        return False  # reached from the bell on every page

    @expose("/")
    def index(self):
        before = request.args.get("before", type=int)
        stmt = (sa.select(Notification).where(Notification.user_id == current_user.id)
                .options(selectinload(Notification.notice).selectinload(Notice.issue))
                .order_by(Notification.id.desc()).limit(PAGE + 1))
        if before:
            stmt = stmt.where(Notification.id < before)
        rows = list(db.session.scalars(stmt))
        more = len(rows) > PAGE
        rows = rows[:PAGE]
        items = [(row, render(row.notice, current_user)) for row in rows]
        return self.render("notify/notifications.html", items=items,
                           older=rows[-1].id if more else None, form=FlaskForm())

    @expose("/<int:notification_id>")
    def open(self, notification_id: int):
        row = db.session.get(Notification, notification_id)
        if row is None or row.user_id != current_user.id:
            abort(404)
        with unit_of_work():
            if row.read_at is None:
                row.read_at = utcnow()
        if row.notice.issue_id:
            return redirect(url_for("desk.issue", issue_id=row.notice.issue_id))
        return redirect(url_for(".index"))

    @expose("/read-all", methods=["POST"])
    def read_all(self):
        form = FlaskForm()
        if not form.validate_on_submit():
            abort(400)
        with unit_of_work() as session:
            session.execute(sa.update(Notification).where(
                Notification.user_id == current_user.id, Notification.read_at.is_(None))
                .values(read_at=utcnow()))
        flash(_("All notifications marked read."), "success")
        return redirect(url_for(".index"))

    @expose("/settings", methods=["GET", "POST"])
    def settings(self):
        pref = db.session.get(Preference, current_user.id)
        form = PreferenceForm(obj=pref, data=None if pref else {
            "wecom_enabled": True, "digest_enabled": True})
        if form.validate_on_submit():
            with unit_of_work() as session:
                if pref is None:
                    pref = Preference(user_id=current_user.id)
                    session.add(pref)
                form.populate_obj(pref)
                pref.email = (pref.email or "").strip()
            flash(_("Your notification settings are saved."), "success")
            return redirect(url_for(".settings"))
        return self.render("notify/settings.html", form=form)


def _webhook_url(view, context, model, name):
    return mask_webhook(model.url)


class WebhookUrl:
    """The robot's address must be an http(s) URL; the stored one is never sent back."""

    def __call__(self, form, field):
        text = (field.data or "").strip()
        if not text and getattr(form, "_obj", None) is not None:
            return
        if not text.startswith(("https://", "http://")) or len(text) > 500:
            raise ValidationError(_("Paste the robot's webhook address (https://…)."))


class SecretField(StringField):
    """An input that never shows the stored secret: empty keeps it, typing replaces it."""

    def _value(self):
        return self.raw_data[0] if self.raw_data else ""

    def populate_obj(self, obj, name):
        if (self.data or "").strip():
            setattr(obj, name, self.data.strip())


class WecomWebhookView(AdminOnlyModelView):
    """One WeCom group robot per community; the address's key is shown masked."""

    capability = Cap.ADMINISTER_ORGANISATION
    column_list = ("community", "url", "active", "created_at")
    column_formatters = {"url": _webhook_url}
    column_formatters_detail = {"url": _webhook_url}
    form_columns = ("community", "url", "active")
    form_overrides = {"url": SecretField}
    form_args = {"url": {"validators": [WebhookUrl()],
                         "description": _l("The group robot's webhook address. Shown masked; "
                                           "leave empty to keep the stored one.")}}
    column_labels = {"community": _l("Community"), "url": _l("Webhook address"),
                     "active": _l("Active"), "created_at": _l("Created at")}

    def on_form_prefill(self, form, id):
        form._obj = self.get_one(id)
        form.url.render_kw = {"placeholder": mask_webhook(form._obj.url)}

    def create_form(self, obj=None):
        form = super().create_form(obj)
        form._obj = None
        return form

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        form._obj = obj
        # Editing, an empty box keeps the stored address: not required there.
        form.url.validators = [v for v in form.url.validators
                               if not isinstance(v, (InputRequired, DataRequired))]
        form.url.flags.required = False
        return form

    def validate_form(self, form):
        if not super().validate_form(form):
            return False
        community = form.community.data if hasattr(form, "community") else None
        obj = getattr(form, "_obj", None)
        if community is not None:
            taken = db.session.scalar(sa.select(WecomWebhook.id).where(
                WecomWebhook.community_id == community.id,
                WecomWebhook.id != (obj.id if obj is not None else -1)))
            if taken:
                form.community.errors = [_("This community already has a robot.")]
                return False
        return True


def _delivery_target(view, context, model, name):
    if model.channel == Channel.WECOM:
        return str(model.webhook) if model.webhook else ""
    return str(model.user) if model.user else ""


def _delivery_notice(view, context, model, name):
    notice = model.notice
    if notice and notice.issue_id:
        return Markup('<a href="{}">#{}</a>').format(
            url_for("desk.issue", issue_id=notice.issue_id), notice.issue_id)
    return notice.kind if notice else ""


class DeliveryLogView(ReadOnlyModelView):
    """Every WeCom and e-mail message: its status, attempts and last error."""

    capability = Cap.ADMINISTER_ORGANISATION
    column_list = ("created_at", "channel", "target", "notice", "status", "attempts",
                   "next_attempt_at", "sent_at", "last_error")
    column_filters = (choice_filter(Delivery.status, _l("Status"), STATUS_LABELS),
                      choice_filter(Delivery.channel, _l("Channel"), CHANNEL_LABELS))
    column_formatters = {"status": label_formatter(STATUS_LABELS),
                         "channel": label_formatter(CHANNEL_LABELS),
                         "target": _delivery_target, "notice": _delivery_notice}
    column_labels = {"created_at": _l("Created at"), "channel": _l("Channel"),
                     "target": _l("To"), "notice": _l("Issue"), "status": _l("Status"),
                     "attempts": _l("Attempts"), "next_attempt_at": _l("Next attempt"),
                     "sent_at": _l("Sent at"), "last_error": _l("Last error")}
    column_details_list = column_list

    def get_query(self):
        # Joined to the page's rows once they are chosen by their keys (circle/biglists.py):
        # one query for the page, not one per relation.
        return super().get_query().options(
            joinedload(Delivery.notice), joinedload(Delivery.user),
            joinedload(Delivery.webhook).joinedload(WecomWebhook.community))


def register(admin, db) -> None:
    """The notification pages."""
    admin.add_view(NotificationsView(name=_l("Notifications"), endpoint="notifications",
                                     url="/admin/notifications"))
    admin.add_view(WecomWebhookView(WecomWebhook, db, name=_l("WeCom robots"),
                                    category=_l("Organisation"), endpoint="wecom_robots"))
    admin.add_view(DeliveryLogView(Delivery, db, name=_l("Delivery log"),
                                   category=_l("Organisation"), endpoint="delivery_log"))
