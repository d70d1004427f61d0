"""The merchant import page: upload, check every row, confirm, download what was rejected.

1. *Check* (``POST /``): the file is read and every row validated; nothing is written. The
   page lists each problem by spreadsheet row and column.
2. *Confirm* (``POST /confirm``): the rows checked in step 1 come back in a signed hidden
   field (no file is kept on a worker's disk; any worker may serve the confirmation), are
   checked again against the database, and are imported — all of them, or with "import only
   the valid rows" ticked, the valid ones.
3. *Rejected rows* (``POST /rejected``): the rows left out, as CSV with their errors.

A file so large that its rows would not fit in a form field is imported by choosing it
again on the confirmation form (``POST /`` with ``step=import``). The rules are in
:mod:`circle.reports.importing`.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, abort, current_app, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, SelectField
from wtforms.validators import ValidationError

from circle.adminkit import CircleBaseView, restrict_to_user
from circle.extensions import db
from circle.i18n import gettext as _
from circle.i18n import lazy_gettext as _l
from circle.inputs import parse_id
from circle.org.models import BusinessCircle, Community
from circle.permissions import Cap, circle_in_scope
from circle.reports import importing
from circle.reports.exporting import content_disposition

#: Errors listed on the page at most; the rejected-rows download has them all.
MAX_ERRORS_SHOWN = 500
#: Room left in a form for the other fields next to the rows token.
_FORM_ROOM = 16 * 1024


def circles_for(user) -> list[tuple[BusinessCircle, str]]:
    """The business circles ``user`` may import into, with their community's name."""
    stmt = (restrict_to_user(sa.select(BusinessCircle, Community.name), BusinessCircle, user)
            .join(Community, Community.id == BusinessCircle.community_id)
            .order_by(Community.name, BusinessCircle.name))
    return [(circle, community) for circle, community in db.session.execute(stmt)]


class ImportForm(FlaskForm):
    """Step 1: the circle, the file, and whether valid rows may go in without the others."""

    circle = SelectField(_l("Business circle"), validate_choice=False)
    file = FileField(_l("CSV or XLSX file"))
    only_valid = BooleanField(_l("Import only the valid rows"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        circles = circles_for(user)
        self.circle.choices = [("", _("Choose…"))] + [
            (str(circle.id), f"{community} · {circle.name}") for circle, community in circles
        ]
        if len(circles) == 1 and not self.circle.data:
            self.circle.data = str(circles[0][0].id)
        self.circle_row: BusinessCircle | None = None

    def validate_circle(self, field):
        self.circle_row = scoped_circle(self.user, parse_id(field.data))
        if self.circle_row is None:
            raise ValidationError(_("Choose a business circle you work in."))

    def validate_file(self, field):
        if not field.data or not getattr(field.data, "filename", ""):
            raise ValidationError(_("Choose the file to import."))


class ConfirmForm(FlaskForm):
    """Step 2: the checked rows (signed) and the "only valid rows" choice.

    Used with ``prefix="confirm"``: the page also holds the upload and rejected-rows forms.
    """

    token = HiddenField()
    only_valid = BooleanField(_l("Import only the valid rows"))


class RejectedForm(FlaskForm):
    """Step 3: the rejected rows (signed), to download as CSV (``prefix="rejected"``)."""

    token = HiddenField()


def scoped_circle(user, circle_id: int | None) -> BusinessCircle | None:
    """The circle with this id if ``user`` may manage its merchants, else ``None``."""
    if circle_id is None or not circle_in_scope(user, circle_id):
        return None
    return db.session.get(BusinessCircle, circle_id)


def attachment(data: bytes, name: str, ascii_name: str, content_type: str) -> Response:
    """A download with a Chinese file name (RFC 5987) and an ASCII fallback."""
    response = Response(data, content_type=content_type)
    response.headers.set("Content-Disposition", "attachment",
                         **content_disposition(name, ascii_name))
    response.headers["Cache-Control"] = "no-store"
    return response


class MerchantImportView(CircleBaseView):
    """Import merchants with their emergency contacts into one business circle
    (``Cap.IMPORT_MERCHANTS``: administrators, and hotline specialists for their community's
    circles)."""

    capability = Cap.IMPORT_MERCHANTS

    @property
    def extra_js(self) -> list[str]:
        return [url_for("static", filename="reports.js")]

    # --- settings ---------------------------------------------------------------------------

    @staticmethod
    def _limits() -> dict:
        config = current_app.config
        return {
            "max_bytes": config["CIRCLE_IMPORT_MAX_BYTES"],
            "max_rows": config["CIRCLE_IMPORT_MAX_ROWS"],
        }

    @staticmethod
    def _token_limit() -> int:
        """The largest token a form may carry back: Flask refuses (413) form fields above
        ``MAX_FORM_MEMORY_SIZE`` altogether."""
        config = current_app.config
        wanted = config["CIRCLE_IMPORT_MAX_TOKEN_BYTES"]
        form_limit = config.get("MAX_FORM_MEMORY_SIZE")
        return wanted if form_limit is None else min(wanted, int(form_limit) - _FORM_ROOM)

    @staticmethod
    def _token_max_age() -> int:
        return current_app.config["CIRCLE_IMPORT_TOKEN_MAX_AGE"]

    # --- pages ------------------------------------------------------------------------------

    def _page(self, form: ImportForm, **context):
        limits = self._limits()
        return self.render("circle/import.html", form=form, columns=importing.COLUMNS,
                           max_size=importing.human_size(limits["max_bytes"]),
                           max_rows=limits["max_rows"], max_errors=MAX_ERRORS_SHOWN,
                           **context)

    def _report(self, form: ImportForm, check: importing.ImportCheck, circle, *,
                message: str | None = None, imported: int | None = None,
                only_valid: bool = False):
        """The check's report: its errors, and the forms to confirm or to download the
        rejected rows, each carrying signed rows when they fit in a form."""
        secret, user_id = current_app.config["SECRET_KEY"], current_user.id
        limit = self._token_limit()
        confirm = rejected = None
        rows_fit = True
        if imported is None and check.valid_rows:
            token = importing.dump_token(secret, check.upload, user_id=user_id,
                                         circle_id=circle.id)
            rows_fit = len(token) <= limit
            confirm = ConfirmForm(formdata=None, prefix="confirm",
                                  token=token if rows_fit else "", only_valid=only_valid)
        if check.rejected_rows:
            token = importing.dump_rejected_token(secret, check, user_id=user_id)
            if len(token) <= limit:
                rejected = RejectedForm(formdata=None, prefix="rejected", token=token)
        form.circle.data = str(circle.id)
        return self._page(form, check=check, circle=circle, message=message,
                          imported=imported, confirm=confirm, rows_fit=rows_fit,
                          rejected=rejected)

    def _import(self, form: ImportForm, check: importing.ImportCheck, circle,
                only_valid: bool, token: str | None = None):
        """Import the checked rows if the rules allow, else show the report with why.

        ``token``: the confirmation that carried the rows, used once (see
        :func:`circle.reports.importing.import_merchants`)."""
        if not check.valid_rows:
            return self._report(form, check, circle,
                                message=_("No row is valid: nothing was imported."))
        if not check.all_valid and not only_valid:
            return self._report(form, check, circle, only_valid=only_valid, message=ngettext(
                "Nothing was imported: %(num)d row has errors. Correct it and upload the "
                "file again, or tick \u201cImport only the valid rows\u201d.",
                "Nothing was imported: %(num)d rows have errors. Correct them and upload the "
                "file again, or tick \u201cImport only the valid rows\u201d.",
                len(check.rejected_rows)))
        try:
            merchants = importing.import_merchants(
                check, circle, current_user._get_current_object(),
                remote_addr=request.remote_addr or "", only_valid=only_valid, token=token,
                token_max_age=self._token_max_age())
        except importing.ImportAlreadyDone:
            return self._already_imported()
        except importing.ImportConflict:
            return self._report(form, check, circle, message=_(
                "Nothing was imported: some of these merchants were added by someone else "
                "meanwhile. Check the file again."))
        flash(ngettext("%(num)d merchant imported into %(circle)s.",
                       "%(num)d merchants imported into %(circle)s.", len(merchants),
                       circle=circle.name), "success")
        if not check.rejected_rows:
            return redirect(url_for(".index"))
        return self._report(form, check, circle, imported=len(merchants))

    @expose("/", methods=("GET", "POST"))
    def index(self):
        """The upload form; on POST, check the file (or, with ``step=import``, check and
        import it in one go)."""
        user = current_user._get_current_object()
        form = ImportForm(user=user)
        if request.method == "GET" or not form.validate_on_submit():
            return self._page(form)
        limits = self._limits()
        upload_file = form.file.data
        data = upload_file.stream.read(limits["max_bytes"] + 1)
        try:
            upload = importing.read_upload(data, upload_file.filename or "", **limits)
        except importing.ImportRefused as refused:
            form.file.errors = [refused.message]
            return self._page(form)
        circle = form.circle_row
        check = importing.check_rows(upload, circle.id)
        only_valid = bool(form.only_valid.data)
        if request.form.get("step") == "import":
            return self._import(form, check, circle, only_valid)
        return self._report(form, check, circle, only_valid=only_valid)

    @staticmethod
    def _already_imported():
        flash(_("These rows have been imported already: a confirmation imports once. "
                "To import the file again, upload it again."), "error")
        return redirect(url_for(".index"))

    @expose("/confirm", methods=("POST",))
    def confirm(self):
        """Import the rows checked on the previous page, after checking them again."""
        user = current_user._get_current_object()
        confirm = ConfirmForm(prefix="confirm")
        form = ImportForm(formdata=None, user=user)
        if not confirm.validate_on_submit():
            flash(_("This check has expired or is not valid. Upload the file again."), "error")
            return redirect(url_for(".index"))
        try:
            upload, circle_id = importing.load_token(
                current_app.config["SECRET_KEY"], confirm.token.data, user_id=user.id,
                max_age=self._token_max_age())
        except importing.ImportRefused as refused:
            flash(refused.message, "error")
            return redirect(url_for(".index"))
        if importing.confirmation_used(confirm.token.data):
            return self._already_imported()
        circle = scoped_circle(user, circle_id)
        if circle is None:
            # Signed for this user, but they no longer work in the circle.
            flash(_("Choose a business circle you work in."), "error")
            return redirect(url_for(".index"))
        check = importing.check_rows(upload, circle.id)
        return self._import(form, check, circle, bool(confirm.only_valid.data),
                            token=confirm.token.data)

    @expose("/rejected", methods=("POST",))
    def rejected(self):
        """The rejected rows with their errors, as CSV."""
        form = RejectedForm(prefix="rejected")
        try:
            if not form.validate_on_submit():
                raise importing.ImportRefused("")
            data, filename = importing.rejected_csv(
                current_app.config["SECRET_KEY"], form.token.data, user_id=current_user.id,
                max_age=self._token_max_age())
        except importing.ImportRefused:
            flash(_("This check has expired or is not valid. Upload the file again."), "error")
            return redirect(url_for(".index"))
        # Old browsers send the whole client path as the file name.
        stem = filename.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0] or "merchants"
        label = _("Rejected rows")  # outside the f-string, so that extraction finds it
        return attachment(data, f"{label}_{stem}.csv", "rejected-rows.csv",
                          "text/csv; charset=utf-8")

    @expose("/template.<extension>")
    def template(self, extension: str):
        """The import template (header row only), as CSV or XLSX."""
        name = _("Merchant import template")
        if extension == "csv":
            return attachment(importing.template_csv(), f"{name}.csv",
                              "merchant-import-template.csv", "text/csv; charset=utf-8")
        if extension == "xlsx":
            return attachment(
                importing.template_xlsx(), f"{name}.xlsx", "merchant-import-template.xlsx",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        abort(404)
