"""Long text fields whose limit is told, never applied by cutting.

A ``maxlength`` attribute makes the browser cut a longer paste silently (20,000 characters
pasted, 2,000 kept, nobody told). :class:`TextLimit` checks the length on the server with a
message that says how long the text is and how long it may be, and renders no
``maxlength``; :class:`LimitedTextAreaField` adds ``data-maxlength``, which
``static/counter.js`` shows as a live character counter under the field.
"""

from __future__ import annotations

from wtforms import TextAreaField
from wtforms.validators import Length

from circle.i18n import lazy_gettext as _l

TOO_LONG = _l("This text has %(length)d characters; at most %(max)d are accepted. "
              "Shorten it (nothing was saved).")


class TextLimit(Length):
    """``Length(max=...)`` refused on the server with a clear message, not cut in the
    browser (no ``maxlength`` flag)."""

    def __init__(self, max: int, message=None):
        super().__init__(max=max, message=message or TOO_LONG)
        self.field_flags = {}

    def __call__(self, form, field):
        if field.data and len(field.data) > self.max:
            # Length formats the message with min/max/length; a lazy string needs str().
            from wtforms.validators import ValidationError

            raise ValidationError(str(self.message) % {"length": len(field.data),
                                                       "max": self.max})


class LimitedTextAreaField(TextAreaField):
    """A text area of at most ``max_chars`` characters, with the live counter."""

    def __init__(self, label=None, validators=None, *, max_chars: int, render_kw=None,
                 **kwargs):
        validators = [*(validators or ()), TextLimit(max_chars)]
        render_kw = {**(render_kw or {}), "data-maxlength": max_chars}
        super().__init__(label, validators, render_kw=render_kw, **kwargs)
