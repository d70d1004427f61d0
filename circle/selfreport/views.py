"""The merchant's pages, without login: report (the QR sticker opens it) and tracking.

Views stay thin: the report is :func:`circle.issues.workflow.register_issue` as the
merchant's link (step ``self_report``), the rating :func:`~circle.issues.workflow.
record_callback` with the channel 商户自评, "still not solved" the re-handling or a note on
the timeline; each in one unit of work. A refused request stores nothing.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm import selectinload

from circle.extensions import db, limiter
from circle.i18n import gettext as _
from circle.issues import workflow
from circle.issues.models import CallbackChannel, Issue, IssueSource, Rating, Status
from circle.issues.register import duplicate_window, new_registration_key
from circle.reference import SELF_REPORT
from circle.selfreport.forms import MAX_PHOTOS, NotSolvedForm, RateForm, ReportForm
from circle.selfreport.links import (
    MerchantLink,
    issue_for_tracking,
    merchant_for_token,
)
from circle.selfreport.models import IssuePhoto
from circle.selfreport.progress import progress
from circle.transaction import unit_of_work

bp = Blueprint("selfreport", __name__, url_prefix="/r")

# Room for the form's text besides the photos.
_FORM_OVERHEAD = 256 * 1024


def _limit_body() -> None:
    """A report carries at most three photos: refuse anything larger before reading it."""
    if request.blueprint == bp.name:
        request.max_content_length = (
            MAX_PHOTOS * current_app.config["CIRCLE_SELF_REPORT_PHOTO_MAX_BYTES"]
            + _FORM_OVERHEAD)


def init_app(app) -> None:
    """Register the merchant's pages. The body limit must run before CSRFProtect's check,
    which reads (and so parses) the form first: it goes to the front of the queue."""
    app.register_blueprint(bp)
    app.before_request_funcs.setdefault(None, []).insert(0, _limit_body)


def _per_link() -> str:
    return "selfreport-link:" + str((request.view_args or {}).get("token", ""))[:64]


def _per_address() -> str:
    return "selfreport-ip:" + (get_remote_address() or "")


def _render(template: str, status: int = 200, **context):
    response = current_app.make_response((render_template(template, **context), status))
    # Pages carry one-time keys and the case's state: never from a cache.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(404)
@bp.errorhandler(413)
@bp.errorhandler(429)
@bp.errorhandler(CSRFError)
def _refused(error):
    """Refusals in plain Chinese, on the same light page (nothing was stored)."""
    code = 400 if isinstance(error, CSRFError) else getattr(error, "code", 400)
    db.session.rollback()
    return _render("selfreport/refused.html", code, code=code)


def _self_report_source() -> IssueSource | None:
    return db.session.scalar(sa.select(IssueSource).where(IssueSource.name == SELF_REPORT,
                                                          IssueSource.active))


def _read_photos(field, form: ReportForm, limit: int):
    """The uploaded photos as ``(filename, bytes)``, checked by content and size; errors go
    on the field (nothing is stored)."""
    files = [f for f in (field.data or []) if getattr(f, "filename", None)]
    if len(files) > MAX_PHOTOS:
        field.errors = [_("At most %(n)d photos.", n=MAX_PHOTOS)]
        return None
    photos = []
    for storage in files:
        data = storage.read(limit + 1)
        kind = next((t for magic, t in workflow.PHOTO_TYPES.items() if data.startswith(magic)),
                    None)
        if kind is None:
            field.errors = [_("%(name)s is not a JPEG or PNG photo.", name=storage.filename)]
            return None
        if len(data) > limit:
            field.errors = [_("%(name)s is larger than %(limit)s.", name=storage.filename,
                              limit=workflow.human_size(limit))]
            return None
        photos.append(IssuePhoto(content_type=kind, size=len(data), data=data,
                                 original_name=storage.filename[:200]))
    return photos


def _contact(merchant):
    return merchant.emergency_contacts[0] if merchant.emergency_contacts else None


@bp.route("/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["CIRCLE_SELF_REPORT_LIMIT_PER_IP"], methods=["POST"],
               key_func=_per_address)
@limiter.limit(lambda: current_app.config["CIRCLE_SELF_REPORT_LIMIT_PER_LINK"],
               methods=["POST"], key_func=_per_link)
def report(token: str):
    """The report page the QR sticker opens: the shop is known, the merchant says what is
    wrong; on success, the tracking page."""
    merchant = merchant_for_token(token)
    if merchant is None:
        abort(404)
    form = ReportForm()
    if request.method == "POST" and (key := form.registration_key.data):
        first = workflow.issue_with_key(key)
        if first is not None and first.merchant_id == merchant.id:
            # Sent twice (a double tap, a retry on a slow line): the case it already made.
            return redirect(url_for(".track", token=first.tracking_token, sent=1))
    if form.validate_on_submit():
        photos = _read_photos(form.photos, form,
                              current_app.config["CIRCLE_SELF_REPORT_PHOTO_MAX_BYTES"])
        source = _self_report_source()
        if source is None:
            form.form_errors.append(_("Reporting by QR code is switched off; please call "
                                      "the contact below."))
        elif photos is not None:
            try:
                with unit_of_work():
                    issue = workflow.register_issue(
                        MerchantLink(merchant), merchant=merchant,
                        category=form.category_row, source=source,
                        severity=form.severity.data, description=form.description.data,
                        registration_key=form.registration_key.data or None,
                        step="self_report", note=SELF_REPORT)
                    if not issue.photos:  # a repeated key returns the first, photos and all
                        issue.photos.extend(photos)
            except workflow.WorkflowError as exc:
                form.form_errors.append(str(exc.message))
            else:
                return redirect(url_for(".track", token=issue.tracking_token, sent=1))
    if not form.registration_key.data:
        form.registration_key.data = new_registration_key()
    return _render("selfreport/report.html", merchant=merchant, form=form,
                   contact=_contact(merchant), max_photos=MAX_PHOTOS)


def _issue_or_404(token: str) -> Issue:
    issue = issue_for_tracking(token)
    if issue is None:
        abort(404)
    return issue


@bp.route("/t/<token>")
def track(token: str):
    """The case's progress in plain words, its deadline, and — once resolved — the rating."""
    issue = _issue_or_404(token)
    db.session.scalars(sa.select(Issue).where(Issue.id == issue.id).options(
        selectinload(Issue.events), selectinload(Issue.symposiums),
        selectinload(Issue.callbacks))).one()
    duplicates = []
    if request.args.get("sent"):
        duplicates = workflow.possible_duplicates(issue.merchant_id, issue.category_id,
                                                  duplicate_window(), exclude=issue.id)
    return _page(issue, token, duplicates=duplicates)


def _page(issue: Issue, token: str, status: int = 200, *, rate_form=None, not_solved=None,
          **context):
    resolved = issue.status == Status.RESOLVED
    return _render(
        "selfreport/track.html", status, issue=issue, token=token, steps=progress(issue),
        handler=issue.assignee, contact=_contact(issue.merchant),
        rate_form=rate_form or (RateForm() if resolved else None),
        not_solved=not_solved or (NotSolvedForm() if issue.status in (
            *Status.OPEN, Status.RESOLVED) else None),
        self_rating=next((c for c in issue.callbacks
                          if c.channel == CallbackChannel.SELF and c.rating), None),
        **context)


@bp.route("/t/<token>/rate", methods=["POST"])
@limiter.limit(lambda: current_app.config["CIRCLE_SELF_REPORT_LIMIT_PER_IP"],
               key_func=_per_address)
def rate(token: str):
    """The merchant's own rating, recorded as the callback (channel 商户自评)."""
    issue = _issue_or_404(token)
    form = RateForm()
    if issue.status != Status.RESOLVED:
        return redirect(url_for(".track", token=token))
    if not form.validate_on_submit() or form.rating.data not in Rating.ALL:
        return _page(issue, token, 200, rate_form=form)
    try:
        with unit_of_work():
            workflow.record_callback(
                issue, MerchantLink(issue.merchant), reached=True,
                resolved=form.resolved.data == "yes", rating=form.rating.data,
                comments=form.comments.data or "", channel=CallbackChannel.SELF,
                expected_version=None)
    except workflow.WorkflowError as exc:
        form.form_errors.append(str(exc.message))
        return _page(db.session.get(Issue, issue.id), token, 200, rate_form=form)
    return redirect(url_for(".track", token=token, rated=1))


@bp.route("/t/<token>/not-solved", methods=["POST"])
@limiter.limit(lambda: current_app.config["CIRCLE_SELF_REPORT_LIMIT_PER_IP"],
               key_func=_per_address)
def not_solved(token: str):
    """"Still not solved": a resolved case goes back for re-handling (like a dissatisfied
    callback); an open one gets the merchant's word on its timeline."""
    issue = _issue_or_404(token)
    form = NotSolvedForm()
    if not form.validate_on_submit():
        return _page(issue, token, 200, not_solved=form)
    actor = MerchantLink(issue.merchant)
    try:
        with unit_of_work():
            if issue.status == Status.RESOLVED:
                workflow.record_callback(issue, actor, reached=True, resolved=False,
                                         rating=None, comments=form.note.data or "",
                                         channel=CallbackChannel.SELF, expected_version=None)
            else:
                workflow.nudge_issue(issue, actor, note=form.note.data or "")
    except workflow.WorkflowError as exc:
        form.form_errors.append(str(exc.message))
        return _page(db.session.get(Issue, issue.id), token, 200, not_solved=form)
    return redirect(url_for(".track", token=token, told=1))
