"""Admin form fields and validators that normalise what people type: phones (shown masked,
kept when left empty) and unified social credit codes."""

from __future__ import annotations

from flask import has_request_context
from flask_login import current_user
from wtforms import StringField
from wtforms.validators import StopValidation, ValidationError

from circle.i18n import lazy_gettext as _l
from circle.permissions import may_see_full_phone
from circle.validators import InvalidValue, mask_phone, normalise_credit_code, normalise_phone


class Normalised:
    """WTForms validator that replaces the field's data by its normalised form.

    ``normalise`` raises :class:`~circle.validators.InvalidValue` with a translated message;
    an empty value becomes ``empty`` when the field is optional.
    """

    normalise = staticmethod(lambda value: value)

    def __init__(self, optional: bool = False, empty=""):
        self.optional, self.empty = optional, empty

    def __call__(self, form, field):
        if self.optional and not (field.data or "").strip():
            field.data = self.empty
            return
        try:
            field.data = self.normalise(field.data)
        except InvalidValue as exc:
            raise ValidationError(str(exc.args[0])) from None


class PhoneNumber(Normalised):
    """A mainland mobile or landline number, stored in its canonical form."""

    normalise = staticmethod(normalise_phone)


class PhoneField(StringField):
    """A phone number input that keeps a stored number from a user who may see it only masked.

    For a user without :attr:`~circle.permissions.Cap.SEE_FULL_PHONE` an existing number is
    not sent to the browser: the box starts empty with the masked number as placeholder, and
    left empty it keeps the stored number (its validators are skipped and the model is not
    touched). Typing a number replaces it, checked as usual. Use through ``form_overrides``.
    """

    hidden = False

    def process(self, formdata, *args, **kwargs):
        super().process(formdata, *args, **kwargs)
        self.hidden = (bool(self.object_data) and has_request_context()
                       and not may_see_full_phone(current_user))
        if self.hidden:
            self.render_kw = {**(self.render_kw or {}),
                              "placeholder": mask_phone(self.object_data)}
            self.description = _l("Shown masked. Leave empty to keep the number, or type a "
                                  "new one.")

    def _submitted_blank(self) -> bool:
        return not (self.raw_data and (self.raw_data[0] or "").strip())

    def _value(self):
        if self.hidden:
            return "" if self._submitted_blank() else self.raw_data[0]
        return super()._value()

    def pre_validate(self, form):
        if self.hidden and self._submitted_blank():
            raise StopValidation()  # the stored number stays; nothing to check

    def populate_obj(self, obj, name):
        if self.hidden and self._submitted_blank():
            return
        super().populate_obj(obj, name)


class CreditCode(Normalised):
    """An optional unified social credit code (empty means none: NULL, not "")."""

    normalise = staticmethod(normalise_credit_code)

    def __init__(self):
        super().__init__(optional=True, empty=None)
