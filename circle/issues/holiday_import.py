"""The holiday calendar import page: add (or replace) one year's official calendar from CSV.

1. *Check* (``POST /``): the file is read and every row checked; nothing is written. The
   page shows every row with its problems and a summary per festival.
2. *Confirm* (``POST /confirm``): the checked days come back signed, are checked again, and
   replace the year's days in one transaction, audited. A year that already has days is
   replaced only with "replace the existing N days of YEAR" ticked.

The template download is the file format with the latest shipped notice as its rows. The
rules are in :mod:`circle.issues.holidays`.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, current_app, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.routing import BuildError
from wtforms import BooleanField, HiddenField, IntegerField
from wtforms.validators import Optional, ValidationError

from circle.adminkit import CircleBaseView
from circle.i18n import gettext as _
from circle.i18n import lazy_gettext as _l
from circle.issues import holidays
from circle.labels import DAY_KIND_LABELS
from circle.permissions import Cap
from circle.reference import OFFICIAL_HOLIDAYS, official_calendar
from circle.reports.exporting import content_disposition
from circle.transaction import unit_of_work


class UploadForm(FlaskForm):
    """Step 1: the file."""

    file = FileField(_l("CSV file"))

    def validate_file(self, field):
        if not field.data or not getattr(field.data, "filename", ""):
            raise ValidationError(_("Choose the file to import."))


class ConfirmForm(FlaskForm):
    """Step 2: the checked days (signed), and the agreement to replace the year's existing
    days, as many as the preview showed (``prefix="confirm"``)."""

    token = HiddenField()
    existing = IntegerField(validators=[Optional()])
    replace = BooleanField()


class HolidayImportView(CircleBaseView):
    """Add a year's public holidays and 调休 working days from a CSV file
    (``Cap.ADMINISTER_REFERENCE_DATA``: administrators)."""

    capability = Cap.ADMINISTER_REFERENCE_DATA

    @property
    def extra_js(self) -> list[str]:
        # One click on "import" imports once (the merchant import's script).
        return [url_for("static", filename="reports.js")]

    @staticmethod
    def _token_max_age() -> int:
        return current_app.config["CIRCLE_IMPORT_TOKEN_MAX_AGE"]

    def _page(self, form: UploadForm, **context):
        return self.render(
            "circle/holiday_import.html", form=form, columns=holidays.COLUMNS,
            years=holidays.calendar_years(), calendar_url=_calendar_url(),
            template_year=max(OFFICIAL_HOLIDAYS), max_size=holidays.human_size(holidays.MAX_BYTES),
            max_rows=holidays.MAX_ROWS, kind_labels=DAY_KIND_LABELS,
            weekday_name=holidays.weekday_name, **context)

    def _preview(self, check: holidays.CalendarCheck, *, message: str | None = None,
                 replace: bool = False):
        """The check's report, with the confirmation form when every row is valid."""
        confirm, existing = None, 0
        if check.year is not None:
            existing = holidays.days_in_year(check.year)
        if check.all_valid:
            token = holidays.dump_token(current_app.config["SECRET_KEY"], check,
                                        user_id=current_user.id)
            confirm = ConfirmForm(formdata=None, prefix="confirm", token=token,
                                  existing=existing, replace=replace)
        return self._page(UploadForm(formdata=None), check=check, confirm=confirm,
                          existing=existing, message=message)

    @expose("/", methods=("GET", "POST"))
    def index(self):
        """The upload form and the years the calendar has; on POST, check the file."""
        form = UploadForm()
        if request.method == "GET" or not form.validate_on_submit():
            return self._page(form)
        upload = form.file.data
        data = upload.stream.read(holidays.MAX_BYTES + 1)
        try:
            check = holidays.parse_calendar_csv(data, _file_name(upload.filename))
        except holidays.CalendarRefused as refused:
            form.file.errors = [refused.message]
            return self._page(form)
        return self._preview(check)

    @expose("/confirm", methods=("POST",))
    def confirm(self):
        """Replace the year's days by the checked ones, after checking them again."""
        confirm = ConfirmForm(prefix="confirm")
        try:
            if not confirm.validate_on_submit():
                raise holidays.CalendarRefused("")
            check = holidays.load_token(current_app.config["SECRET_KEY"], confirm.token.data,
                                        user_id=current_user.id,
                                        max_age=self._token_max_age())
        except holidays.CalendarRefused:
            flash(_("This check has expired or is not valid. Upload the file again."), "error")
            return redirect(url_for(".index"))
        if not check.all_valid:
            return self._preview(check, message=_("Nothing was changed: the file has errors."))
        agreed = (confirm.existing.data or 0) if confirm.replace.data else 0
        try:
            with unit_of_work():
                replaced = holidays.replace_year(
                    check, current_user._get_current_object(),
                    remote_addr=request.remote_addr or "", replace_existing=agreed)
        except holidays.YearNotEmpty as refusal:
            if confirm.replace.data:
                message = _("Nothing was changed: the %(year)d calendar changed meanwhile and "
                            "now has %(n)d days. Check them and confirm again.",
                            year=refusal.year, n=refusal.existing)
            else:
                message = _("Nothing was changed: %(year)d already has %(n)d days in the "
                            "calendar. Tick \u201cReplace the existing %(n)d days of "
                            "%(year)d\u201d to replace them.",
                            year=refusal.year, n=refusal.existing)
            return self._preview(check, message=message)
        except sa.exc.IntegrityError:
            return self._preview(check, message=_(
                "Nothing was changed: someone changed the %(year)d calendar meanwhile. "
                "Confirm again.", year=check.year))
        flash(_("The %(year)d calendar now has %(off)d days off and %(worked)d 调休 working "
                "days.", year=replaced.year, off=check.days_off, worked=check.workdays),
              "success")
        return redirect(url_for(".index"))

    @expose("/template.csv")
    def template(self):
        """The file format, with the latest notice shipped (:mod:`circle.reference`) as its
        rows."""
        year = max(OFFICIAL_HOLIDAYS)
        data = holidays.template_csv(official_calendar(year))
        response = Response(data, content_type="text/csv; charset=utf-8")
        label = _("Holiday calendar")  # outside the f-string, so that extraction finds it
        response.headers.set("Content-Disposition", "attachment", **content_disposition(
            f"{label}_{year}.csv", f"holiday-calendar-{year}.csv"))
        response.headers["Cache-Control"] = "no-store"
        return response


def _file_name(name: str | None) -> str:
    """The uploaded file's own name (old browsers send the whole client path)."""
    return (name or "").replace("\\", "/").rsplit("/", 1)[-1][:100]


def _calendar_url() -> str | None:
    """The per-day holiday list, if this admin has one."""
    try:
        return url_for("calendar_day.index_view")
    except BuildError:
        return None


def register(admin) -> None:
    """Add the import page to ``admin``, under reference data next to the holiday list."""
    admin.add_view(HolidayImportView(name=_l("Import a holiday year"),
                                     category=_l("Reference data"),
                                     endpoint="holiday_import", url="/admin/holiday-import"))
