"""The merchant's forms: report a problem, rate the result, say it is still not solved."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, MultipleFileField, RadioField, SelectField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from circle.i18n import lazy_gettext as _l
from circle.inputs import parse_id
from circle.issues.admin import active_rows
from circle.issues.models import IssueCategory, Rating, Severity
from circle.issues.register import REGISTRATION_KEY_LENGTH
from circle.labels import RATING_LABELS
from circle.textlimits import LimitedTextAreaField

MAX_DESCRIPTION = 1000
MAX_COMMENT = 500
MAX_PHOTOS = 3

#: How the merchant picks a severity: what it means for them, not our classes.
SEVERITY_HINTS = [
    (Severity.SMALL, _l("Small matter — today, by noon or by the end of the afternoon")),
    (Severity.BIG, _l("Urgent — the shop cannot work normally")),
    (Severity.HARD, _l("Complicated — needs several departments")),
]


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class ReportForm(FlaskForm):
    """The report: category, how serious, what happened, up to three photos."""

    category = SelectField(_l("What kind of problem?"), coerce=parse_id, validate_choice=False)
    severity = RadioField(_l("How urgent?"), choices=SEVERITY_HINTS, default=Severity.SMALL,
                          validate_choice=False)
    description = LimitedTextAreaField(
        _l("What happened?"), filters=[_strip],
        validators=[DataRequired(message=_l("Describe the problem."))],
        max_chars=MAX_DESCRIPTION)
    photos = MultipleFileField(_l("Photos (up to three, optional)"),
                               render_kw={"accept": "image/jpeg,image/png"})
    registration_key = HiddenField(validators=[Length(max=REGISTRATION_KEY_LENGTH)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._categories = {row.id: row for row in active_rows(IssueCategory)}
        self.category.choices = [("", _l("Choose…"))] + [
            (row.id, row.name) for row in self._categories.values()]

    @property
    def category_row(self) -> IssueCategory | None:
        return self._categories.get(self.category.data)

    def validate_category(self, field) -> None:
        from wtforms.validators import ValidationError

        if self.category_row is None:
            raise ValidationError(_l("Choose what kind of problem it is."))

    def validate_severity(self, field) -> None:
        from wtforms.validators import ValidationError

        if field.data not in Severity.ALL:
            raise ValidationError(_l("Choose how urgent it is."))


class RateForm(FlaskForm):
    """The merchant's own rating once the case is resolved (recorded as the callback)."""

    resolved = RadioField(_l("Is the problem solved?"),
                          choices=[("yes", _l("Yes")), ("no", _l("No"))],
                          validators=[InputRequired(message=_l("Say whether it is solved."))])
    rating = RadioField(_l("How satisfied are you?"),
                        choices=[(r, RATING_LABELS[r]) for r in Rating.ALL],
                        validators=[InputRequired(message=_l("Choose a rating."))])
    comments = LimitedTextAreaField(_l("Anything to add? (optional)"), filters=[_strip],
                                    validators=[Optional()], max_chars=MAX_COMMENT)


class NotSolvedForm(FlaskForm):
    """"Still not solved": one tap, an optional word."""

    note = LimitedTextAreaField(_l("What is still wrong? (optional)"), filters=[_strip],
                                validators=[Optional()], max_chars=MAX_COMMENT)
