"""The photos of a desk form: the file input, its limits, and the photos kept across a
failed submission (:mod:`circle.issues.staging`).

:class:`PhotoFormMixin` goes before :class:`~circle.issues.desk_forms.DeskForm` in a form
that has a ``photos`` field made by :func:`photos_field`. The desk view asks the form to
:meth:`~PhotoFormMixin.keep_uploads` when it shows it again with errors, and to
:meth:`~PhotoFormMixin.discard_kept` once the action has used the photos.
"""

from __future__ import annotations

from flask import current_app, request
from wtforms import MultipleFileField

from circle.i18n import lazy_gettext as _l
from circle.issues import staging
from circle.issues.workflow import MAX_PHOTOS_PER_VISIT, InvalidInput, human_size, photo_type

#: Names of the inputs the re-shown form carries: a kept photo's token, and its remove box.
KEPT_FIELD, REMOVE_FIELD = "kept_photos", "remove_photos"


def photo_max_bytes() -> int:
    """The largest photo accepted (``CIRCLE_PHOTO_MAX_BYTES``)."""
    return current_app.config["CIRCLE_PHOTO_MAX_BYTES"]


def _read_photos(form, field):
    """Read the uploaded files (the workflow checks their type and size).

    Each is read to one byte past the limit: enough for the workflow to know it is too
    large, and no more in memory.
    """
    files = [f for f in (field.data or []) if getattr(f, "filename", None)]
    limit = photo_max_bytes()
    form.photo_uploads = [(storage.filename, storage.read(limit + 1)) for storage in files]


def photos_field(label):
    """The multiple-file input of JPEG and PNG photos, read by the form's validation."""
    return MultipleFileField(label, validators=[_read_photos],
                             render_kw={"accept": "image/jpeg,image/png"})


class PhotoFormMixin:
    """A desk form with photos: new files, plus the ones kept from a failed submission."""

    def setup_photos(self) -> None:
        """Called from the form's ``setup``: no photos yet, and the limits for desk.js."""
        # (filename, bytes) pairs, filled in by the photo check; staged rows kept.
        self.photo_uploads: list[tuple[str, bytes]] = []
        self.kept: list[staging.StagedUpload] = []
        self.removed: list[staging.StagedUpload] = []
        # For desk.js: refuse oversized photos on the phone, before a long upload ends in
        # an error page that loses everything typed (the server checks again).
        limit, total = photo_max_bytes(), current_app.config.get("MAX_CONTENT_LENGTH")
        self.photos.render_kw = {
            **(self.photos.render_kw or {}),
            "data-max-bytes": limit,
            "data-max-files": MAX_PHOTOS_PER_VISIT,
            "data-max-total": total or "",
            "data-size-message": str(_l("Each photo may be at most %(limit)s.",
                                        limit=human_size(limit))),
            "data-count-message": str(_l("At most %(n)d photos per visit.",
                                         n=MAX_PHOTOS_PER_VISIT)),
            "data-total-message": str(_l("Together the photos are too large; send fewer "
                                         "at a time.")),
        }

    def validate(self, extra_validators=None) -> bool:
        """The fields, then the kept photos' tokens: each must be this user's, for this
        issue and action, and not expired — else nothing is attached and the form says so."""
        valid = super().validate(extra_validators)
        rows, refused = staging.claim(self.actor.id, self.issue.id, self.action,
                                      request.form.getlist(KEPT_FIELD))
        removed = set(request.form.getlist(REMOVE_FIELD))
        self.kept = [row for row in rows if row.token not in removed]
        self.removed = [row for row in rows if row.token in removed]
        if refused:
            self.photos.errors = [*self.photos.errors, _l(
                "Some photos kept from the last attempt have expired or belong to someone "
                "else; choose them again.")]
            valid = False
        return valid

    def photo_inputs(self) -> list[tuple[str, bytes]]:
        """Every photo to attach, ``(filename, bytes)``: the kept ones, then the new ones."""
        return [row.upload for row in self.kept] + self.photo_uploads

    def keep_uploads(self) -> None:
        """The form failed: keep its new photos that pass the checks (the others are named
        next to the field), forget the ones the user removed."""
        staging.discard(self.removed)
        self.removed, checked = [], []
        for filename, data in self.photo_uploads:
            try:
                checked.append((filename, data,
                                photo_type((filename, data), photo_max_bytes())))
            except InvalidInput as refusal:
                if refusal.message not in self.photos.errors:
                    self.photos.errors = [*self.photos.errors, refusal.message]
        self.kept += staging.stage(self.actor.id, self.issue.id, self.action, checked)
        self.photo_uploads = []

    def discard_kept(self) -> None:
        """The action succeeded with the kept photos attached: delete the staged copies."""
        staging.discard(self.kept + self.removed)
        self.kept, self.removed = [], []
