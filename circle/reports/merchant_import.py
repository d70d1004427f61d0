"""Merchant import from CSV or XLSX (skeleton: to be built)."""

from flask_admin import expose

from circle.accounts.models import Role
from circle.adminkit import CircleBaseView


class MerchantImportView(CircleBaseView):
    allowed_roles = (Role.ADMIN, Role.SPECIALIST)

    @expose("/")
    def index(self):
        return self.render("circle/import.html")
