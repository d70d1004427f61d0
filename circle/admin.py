"""Builds the Flask-Admin interface for one app (called from the factory)."""

from __future__ import annotations

from pathlib import Path

from flask import request
from flask_admin import Admin, expose
from flask_admin.theme import Bootstrap4Theme
from flask_login import current_user

from circle.adminkit import CircleIndexView
from circle.extensions import db
from circle.i18n import lazy_gettext as _l


class HomeView(CircleIndexView):
    """The landing page: what is open right now, at which level."""

    @expose("/")
    def index(self):
        from circle.reports.dashboard import dashboard_context

        return self.render("admin/index.html", **dashboard_context(current_user, request.args))


def register_workflow_views(admin: Admin) -> None:
    """One view per job: register, dispatch, the issue desk, callbacks."""
    from circle.issues.boards import CallbackQueueView, DispatchBoardView
    from circle.issues.desk import IssueDeskView
    from circle.issues.register import RegisterIssueView

    admin.add_view(RegisterIssueView(name=_l("Register an issue"), endpoint="register",
                                     url="/admin/register"))
    admin.add_view(DispatchBoardView(name=_l("Dispatch board"), endpoint="dispatch",
                                     url="/admin/dispatch"))
    admin.add_view(CallbackQueueView(name=_l("Callback queue"), endpoint="callbacks",
                                     url="/admin/callbacks"))
    from circle.issues.approvals import ApprovalsView
    admin.add_view(ApprovalsView(name=_l("Approvals"), endpoint="approvals",
                                 url="/admin/approvals"))
    from circle.reports.export import SatisfactionExportView
    admin.add_view(SatisfactionExportView(name=_l("Satisfaction export"),
                                          category=_l("Reports"), endpoint="satisfaction_export",
                                          url="/admin/satisfaction-export"))
    from circle.selfreport.admin import StickerView

    admin.add_view(StickerView(name=_l("QR stickers"), endpoint="stickers",
                               url="/admin/stickers"))
    # The desk is reached from lists and boards, not from the menu.
    admin.add_view(IssueDeskView(name=_l("Issue"), endpoint="desk", url="/admin/desk"))


def init_admin(app) -> Admin:
    """Create the ``Admin`` for this app and register every feature's views."""
    from circle.accounts import admin as accounts_admin
    from circle.audit import admin as audit_admin
    from circle.issues import admin as issues_admin
    from circle.merchants import admin as merchants_admin
    from circle.org import admin as org_admin

    admin = Admin(
        app,
        translations_path=str(Path(app.root_path) / "translations"),
        name=_l("Red Business Circle"),
        theme=Bootstrap4Theme(base_template="admin/circle_base.html", fluid=True),
        index_view=HomeView(name=_l("Overview"), url="/admin"),
        # Flask-Admin's own <script> tags carry the CSP nonce of the request.
        csp_nonce_generator=lambda: getattr(request, "csp_nonce", ""),
    )
    register_workflow_views(admin)
    merchants_admin.register(admin, db)
    issues_admin.register(admin, db)
    from circle.issues import holiday_import

    holiday_import.register(admin)
    org_admin.register(admin, db)
    accounts_admin.register(admin, db)
    audit_admin.register(admin, db)
    from circle.api import admin as api_admin

    api_admin.register(admin, db)
    from circle.notify import views as notify_views

    notify_views.register(admin, db)
    return admin
