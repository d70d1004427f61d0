"""Register an issue: the liaison officer's short, phone-friendly form.

The page is one form (merchant, severity, category, source, 12345 work-order number,
description) and a JSON search the merchant picker calls as the user types. Everything the
form accepts is checked again here against the user's scope, and the issue itself is made by
:func:`circle.issues.workflow.register_issue`, which owns every rule about registration.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, flash, jsonify, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.orm import joinedload
from wtforms import HiddenField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from circle.accounts.models import User
from circle.adminkit import CircleBaseView
from circle.extensions import db
from circle.i18n import gettext as _
from circle.i18n import lazy_gettext as _l
from circle.inputs import parse_id
from circle.issues import sla, workcalendar, workflow
from circle.issues.admin import active_rows
from circle.issues.models import DeadlineRule, IssueCategory, IssueSource, Severity
from circle.issues.sla_models import SlaPolicy
from circle.labels import SEVERITY_LABELS, duration_label, response_label, rule_label
from circle.merchants.models import Merchant
from circle.permissions import Cap, issue_in_scope, may_see_full_phone, scope_by_circle
from circle.textlimits import LimitedTextAreaField
from circle.timeutil import local_zone, utcnow
from circle.transaction import unit_of_work
from circle.validators import mask_phone

MERCHANTS_PER_PAGE = 20
# Deep paging through a search is never useful on a phone; the cap keeps OFFSET cheap.
MAX_SEARCH_PAGE = 50
MAX_SEARCH_LENGTH = 50
MAX_DESCRIPTION_LENGTH = 2000
# Issue.work_order_no is a String(40).
MAX_WORK_ORDER_LENGTH = 40
# Issue.registration_key is a String(64); new_registration_key() makes 32 characters.
REGISTRATION_KEY_LENGTH = 64
def new_registration_key() -> str:
    """A one-time key for a registration form (unguessable, URL-safe)."""
    return secrets.token_urlsafe(24)


def duplicate_window() -> timedelta:
    """How far back an open issue counts as a possible duplicate (a setting)."""
    return timedelta(days=current_app.config["CIRCLE_DUPLICATE_WINDOW_DAYS"])


class PossibleDuplicate(Exception):
    """Registering would open a second case for the same problem: ask first."""

    def __init__(self, duplicates):
        super().__init__("possible duplicate")
        self.duplicates = duplicates


def merchant_label(merchant: Merchant, user: User | None = None) -> str:
    """How a merchant reads in the picker: enough to tell two similar shops apart.

    The phone is masked for roles that do not telephone merchants.
    """
    phone = merchant.phone if may_see_full_phone(user) else mask_phone(merchant.phone)
    parts = (merchant.shop_name, merchant.owner_name, phone,
             merchant.circle.name if merchant.circle else "")
    return " · ".join(part for part in parts if part)


def merchant_search(user: User, term: str = ""):
    """A SELECT of the active merchants ``user`` may register issues for, matching ``term``.

    ``term`` matches the shop name or owner name anywhere, or the phone number's digits
    (dashes and spaces ignored). Shops whose name starts with the term come first.
    """
    stmt = sa.select(Merchant).where(Merchant.active).options(joinedload(Merchant.circle))
    stmt = scope_by_circle(stmt, Merchant.circle_id, user)
    term = (term or "").strip()[:MAX_SEARCH_LENGTH]
    if not term:
        return stmt.order_by(Merchant.shop_name, Merchant.id)
    conditions = [
        Merchant.shop_name.icontains(term, autoescape=True),
        Merchant.owner_name.icontains(term, autoescape=True),
    ]
    digits = "".join(ch for ch in term if ch.isascii() and ch.isdigit())
    if digits and len(digits) == len(term.replace("-", "").replace(" ", "")):
        conditions.append(
            sa.func.replace(Merchant.phone, "-", "").contains(digits, autoescape=True)
        )
    prefix_first = sa.case(
        (Merchant.shop_name.istartswith(term, autoescape=True), 0), else_=1
    )
    return stmt.where(sa.or_(*conditions)).order_by(prefix_first, Merchant.shop_name,
                                                    Merchant.id)


def merchant_for(user: User, merchant_id: int | None) -> Merchant | None:
    """The active merchant with this id if ``user`` may register issues for it, else ``None``."""
    if merchant_id is None:
        return None
    stmt = sa.select(Merchant).where(Merchant.id == merchant_id, Merchant.active)
    return db.session.scalar(scope_by_circle(stmt, Merchant.circle_id, user))


@dataclass(frozen=True)
class Promise:
    """What a severity promises: the rule, and what it means for a matter registered now."""

    rule: str  # "on site within 30 minutes, resolved by the end of the half-day"
    now: str  # "registered now: on site by 10:50 today, resolved by 12:00 today"


def severity_promises(now: datetime | None = None) -> dict[str, Promise]:
    """The SLA promise of each severity, from the current policies, with the deadlines a
    matter registered at ``now`` would get (the same computation as registration)."""
    now = now or utcnow()
    calendar, zone = workcalendar.load_calendar(), local_zone()
    promises = {}
    for policy in db.session.scalars(sa.select(SlaPolicy)):
        if policy.rule == DeadlineRule.DURATION:
            # The fixed durations read as they always have.
            budgets = {"respond": duration_label(policy.respond_minutes),
                       "resolve": duration_label(policy.resolve_minutes)}
            if policy.working_days:
                rule = _("respond within %(respond)s, resolve within %(resolve)s "
                         "(working days)", **budgets)
            else:
                rule = _("respond within %(respond)s, resolve within %(resolve)s", **budgets)
        else:
            rule = _("on site within %(respond)s, resolved %(resolve)s",
                     respond=response_label(policy.respond_minutes, policy.respond_clock),
                     resolve=rule_label(policy.rule, policy.amount))
        response_due, resolution_due = sla.Terms.of_policy(policy).deadlines(now, calendar)
        promises[policy.severity] = Promise(rule, _(
            "registered now: on site %(respond)s, resolved %(resolve)s",
            respond=sla.deadline_words(response_due, now, zone),
            resolve=sla.deadline_words(resolution_due, now, zone)))
    return promises


class RegisterIssueForm(FlaskForm):
    """The registration form. Choices come from the database and the actor's scope.

    Validation resolves the submitted ids to rows (:attr:`merchant_row`,
    :attr:`category_row`, :attr:`source_row`); ids that are unknown, inactive or out of
    scope are refused with a message on their field.
    """

    # Choices are checked by the validate_* methods below, each with its own message,
    # rather than by WTForms' generic "Not a valid choice".
    merchant = SelectField(_l("Merchant"), coerce=parse_id, validate_choice=False,
                           render_kw={"required": True})
    severity = RadioField(_l("How serious is it?"), choices=list(SEVERITY_LABELS.items()),
                          validate_choice=False, render_kw={"required": True})
    category = SelectField(_l("Category"), coerce=parse_id, validate_choice=False,
                           render_kw={"required": True})
    source = SelectField(_l("Source"), coerce=parse_id, validate_choice=False,
                         render_kw={"required": True})
    work_order_no = StringField(
        _l("12345 work-order no."),
        validators=[Length(max=MAX_WORK_ORDER_LENGTH)],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
    )
    description = LimitedTextAreaField(
        _l("What is the problem?"),
        validators=[DataRequired(message=_l("Describe the problem."))],
        max_chars=MAX_DESCRIPTION_LENGTH,
    )
    # The form's one-time key: the same form posted twice registers one issue.
    registration_key = HiddenField(validators=[Length(max=REGISTRATION_KEY_LENGTH)])

    def __init__(self, *args, actor: User, **kwargs):
        self.actor = actor
        self.merchant_row: Merchant | None = None
        self._categories = {row.id: row for row in active_rows(IssueCategory)}
        self._sources = {row.id: row for row in active_rows(IssueSource)}
        super().__init__(*args, **kwargs)
        self.category.choices = [("", _("Choose…"))] + [
            (row.id, row.name) for row in self._categories.values()
        ]
        # The page's script marks the work-order number required for 12345 sources.
        self.source.choices = [("", _("Choose…"))] + [
            (row.id, row.name, {"data-hotline": "1"} if row.is_hotline else {})
            for row in self._sources.values()
        ]

    @property
    def category_row(self) -> IssueCategory | None:
        return self._categories.get(self.category.data)

    @property
    def source_row(self) -> IssueSource | None:
        return self._sources.get(self.source.data)

    def validate_merchant(self, field) -> None:
        if field.data is None:
            raise ValidationError(_("Choose the merchant."))
        self.merchant_row = merchant_for(self.actor, field.data)
        if self.merchant_row is None:
            # Unknown, inactive and out-of-scope ids read the same: nothing is revealed
            # about merchants outside the user's circles.
            raise ValidationError(_("Choose a merchant in your own business circles."))

    def validate_severity(self, field) -> None:
        if field.data not in Severity.ALL:
            raise ValidationError(_("Choose how serious the matter is."))

    def validate_category(self, field) -> None:
        if self.category_row is None:
            raise ValidationError(_("Choose a category from the list."))

    def validate_source(self, field) -> None:
        if self.source_row is None:
            raise ValidationError(_("Choose where the issue came from."))

    def show_chosen_merchant(self) -> None:
        """Offer only the chosen merchant (if allowed) as the picker's option on re-display.

        The picker loads everything else by search; an out-of-scope id is never echoed
        back with its name.
        """
        merchant = self.merchant_row or merchant_for(self.actor, self.merchant.data)
        self.merchant.choices = [("", "")]
        if merchant is not None:
            self.merchant.choices.append((merchant.id, merchant_label(merchant, current_user)))
        else:
            self.merchant.data = None


class RegisterIssueView(CircleBaseView):
    """Register a merchant's problem at level 1 (liaison officers, specialists, admins)."""

    capability = Cap.REGISTER_ISSUE

    @property
    def extra_css(self) -> list[str]:
        # The base template loads select2's script but not its styles.
        return [
            url_for("admin.static", filename="vendor/select2/select2.css"),
            url_for("admin.static", filename="vendor/select2/select2-bootstrap4.css"),
            url_for("static", filename="workflow.css"),
        ]

    @property
    def extra_js(self) -> list[str]:
        return [url_for("static", filename="register.js")]

    @expose("/", methods=("GET", "POST"))
    def index(self):
        """Show the form; on a valid POST register the issue and open it on the desk."""
        actor = current_user._get_current_object()
        form = RegisterIssueForm(actor=actor)
        duplicates = []
        if request.method == "GET":
            # A link such as ?merchant=12 (from a merchant's page) preselects the shop.
            form.merchant.data = parse_id(request.args.get("merchant"))
            form.severity.data = form.severity.data or Severity.SMALL
        elif (key := form.registration_key.data) and (
                first := workflow.issue_with_key(key)) is not None and issue_in_scope(
                actor, first):
            # The same form again (a double tap, a retry): the issue it already made.
            flash(_("Issue #%(id)d was already registered from this form.", id=first.id),
                  "info")
            return redirect(url_for("desk.issue", issue_id=first.id))
        elif form.validate_on_submit():
            try:
                with unit_of_work():
                    issue = workflow.register_issue(
                        actor,
                        merchant=form.merchant_row,
                        category=form.category_row,
                        source=form.source_row,
                        severity=form.severity.data,
                        description=form.description.data,
                        work_order_no=form.work_order_no.data or None,
                        registration_key=form.registration_key.data or None,
                    )
                    # "Register anyway" answers the question already: it is not asked again.
                    if not request.form.get("register_anyway") and (
                            duplicates := workflow.possible_duplicates(
                                issue.merchant_id, issue.category_id, duplicate_window(),
                                exclude=issue.id)):
                        raise PossibleDuplicate(duplicates)  # rolls the registration back
                    # Read now: the commit expires the issue, and reading its id after it
                    # would cost a transaction of its own just to load the row again.
                    issue_id = issue.id
            except workflow.WorkflowError as exc:
                # The unit of work has rolled back whatever the attempt touched.
                form.form_errors.append(str(exc.message))
            except PossibleDuplicate:
                pass  # shown above the form, with links and "register anyway"
            else:
                flash(_("Issue #%(id)d registered. Solve it now or escalate it to the "
                        "community.", id=issue_id), "success")
                return redirect(url_for("desk.issue", issue_id=issue_id))
        if not form.registration_key.data:
            form.registration_key.data = new_registration_key()
        form.show_chosen_merchant()
        return self.render("circle/register.html", form=form, promises=severity_promises(),
                           max_description=MAX_DESCRIPTION_LENGTH, duplicates=duplicates)

    @expose("/merchants")
    def merchants(self):
        """Merchant search for the picker (select2): ``?q=term&page=n``, 20 a page.

        Answers ``{"results": [{"id", "text"}], "pagination": {"more": bool}}`` with the
        active merchants of the user's own circles only.
        """
        page = min(parse_id(request.args.get("page")) or 1, MAX_SEARCH_PAGE)
        stmt = merchant_search(current_user, request.args.get("q", ""))
        rows = db.session.scalars(
            stmt.offset((page - 1) * MERCHANTS_PER_PAGE).limit(MERCHANTS_PER_PAGE + 1)
        ).all()
        more = len(rows) > MERCHANTS_PER_PAGE and page < MAX_SEARCH_PAGE
        return jsonify(
            results=[{"id": m.id, "text": merchant_label(m, current_user)}
                     for m in rows[:MERCHANTS_PER_PAGE]],
            pagination={"more": more},
        )
