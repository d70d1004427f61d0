"""What each dashboard count counts, and by which date: declared once, read two ways.

:data:`COUNTS` is the table. Each count is dated by one kind of date (:data:`DATINGS`) —
the issue's registration, its latest resolution, or one call of it (its first rating, its
final rating, the call that closed it as unreachable) — and holds for the issues (and,
for a call-dated count, that call) matching its condition.

- :mod:`circle.reports.figures` counts them per circle and local day of that date, with
  ``count_if(condition)`` in one GROUP BY per kind of date;
- the issue list filters by them: :func:`issue_clause` is a count's condition as a WHERE
  clause over :class:`Issue`, :func:`dated_clause` puts a bound on its date. A call-dated
  condition is an EXISTS over the one call that dates the issue: an issue has at most one
  first rating, one final rating and one closing call, so "counted as" and "dated in the
  period" are about the same call and compose.

So every dashboard figure opens a list of exactly the issues it counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from circle.i18n import lazy_gettext as _l
from circle.issues.callbacks import (
    final_rating_clause,
    first_rating_clause,
    unreachable_call_clause,
)
from circle.issues.models import Callback, Issue, Rating, Status
from circle.issues.response import responded_clause, responded_on_time_clause


def counted_issue(issue=Issue):
    """The issue counts in the figures: every rate leaves withdrawn issues (duplicates and
    invalid registrations) and returned ones (退单, not the community's remit) out, whenever
    that happened; only the counts of issues reported (and of the withdrawn and returned
    among them) include them."""
    return issue.status.not_in(Status.LEFT)


@dataclass(frozen=True)
class Dating:
    """A kind of date that puts an issue in a day."""

    kind: str  # the figures recounted together: "reported", "resolved" or "callback"
    label: object  # the issue list's filter on this date (None: the column's own filters)
    moment: object  # the moment's column: the issue's own, or Callback.called_at
    #: For a call-dated count, which call of the issue dates it (one per issue at most):
    #: a condition over a Callback and its issue.
    call: Callable | None = None
    #: Which issues this date counts at all (None: every issue).
    counted: Callable | None = None


DATINGS = {
    "reported_at": Dating("reported", None, Issue.reported_at),
    "resolved_at": Dating(
        "resolved", None, Issue.resolved_at,
        counted=lambda: sa.and_(Issue.resolved_at.is_not(None), counted_issue())),
    "first_rating": Dating(
        "callback", _l("First rating time"), Callback.called_at,
        call=lambda call, issue: first_rating_clause(call), counted=counted_issue),
    "final_rating": Dating(
        "callback", _l("Final rating time"), Callback.called_at,
        call=lambda call, issue: final_rating_clause(call), counted=counted_issue),
    "unreachable_call": Dating(
        "callback", _l("Time of the call that closed it as unreachable"), Callback.called_at,
        call=unreachable_call_clause, counted=counted_issue),
}


@dataclass(frozen=True)
class Count:
    """One count of the figures: the issues its ``dated`` date counts that match
    ``condition`` (over :class:`Issue`, and the dating ``Callback`` for a call-dated
    count; ``None``: all of them)."""

    name: str  # the CircleDayFigures column and PeriodCounts field
    dated: str  # a key of DATINGS
    label: object  # the issue list's "counted as" option
    condition: Callable | None = None
    #: Kept per day and circle; otherwise a difference of kept counts (PeriodCounts
    #: computes it) that the issue list filters by this condition all the same.
    stored: bool = True


def _counted_and(*conditions):
    return lambda: sa.and_(counted_issue(), *(condition() for condition in conditions))


def _sign_required():
    return Issue.sign_due_at.is_not(None)


def _contact_required():
    return Issue.contact_due_at.is_not(None)


def _satisfied():
    return Callback.rating.in_(Rating.SATISFIED_SET)


COUNTS = (
    # Dated by registration.
    Count("reported", "reported_at", _l("Issues reported")),
    Count("withdrawn", "reported_at", _l("Withdrawn"),
          lambda: Issue.status == Status.WITHDRAWN),
    Count("settled", "reported_at", _l("Resolved or closed"),
          lambda: Issue.status.in_((Status.RESOLVED, Status.CLOSED))),
    Count("responded", "reported_at", _l("Responded to (with a response deadline)"),
          _counted_and(responded_clause)),
    Count("responded_on_time", "reported_at", _l("Responded to on time"),
          _counted_and(responded_on_time_clause)),
    # The 12345 work-order lifecycle (circle/issues/lifecycle.py).
    Count("returned", "reported_at", _l("Returned (退单)"),
          lambda: Issue.status == Status.RETURNED),
    Count("sign_required", "reported_at", _l("Had to be signed for"),
          _counted_and(_sign_required)),
    Count("signed_on_time", "reported_at", _l("Signed for on time"),
          _counted_and(_sign_required, lambda: Issue.signed_at <= Issue.sign_due_at)),
    Count("contact_required", "reported_at", _l("Had to be contacted first"),
          _counted_and(_contact_required)),
    Count("contacted_on_time", "reported_at", _l("Contacted first on time"),
          _counted_and(_contact_required,
                       lambda: Issue.contacted_at <= Issue.contact_due_at)),
    Count("extended", "reported_at", _l("Extended (延期)"),
          _counted_and(lambda: Issue.extension_count > 0)),
    Count("chased", "reported_at", _l("Chased (催办)"),
          _counted_and(lambda: Issue.chase_count > 0)),
    # One case per problem (circle/selfreport).
    Count("merged", "reported_at", _l("Merged as a duplicate"),
          lambda: Issue.merged_into_id.is_not(None)),
    # The denominators of the registration rates: reported less withdrawn (and returned).
    Count("valid", "reported_at", _l("Reported, less withdrawn and returned"),
          counted_issue, stored=False),
    Count("not_withdrawn", "reported_at", _l("Reported, less withdrawn"),
          lambda: Issue.status != Status.WITHDRAWN, stored=False),
    # Dated by the latest resolution.
    Count("resolved", "resolved_at", _l("Issues resolved")),
    Count("resolved_with_deadline", "resolved_at", _l("Resolved, with a resolution deadline"),
          lambda: Issue.resolution_due_at.is_not(None)),
    Count("resolved_on_time", "resolved_at", _l("Resolved on time"),
          lambda: Issue.resolved_at <= Issue.resolution_due_at),
    # Whether the latest resolution has had a callback attempt, read from the issue itself:
    # a re-handling resets the attempt counter, a failed call counts an attempt, and only a
    # callback closes an issue (satisfied, or unreachable after repeated calls).
    Count("called_back", "resolved_at", _l("Resolved and called back"),
          lambda: sa.or_(Issue.status == Status.CLOSED, Issue.callback_attempts > 0)),
    # Dated by the first rating (fixed once recorded: see circle.issues.callbacks).
    Count("first_rated", "first_rating", _l("Rated at the first callback")),
    Count("first_satisfied", "first_rating", _l("Satisfied at the first rating"),
          _satisfied),
    # Only a rating sends an issue back, and a rating that does not closes it for good:
    # an issue was re-handled exactly when its first rating sent it back.
    Count("first_rehandled", "first_rating", _l("Re-handled after the first rating"),
          lambda: Issue.rehandle_count > 0),
    # Dated by the final rating (the one in effect).
    Count("rated", "final_rating", _l("Final rating given")),
    Count("satisfied", "final_rating", _l("Satisfied at the final rating"), _satisfied),
    Count("confirmed", "final_rating", _l("Solved, as the merchant confirmed"),
          lambda: Callback.resolved_per_merchant.is_(True)),
    # Dated by the call that closed the issue.
    Count("unreachable", "unreachable_call", _l("Unreachable merchants")),
)
COUNT = {count.name: count for count in COUNTS}
#: The counts kept per day and circle (circle.reports.figures.CircleDayFigures).
FIELDS = tuple(count.name for count in COUNTS if count.stored)


def dating_conditions(dated: str) -> list:
    """What every count dated by ``dated`` holds for: its dating call (for a call-dated
    count) and the issues that date counts at all."""
    dating = DATINGS[dated]
    conditions = [] if dating.call is None else [dating.call(Callback, Issue)]
    return conditions + ([] if dating.counted is None else [dating.counted()])


def _over_issue(dated: str, conditions: list):
    if DATINGS[dated].call is None:
        return sa.and_(sa.true(), *conditions)
    return sa.exists().where(Callback.issue_id == Issue.id, *conditions)


def issue_clause(name: str):
    """The issues the count ``name`` counts, in any period, as a WHERE clause over Issue."""
    count = COUNT[name]
    conditions = dating_conditions(count.dated)
    if count.condition is not None:
        conditions.append(count.condition())
    return _over_issue(count.dated, conditions)


def dated_clause(dated: str, test: Callable, *, drive: bool = True):
    """The issues whose ``dated`` date (a key of :data:`DATINGS`) passes ``test`` (a
    function of the moment's column returning a condition), as a WHERE clause over Issue.

    For a call's date, ``drive``: ``Issue.id IN (the issues of the calls that pass)``,
    uncorrelated, which reads the calls of a period through their index on ``called_at``
    and then the few issues they name — for a bounded range; otherwise an EXISTS checked
    for each issue the other conditions keep — for an open bound ("before …"), which
    most calls pass."""
    dating = DATINGS[dated]
    if dating.call is None:
        return test(dating.moment)
    if not drive:
        return _over_issue(dated, [dating.call(Callback, Issue), test(Callback.called_at)])
    issue = aliased(Issue)
    return Issue.id.in_(
        sa.select(Callback.issue_id).join(issue, issue.id == Callback.issue_id)
        .where(dating.call(Callback, issue), test(Callback.called_at)))
