"""The satisfaction export (skeleton: to be built)."""

from flask_admin import expose

from circle.accounts.models import Role
from circle.adminkit import CircleBaseView


class SatisfactionExportView(CircleBaseView):
    allowed_roles = (Role.STAFF, Role.ADMIN)

    @expose("/")
    def index(self):
        return self.render("circle/export.html")
