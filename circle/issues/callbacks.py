"""Which callback (回访) counts: one rule for the desk, the satisfaction export and the figures.

An issue may be called back several times: a dissatisfied rating sends it back for
re-handling and it is called again, and a call may not reach the merchant. The reports show
and count each called-back issue once, through its **counted callback**:

- for an issue closed because the merchant could not be reached, its latest call;
- otherwise its latest reached call — the :func:`effective_callback`, whose rating is the
  issue's effective rating (earlier ratings stay in the history).

"Latest" is :data:`ORDER`. The rule is declared here once and read two ways:
:func:`counted_callback` / :func:`effective_callback` for an issue's loaded callbacks (the
desk), and :func:`counted_callback_clause` for SQL (the export and the dashboard's figures).
Both are built from :data:`ORDER` and :func:`eligible` / :func:`eligible_clause`, so a change
of rule (say, to the *first* reached callback) is made here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from circle.issues.models import Callback, Issue

#: The order of an issue's calls, earliest first: by the time of the call, then by id (the
#: order they were recorded in) for calls at the same moment. The latest one counts.
#: Every column here must be NOT NULL.
ORDER = ("called_at", "id")


def sort_key(callback: Callback) -> tuple:
    """The :data:`ORDER` position of a call, for ``sorted``/``max``."""
    return tuple(getattr(callback, name) for name in ORDER)


def latest(callbacks: Iterable[Callback]) -> Callback | None:
    """The latest call of ``callbacks`` by :data:`ORDER`, or ``None`` when there is none."""
    return max(callbacks, key=sort_key, default=None)


# --- for an issue's loaded callbacks ---------------------------------------------------

def eligible(callback: Callback, issue: Issue) -> bool:
    """Whether the call can be the issue's counted callback: it reached the merchant, or the
    issue was closed as unreachable (then its last attempt, failed or not, dates it)."""
    return bool(callback.reached or issue.callback_unreachable)


def counted_callback(issue: Issue) -> Callback | None:
    """The call the reports show and count the issue through (see the module docstring)."""
    return latest(c for c in issue.callbacks if eligible(c, issue))


def effective_callback(issue: Issue) -> Callback | None:
    """The callback whose rating counts: the latest one that reached the merchant.

    The same as :func:`counted_callback` unless the merchant was unreachable in the end;
    then this is the last rating given, which is history, not the outcome.
    """
    return latest(c for c in issue.callbacks if c.reached)


# --- the same rule in SQL --------------------------------------------------------------

def eligible_clause(callback=Callback, issue=Issue):
    """:func:`eligible` in SQL, for ``callback`` joined to its ``issue``."""
    return sa.or_(issue.callback_unreachable, callback.reached)


def later_clause(later, callback=Callback):
    """``later`` comes after ``callback`` in :data:`ORDER` (a row comparison spelled out:
    ``a > a' OR (a = a' AND (b > b' OR …))``, which every database plans as an anti-join)."""
    clause = None
    for name in reversed(ORDER):
        after = getattr(later, name) > getattr(callback, name)
        clause = after if clause is None else sa.or_(
            after, sa.and_(getattr(later, name) == getattr(callback, name), clause))
    return clause


def counted_callback_clause(callback=Callback, issue=Issue, *, after=None):
    """``callback`` (joined to its ``issue``) is that issue's counted callback.

    Written as "an eligible call with no later eligible call" rather than a correlated
    ``ORDER BY … LIMIT 1`` per issue: PostgreSQL answers it with one hash anti-join over the
    table (five times faster for the whole export than a sorted subquery per issue), and
    SQLite walks the index on ``callback.issue_id``.

    ``after`` (an issue id, or a bound parameter): the caller reads only issues after it; the
    bound is repeated inside, as PostgreSQL does not carry a range into the subquery by
    itself and would otherwise read every earlier issue's callbacks.
    """
    later = aliased(Callback)
    superseded = sa.exists().where(
        later.issue_id == callback.issue_id,
        eligible_clause(later, issue),
        later_clause(later, callback),
    )
    if after is not None:
        superseded = superseded.where(later.issue_id > after)
    return sa.and_(eligible_clause(callback, issue), ~superseded)
