"""The issue desk: one issue on one page, with its timeline and the actions allowed now.

The desk shows everything recorded about an issue and, for the signed-in user, a form for
each workflow action :func:`~circle.issues.workflow.allowed_actions` allows. Each form posts
to ``/admin/desk/<id>/<action>``; the view reads the form and hands its values to the
action's step function (:data:`~circle.issues.workflow.ACTION_FUNCTIONS`) inside one unit of
work; the workflow decides. Views stay thin: no rule is checked here.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import abort, current_app, flash, make_response, redirect, url_for
from flask_admin import expose
from flask_login import current_user
from sqlalchemy.orm import joinedload, undefer

from circle.accounts.models import User
from circle.adminkit import CircleBaseView
from circle.extensions import db
from circle.i18n import gettext as _
from circle.issues import sla, staging, workcalendar, workflow
from circle.issues.callbacks import effective_callback
from circle.issues.desk_forms import ACTION_FORMS, DeskForm
from circle.issues.desk_photos import KEPT_FIELD, REMOVE_FIELD, photo_max_bytes
from circle.issues.models import Issue, SiteVisit, SiteVisitPhoto, Status, Symposium
from circle.issues.steps import next_actions
from circle.loading import load_collections
from circle.merchants.models import EmergencyContact, Merchant
from circle.permissions import Cap, issue_in_scope
from circle.selfreport.models import IssuePhoto
from circle.timeutil import utcnow
from circle.transaction import unit_of_work


class IssueDeskView(CircleBaseView):
    """One issue with everything recorded about it and the actions its viewer may take."""

    capability = Cap.SEE_ISSUES

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
        # Read with its records at once (not looked up first, then read again).
        issue = _with_records(issue_id)
        if issue is None or not issue_in_scope(current_user, issue):
            abort(404)
        return self._render(issue)

    @expose("/<int:issue_id>/<action>", methods=["GET"])
    def action_page(self, issue_id: int, action: str):
        """An action's address opened (a reload, a bookmark, a shared link): the desk."""
        if action not in ACTION_FORMS:
            abort(404)
        self._issue_or_404(issue_id)
        anchor = "callback" if action == "callback" else f"action-{action}"
        return redirect(url_for(".issue", issue_id=issue_id, _anchor=anchor))

    @expose("/<int:issue_id>/<action>", methods=["POST"])
    def act(self, issue_id: int, action: str):
        """Take one workflow action on the issue, then show the desk again (PRG).

        A refused action is flashed and changes nothing; a form with mistakes, or drawn
        before someone else changed the issue, comes back with the input kept.
        """
        if action not in ACTION_FORMS:
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
            return self._changed_meanwhile(issue, actor, form, validated=False)
        refused = workflow.refusal(issue, actor, action)
        if refused is not None:
            flash(refused.message, "error")
            return redirect(desk_url)
        if not form.validate():
            return self._render_again(issue, form)
        try:
            with unit_of_work():
                workflow.ACTION_FUNCTIONS[action](issue, actor, **form.inputs(),
                                                  expected_version=version)
                form.discard_kept()
        except workflow.StaleIssue:
            # Changed by someone else between our check and the write (the version makes
            # the UPDATE conditional): the same as a stale page, on the issue as it is now.
            return self._changed_meanwhile(db.session.get(Issue, issue_id), actor, form,
                                           validated=True)
        except workflow.InvalidInput as exc:
            # Keep what was typed (a phone user may have attached photos): show the form
            # again with the workflow's reasons next to the fields they name.
            _show_refusal(form, exc)
            return self._render_again(db.session.get(Issue, issue_id), form)
        except workflow.WorkflowError as exc:
            flash(exc.message, "error")
            return redirect(desk_url)
        flash(form.done, "success")
        anchor = "callback" if action == "callback" else None
        return redirect(url_for(".issue", issue_id=issue.id, _anchor=anchor))

    @expose("/photo/<int:photo_id>")
    def photo(self, photo_id: int):
        """A site-visit photo, to users who may see its issue (404 for everybody else)."""
        photo = db.session.get(SiteVisitPhoto, photo_id, options=[undefer(SiteVisitPhoto.data)])
        if photo is None or not issue_in_scope(current_user, photo.visit.issue):
            abort(404)
        return _image_response(photo)

    @expose("/report-photo/<int:photo_id>")
    def report_photo(self, photo_id: int):
        """A photo the merchant attached to a self-report (404 outside the user's scope)."""
        photo = db.session.get(IssuePhoto, photo_id, options=[undefer(IssuePhoto.data)])
        if photo is None or not issue_in_scope(current_user, photo.issue):
            abort(404)
        return _image_response(photo)

    @expose("/kept-photo/<token>")
    def kept_photo(self, token: str):
        """A photo kept from a failed form, to the user who attached it (404 for others)."""
        row = staging.visible_to(current_user.id, token)
        if row is None or not issue_in_scope(current_user, db.session.get(Issue, row.issue_id)):
            abort(404)
        return _image_response(row)

    # --- helpers ---------------------------------------------------------------------------

    def _render_again(self, issue: Issue, form: DeskForm):
        """A posted form shown again with its errors, its photos kept for the next try."""
        with unit_of_work():
            form.keep_uploads()
        return self._render(_with_records(issue.id), failed=form)

    def _changed_meanwhile(self, issue: Issue, actor: User, form: DeskForm, *,
                           validated: bool):
        """The form was drawn before someone else changed the issue: the desk again, with
        the issue as it is now and, if the action is still allowed, the form with what was
        typed and the photos attached (kept); if it is not, why not. ``validated``: the
        form has read its input already (its files can be read only once)."""
        refused = workflow.refusal(issue, actor, form.action)
        if refused is not None:
            flash(_("This issue was changed by someone else in the meantime, and this "
                    "action is no longer possible: %(reason)s", reason=refused.message),
                  "error")
            return redirect(url_for(".issue", issue_id=issue.id))
        if not validated:
            # Reads the photos and claims the kept ones; mistakes in the form show too.
            form.validate()
        # The form now carries the version this page shows: the user has seen the issue as
        # it is now, so sending the form again goes through (unless it changes once more).
        form.carry_version(issue.version)
        flash(_("This issue was changed by someone else while you were filling in the "
                "form. The page shows it as it is now, with what you entered kept: check "
                "it, then send the form again."), "warning")
        return self._render_again(issue, form)

    def _issue_or_404(self, issue_id: int) -> Issue:
        """The issue, if it exists and the user may see it; 404 either way, so that an
        out-of-scope issue does not reveal that it exists."""
        issue = db.session.get(Issue, issue_id)
        if issue is None or not issue_in_scope(current_user, issue):
            abort(404)
        return issue

    def _render(self, issue: Issue, failed: DeskForm | None = None):
        """The desk page of an issue read with its records (:func:`_with_records`);
        ``failed`` is a posted form shown again with its errors."""
        actor = current_user._get_current_object()
        people = _load_people(issue)  # noqa: F841  (kept in the session until rendered)
        allowed = workflow.allowed_actions(issue, actor)
        leading = next_actions(issue.status, allowed)
        # The loop's next step first (expanded), then the other allowed actions.
        order = [*leading, *(name for name in ACTION_FORMS if name not in leading)]
        forms = []
        for name in order:
            if name not in allowed:
                continue
            form_class = ACTION_FORMS[name]
            form = failed if failed is not None and failed.action == name else \
                form_class(issue, actor)
            forms.append((name, form))
        now = utcnow()
        calendar = workcalendar.load_calendar()
        response = make_response(self.render(
            "circle/desk.html",
            issue=issue,
            forms=forms,
            next_actions=leading,
            # A re-shown form was posted to its action's address: desk.js puts the desk's
            # own address back in the address bar (reloading it never re-posts or 405s).
            replace_url=url_for(".issue", issue_id=issue.id) if failed is not None else None,
            failed_action=failed.action if failed is not None else None,
            response_state=sla.response_state(issue, now, calendar),
            resolution_state=sla.resolution_state(issue, now, calendar),
            sign_state=sla.sign_state(issue, now, calendar),
            contact_state=sla.contact_state(issue, now, calendar),
            effective_callback=effective_callback(issue),
            duplicates=_duplicates(issue, forms, now),
            photo_limit=workflow.human_size(photo_max_bytes()),
            max_photos=workflow.MAX_PHOTOS_PER_VISIT,
            kept_field=KEPT_FIELD, remove_field=REMOVE_FIELD,
        ))
        # Forms carry the version the user saw; a cached page would post a stale one.
        response.headers["Cache-Control"] = "no-store"
        return response


def _image_response(photo):
    """A stored photo as a private, inline image of the type its bytes were checked as."""
    response = make_response(photo.data)
    response.headers["Content-Type"] = photo.content_type
    # The type was decided by the bytes at upload; never let a browser guess another.
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = "inline"
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


def _show_refusal(form: DeskForm, refusal: workflow.InvalidInput) -> None:
    """Put the workflow's reasons on the fields they name, and a summary above the form."""
    marked = False
    for name, message in refusal.fields.items():
        if name in form:
            form[name].errors = [*form[name].errors, message]
            marked = True
    if marked:
        form.form_errors.append(_("Check the marked fields below."))
    if not refusal.fields or not marked:
        form.form_errors.append(refusal.message)


#: What the desk shows of an issue's records (circle/loading.py): the users they name are
#: read by :func:`_load_people`, at once.
DESK_RECORDS = {
    Issue.events: {},
    Issue.site_visits: {SiteVisit.photos: {}, SiteVisit.attendees: {},
                        SiteVisit.departments: {}},
    Issue.symposiums: {Symposium.departments: {}},
    Issue.callbacks: {},
    Issue.requests: {},
    Issue.photos: {},
}
MERCHANT_RECORDS = {Merchant.emergency_contacts: {EmergencyContact.user: {}}}


def _with_records(issue_id: int) -> Issue | None:
    """The issue with its records, in a few statements: the empty collections not read."""
    issue = db.session.scalars(sa.select(Issue).where(Issue.id == issue_id).options(
        joinedload(Issue.circle), joinedload(Issue.category), joinedload(Issue.source),
        joinedload(Issue.merchant))).one_or_none()
    if issue is not None:
        load_collections(([issue], DESK_RECORDS), ([issue.merchant], MERCHANT_RECORDS))
    return issue


def _duplicates(issue: Issue, forms, now) -> list:
    """The issue's possible duplicates (可能重复): the merge form's suggestions when it is
    shown (the same question), else asked once."""
    if issue.status == Status.WITHDRAWN:
        return []
    merge = next((form for name, form in forms if name == "merge"), None)
    if merge is not None:
        return merge.suggestions
    return workflow.possible_duplicates(
        issue.merchant_id, issue.category_id,
        timedelta(days=current_app.config["CIRCLE_DUPLICATE_WINDOW_DAYS"]),
        now=now, exclude=issue.id)


def _load_people(issue: Issue) -> list:
    """The people the issue's records name (who registered, acted, visited, called, asked,
    decided), in one query."""
    people = {issue.reporter_id, issue.assignee_id,
              *(event.actor_id for event in issue.events),
              *(visit.recorded_by_id for visit in issue.site_visits),
              *(meeting.recorded_by_id for meeting in issue.symposiums),
              *(call.called_by_id for call in issue.callbacks),
              *(ask.requested_by_id for ask in issue.requests),
              *(ask.decided_by_id for ask in issue.requests)}
    people.discard(None)
    # While they are in the session (the identity map holds them only as long as someone
    # does: the caller keeps the list), a many-to-one to any of them needs no query.
    return db.session.scalars(sa.select(User).where(User.id.in_(people))).all() \
        if people else []
