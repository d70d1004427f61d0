"""Notifications: who hears what (rules.py), the transactional outbox (outbox.py), the SLA
scan and the digest the job engine runs (sla_scan.py, digest.py), the channels (in-app:
views.py; WeCom and e-mail: delivery.py) and what each message says (messages.py)."""

from __future__ import annotations


def init_app(app) -> None:
    """Register the outbox's session listeners, the bell on every page and the job engine."""
    from circle import jobs
    from circle.notify import outbox  # noqa: F401  (session listeners: the outbox)
    from circle.notify.views import unread_count

    @app.context_processor
    def inject_bell():
        from flask_login import current_user

        return {"unread_notifications": lambda: unread_count(current_user)}

    jobs.init_app(app)
