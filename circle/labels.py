"""Human labels (translated) for the coded values stored in the database."""

from circle.i18n import lazy_gettext as _l

ROLE_LABELS = {
    "admin": _l("Administrator"),
    "specialist": _l("Hotline specialist"),
    "liaison": _l("Circle hotline liaison"),
    "staff": _l("Callback / statistics staff"),
    "leader": _l("Street / district leader"),
}

MEMBER_ROLE_LABELS = {
    "advisor": _l("Public advisor"),
    "collector": _l("Opinion collector"),
}

SEVERITY_LABELS = {
    "small": _l("Small matter"),
    "big": _l("Big matter"),
    "hard": _l("Hard matter"),
}

STATUS_LABELS = {
    "registered": _l("Registered (liaison handling)"),
    "escalated": _l("Escalated to community"),
    "dispatched": _l("Dispatched to specialist"),
    "on_site": _l("Specialist on site"),
    "joint_office": _l("Joint on-site office"),
    "symposium": _l("Symposium"),
    "on_hold": _l("On hold"),
    "resolved": _l("Resolved, awaiting callback"),
    "closed": _l("Closed"),
    "withdrawn": _l("Withdrawn"),
    "returned": _l("Returned (退单)"),
}

#: The issue list's "status group" filter: each group is a tuple of Status values
#: (circle.issues.models.Status.OPEN, SETTLED, LEFT).
STATUS_GROUP_LABELS = {
    "open": _l("Open (not yet resolved)"),
    "settled": _l("Resolved or closed"),
    "left": _l("Withdrawn or returned"),
    "counted": _l("Not withdrawn or returned"),
}

CONTACT_CHANNEL_LABELS = {
    "phone": _l("By phone"),
    "on_site": _l("On site"),
}

REQUEST_KIND_LABELS = {
    "extension": _l("Extension"),
    "return": _l("Return"),
}

REQUEST_STATUS_LABELS = {
    "pending": _l("Waiting for a decision"),
    "approved": _l("Approved"),
    "refused": _l("Refused"),
}

CALLBACK_CHANNEL_LABELS = {
    "phone": _l("Callback by phone"),
    "self": _l("Merchant's own rating (商户自评)"),
}

LEVEL_LABELS = {
    1: _l("Level 1 · circle liaison"),
    2: _l("Level 2 · hotline specialist"),
    3: _l("Level 3 · joint on-site office"),
    4: _l("Level 4 · symposium"),
}

RATING_LABELS = {
    "very_satisfied": _l("Very satisfied"),
    "satisfied": _l("Satisfied"),
    "basically_satisfied": _l("Basically satisfied"),
    "dissatisfied": _l("Dissatisfied"),
    "very_dissatisfied": _l("Very dissatisfied"),
}

VISIT_OUTCOME_LABELS = {
    "resolved": _l("Resolved on site"),
    "temporary": _l("Temporary measure"),
    "escalate": _l("Escalate"),
}


def choices(labels: dict) -> list[tuple]:
    """``(value, label)`` pairs for a WTForms select, in the dict's order."""
    return list(labels.items())

SLA_STATE_LABELS = {
    "on_track": _l("On track"),
    "at_risk": _l("At risk"),
    "overdue": _l("Overdue"),
    "met": _l("Met"),
    "missed": _l("Missed"),
}

# Bootstrap 4 colours for the SLA states: urgency is visible at a glance on boards.
SLA_STATE_COLOURS = {
    "on_track": "success",
    "at_risk": "warning",
    "overdue": "danger",
    "met": "secondary",
    "missed": "dark",
}

def _event_labels() -> dict:
    # The loop's events are labelled where they are declared (circle.issues.steps).
    from circle.issues.steps import EVENT_LABELS as declared

    return {
        **declared,
        # Written by the demo data of earlier versions only; kept so old timelines read.
        "callback": _l("Callback"),
    }


EVENT_LABELS = _event_labels()

DAY_KIND_LABELS = {
    "holiday": _l("Public holiday (day off)"),
    "workday": _l("Adjusted working day (调休)"),
}


def duration_label(minutes: int | None) -> str:
    """A budget in minutes as people say it: 30 分钟, 4 小时, 7 天."""
    from circle.i18n import gettext as _

    if not minutes:
        return ""
    if minutes % (24 * 60) == 0:
        return _("%(n)d days", n=minutes // (24 * 60))
    if minutes % 60 == 0:
        return _("%(n)d hours", n=minutes // 60)
    return _("%(n)d minutes", n=minutes)


# --- SLA deadline rules (circle.issues.sla) ------------------------------------------------

DEADLINE_RULE_LABELS = {
    "half_day": _l("End of the half-day (不过晌)"),
    "end_of_day": _l("End of the day (不过夜)"),
    "calendar_days": _l("N calendar days (不过周 = 7)"),
    "working_hours": _l("N working hours"),
    "working_days": _l("N working days"),
    "duration": _l("Fixed duration in minutes (as before the rules)"),
}

CLOCK_LABELS = {
    "calendar": _l("Calendar time (around the clock)"),
    "business_hours": _l("Working hours (the sessions of working days)"),
    "working_days": _l("Working days, every hour (as before the rules)"),
}


def rule_label(rule: str, amount: int | None, minutes: int | None = None,
               working_days: bool = False) -> str:
    """A resolution rule with its N as people say it: 半天内（不过晌）, 7 个自然日内."""
    from circle.i18n import gettext as _

    n = amount or 1
    if rule == "half_day":
        return _("by the end of the half-day") if n == 1 else _(
            "by the end of the %(n)dth half-day", n=n)
    if rule == "end_of_day":
        return _("by the end of the day") if n == 1 else _(
            "by the end of the %(n)dth working day", n=n)
    if rule == "calendar_days":
        return _("within %(n)d calendar days", n=n)
    if rule == "working_hours":
        return _("within %(n)d working hours", n=n)
    if rule == "working_days":
        return _("by the close of the %(n)dth working day after", n=n)
    if working_days:
        return _("within %(duration)s (working days)", duration=duration_label(minutes))
    return _("within %(duration)s", duration=duration_label(minutes))


def response_label(minutes: int | None, clock: str) -> str:
    """A response budget with its clock: 30 分钟, 30 分钟（工作时间）."""
    from circle.i18n import gettext as _

    if clock == "business_hours":
        return _("%(duration)s of working hours", duration=duration_label(minutes))
    if clock == "working_days":
        return _("%(duration)s (working days)", duration=duration_label(minutes))
    return duration_label(minutes)
