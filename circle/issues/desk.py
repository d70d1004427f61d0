"""The issue desk: one issue on one page, with its timeline and the actions allowed now.

The desk shows everything recorded about an issue and, for the signed-in user, a form for
each workflow action :func:`~circle.issues.workflow.allowed_actions` allows. Each form posts
to ``/admin/desk/<id>/<action>``; the view checks the form and hands the values to the
workflow function, which decides. Views stay thin: no state change happens here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import sqlalchemy as sa
from flask import abort, flash, make_response, redirect, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import selectinload, undefer

from circle.adminkit import CircleBaseView
from circle.extensions import db
from circle.issues import sla, workflow
from circle.issues.desk_forms import (
    ACTION_FORMS,
    NO,
    YES,
    DeskForm,
    chosen_departments,
    chosen_users,
    human_size,
    photo_max_bytes,
)
from circle.issues.models import Callback, Issue, SiteVisit, SiteVisitPhoto, Symposium
from circle.merchants.models import EmergencyContact, Merchant
from circle.permissions import issue_in_scope
from circle.timeutil import utcnow


@dataclass(frozen=True)
class DeskAction:
    """How the desk presents one workflow action and what the form's values mean."""

    title: object  # lazy string
    button: object
    done: object  # flashed on success
    perform: Callable[[DeskForm, Issue, object, int], object]
    style: str = "primary"


def _resolve_level1(form, issue, actor, version):
    return workflow.resolve_at_level1(issue, actor, summary=form.summary.data,
                                      expected_version=version)


def _escalate(form, issue, actor, version):
    return workflow.escalate_to_community(issue, actor, note=form.note.data or "",
                                          expected_version=version)


def _accept(form, issue, actor, version):
    return workflow.accept_issue(issue, actor, assignee=form.chosen_assignee(),
                                 expected_version=version)


def _visit(form, issue, actor, version):
    return workflow.record_site_visit(
        issue, actor, arrived_at=form.arrived_at.data, outcome=form.outcome.data,
        findings=form.findings.data or "", summary=form.summary.data or "",
        attendees=chosen_users(form.attendees), departments=chosen_departments(form.departments),
        photos=form.photo_uploads, photo_max_bytes=photo_max_bytes(), expected_version=version,
    )


def _joint_office(form, issue, actor, version):
    return workflow.escalate_to_joint_office(
        issue, actor, departments=chosen_departments(form.departments),
        note=form.note.data or "", expected_version=version)


def _escalate_symposium(form, issue, actor, version):
    return workflow.escalate_to_symposium(issue, actor, note=form.note.data or "",
                                          expected_version=version)


def _symposium(form, issue, actor, version):
    return workflow.record_symposium(
        issue, actor, held_at=form.held_at.data, agreed_deadline=form.agreed_deadline.data,
        participants=form.participants.data or "", minutes=form.minutes.data or "",
        departments=chosen_departments(form.departments), expected_version=version)


def _resolve(form, issue, actor, version):
    return workflow.resolve_issue(issue, actor, summary=form.summary.data,
                                  expected_version=version)


def _hold(form, issue, actor, version):
    return workflow.put_on_hold(issue, actor, reason=form.reason.data,
                                expected_version=version)


def _resume(form, issue, actor, version):
    return workflow.resume_issue(issue, actor, note=form.note.data or "",
                                 expected_version=version)


def _withdraw(form, issue, actor, version):
    return workflow.withdraw_issue(issue, actor, reason=form.reason.data,
                                   expected_version=version)


def _callback(form, issue, actor, version):
    reached = form.reached.data == YES
    return workflow.record_callback(
        issue, actor, reached=reached,
        resolved={YES: True, NO: False}.get(form.resolved.data) if reached else None,
        rating=form.rating.data if reached else None, comments=form.comments.data or "",
        called_at=form.called_at.data, expected_version=version)


#: What the desk shows for each workflow action; keys follow :data:`ACTION_FORMS`.
DESK_ACTIONS: dict[str, DeskAction] = {
    "resolve_level1": DeskAction(_l("Resolve at level 1"), _l("Mark resolved"),
                                 _l("The issue is resolved and waits for the callback."),
                                 _resolve_level1, "success"),
    "escalate": DeskAction(_l("Escalate to the community"), _l("Escalate"),
                           _l("The issue has been handed to the community's hotline "
                              "specialists."), _escalate, "warning"),
    "accept": DeskAction(_l("Accept / assign"), _l("Accept"),
                         _l("The issue is assigned."), _accept),
    "visit": DeskAction(_l("Log an on-site visit"), _l("Save the visit"),
                        _l("The on-site visit has been recorded."), _visit),
    "joint_office": DeskAction(_l("Convene a joint on-site office"),
                               _l("Convene the departments"),
                               _l("The issue is now at level 3, joint on-site office."),
                               _joint_office, "warning"),
    "escalate_symposium": DeskAction(_l("Escalate to a symposium"), _l("Escalate"),
                                     _l("The issue is now at level 4, symposium."),
                                     _escalate_symposium, "warning"),
    "symposium": DeskAction(_l("Record the symposium"), _l("Save the symposium"),
                            _l("The symposium has been recorded; its agreed deadline now "
                               "applies."), _symposium),
    "resolve": DeskAction(_l("Mark resolved"), _l("Mark resolved"),
                          _l("The issue is resolved and waits for the callback."),
                          _resolve, "success"),
    "callback": DeskAction(_l("Record a callback"), _l("Save the callback"),
                           _l("The callback has been recorded."), _callback),
    "hold": DeskAction(_l("Put on hold"), _l("Put on hold"),
                       _l("The issue is on hold; its clocks are paused."), _hold,
                       "secondary"),
    "resume": DeskAction(_l("Resume"), _l("Resume"),
                         _l("The issue continues; its deadlines moved out by the time on "
                            "hold."), _resume),
    "withdraw": DeskAction(_l("Withdraw"), _l("Withdraw the issue"),
                           _l("The issue has been withdrawn."), _withdraw, "danger"),
}


def effective_callback(issue: Issue) -> Callback | None:
    """The callback whose rating counts: the latest one that reached the merchant."""
    reached = [c for c in issue.callbacks if c.reached]
    return max(reached, key=lambda c: (c.called_at, c.id)) if reached else None


class IssueDeskView(CircleBaseView):
    """One issue with everything recorded about it and the actions its viewer may take."""

    def is_visible(self) -> bool:
        # Reached from lists, boards and queues, never from the menu.
        return False

    # Flask-Admin's base template links these; as properties, url_for runs per request.
    @property
    def extra_css(self):
        return [url_for("static", filename="desk.css")]

    @property
    def extra_js(self):
        return [url_for("static", filename="desk.js")]

    @expose("/")
    def index(self):
        """No issue chosen: go to the list of issues."""
        return redirect(url_for("issue.index_view"))

    @expose("/<int:issue_id>")
    def issue(self, issue_id: int):
        """The desk page of one issue (404 when it does not exist or is out of scope)."""
        issue = self._issue_or_404(issue_id)
        return self._render(issue)

    @expose("/<int:issue_id>/<action>", methods=["POST"])
    def act(self, issue_id: int, action: str):
        """Take one workflow action on the issue, then show the desk again (PRG).

        A stale page, a refused action or a refusal by the workflow is flashed and changes
        nothing; a form with mistakes comes back with its errors and the input kept.
        """
        if action not in DESK_ACTIONS or action not in ACTION_FORMS:
            abort(404)
        issue = self._issue_or_404(issue_id)
        actor = current_user._get_current_object()
        form = ACTION_FORMS[action](issue, actor, submitted=True)
        version = form.version.data
        if version is None:
            # Every desk form carries it; a post without one did not come from the page.
            abort(400)
        desk_url = url_for(".issue", issue_id=issue.id)
        if version != issue.version:
            flash(workflow.StaleIssue().message, "error")
            return redirect(desk_url)
        refused = workflow.refusal(issue, actor, action)
        if refused is not None:
            flash(refused.message, "error")
            return redirect(desk_url)
        if not form.validate():
            return self._render(issue, failed=form)
        spec = DESK_ACTIONS[action]
        try:
            spec.perform(form, issue, actor, version)
        except workflow.InvalidInput as exc:
            # Keep what was typed (a phone user may have attached photos): show the form
            # again with the workflow's reason.
            db.session.rollback()
            form.form_errors.append(exc.message)
            return self._render(db.session.get(Issue, issue_id), failed=form)
        except workflow.WorkflowError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return redirect(desk_url)
        flash(spec.done, "success")
        anchor = "callback" if action == "callback" else None
        return redirect(url_for(".issue", issue_id=issue.id, _anchor=anchor))

    @expose("/photo/<int:photo_id>")
    def photo(self, photo_id: int):
        """A site-visit photo, to users who may see its issue (404 for everybody else)."""
        photo = db.session.get(SiteVisitPhoto, photo_id, options=[undefer(SiteVisitPhoto.data)])
        if photo is None or not issue_in_scope(current_user, photo.visit.issue):
            abort(404)
        response = make_response(photo.data)
        response.headers["Content-Type"] = photo.content_type
        # The type was decided by the bytes at upload; never let a browser guess another.
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Disposition"] = "inline"
        response.headers["Cache-Control"] = "private, max-age=86400"
        return response

    # --- helpers ---------------------------------------------------------------------------

    def _issue_or_404(self, issue_id: int) -> Issue:
        """The issue, if it exists and the user may see it; 404 either way, so that an
        out-of-scope issue does not reveal that it exists."""
        issue = db.session.get(Issue, issue_id)
        if issue is None or not issue_in_scope(current_user, issue):
            abort(404)
        return issue

    def _render(self, issue: Issue, failed: DeskForm | None = None):
        """The desk page; ``failed`` is a posted form shown again with its errors."""
        actor = current_user._get_current_object()
        _load_records(issue)
        allowed = workflow.allowed_actions(issue, actor)
        forms = []
        for name, form_class in ACTION_FORMS.items():
            if name not in allowed or name not in DESK_ACTIONS:
                continue
            form = failed if failed is not None and failed.action == name else \
                form_class(issue, actor)
            forms.append((name, DESK_ACTIONS[name], form))
        now = utcnow()
        calendar = sla.load_calendar()
        response = make_response(self.render(
            "circle/desk.html",
            issue=issue,
            forms=forms,
            failed_action=failed.action if failed is not None else None,
            response_state=sla.response_state(issue, now, calendar),
            resolution_state=sla.resolution_state(issue, now, calendar),
            effective_callback=effective_callback(issue),
            photo_limit=human_size(photo_max_bytes()),
            max_photos=workflow.MAX_PHOTOS_PER_VISIT,
        ))
        # Forms carry the version the user saw; a cached page would post a stale one.
        response.headers["Cache-Control"] = "no-store"
        return response


def _load_records(issue: Issue) -> None:
    """Load the issue's records in a few queries instead of one per row."""
    db.session.scalars(
        sa.select(Issue).where(Issue.id == issue.id).options(
            selectinload(Issue.events),
            selectinload(Issue.site_visits).selectinload(SiteVisit.photos),
            selectinload(Issue.site_visits).selectinload(SiteVisit.attendees),
            selectinload(Issue.site_visits).selectinload(SiteVisit.departments),
            selectinload(Issue.symposiums).selectinload(Symposium.departments),
            selectinload(Issue.callbacks),
            selectinload(Issue.merchant).selectinload(Merchant.emergency_contacts)
            .selectinload(EmergencyContact.user),
        )
    ).one()
