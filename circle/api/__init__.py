"""The versioned JSON API for the 12345 city hotline platform (/api/v1)."""


def init_api(app) -> None:
    """Register the API on the app (skeleton: to be built)."""
