"""Admin view for API tokens (skeleton: to be built)."""


def register(admin, db) -> None:
    """Add the API token view to the admin."""
