"""Register an issue: the liaison officer's short, phone-friendly form."""

from flask_admin import expose

from circle.accounts.models import Role
from circle.adminkit import CircleBaseView


class RegisterIssueView(CircleBaseView):
    """Skeleton: to be built."""

    allowed_roles = (Role.LIAISON, Role.SPECIALIST, Role.ADMIN)

    @expose("/")
    def index(self):
        return self.render("circle/register.html")
