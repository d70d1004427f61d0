"""Admin views for issues, their records and the issue reference data.

Issues and their records (visits, symposiums, callbacks, the timeline) are row-scoped to the
user's circles; the capability each view needs is named on it (``Cap.SEE_ISSUES``,
``Cap.EDIT_ISSUES``, ``Cap.SEE_TIMELINE_LOG``, ``Cap.ADMINISTER_REFERENCE_DATA``).
"""

from functools import partial

import sqlalchemy as sa
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.orm import joinedload
from wtforms.validators import NumberRange, Optional, ValidationError

from circle.adminkit import (
    AdminOnlyModelView,
    ClauseFilter,
    CommunityFilter,
    IdEqualFilter,
    IssueRecordView,
    ReferenceDataView,
    ScopedModelView,
    StreetFilter,
    choice_filter,
    label_formatter,
    moment_filters,
    related_filter,
    row_url,
)
from circle.extensions import db
from circle.i18n import gettext
from circle.i18n import lazy_gettext as _l
from circle.issues import sla, workcalendar
from circle.issues.lifecycle_models import ReturnBasis
from circle.issues.models import (
    Callback,
    DeadlineRule,
    Issue,
    IssueCategory,
    IssueEvent,
    IssueSource,
    SiteVisit,
    Status,
    Symposium,
    overdue_clause,
)
from circle.issues.rules import issue_problem, record_edit
from circle.issues.sla_models import CalendarDay, SlaPolicy, WorkSchedule
from circle.labels import (
    CALLBACK_CHANNEL_LABELS,
    CLOCK_LABELS,
    DAY_KIND_LABELS,
    DEADLINE_RULE_LABELS,
    EVENT_LABELS,
    LEVEL_LABELS,
    RATING_LABELS,
    SEVERITY_LABELS,
    STATUS_GROUP_LABELS,
    STATUS_LABELS,
    VISIT_OUTCOME_LABELS,
    choices,
    response_label,
    rule_label,
)
from circle.org.models import BusinessCircle
from circle.permissions import Cap
from circle.reports.counts import COUNTS, DATINGS, dated_clause, issue_clause
from circle.timeutil import format_local, utcnow

#: The statuses of each group of the "status group" filter (labels: STATUS_GROUP_LABELS).
STATUS_GROUPS = {"open": Status.OPEN, "settled": Status.SETTLED, "left": Status.LEFT,
                 "counted": tuple(s for s in Status.ALL if s not in Status.LEFT)}


def active_rows(model):
    """Active rows of a reference table, in the administrator's order."""
    return db.session.scalars(
        sa.select(model).where(model.active).order_by(model.sort_order, model.name)
    ).all()


def timeline_formatter(view, context, model, name):
    """The issue's timeline as a list; every value is escaped by ``Markup.format``."""
    rows = [
        Markup("<li><span class=\"text-muted\">{when}</span> {who} · {what}{note}</li>").format(
            when=format_local(event.created_at),
            who=event.actor or "",
            what=STATUS_LABELS.get(event.to_status, event.action),
            note=f" — {event.note}" if event.note else "",
        )
        for event in model.events
    ]
    if not rows:
        return ""
    return Markup('<ol class="list-unstyled mb-0">{}</ol>').format(Markup("").join(rows))


def desk_link(view, context, model, name):
    """The issue number, linking to the issue desk where the work is done, with the 重办
    mark (and count) of a re-handled issue."""
    link = Markup('<a href="%s">#%s</a>') % (row_url("desk.issue", "issue_id", model.id),
                                             model.id)
    if model.rehandle_count:
        link += Markup(' <span class="badge badge-warning rehandle-badge">%s ×%s</span>') % (
            gettext("Re-handled"), model.rehandle_count)
    return link


ISSUE_LABELS = {
    "id": _l("No."),
    "merchant": _l("Merchant"),
    "merchant.shop_name": _l("Shop name"),
    "circle": _l("Business circle"),
    "circle.community": _l("Community"),
    "category": _l("Category"),
    "source": _l("Source"),
    "description": _l("Description"),
    "severity": _l("Severity"),
    "work_order_no": _l("12345 work-order no."),
    "level": _l("Level"),
    "highest_level": _l("Highest level"),
    "status": _l("Status"),
    "reporter": _l("Reported by"),
    "assignee": _l("Assigned to"),
    "reported_at": _l("Reported at"),
    "first_on_site_at": _l("First on site"),
    "resolved_at": _l("Resolved at"),
    "closed_at": _l("Closed at"),
    "response_due_at": _l("Response due"),
    "resolution_due_at": _l("Resolution due"),
    "resolution_summary": _l("Resolution summary"),
    "rehandle_count": _l("Re-handlings"),
    "events": _l("Timeline"),
}


class IssueView(ScopedModelView):
    """Every issue of the user's circles; the community corrects what was reported."""

    capability = Cap.SEE_ISSUES
    edit_capability = Cap.EDIT_ISSUES
    column_list = ("id", "work_order_no", "merchant", "circle", "category", "severity",
                   "level", "status", "reported_at", "assignee")
    # The number column's 重办 mark reads the count (loaded with the page, not per row).
    list_load_also = ("rehandle_count",)
    column_details_list = ("id", "work_order_no", "merchant", "circle", "category", "source",
                           "severity", "description", "level", "highest_level", "status",
                           "reporter", "assignee", "reported_at", "first_on_site_at",
                           "response_due_at", "resolution_due_at", "resolved_at", "closed_at",
                           "resolution_summary", "rehandle_count", "events")
    column_searchable_list = ("work_order_no", "merchant.shop_name")
    # A million issues: the search box matches the start of the work-order number (index)
    # or any part of the shop name (among the merchants), see circle/biglists.py.
    search_columns = {"work_order_no": "prefix", "merchant.shop_name": "contains"}
    column_filters = (
        related_filter(Issue.circle_id, _l("Business circle"), BusinessCircle),
        CommunityFilter(Issue.circle_id, _l("Community")),
        choice_filter(Issue.status, _l("Status"), STATUS_LABELS),
        ClauseFilter(Issue.status, _l("Status group"), {
            group: (label, lambda statuses=STATUS_GROUPS[group]: Issue.status.in_(statuses))
            for group, label in STATUS_GROUP_LABELS.items()}),
        ClauseFilter(Issue.resolution_due_at, _l("Overdue now"), {
            "yes": (_l("Yes"), lambda: overdue_clause(utcnow()))}),
        ClauseFilter(Issue.rehandle_count, _l("Re-handled (重办)"), {
            "yes": (_l("Yes"), lambda: Issue.rehandle_count > 0),
            "no": (_l("No"), lambda: Issue.rehandle_count == 0)}),
        choice_filter(Issue.level, _l("Level"), LEVEL_LABELS),
        choice_filter(Issue.severity, _l("Severity"), SEVERITY_LABELS),
        related_filter(Issue.category_id, _l("Category"), IssueCategory,
                       IssueCategory.sort_order),
        related_filter(Issue.source_id, _l("Source"), IssueSource, IssueSource.sort_order),
        "reported_at",
        "resolved_at",
        # What each dashboard figure counts, and the call-dated figures' periods
        # (circle.reports.counts): every figure links to exactly its issues.
        ClauseFilter(Issue.id, _l("Counted as"), {
            count.name: (count.label, lambda name=count.name: issue_clause(name))
            for count in COUNTS}, link_key="count"),
        *(flt for dated, dating in DATINGS.items() if dating.label is not None
          for flt in moment_filters(Issue.id, dating.label, dated, partial(dated_clause, dated))),
        # Last: Flask-Admin names filters by position, and bookmarked lists keep theirs.
        StreetFilter(Issue.circle_id, _l("Street")),
    )
    column_sortable_list = ("id", "reported_at", "level", "status", "severity")
    column_formatters = {
        "status": label_formatter(STATUS_LABELS),
        "severity": label_formatter(SEVERITY_LABELS),
        "level": label_formatter(LEVEL_LABELS),
        "highest_level": label_formatter(LEVEL_LABELS),
        "events": timeline_formatter,
        "id": desk_link,
    }
    column_formatters_detail = column_formatters
    column_labels = ISSUE_LABELS
    # Status and level change only through the workflow; the form edits what was reported.
    # Issues are registered through the workflow (Register an issue), which starts their
    # SLA clocks; here an administrator corrects what was reported. Severity is not
    # editable: the SLA deadlines were computed from it.
    can_create = False
    form_columns = ("category", "source", "work_order_no", "description")
    form_choices = {"severity": choices(SEVERITY_LABELS)}
    form_args = {
        "work_order_no": {"description": _l("Required for 12345 hotline work orders.")},
        # Deactivated reference rows stay on old issues but are not offered for new ones.
        "category": {"query_factory": lambda: active_rows(IssueCategory)},
        "source": {"query_factory": lambda: active_rows(IssueSource)},
    }
    # Withdrawal, not deletion, removes an issue from the loop: the timeline is a record.
    can_delete = False

    def on_model_change(self, form, model, is_created):
        problem = issue_problem(model)
        if problem:
            raise ValidationError(str(problem))
        changed = [str(ISSUE_LABELS.get(f.name, f.name)) for f in form
                   if f.name in self.form_columns and f.data != f.object_data]
        record_edit(model, current_user._get_current_object(), changed)


class IssueSourceView(ReferenceDataView):
    column_list = ("name", "is_hotline", "sort_order", "active")
    form_columns = ("name", "is_hotline", "sort_order", "active")
    column_labels = {
        **ReferenceDataView.column_labels,
        "is_hotline": _l("12345 hotline (needs work-order no.)"),
    }


def _resolution_rule(view, context, model, name):
    return rule_label(model.rule, model.amount, model.resolve_minutes, model.working_days)


def _response(view, context, model, name):
    return response_label(model.respond_minutes, model.respond_clock)


class SlaPolicyView(AdminOnlyModelView):
    """The service promise per severity. Changes apply to issues registered afterwards."""

    capability = Cap.ADMINISTER_REFERENCE_DATA

    can_create = False  # one row per severity, created with the reference data
    can_delete = False
    column_list = ("severity", "rule", "respond_minutes", "sign_minutes", "contact_minutes",
                   "updated_at")
    column_default_sort = ("id", False)
    column_formatters = {
        "severity": label_formatter(SEVERITY_LABELS),
        "rule": _resolution_rule,
        "respond_minutes": _response,
        "respond_clock": label_formatter(CLOCK_LABELS),
    }
    form_columns = ("rule", "amount", "respond_minutes", "respond_clock", "resolve_minutes",
                    "working_days", "sign_minutes", "contact_minutes")
    form_choices = {"rule": choices(DEADLINE_RULE_LABELS),
                    "respond_clock": choices(CLOCK_LABELS)}
    form_args = {
        "rule": {"description": _l(
            "End of the half-day: registered before the noon cut-off, by the end of the "
            "morning; later, by the end of the afternoon; after the afternoon cut-off or on a "
            "day off, by the end of the next working morning. End of the day: by 24:00, or of "
            "the next working day after the evening cut-off. N calendar days: by 24:00 of the "
            "Nth day after the day of registration, holidays included. Working hours and "
            "days follow the working hours (Reference data → Working hours).")},
        "amount": {"validators": [Optional(), NumberRange(min=1, max=366)],
                   "description": _l("N: how many half-days, days or hours the rule counts "
                                     "(1 for the end of the half-day or day, 7 calendar "
                                     "days for a week).")},
        "respond_minutes": {"validators": [NumberRange(min=1, max=366 * 24 * 60)],
                            "description": _l("Minutes from registration to the first "
                                              "on-site arrival (30 = half an hour). Never "
                                              "later than the resolution deadline.")},
        "respond_clock": {"description": _l("Calendar time: an emergency is answered at any "
                                            "hour. Working hours: only the sessions of "
                                            "working days count.")},
        "resolve_minutes": {"validators": [Optional(), NumberRange(min=1, max=366 * 24 * 60)],
                            "description": _l("Fixed duration only: minutes from registration "
                                              "to resolution (240 = 4 hours, 1440 = 1 day).")},
        "sign_minutes": {"validators": [NumberRange(min=1, max=366 * 24 * 60)],
                         "description": _l("签收: minutes from the issue reaching the "
                                           "specialists (escalated, dispatched by 12345, "
                                           "transferred) to being signed for, on the "
                                           "response clock.")},
        "contact_minutes": {"validators": [NumberRange(min=1, max=366 * 24 * 60)],
                            "description": _l("先行联系: minutes from the issue reaching the "
                                              "specialists to the first contact with the "
                                              "merchant (by phone or on site), on the "
                                              "response clock.")},
        "working_days": {"description": _l("Fixed duration only: count only working days "
                                           "(all their hours); weekends and public holidays "
                                           "are skipped, adjusted working days (调休) count.")},
    }
    column_labels = {
        "severity": _l("Severity"),
        "rule": _l("Resolve"),
        "amount": _l("N"),
        "respond_minutes": _l("Respond within"),
        "respond_clock": _l("Response clock"),
        "resolve_minutes": _l("Resolve within (minutes)"),
        "working_days": _l("Working days only"),
        "sign_minutes": _l("Sign for within (minutes)"),
        "contact_minutes": _l("First contact within (minutes)"),
        "updated_at": _l("Updated at"),
    }

    def on_model_change(self, form, model, is_created):
        problem = sla.policy_problem(model)
        if problem:
            raise ValidationError(problem)
        # What another rule would count is not kept: the row says what it promises.
        if model.rule == DeadlineRule.DURATION:
            model.amount = None
        else:
            model.resolve_minutes, model.working_days = None, False


def _session(start: str, end: str):
    def formatter(view, context, model, name):
        return f"{getattr(model, start):%H:%M}–{getattr(model, end):%H:%M}"
    return formatter


def _clock_time(view, context, model, name):
    value = getattr(model, name)
    return f"{value:%H:%M}" if value else ""


def _season(view, context, model, name):
    if not model.season_start:
        return _l("All year")
    return f"{model.season_start} – {model.season_end}"


_TIME = {"default_format": "%H:%M"}


class WorkScheduleView(AdminOnlyModelView):
    """作息时间: the working sessions the deadline rules count, all year and per season."""

    capability = Cap.ADMINISTER_REFERENCE_DATA

    column_list = ("name", "season_start", "morning_start", "afternoon_start", "noon_cutoff",
                   "afternoon_cutoff", "evening_cutoff")
    column_default_sort = ("id", False)
    column_formatters = {
        "season_start": _season,
        "morning_start": _session("morning_start", "morning_end"),
        "afternoon_start": _session("afternoon_start", "afternoon_end"),
        "noon_cutoff": _clock_time,
        "afternoon_cutoff": _clock_time,
        "evening_cutoff": _clock_time,
    }
    form_columns = ("name", "season_start", "season_end", "morning_start", "morning_end",
                    "afternoon_start", "afternoon_end", "noon_cutoff", "afternoon_cutoff",
                    "evening_cutoff")
    form_args = {
        "season_start": {"label": _l("Season from"), "description": _l(
            "MM-DD, e.g. 05-01. Leave both days empty for the all-year schedule; a season "
            "overrides it between its days.")},
        "season_end": {"description": _l("MM-DD, e.g. 09-30 (included).")},
        "morning_start": {**_TIME, "label": _l("Morning from")}, "morning_end": _TIME,
        "afternoon_start": {**_TIME, "label": _l("Afternoon from")}, "afternoon_end": _TIME,
        "noon_cutoff": {**_TIME, "description": _l(
            "End of the half-day: registered from this time on, a matter is due at the end "
            "of the afternoon instead of the morning.")},
        "afternoon_cutoff": {**_TIME, "description": _l(
            "End of the half-day: registered from this time on, a matter is due at the end "
            "of the next working morning.")},
        "evening_cutoff": {**_TIME, "description": _l(
            "End of the day: registered from this time on, a matter is due by the end of the "
            "next working day.")},
    }
    column_labels = {
        # The list shows a season and each session in one column; the form asks for each.
        "name": _l("Name"),
        "season_start": _l("Season"),
        "season_end": _l("Season to"),
        "morning_start": _l("Morning"),
        "morning_end": _l("Morning to"),
        "afternoon_start": _l("Afternoon"),
        "afternoon_end": _l("Afternoon to"),
        "noon_cutoff": _l("Noon cut-off"),
        "afternoon_cutoff": _l("Afternoon cut-off"),
        "evening_cutoff": _l("Evening cut-off"),
    }

    def on_model_change(self, form, model, is_created):
        model.season_start = (model.season_start or "").strip() or None
        model.season_end = (model.season_end or "").strip() or None
        with db.session.no_autoflush:  # the row as edited is not written before it is checked
            others = [row for row in db.session.scalars(sa.select(WorkSchedule))
                      if row is not model]
        problem = workcalendar.schedule_problem(model, others)
        if problem:
            raise ValidationError(problem)

    def on_model_delete(self, model):
        if not model.season_start:
            raise ValidationError(str(_l("The all-year schedule cannot be deleted; edit it "
                                         "instead.")))


class CalendarDayView(AdminOnlyModelView):
    """Public holidays and the weekend days worked in their place (调休)."""

    capability = Cap.ADMINISTER_REFERENCE_DATA

    column_list = ("day", "kind", "name")
    column_default_sort = ("day", True)
    column_filters = (choice_filter(CalendarDay.kind, _l("Kind"), DAY_KIND_LABELS), "day")
    column_formatters = {"kind": label_formatter(DAY_KIND_LABELS)}
    form_columns = ("day", "kind", "name")
    form_choices = {"kind": choices(DAY_KIND_LABELS)}
    column_labels = {"day": _l("Date"), "kind": _l("Kind"), "name": _l("Name")}


class IssueEventView(IssueRecordView):
    """Every timeline event across issues, scoped like the issues themselves."""

    capability = Cap.SEE_TIMELINE_LOG

    def get_query(self):
        # Each row names its actor, and its issue (and so its merchant, loaded by
        # IssueRecordView): joined to the page's rows once they are chosen by their keys,
        # so that an OFFSET never joins the rows it skips (circle/biglists.py).
        return super().get_query().options(joinedload(IssueEvent.actor))

    column_list = ("created_at", "issue", "actor", "action", "from_status", "to_status",
                   "from_level", "to_level", "note")
    column_filters = (IdEqualFilter(IssueEvent.issue_id, _l("Issue no.")),
                      choice_filter(IssueEvent.action, _l("Action"), EVENT_LABELS),
                      "created_at")
    column_formatters = {
        "action": label_formatter(EVENT_LABELS),
        "from_status": label_formatter(STATUS_LABELS),
        "to_status": label_formatter(STATUS_LABELS),
        "from_level": label_formatter(LEVEL_LABELS),
        "to_level": label_formatter(LEVEL_LABELS),
    }
    column_labels = {
        "created_at": _l("Time"),
        "issue": _l("Issue"),
        "issue.id": _l("Issue no."),
        "actor": _l("By"),
        "action": _l("Action"),
        "from_status": _l("From status"),
        "to_status": _l("To status"),
        "from_level": _l("From level"),
        "to_level": _l("To level"),
        "note": _l("Note"),
    }


class SiteVisitView(IssueRecordView):
    column_list = ("arrived_at", "issue", "level", "outcome", "recorded_by", "departments")
    column_filters = ("level", choice_filter(SiteVisit.outcome, _l("Outcome"),
                                             VISIT_OUTCOME_LABELS), "arrived_at")
    column_formatters = {"outcome": label_formatter(VISIT_OUTCOME_LABELS)}
    column_labels = {
        "arrived_at": _l("Arrived at"),
        "issue": _l("Issue"),
        "level": _l("Level"),
        "outcome": _l("Outcome"),
        "findings": _l("Findings"),
        "recorded_by": _l("Recorded by"),
        "departments": _l("Departments"),
        "attendees": _l("Attendees"),
    }


class SymposiumView(IssueRecordView):
    column_list = ("held_at", "issue", "agreed_deadline", "recorded_by")
    column_filters = ("held_at",)
    column_labels = {
        "held_at": _l("Held at"),
        "issue": _l("Issue"),
        "participants": _l("Participants"),
        "minutes": _l("Minutes"),
        "agreed_deadline": _l("Agreed deadline"),
        "recorded_by": _l("Recorded by"),
        "departments": _l("Departments"),
    }


class CallbackView(IssueRecordView):
    column_list = ("called_at", "issue", "called_by", "reached", "resolved_per_merchant",
                   "rating", "comments")
    column_filters = ("called_at", "reached",
                      choice_filter(Callback.rating, _l("Rating"), RATING_LABELS))
    column_formatters = {"rating": label_formatter(RATING_LABELS),
                         "channel": label_formatter(CALLBACK_CHANNEL_LABELS)}
    column_labels = {
        "channel": _l("Channel"),
        "round": _l("Handling round"),
        "called_at": _l("Called at"),
        "issue": _l("Issue"),
        "called_by": _l("Called by"),
        "reached": _l("Reached"),
        "resolved_per_merchant": _l("Resolved (per merchant)"),
        "rating": _l("Rating"),
        "comments": _l("Comments"),
    }


def register(admin, db):
    category = _l("Issues")
    admin.add_view(IssueView(Issue, db, name=_l("All issues"), category=category,
                             endpoint="issue"))
    admin.add_view(SiteVisitView(SiteVisit, db, name=_l("On-site visits"), category=category,
                                 endpoint="site_visit"))
    admin.add_view(SymposiumView(Symposium, db, name=_l("Symposiums"), category=category,
                                 endpoint="symposium"))
    admin.add_view(CallbackView(Callback, db, name=_l("Callbacks"), category=category,
                                endpoint="callback"))
    admin.add_view(IssueEventView(IssueEvent, db, name=_l("Timeline (all issues)"),
                                  category=category, endpoint="issue_event"))
    ref = _l("Reference data")
    admin.add_view(SlaPolicyView(SlaPolicy, db, name=_l("SLA policy"), category=ref,
                                 endpoint="sla_policy"))
    admin.add_view(CalendarDayView(CalendarDay, db, name=_l("Holiday calendar"), category=ref,
                                   endpoint="calendar_day"))
    admin.add_view(WorkScheduleView(WorkSchedule, db, name=_l("Working hours"), category=ref,
                                    endpoint="work_schedule"))
    admin.add_view(ReferenceDataView(IssueCategory, db, name=_l("Issue categories"),
                                     category=ref, endpoint="issue_category"))
    admin.add_view(IssueSourceView(IssueSource, db, name=_l("Issue sources"), category=ref,
                                   endpoint="issue_source"))
    admin.add_view(ReferenceDataView(ReturnBasis, db, name=_l("Return bases (退单依据)"),
                                     category=ref, endpoint="return_basis"))
