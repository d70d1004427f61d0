"""Flask-WTF forms for the workflow actions on the issue desk (one form per action).

The forms check what a person typed (dates, required text, chosen rows, photo files) so that
mistakes come back as field errors with the input kept. The rules of the loop itself — who
may do what, from which state, with which deadlines — stay in :mod:`circle.issues.workflow`,
which checks everything again.
"""

from __future__ import annotations

from datetime import timezone

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    IntegerField,
    MultipleFileField,
    RadioField,
    SelectField,
    SelectMultipleField,
    TextAreaField,
)
from wtforms.fields import DateTimeLocalField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from circle.accounts.models import Role, User
from circle.api.models import service_account_ids
from circle.extensions import db
from circle.issues.models import Issue, VisitOutcome
from circle.issues.workflow import MAX_PHOTOS_PER_VISIT, PHOTO_TYPES, human_size
from circle.labels import RATING_LABELS, VISIT_OUTCOME_LABELS, choices
from circle.org.models import BusinessCircle, Department
from circle.timeutil import local_zone, to_local, utcnow

DEFAULT_PHOTO_MAX_BYTES = 5 * 1024 * 1024
TEXT_MAX = 4000
LOCAL_INPUT_FORMAT = "%Y-%m-%dT%H:%M"

YES, NO = "yes", "no"
YES_NO = [(YES, _l("Yes")), (NO, _l("No"))]


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def photo_max_bytes() -> int:
    """The largest photo accepted (``CIRCLE_PHOTO_MAX_BYTES``, 5 MB unless configured)."""
    return int(current_app.config.get("CIRCLE_PHOTO_MAX_BYTES", DEFAULT_PHOTO_MAX_BYTES))


class LocalDateTimeField(DateTimeLocalField):
    """An ``<input type="datetime-local">`` read in the configured zone, kept as aware UTC.

    Browsers send a wall-clock time without a zone; people mean the time on the clocks
    around them (``CIRCLE_TIMEZONE``), and the database stores UTC.
    """

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None:
            self.data = self.data.replace(tzinfo=local_zone()).astimezone(timezone.utc)

    def _value(self):
        if self.raw_data:
            return " ".join(self.raw_data)
        local = to_local(self.data)
        return local.strftime(LOCAL_INPUT_FORMAT) if local else ""


class CheckboxListField(SelectMultipleField):
    """Several rows chosen with checkboxes: easier to tap on a phone than a multi-select."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _text(label, *, required=False, description=None, message=None):
    validators = [DataRequired(message=message)] if required else [Optional()]
    return TextAreaField(label, validators=[*validators, Length(max=TEXT_MAX)],
                         filters=[_strip], description=description)


class DeskForm(FlaskForm):
    """Base of every action form: the issue version the person was looking at.

    The form is built for one issue and one actor, which decide the choices offered.
    Field ids get the action's name as a prefix, because every form sits on the same page;
    field *names* stay plain, so the posted data reads ``summary``, ``note``, ...
    """

    action: str = ""
    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])

    def __init__(self, issue: Issue, actor: User, *, submitted: bool = False):
        # Only the form that was posted reads the request; the others on a re-rendered
        # page start afresh, with their defaults.
        if submitted:
            super().__init__()
        else:
            super().__init__(formdata=None)
        self.issue, self.actor, self.submitted = issue, actor, submitted
        for field in self:
            field.id = f"{self.action}-{field.id}"
            field.label.field_id = field.id
        if not submitted:
            self.version.data = issue.version
        self.setup()

    def setup(self) -> None:
        """Fill in the choices that depend on the issue (overridden where needed)."""


def _department_choices() -> list[tuple[int, str]]:
    rows = db.session.scalars(
        sa.select(Department).where(Department.active).order_by(Department.name)
    )
    return [(row.id, str(row)) for row in rows]


def chosen_departments(field) -> list[Department]:
    """The Department rows ticked in a :class:`CheckboxListField` (already validated)."""
    if not field.data:
        return []
    return list(db.session.scalars(
        sa.select(Department).where(Department.id.in_(field.data)).order_by(Department.name)
    ))


def chosen_users(field) -> list[User]:
    """The User rows ticked in a :class:`CheckboxListField` (already validated)."""
    if not field.data:
        return []
    return list(db.session.scalars(
        sa.select(User).where(User.id.in_(field.data)).order_by(User.display_name)
    ))


class ResolveLevel1Form(DeskForm):
    """The liaison solved the problem themselves."""

    action = "resolve_level1"
    summary = _text(_l("How was it solved?"), required=True,
                    message=_l("Say how the problem was solved."))


class EscalateForm(DeskForm):
    """Hand the issue to the community's hotline specialists."""

    action = "escalate"
    note = _text(_l("Note for the specialist"))


class AcceptForm(DeskForm):
    """A specialist takes the issue, or assigns it to a colleague."""

    action = "accept"
    assignee = SelectField(_l("Assign to"), coerce=str, validators=[DataRequired(
        message=_l("Choose the hotline specialist who handles the issue."))])

    def setup(self) -> None:
        specialists = db.session.scalars(
            sa.select(User)
            .join(BusinessCircle, BusinessCircle.community_id == User.community_id)
            .where(BusinessCircle.id == self.issue.circle_id, User.active,
                   User.role == Role.SPECIALIST, User.id.not_in(service_account_ids()))
            .order_by(User.display_name)
        ).all()
        self.assignee.choices = [(str(u.id), str(u)) for u in specialists]
        if any(u.id == self.actor.id for u in specialists):
            if self.assignee.data is None:
                self.assignee.data = str(self.actor.id)
        else:
            # An administrator assigns; nobody is preselected for them.
            self.assignee.choices.insert(0, ("", _l("— choose a specialist —")))

    def chosen_assignee(self) -> User | None:
        """The specialist chosen (one of the offered choices, once validated)."""
        return db.session.get(User, int(self.assignee.data)) if self.assignee.data else None


def _check_photos(form, field):
    """JPEG or PNG, recognised by content (not by the file name), each within the limit."""
    files = [f for f in (field.data or []) if getattr(f, "filename", None)]
    if len(files) > MAX_PHOTOS_PER_VISIT:
        raise ValidationError(_l("At most %(n)d photos per visit.", n=MAX_PHOTOS_PER_VISIT))
    limit = photo_max_bytes()
    photos = []
    for storage in files:
        # Read one byte past the limit: enough to know it is too large, no more.
        data = storage.read(limit + 1)
        if not any(data.startswith(magic) for magic in PHOTO_TYPES):
            raise ValidationError(_l("%(name)s is not a JPEG or PNG image.",
                                     name=storage.filename))
        if len(data) > limit:
            raise ValidationError(_l("%(name)s is larger than %(limit)s.",
                                     name=storage.filename, limit=human_size(limit)))
        photos.append((storage.filename, data))
    form.photo_uploads = photos


class VisitForm(DeskForm):
    """现场查看 / 联合现场办公: arrival, what was found, the outcome, who came, photos."""

    action = "visit"
    arrived_at = LocalDateTimeField(_l("Arrived at"), validators=[InputRequired(
        message=_l("Enter the arrival time."))])
    outcome = RadioField(_l("Outcome"), choices=choices(VISIT_OUTCOME_LABELS),
                         validators=[InputRequired(message=_l("Choose the outcome of the "
                                                              "visit."))])
    findings = _text(_l("Findings"))
    summary = _text(_l("How was it solved?"),
                    description=_l("Needed when the problem was resolved on site."))
    attendees = CheckboxListField(_l("Attendees"), coerce=int)
    departments = CheckboxListField(_l("Departments"), coerce=int)
    photos = MultipleFileField(_l("Photos (JPEG or PNG)"), validators=[_check_photos],
                               render_kw={"accept": "image/jpeg,image/png"})

    def setup(self) -> None:
        issue = self.issue
        community_id = issue.circle.community_id
        people = db.session.scalars(
            sa.select(User).where(
                User.active,
                User.id.not_in(service_account_ids()),
                sa.or_(
                    sa.and_(User.role == Role.SPECIALIST, User.community_id == community_id),
                    sa.and_(User.role == Role.LIAISON,
                            User.circles.any(BusinessCircle.id == issue.circle_id)),
                ),
            ).order_by(User.role.desc(), User.display_name)
        ).all()
        self.attendees.choices = [(u.id, str(u)) for u in people]
        if not self.submitted:
            self.arrived_at.data = utcnow()
            if any(u.id == self.actor.id for u in people):
                self.attendees.data = [self.actor.id]
        self.departments.choices = _department_choices()
        if issue.level >= 3:
            self.departments.description = _l("At least one department for a joint on-site "
                                              "office.")
        # (filename, bytes) pairs, filled in by the photo check.
        self.photo_uploads: list[tuple[str, bytes]] = []
        # For desk.js: refuse oversized photos on the phone, before a long upload ends in
        # an error page that loses everything typed (the server checks again).
        limit, total = photo_max_bytes(), current_app.config.get("MAX_CONTENT_LENGTH")
        self.photos.render_kw = {
            **(self.photos.render_kw or {}),
            "data-max-bytes": limit,
            "data-max-files": MAX_PHOTOS_PER_VISIT,
            "data-max-total": total or "",
            "data-size-message": str(_l("Each photo may be at most %(limit)s.",
                                        limit=human_size(limit))),
            "data-count-message": str(_l("At most %(n)d photos per visit.",
                                         n=MAX_PHOTOS_PER_VISIT)),
            "data-total-message": str(_l("Together the photos are too large; send fewer "
                                         "at a time.")),
        }

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        outcome = self.outcome.data
        if outcome == VisitOutcome.RESOLVED and not (self.summary.data or self.findings.data):
            self.summary.errors.append(_l("Say how the problem was solved."))
            ok = False
        needs_departments = self.issue.level >= 3 or (
            outcome == VisitOutcome.ESCALATE and self.issue.level == 2)
        if needs_departments and not self.departments.data:
            self.departments.errors.append(
                _l("Choose the departments to convene for the joint on-site office."))
            ok = False
        return ok


class JointOfficeForm(DeskForm):
    """Level 3: convene the departments for a joint on-site office."""

    action = "joint_office"
    departments = CheckboxListField(_l("Departments"), coerce=int)
    note = _text(_l("Note"))

    def setup(self) -> None:
        self.departments.choices = _department_choices()

    def validate_departments(self, field):
        if not field.data:
            raise ValidationError(_l("Choose the departments to convene for the joint "
                                     "on-site office."))


class EscalateSymposiumForm(DeskForm):
    """Level 4: the joint office could not solve it; call a symposium."""

    action = "escalate_symposium"
    note = _text(_l("Note"))


class SymposiumForm(DeskForm):
    """座谈会: who came, the minutes, and the deadline the parties agreed."""

    action = "symposium"
    held_at = LocalDateTimeField(_l("Held at"), validators=[InputRequired(
        message=_l("Enter when the symposium was held."))])
    agreed_deadline = LocalDateTimeField(_l("Agreed deadline"), validators=[InputRequired(
        message=_l("Enter the deadline agreed at the symposium."))])
    participants = _text(_l("Participants"))
    minutes = _text(_l("Minutes"))
    departments = CheckboxListField(_l("Departments"), coerce=int)

    def setup(self) -> None:
        self.departments.choices = _department_choices()
        if not self.submitted:
            self.held_at.data = utcnow()

    def validate_agreed_deadline(self, field):
        if self.held_at.data and field.data and field.data <= self.held_at.data:
            raise ValidationError(_l("The agreed deadline must be after the symposium."))


class ResolveForm(DeskForm):
    """Mark the issue resolved (levels 2–4)."""

    action = "resolve"
    summary = _text(_l("How was it solved?"), required=True,
                    message=_l("Say how the problem was solved."))


class HoldForm(DeskForm):
    """挂起: the issue waits on the merchant or a third party; the clocks pause."""

    action = "hold"
    reason = _text(_l("What is the issue waiting for?"), required=True,
                   message=_l("Say what the issue is waiting for."))


class ResumeForm(DeskForm):
    """Continue a held issue."""

    action = "resume"
    note = _text(_l("Note"))


class WithdrawForm(DeskForm):
    """Withdraw a duplicate or invalid issue."""

    action = "withdraw"
    reason = _text(_l("Why is it withdrawn?"), required=True,
                   message=_l("Say why the issue is withdrawn (duplicate, invalid…)."))


class CallbackForm(DeskForm):
    """回访: one call to the merchant — reached or not, resolved or not, and the rating."""

    action = "callback"
    called_at = LocalDateTimeField(_l("Called at"), validators=[Optional()])
    reached = RadioField(_l("Merchant reached?"), choices=YES_NO, default=YES,
                         validators=[InputRequired()])
    resolved = RadioField(_l("Problem solved, says the merchant?"), choices=YES_NO,
                          validators=[Optional()])
    rating = RadioField(_l("Satisfaction"), choices=choices(RATING_LABELS),
                        validators=[Optional()])
    comments = _text(_l("Comments"))

    def setup(self) -> None:
        if not self.submitted:
            self.called_at.data = utcnow()

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.reached.data == YES:
            # Not reached: nothing else to record. Reached: both answers are needed.
            if self.resolved.data not in (YES, NO):
                self.resolved.errors.append(
                    _l("Record whether the merchant says the problem was solved."))
                ok = False
            if self.rating.data not in RATING_LABELS:
                self.rating.errors.append(_l("Record the merchant's satisfaction rating."))
                ok = False
        return ok


#: Every action form, in the order the desk shows them.
ACTION_FORMS: dict[str, type[DeskForm]] = {
    form.action: form
    for form in (
        ResolveLevel1Form, EscalateForm, AcceptForm, VisitForm, JointOfficeForm,
        EscalateSymposiumForm, SymposiumForm, ResolveForm, CallbackForm, HoldForm,
        ResumeForm, WithdrawForm,
    )
}
