"""API tokens in the panel: holders of ``Cap.MANAGE_API_TOKENS`` create them (shown once)
and revoke them.

Tokens are never edited or deleted: a token that should stop working is revoked, which keeps
its row, its service account and everything they did readable. The secret appears exactly
once, on the page that answers the creating POST (sent with ``Cache-Control: no-store``);
only its hash is stored.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, make_response, request
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.form import FormOpts
from flask_admin.helpers import get_redirect_target
from flask_login import current_user
from markupsafe import Markup

from circle.adminkit import AdminOnlyModelView, related_filter
from circle.api.models import ApiToken
from circle.api.tokens import TokenError, issue_token, revoke_token
from circle.extensions import db
from circle.i18n import gettext as _
from circle.i18n import lazy_gettext as _l
from circle.org.models import Community
from circle.permissions import Cap


def _prefix_formatter(view, context, model, name):
    return Markup("<code>{}…</code>").format(model.prefix)


def _state_formatter(view, context, model, name):
    if model.revoked_at is not None:
        return Markup('<span class="badge badge-secondary">{}</span>').format(_("Revoked"))
    return Markup('<span class="badge badge-success">{}</span>').format(_("Active"))


class ApiTokenView(AdminOnlyModelView):
    """Create, list, revoke (``Cap.MANAGE_API_TOKENS``); never edited or deleted."""

    capability = Cap.MANAGE_API_TOKENS
    can_edit = False
    can_delete = False
    column_list = ("name", "state", "community", "prefix", "service_user", "created_at",
                   "created_by", "last_used_at", "revoked_at")
    column_details_list = column_list
    column_searchable_list = ("name", "prefix")
    column_filters = (related_filter(ApiToken.community_id, _l("Community"), Community),
                      "revoked_at", "last_used_at")
    column_formatters = {"prefix": _prefix_formatter, "state": _state_formatter}
    column_formatters_detail = column_formatters
    form_columns = ("name", "community")
    form_args = {
        "name": {"description": _l("Which system uses the token, e.g. 12345 city platform. "
                                   "Its service account is named api-<name>.")},
        "community": {"description": _l("The token sees and registers issues of this "
                                        "community only.")},
    }
    column_labels = {
        "name": _l("Name"),
        "state": _l("State"),
        "community": _l("Community"),
        "prefix": _l("Token begins with"),
        "service_user": _l("Service account"),
        "created_at": _l("Created at"),
        "created_by": _l("Created by"),
        "last_used_at": _l("Last used"),
        "revoked_at": _l("Revoked at"),
    }

    def create_model(self, form):
        """Issue the token and its service account; the secret rides on the returned object."""
        try:
            with self._audited():
                token, secret = issue_token(
                    name=form.name.data, community=form.community.data,
                    created_by=current_user._get_current_object(),
                    remote_addr=request.remote_addr or "",
                )
                db.session.commit()
        except TokenError as exc:
            db.session.rollback()
            flash(str(exc.message), "error")
            return False
        token.secret_shown_once = secret
        return token

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        """Flask-Admin's create page, except that success shows the secret, once."""
        if request.method != "POST" or not self.can_create:
            return super().create_view()
        form = self.create_form()
        if not self.validate_form(form):
            # Flask-Admin shows the form again with its errors.
            return super().create_view()
        token = self.create_model(form)
        if not token:
            return_url = get_redirect_target() or self.get_url(".index_view")
            return self.render(self.create_template, form=form, return_url=return_url,
                               form_opts=FormOpts(widget_args=self.form_widget_args,
                                                  form_rules=self._form_create_rules))
        response = make_response(self.render("api/token_created.html", token=token,
                                             secret=token.secret_shown_once))
        # The secret must not be kept by the browser or a proxy.
        response.headers["Cache-Control"] = "no-store"
        return response

    @action("revoke", _l("Revoke"),
            _l("Revoke the selected tokens? Systems using them stop working at once; this "
               "cannot be undone."))
    def action_revoke(self, ids):
        """Revoke tokens and deactivate their service accounts."""
        tokens = db.session.scalars(sa.select(ApiToken).where(ApiToken.id.in_(ids))).all()
        with self._audited():
            revoked = sum(revoke_token(token, actor=current_user._get_current_object(),
                                       remote_addr=request.remote_addr or "")
                          for token in tokens)
            db.session.commit()
        flash(_("%(n)d token(s) revoked.", n=revoked), "success")


def register(admin, db) -> None:
    """Add the API token view to the admin."""
    admin.add_view(ApiTokenView(ApiToken, db, name=_l("API tokens"),
                                category=_l("Organisation"), endpoint="api_token"))
