"""Which callback (回访) counts, and for what: one rule for the desk, the export, the API and
the dashboard's figures.

An issue may be called back several times: a dissatisfied rating (or "not solved") sends it
back for re-handling (重办) and it is called again, and a call may not reach the merchant.
The reports read three calls of an issue, all by :data:`ORDER`:

- its **first rating** — the earliest call that reached the merchant and recorded a rating.
  The first-callback satisfaction rate (首次满意率) and the re-handling rate (重办率) count
  the issue through it, in the period of that call. It is fixed once recorded: a later
  call comes after it and can never replace it, so a past period's figure never changes
  when a later callback lands.
- its **final rating** — the latest such call, whose rating is the issue's effective rating
  (``Issue.rating``; the desk marks it). The final satisfaction rate counts it, in the period
  of that call; an issue re-rated later moves there. An issue that was rated and then closed
  because the merchant could not be reached keeps its final rating: the last word the
  merchant said still counts.
- its **unreachable call** — for an issue closed because the merchant could not be reached
  (``Issue.callback_unreachable``), its latest call, the failed attempt that closed it. It
  dates the issue among the unreachable merchants — on the dashboard, in the export and in
  the API alike.

Calls in between (a second of three ratings, failed attempts that did not close the issue)
are history: the export counts them (calls, reached calls) and the API lists them.

The rule is declared here once and read two ways: :func:`first_rating`,
:func:`final_rating` and :func:`unreachable_call` for an issue's loaded callbacks (the
desk), and :func:`first_rating_clause`, :func:`final_rating_clause` and
:func:`unreachable_call_clause` for SQL (the export, the API and the figures). Both are
built from :data:`ORDER` and :func:`is_rating` / :func:`rating_clause`.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from circle.issues.models import Callback, Issue

#: The order of an issue's calls, earliest first: by the time of the call, then by id (the
#: order they were recorded in) for calls at the same moment. Every column must be NOT NULL.
ORDER = ("called_at", "id")


def sort_key(callback: Callback) -> tuple:
    """The :data:`ORDER` position of a call, for ``sorted``/``max``."""
    return tuple(getattr(callback, name) for name in ORDER)


def latest(callbacks: Iterable[Callback]) -> Callback | None:
    """The latest call of ``callbacks`` by :data:`ORDER`, or ``None`` when there is none."""
    return max(callbacks, key=sort_key, default=None)


def earliest(callbacks: Iterable[Callback]) -> Callback | None:
    """The earliest call of ``callbacks`` by :data:`ORDER`, or ``None`` when there is none."""
    return min(callbacks, key=sort_key, default=None)


# --- for an issue's loaded callbacks ---------------------------------------------------

def is_rating(callback: Callback) -> bool:
    """The call reached the merchant and recorded a rating."""
    return bool(callback.reached) and callback.rating is not None


def first_rating(issue: Issue) -> Callback | None:
    """The issue's first rating (see the module docstring)."""
    return earliest(c for c in issue.callbacks if is_rating(c))


def final_rating(issue: Issue) -> Callback | None:
    """The issue's final rating: the latest call that reached the merchant with a rating."""
    return latest(c for c in issue.callbacks if is_rating(c))


#: The desk's name for the final rating: the callback whose rating is in effect.
effective_callback = final_rating


def unreachable_call(issue: Issue) -> Callback | None:
    """For an issue closed as unreachable, its latest call; otherwise ``None``."""
    return latest(issue.callbacks) if issue.callback_unreachable else None


# --- the same rule in SQL --------------------------------------------------------------

def rating_clause(callback=Callback):
    """:func:`is_rating` in SQL."""
    return sa.and_(callback.reached.is_(True), callback.rating.is_not(None))


def later_clause(later, callback=Callback):
    """``later`` comes after ``callback`` in :data:`ORDER` (a row comparison spelled out:
    ``a > a' OR (a = a' AND (b > b' OR …))``, which every database plans as an anti-join)."""
    clause = None
    for name in reversed(ORDER):
        after = getattr(later, name) > getattr(callback, name)
        clause = after if clause is None else sa.or_(
            after, sa.and_(getattr(later, name) == getattr(callback, name), clause))
    return clause


def _none_beyond(callback, beyond, *, ratings_only: bool, after=None):
    """No other call of ``callback``'s issue (a rating, if ``ratings_only``) comes after it
    (``beyond="later"``) or before it (``beyond="earlier"``) in :data:`ORDER`.

    Written as "no other such call beyond it" rather than a correlated ``ORDER BY … LIMIT
    1`` per issue: PostgreSQL answers it with one hash anti-join over the table (five times
    faster for the whole export than a sorted subquery per issue), and SQLite walks the
    index on ``callback.issue_id``. ``after`` (an issue id, or a bound parameter): the
    caller reads only issues after it; the bound is repeated inside, as PostgreSQL does not
    carry a range into the subquery by itself and would otherwise read every earlier
    issue's callbacks.
    """
    other = aliased(Callback)
    beyond_clause = (later_clause(other, callback) if beyond == "later"
                     else later_clause(callback, other))
    conditions = [other.issue_id == callback.issue_id, beyond_clause]
    if ratings_only:
        conditions.append(rating_clause(other))
    if after is not None:
        conditions.append(other.issue_id > after)
    return ~sa.exists().where(*conditions)


def first_rating_clause(callback=Callback, *, after=None):
    """``callback`` is its issue's first rating (``after``: see :func:`_none_beyond`)."""
    return sa.and_(rating_clause(callback),
                   _none_beyond(callback, "earlier", ratings_only=True, after=after))


def final_rating_clause(callback=Callback, *, after=None):
    """``callback`` is its issue's final rating."""
    return sa.and_(rating_clause(callback),
                   _none_beyond(callback, "later", ratings_only=True, after=after))


def unreachable_call_clause(callback=Callback, issue=Issue, *, after=None):
    """``callback`` (joined to its ``issue``) is the call that dates the issue among the
    unreachable merchants: the latest call of an issue closed as unreachable."""
    return sa.and_(issue.callback_unreachable.is_(True),
                   _none_beyond(callback, "later", ratings_only=False, after=after))
