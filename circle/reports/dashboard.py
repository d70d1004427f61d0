"""The dashboard: open work and the 12345-style rates, scoped to what the user may see."""

from circle.admin import open_issue_figures


def dashboard_context(user, args) -> dict:
    """Template variables for the landing page (skeleton: to be built)."""
    return {"figures": open_issue_figures(user)}
