"""Flask-WTF forms for the workflow actions on the issue desk (one form per action).

A form reads what a person typed into values (dates in the local zone, chosen rows, photo
files) and hands them, through :meth:`DeskForm.inputs`, to the step function of its action
(:data:`circle.issues.workflow.ACTION_FUNCTIONS`). The rules — who may do what, from which
state, which inputs each step requires — live only in :mod:`circle.issues.workflow`; a
refusal there comes back as an error next to the field it names, with the input kept. A
form also carries how the desk presents its action (title, button, message when done).
"""

from __future__ import annotations

from datetime import timedelta, timezone

import sqlalchemy as sa
from flask import current_app
from flask_wtf import FlaskForm
from wtforms import (
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.fields import DateTimeLocalField
from wtforms.validators import InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from circle.accounts.models import Role, User
from circle.extensions import db
from circle.i18n import lazy_gettext as _l
from circle.issues.desk_photos import PhotoFormMixin, photo_max_bytes, photos_field
from circle.issues.lifecycle_models import ReturnBasis
from circle.issues.models import Issue
from circle.issues.steps import ACTIONS, steps_of
from circle.labels import CONTACT_CHANNEL_LABELS, RATING_LABELS, VISIT_OUTCOME_LABELS, choices
from circle.org.models import BusinessCircle, Community, Department
from circle.permissions import Cap, can
from circle.textlimits import LimitedTextAreaField
from circle.timeutil import local_zone, to_local, utcnow

TEXT_MAX = 4000
LOCAL_INPUT_FORMAT = "%Y-%m-%dT%H:%M"

YES, NO = "yes", "no"
YES_NO = [(YES, _l("Yes")), (NO, _l("No"))]


def _strip(value):
    return value.strip() if isinstance(value, str) else value


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


def _text(label, *, description=None):
    return LimitedTextAreaField(label, validators=[Optional()], max_chars=TEXT_MAX,
                                filters=[_strip], description=description)


class DeskForm(FlaskForm):
    """Base of every action form: the issue version the person was looking at.

    The form is built for one issue and one actor, which decide the choices offered.
    Field ids get the action's name as a prefix, because every form sits on the same page;
    field *names* stay plain, so the posted data reads ``summary``, ``note``, ...
    """

    action: str = ""
    #: How the desk presents the action (lazy strings) and the button's Bootstrap style.
    title = button = done = ""
    style = "primary"
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
        # Inputs every step of the action requires are marked required (the browser asks
        # for them); the workflow checks them again and names the field it refuses.
        steps = steps_of(self.action)
        required = set.intersection(*({i.name for i in s.requires} for s in steps)) \
            if steps else set()
        for name in required:
            if name in self:
                self[name].flags.required = True
        self.setup()

    def setup(self) -> None:
        """Fill in the choices that depend on the issue (overridden where needed)."""

    def carry_version(self, version: int) -> None:
        """Shown again for the issue as it is now: carry its version, not the posted one."""
        self.version.data = version
        self.version.raw_data = []  # the field renders what was posted, if anything

    def keep_uploads(self) -> None:
        """The form is shown again with errors: keep what a file input cannot refill."""

    def discard_kept(self) -> None:
        """The action succeeded: drop what :meth:`keep_uploads` kept."""

    def inputs(self) -> dict:
        """The step function's keyword arguments, read from the form's fields."""
        return {field.name: field.data for field in self
                if field.name not in ("csrf_token", "version")}


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
    title, button, style = _l("Resolve at level 1"), _l("Mark resolved"), "success"
    done = _l("The issue is resolved and waits for the callback.")
    summary = _text(_l("How was it solved?"))


class EscalateForm(DeskForm):
    """Hand the issue to the community's hotline specialists."""

    action = "escalate"
    title, button, style = _l("Escalate to the community"), _l("Escalate"), "warning"
    done = _l("The issue has been handed to the community's hotline specialists.")
    note = _text(_l("Note for the specialist"))


class AcceptForm(DeskForm):
    """A specialist takes the issue, or assigns it to a colleague."""

    action = "accept"
    title, button = _l("Accept / assign"), _l("Accept")
    done = _l("The issue is assigned.")
    assignee = SelectField(_l("Assign to"), coerce=str, validators=[Optional()])

    def setup(self) -> None:
        specialists = db.session.scalars(
            User.people()
            .join(BusinessCircle, BusinessCircle.community_id == User.community_id)
            .where(BusinessCircle.id == self.issue.circle_id, User.role == Role.SPECIALIST)
            .order_by(User.display_name)
        ).all()
        if not can(self.actor, Cap.ASSIGN_OTHERS):
            specialists = [u for u in specialists if u.id == self.actor.id]
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

    def inputs(self) -> dict:
        return {"assignee": self.chosen_assignee()}


class VisitForm(PhotoFormMixin, DeskForm):
    """现场查看 / 联合现场办公: arrival, what was found, the outcome, who came, photos."""

    action = "visit"
    title, button = _l("Log an on-site visit"), _l("Save the visit")
    done = _l("The on-site visit has been recorded.")
    # A time that does not parse is the form's to report; a missing one the workflow's.
    arrived_at = LocalDateTimeField(_l("Arrived at"), validators=[Optional()])
    outcome = RadioField(_l("Outcome"), choices=choices(VISIT_OUTCOME_LABELS),
                         validators=[Optional()])
    findings = _text(_l("Findings"))
    summary = _text(_l("How was it solved?"),
                    description=_l("Needed when the problem was resolved on site."))
    attendees = CheckboxListField(_l("Attendees"), coerce=int)
    departments = CheckboxListField(_l("Departments"), coerce=int)
    photos = photos_field(_l("Photos (JPEG or PNG)"))

    def setup(self) -> None:
        issue = self.issue
        community_id = issue.circle.community_id
        people = db.session.scalars(
            User.people().where(
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
        self.setup_photos()

    def inputs(self) -> dict:
        return {
            "arrived_at": self.arrived_at.data, "outcome": self.outcome.data,
            "findings": self.findings.data or "", "summary": self.summary.data or "",
            "attendees": chosen_users(self.attendees),
            "departments": chosen_departments(self.departments),
            "photos": self.photo_inputs(), "photo_max_bytes": photo_max_bytes(),
        }


class JointOfficeForm(DeskForm):
    """Level 3: convene the departments for a joint on-site office."""

    action = "joint_office"
    title, button, style = (_l("Convene a joint on-site office"), _l("Convene the departments"),
                            "warning")
    done = _l("The issue is now at level 3, joint on-site office.")
    departments = CheckboxListField(_l("Departments"), coerce=int)
    note = _text(_l("Note"))

    def setup(self) -> None:
        self.departments.choices = _department_choices()

    def inputs(self) -> dict:
        return {"departments": chosen_departments(self.departments),
                "note": self.note.data or ""}


class EscalateSymposiumForm(DeskForm):
    """Level 4: the joint office could not solve it; call a symposium."""

    action = "escalate_symposium"
    title, button, style = _l("Escalate to a symposium"), _l("Escalate"), "warning"
    done = _l("The issue is now at level 4, symposium.")
    note = _text(_l("Note"))


class SymposiumForm(DeskForm):
    """座谈会: who came, the minutes, and the deadline the parties agreed."""

    action = "symposium"
    title, button = _l("Record the symposium"), _l("Save the symposium")
    done = _l("The symposium has been recorded; its agreed deadline now applies.")
    held_at = LocalDateTimeField(_l("Held at"), validators=[Optional()])
    agreed_deadline = LocalDateTimeField(_l("Agreed deadline"), validators=[Optional()])
    participants = _text(_l("Participants"))
    minutes = _text(_l("Minutes"))
    departments = CheckboxListField(_l("Departments"), coerce=int)

    def setup(self) -> None:
        self.departments.choices = _department_choices()
        if not self.submitted:
            self.held_at.data = utcnow()

    def inputs(self) -> dict:
        return {**super().inputs(), "departments": chosen_departments(self.departments)}


class ResolveForm(DeskForm):
    """Mark the issue resolved (levels 2–4)."""

    action = "resolve"
    title, button, style = _l("Mark resolved"), _l("Mark resolved"), "success"
    done = _l("The issue is resolved and waits for the callback.")
    summary = _text(_l("How was it solved?"))


class HoldForm(DeskForm):
    """挂起: the issue waits on the merchant or a third party; the clocks pause."""

    action = "hold"
    title, button, style = _l("Put on hold"), _l("Put on hold"), "secondary"
    done = _l("The issue is on hold; its clocks are paused.")
    reason = _text(_l("What is the issue waiting for?"))


class ResumeForm(DeskForm):
    """Continue a held issue."""

    action = "resume"
    title, button = _l("Resume"), _l("Resume")
    done = _l("The issue continues; its deadlines moved out by the time on hold.")
    note = _text(_l("Note"))


class WithdrawForm(DeskForm):
    """Withdraw a duplicate or invalid issue."""

    action = "withdraw"
    title, button, style = _l("Withdraw"), _l("Withdraw the issue"), "danger"
    done = _l("The issue has been withdrawn.")
    reason = _text(_l("Why is it withdrawn?"))


class CallbackForm(DeskForm):
    """回访: one call to the merchant — reached or not, resolved or not, and the rating."""

    action = "callback"
    title, button = _l("Record a callback"), _l("Save the callback")
    done = _l("The callback has been recorded.")
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

    def inputs(self) -> dict:
        reached = self.reached.data == YES
        return {
            "reached": reached,
            # Not reached: nothing else to record. Reached: the workflow needs both answers.
            "resolved": {YES: True, NO: False}.get(self.resolved.data) if reached else None,
            "rating": (self.rating.data or None) if reached else None,
            "comments": self.comments.data or "", "called_at": self.called_at.data,
        }


class FirstContactForm(DeskForm):
    """先行联系: when and how the merchant was first contacted."""

    action = "first_contact"
    title, button = _l("Record the first contact"), _l("Save the first contact")
    done = _l("The first contact with the merchant has been recorded.")
    contacted_at = LocalDateTimeField(_l("Contacted at"), validators=[Optional()])
    channel = RadioField(_l("How"), choices=choices(CONTACT_CHANNEL_LABELS),
                         default="phone", validators=[Optional()])
    note = _text(_l("Note"))

    def setup(self) -> None:
        if not self.submitted:
            self.contacted_at.data = utcnow()


class RequestExtensionForm(DeskForm):
    """延期申请: a later resolution deadline, asked of the street leader before this one."""

    action = "request_extension"
    title, button, style = _l("Ask for an extension"), _l("Send the request"), "secondary"
    done = _l("The extension request waits for a leader's decision.")
    new_deadline = LocalDateTimeField(_l("New deadline"), validators=[Optional()])
    reason = _text(_l("Why is more time needed?"))


def _decision_field():
    return RadioField(_l("Decision"), choices=[(YES, _l("Approve")), (NO, _l("Refuse"))],
                      validators=[Optional()])


class _DecideForm(DeskForm):
    """A leader's decision on the request waiting (the step functions pick approve/refuse)."""

    approve = _decision_field()
    note = _text(_l("Note (needed to refuse)"))

    def setup(self) -> None:
        from circle.labels import REQUEST_KIND_LABELS
        from circle.timeutil import format_local

        request = self.issue.pending_request
        if request is None:
            return
        said = [f"{REQUEST_KIND_LABELS[request.kind]}: {request.reason}"]
        if request.basis is not None:
            said.append(str(request.basis))
        if request.new_deadline is not None:
            said.append(f"{format_local(request.old_deadline) or '—'} → "
                        f"{format_local(request.new_deadline)}")
        said.append(f"{request.requested_by or ''} {format_local(request.requested_at)}")
        self.approve.description = " · ".join(s.strip() for s in said if s.strip())

    def inputs(self) -> dict:
        return {"approve": {YES: True, NO: False}.get(self.approve.data),
                "note": self.note.data or ""}


class DecideExtensionForm(_DecideForm):
    action = "decide_extension"
    title, button = _l("Decide on the extension"), _l("Save the decision")
    done = _l("The decision on the extension has been recorded.")


class DecideReturnForm(_DecideForm):
    action = "decide_return"
    title, button = _l("Decide on the return"), _l("Save the decision")
    done = _l("The decision on the return has been recorded.")


class RequestReturnForm(DeskForm):
    """退单申请: the issue is not the community's remit; the basis and an explanation."""

    action = "request_return"
    title, button, style = _l("Ask to return the issue"), _l("Send the request"), "danger"
    done = _l("The return request waits for a leader's decision.")
    basis = SelectField(_l("Basis"), coerce=str, validators=[Optional()])
    reason = _text(_l("Explain"))

    def setup(self) -> None:
        rows = db.session.scalars(sa.select(ReturnBasis).where(ReturnBasis.active)
                                  .order_by(ReturnBasis.sort_order, ReturnBasis.name))
        self.basis.choices = [("", _l("— choose the basis —"))] + [
            (str(row.id), str(row)) for row in rows]

    def inputs(self) -> dict:
        basis = db.session.get(ReturnBasis, int(self.basis.data)) if self.basis.data else None
        return {"basis": basis, "reason": self.reason.data or ""}


class TransferForm(DeskForm):
    """转办: to another business circle of this or another community."""

    action = "transfer"
    title, button, style = _l("Transfer"), _l("Transfer the issue"), "secondary"
    done = _l("The issue has been transferred.")
    circle = SelectField(_l("To the business circle"), coerce=str, validators=[Optional()])
    move_merchant = RadioField(_l("Move the merchant there too?"), choices=YES_NO, default=NO,
                               validators=[Optional()])
    note = _text(_l("Note"))

    def setup(self) -> None:
        rows = db.session.execute(
            sa.select(BusinessCircle.id, BusinessCircle.name, Community.name)
            .join(Community).where(BusinessCircle.id != self.issue.circle_id)
            .order_by(Community.name, BusinessCircle.name)).all()
        self.circle.choices = [("", _l("— choose a business circle —"))] + [
            (str(id_), f"{community} · {name}") for id_, name, community in rows]

    def inputs(self) -> dict:
        circle = db.session.get(BusinessCircle, int(self.circle.data)) if self.circle.data \
            else None
        return {"circle": circle, "move_merchant": self.move_merchant.data == YES,
                "note": self.note.data or ""}


class SuperviseForm(DeskForm):
    """督办: a leader's order, with a note and perhaps a deadline."""

    action = "supervise"
    title, button, style = _l("Issue a supervision order (督办)"), _l("Issue the order"), \
        "warning"
    done = _l("The supervision order has been issued.")
    note = _text(_l("What does the order ask for?"))
    deadline = LocalDateTimeField(_l("Deadline (optional)"), validators=[Optional()])

class MergeForm(DeskForm):
    """Merge a duplicate into the issue it repeats (one case per problem)."""

    action = "merge"
    title, button, style = _l("Merge into another issue"), _l("Merge"), "danger"
    done = _l("The issue has been merged; its merchant's tracking link now leads to the "
              "original.")
    original = StringField(_l("Number of the original issue"), filters=[_strip],
                           validators=[Optional(), Length(max=20)],
                           render_kw={"inputmode": "numeric"})
    note = _text(_l("Note"))

    def setup(self) -> None:
        # The same merchant's open issues of the same category: what the duplicate repeats.
        from circle.issues.workflow import possible_duplicates

        window = timedelta(days=current_app.config["CIRCLE_DUPLICATE_WINDOW_DAYS"])
        self.suggestions = possible_duplicates(
            self.issue.merchant_id, self.issue.category_id, window,
            now=utcnow(), exclude=self.issue.id)
        if not self.submitted and self.suggestions:
            self.original.data = str(self.suggestions[-1].id)

    def validate_original(self, field) -> None:
        # A number that names no issue is the form's to report; scope and state the
        # workflow's (an out-of-scope number reads the same as a missing one).
        number = (field.data or "").lstrip("#")
        self.original_row = None
        if not number:
            return
        if number.isascii() and number.isdigit() and len(number) < 12:
            self.original_row = db.session.get(Issue, int(number))
        if self.original_row is None:
            raise ValidationError(_l("No issue with this number in your business circles."))

    def inputs(self) -> dict:
        return {"original": getattr(self, "original_row", None), "note": self.note.data or ""}


class ConfirmForm(DeskForm):
    """The liaison accepts a merchant's own report (商户扫码) into the loop."""

    action = "confirm"
    title, button, style = _l("Confirm the merchant's report"), _l("Confirm"), "success"
    done = _l("The report is confirmed; handle it as any other issue.")
    note = _text(_l("Note"))


def _action_forms() -> dict[str, type[DeskForm]]:
    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    forms = {form.action: form for form in subclasses(DeskForm) if form.action}
    missing = set(ACTIONS) - set(forms)
    if missing:  # a step the desk could not offer: fail at import, not on a page
        raise LookupError(f"no desk form for the workflow action(s) {sorted(missing)}")
    return {action: forms[action] for action in ACTIONS}


#: Every action form (each subclass of DeskForm), in the order the workflow declares them.
ACTION_FORMS: dict[str, type[DeskForm]] = _action_forms()
