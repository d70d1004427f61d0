"""Work queues: the specialists' dispatch board and the staff's callback queue."""

from flask_admin import expose

from circle.accounts.models import Role
from circle.adminkit import CircleBaseView


class DispatchBoardView(CircleBaseView):
    """Skeleton: to be built."""

    allowed_roles = (Role.SPECIALIST, Role.ADMIN)

    @expose("/")
    def index(self):
        return self.render("circle/dispatch.html")


class CallbackQueueView(CircleBaseView):
    """Skeleton: to be built."""

    allowed_roles = (Role.STAFF, Role.ADMIN)

    @expose("/")
    def index(self):
        return self.render("circle/callbacks.html")
