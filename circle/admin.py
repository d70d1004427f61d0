"""Builds the Flask-Admin interface for one app (called from the factory)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from flask_admin import Admin, expose
from flask_admin.theme import Bootstrap4Theme
from flask_babel import lazy_gettext as _l
from flask import request
from flask_login import current_user

from circle.adminkit import CircleIndexView
from circle.extensions import db
from circle.issues.models import Issue, Status
from circle.labels import LEVEL_LABELS, STATUS_LABELS
from circle.permissions import scope_by_circle
from circle.timeutil import utcnow


def open_issue_figures(user) -> dict:
    """Counts of the user's open issues by level and by status, and how many are overdue."""

    def scoped(stmt):
        return scope_by_circle(stmt.select_from(Issue), Issue.circle_id, user)

    open_filter = Issue.status.in_(Status.OPEN)
    by_level = dict(db.session.execute(
        scoped(sa.select(Issue.level, sa.func.count())).where(open_filter).group_by(Issue.level)
    ).all())
    by_status = dict(db.session.execute(
        scoped(sa.select(Issue.status, sa.func.count())).where(open_filter)
        .group_by(Issue.status)
    ).all())
    overdue = db.session.scalar(
        scoped(sa.select(sa.func.count())).where(
            open_filter,
            Issue.status != Status.ON_HOLD,
            Issue.resolution_due_at < utcnow(),
        )
    )
    awaiting_callback = db.session.scalar(
        scoped(sa.select(sa.func.count())).where(Issue.status == Status.RESOLVED)
    )
    return {
        "by_level": [(level, label, by_level.get(level, 0)) for level, label in LEVEL_LABELS.items()],
        "by_status": [
            (status, STATUS_LABELS[status], by_status.get(status, 0)) for status in Status.OPEN
        ],
        "open_total": sum(by_level.values()),
        "overdue": overdue or 0,
        "awaiting_callback": awaiting_callback or 0,
    }


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
    from circle.reports.export import SatisfactionExportView
    admin.add_view(SatisfactionExportView(name=_l("Satisfaction export"),
                                          category=_l("Reports"), endpoint="satisfaction_export",
                                          url="/admin/satisfaction-export"))
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
    org_admin.register(admin, db)
    accounts_admin.register(admin, db)
    audit_admin.register(admin, db)
    from circle.api import admin as api_admin

    api_admin.register(admin, db)
    return admin
