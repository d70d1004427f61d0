"""The issue desk: one issue on one page, with its timeline and the actions allowed now."""

from flask_admin import expose

from circle.adminkit import CircleBaseView


class IssueDeskView(CircleBaseView):
    """Skeleton: to be built."""

    @expose("/")
    def index(self):
        return self.render("circle/desk.html")
