"""回访, the callback after resolution, played by the engine of :mod:`circle.issues.workflow`:
not reached (missed, and unreachable at the third attempt), or the merchant's answers —
resolved or not, and the five-level rating — that close the issue or send it back (重办)."""

from __future__ import annotations

from datetime import datetime

from circle.accounts.models import User
from circle.i18n import lazy_gettext as _l
from circle.issues import sla, workcalendar
from circle.issues.models import Callback, CallbackChannel, Issue, Rating
from circle.issues.steps import CALLBACK_ATTEMPTS_BEFORE_UNREACHABLE, STEPS
from circle.issues.workflow import (
    ACTION_FUNCTIONS,
    CLOCK_SKEW,
    InvalidInput,
    _check,
    _flush,
    _person,
    _require,
    _take,
    _text,
)
from circle.timeutil import utcnow


def record_callback(issue: Issue, actor: User, *, reached: bool, resolved: bool | None = None,
                    rating: str | None = None, comments: str = "",
                    called_at: datetime | None = None, expected_version: int | None,
                    channel: str = CallbackChannel.PHONE,
                    now: datetime | None = None) -> Callback:
    """回访: record one call to the merchant.

    Not reached: step ``callback_missed``; the third failed attempt is ``unreachable`` and
    closes the issue (counted apart as unreachable; a rating given before still counts).
    Reached: the merchant's two answers — resolved or not, and the five-level rating — are
    recorded; a dissatisfied
    rating or "not resolved" is ``rehandle`` (重办 at level 2 with a new resolution clock),
    otherwise ``close``.
    """
    now = now or utcnow()
    called_at = called_at or now
    if not reached:
        attempts = (issue.callback_attempts or 0) + 1
        name = ("unreachable" if attempts >= CALLBACK_ATTEMPTS_BEFORE_UNREACHABLE
                else "callback_missed")
    else:
        satisfied = bool(resolved) and rating in Rating.SATISFIED_SET
        name = "close" if satisfied else "rehandle"
    name = _CHANNEL_STEPS.get((channel, name), name)
    _check(issue, actor, name, expected_version)
    if called_at > now + CLOCK_SKEW:
        raise InvalidInput(_l("The call time cannot be in the future."), field="called_at")
    if issue.resolved_at and called_at < issue.resolved_at.replace(second=0, microsecond=0):
        raise InvalidInput(_l("The call time cannot be before the issue was resolved."),
                           field="called_at")
    comments = _text(comments)
    if reached:
        _require(name, resolved=resolved, rating=rating)
        # "Still not solved" on the tracking page may come without a rating.
        if rating not in Rating.ALL and not (rating is None and name == "self_rehandle"):
            raise InvalidInput(_l("Record the merchant's satisfaction rating."), field="rating")
    callback = Callback(called_at=called_at, called_by=_person(actor), reached=bool(reached),
                        comments=comments, round=issue.rehandle_count or 0, channel=channel)
    issue.callbacks.append(callback)
    if not reached:
        issue.callback_attempts = attempts
        if name == "unreachable":
            issue.callback_unreachable = True
            issue.closed_at = now
            note = _l("Merchant not reached after %(n)d calls", n=attempts)
        else:
            note = _l("Call %(n)d: merchant not reached", n=attempts)
        _take(issue, actor, name, now, note=str(note))
        _flush()
        return callback
    callback.resolved_per_merchant = bool(resolved)
    callback.rating = rating
    issue.rating = rating or issue.rating
    issue.callback_unreachable = False
    from circle.labels import CALLBACK_CHANNEL_LABELS, RATING_LABELS

    said = RATING_LABELS[rating] if rating else _l("Not solved")
    note = f"{said}; {comments}".strip("; ")
    if channel != CallbackChannel.PHONE:
        note = f"{CALLBACK_CHANNEL_LABELS[channel]}: {note}"
    if STEPS[name].event == "rehandle":  # by phone, or the merchant's own "not solved"
        issue.rehandle_count = (issue.rehandle_count or 0) + 1
        issue.callback_attempts = 0
        issue.closed_at = None
        sla.restart_resolution_clock(issue, now, workcalendar.load_calendar())
    else:
        issue.closed_at = now
    _take(issue, actor, name, now, note=note)
    _flush()
    return callback


#: The steps a callback takes when the merchant answers on the tracking page instead.
_CHANNEL_STEPS = {(CallbackChannel.SELF, "close"): "self_close",
                  (CallbackChannel.SELF, "rehandle"): "self_rehandle"}


ACTION_FUNCTIONS["callback"] = record_callback
