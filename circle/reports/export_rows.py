"""Which rows the satisfaction export (:mod:`circle.reports.exporting`) holds, and how they are
read: one row per counted issue that has had its callback, filtered by
:class:`~circle.reports.exporting.ExportFilters` and scoped to what the user may see.

:func:`export_statement` is the SELECT, its times naive UTC (:class:`naive_utc`);
:func:`count_rows` counts the same rows without the name lookups; :func:`iter_rows` reads them
in batches by keyset pagination on ``Issue.id``, each batch on a short-lived connection of its
own, the next batch read while the current one is written.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from circle.accounts.models import User
from circle.extensions import db
from circle.issues.callbacks import (
    final_rating_clause,
    first_rating_clause,
    unreachable_call_clause,
)
from circle.issues.models import Callback, CallbackChannel, Issue, IssueCategory
from circle.labels import CALLBACK_CHANNEL_LABELS
from circle.merchants.models import Merchant
from circle.org.models import BusinessCircle, Community
from circle.permissions import scope_by_circle
from circle.reports.counts import counted_issue
from circle.reports.exporting import (
    BY_CALLBACK,
    BY_FINAL_RATING,
    BY_FIRST_RATING,
    BY_REPORTED,
    DEFAULT_BATCH_SIZE,
    UNREACHABLE,
    ExportFilters,
)

# --- which rows ---------------------------------------------------------------------------

class naive_utc(FunctionElement):
    """A stored UTC time read as a naive datetime, with no Python conversion per value.

    :class:`~circle.timeutil.UTCDateTime` attaches the zone to every value it reads, which
    for a million rows of seven times costs more than the query; the export only needs the
    UTC wall time. SQLite stores exactly that; PostgreSQL converts ``timestamptz`` to it.
    """

    type = sa.DateTime()
    name = "naive_utc"
    inherit_cache = True


@compiles(naive_utc)
def _naive_utc_sqlite(element, compiler, **kw):
    return compiler.process(element.clauses, **kw)


@compiles(naive_utc, "postgresql")
def _naive_utc_postgresql(element, compiler, **kw):
    return "timezone('UTC', %s)" % compiler.process(element.clauses, **kw)


#: The calls a row shows (:mod:`circle.issues.callbacks`), each its own alias of ``callback``.
FirstRating = aliased(Callback, name="first_rating")
FinalRating = aliased(Callback, name="final_rating")
ClosingCall = aliased(Callback, name="closing_call")


def _join_counted_calls(stmt, after=None):
    """``stmt`` (from ``Issue``) joined to the issue's first rating, final rating and
    unreachable call (each outer: an issue may have one without the others), keeping the
    counted issues (not withdrawn) that have a first rating or an unreachable call.

    With ``after``, only issues after that id: the bound is repeated on each table's
    ``issue_id``, as PostgreSQL does not carry a range across a join by itself and would
    otherwise read every earlier callback for each batch of :func:`iter_rows`.
    """
    def bounded(call, clause):
        condition = sa.and_(call.issue_id == Issue.id, clause)
        return condition if after is None else sa.and_(condition, call.issue_id > after)

    stmt = (stmt
            .outerjoin(FirstRating, bounded(FirstRating,
                                            first_rating_clause(FirstRating, after=after)))
            .outerjoin(FinalRating, bounded(FinalRating,
                                            final_rating_clause(FinalRating, after=after)))
            .outerjoin(ClosingCall, bounded(ClosingCall, unreachable_call_clause(
                ClosingCall, Issue, after=after)))
            .where(counted_issue(Issue),
                   sa.or_(FirstRating.id.is_not(None), ClosingCall.id.is_not(None))))
    if after is not None:
        stmt = stmt.where(Issue.id > after)
    return stmt


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def _in_range(moment, start, end):
    conditions = []
    if start is not None:
        conditions.append(moment >= start)
    if end is not None:
        conditions.append(moment < end)
    return sa.and_(*conditions)


#: The call times each date basis reads (a row matches when any of them is in the range).
_BASIS_MOMENTS = {
    BY_CALLBACK: (FirstRating.called_at, FinalRating.called_at, ClosingCall.called_at),
    BY_FIRST_RATING: (FirstRating.called_at,),
    BY_FINAL_RATING: (FinalRating.called_at,),
    BY_REPORTED: (Issue.reported_at,),
}


def _exported(stmt, user: User, filters: ExportFilters, zone: ZoneInfo):
    """``stmt`` (selecting from ``Issue`` joined by :func:`_join_counted_calls`) narrowed to
    the called-back issues ``user`` may see that match ``filters``."""
    stmt = scope_by_circle(stmt, Issue.circle_id, user)
    start = _day_start(filters.date_from, zone) if filters.date_from else None
    end = _day_start(filters.date_to + timedelta(days=1), zone) if filters.date_to else None
    if start is not None or end is not None:
        stmt = stmt.where(sa.or_(*(_in_range(moment, start, end)
                                   for moment in _BASIS_MOMENTS[filters.date_basis])))
    if filters.community_id is not None:
        stmt = stmt.where(Issue.circle_id.in_(
            sa.select(BusinessCircle.id)
            .where(BusinessCircle.community_id == filters.community_id)
            .scalar_subquery()))
    if filters.circle_id is not None:
        stmt = stmt.where(Issue.circle_id == filters.circle_id)
    if filters.category_id is not None:
        stmt = stmt.where(Issue.category_id == filters.category_id)
    if filters.severity:
        stmt = stmt.where(Issue.severity == filters.severity)
    if filters.level is not None:
        stmt = stmt.where(Issue.highest_level == filters.level)
    if filters.rating == UNREACHABLE:
        stmt = stmt.where(ClosingCall.id.is_not(None))
    elif filters.rating:
        stmt = stmt.where(FinalRating.rating == filters.rating)
    return stmt


#: The keyset bound of :func:`export_statement`: rows of issues after this id (0: all).
AFTER_ID = "after_id"


def _calls_of_issue(*, reached_only: bool = False):
    """How many calls the row's issue has had (that reached the merchant, with
    ``reached_only``): an index lookup per row."""
    call = aliased(Callback)
    stmt = sa.select(sa.func.count()).where(call.issue_id == Issue.id)
    if reached_only:
        stmt = stmt.where(call.reached.is_(True))
    return stmt.correlate(Issue).scalar_subquery()


def export_statement(user: User, filters: ExportFilters, zone: ZoneInfo):
    """The SELECT of export rows ``user`` may see, filtered; not yet ordered or limited.

    Only issues after the bound parameter :data:`AFTER_ID` (0 unless given), for
    :func:`iter_rows`. Times are naive UTC (:class:`naive_utc`).
    :class:`~circle.reports.exporting.RowFormatter` unpacks the columns by position, in this
    order.
    """
    caller = aliased(User)
    stmt = (
        sa.select(
            Issue.id.label("issue_id"),
            Issue.work_order_no,
            Merchant.shop_name,
            BusinessCircle.name.label("circle_name"),
            Community.name.label("community_name"),
            IssueCategory.name.label("category_name"),
            Issue.severity,
            Issue.highest_level,
            Issue.status,
            naive_utc(Issue.reported_at).label("reported_at"),
            naive_utc(Issue.first_on_site_at).label("first_on_site_at"),
            naive_utc(Issue.responded_at).label("responded_at"),
            naive_utc(Issue.resolved_at).label("resolved_at"),
            naive_utc(Issue.response_due_at).label("response_due_at"),
            naive_utc(Issue.resolution_due_at).label("resolution_due_at"),
            naive_utc(FirstRating.called_at).label("first_called_at"),
            FirstRating.rating.label("first_rating"),
            naive_utc(FinalRating.called_at).label("called_at"),
            FinalRating.rating,
            FinalRating.resolved_per_merchant,
            # The merchant's own rating (商户自评) has no caller: the channel says who.
            sa.case((FinalRating.channel == CallbackChannel.SELF,
                     sa.literal(str(CALLBACK_CHANNEL_LABELS[CallbackChannel.SELF]))),
                    else_=caller.display_name).label("called_by"),
            FinalRating.comments,
            naive_utc(ClosingCall.called_at).label("unreachable_at"),
            _calls_of_issue().label("calls"),
            _calls_of_issue(reached_only=True).label("reached_calls"),
            Issue.rehandle_count,
        )
        .select_from(Issue)
        .join(Merchant, Merchant.id == Issue.merchant_id)
        .join(BusinessCircle, BusinessCircle.id == Issue.circle_id)
        .join(Community, Community.id == BusinessCircle.community_id)
        .join(IssueCategory, IssueCategory.id == Issue.category_id)
    )
    after = sa.bindparam(AFTER_ID, 0, type_=sa.Integer)
    stmt = (_join_counted_calls(stmt, after)
            .outerjoin(caller, caller.id == FinalRating.called_by_id))
    return _exported(stmt, user, filters, zone)


def count_rows(user: User, filters: ExportFilters, zone: ZoneInfo) -> int:
    """How many rows the export has right now.

    The same rows as :func:`export_statement` without its name lookups and counts: merchant,
    circle, community and category are required foreign keys, and the caller an outer
    join, so they never add or remove a row.
    """
    stmt = _join_counted_calls(sa.select(sa.func.count()).select_from(Issue))
    return db.session.scalar(_exported(stmt, user, filters, zone)) or 0


def iter_rows(stmt, *, batch_size: int = DEFAULT_BATCH_SIZE) -> Iterator[sa.Row]:
    """Every row of ``stmt`` (an :func:`export_statement`) in issue order, ``batch_size`` at
    a time.

    Keyset pagination (on :data:`AFTER_ID`) rather than OFFSET (which rescans what it
    skips) or a server-side cursor (which would hold one transaction open for the whole
    download). Each batch runs on its own connection, returned to the pool before the rows
    are handed on, so the generator needs no session and nothing accumulates in an identity
    map. The next batch is read on a helper thread while the caller formats this one: the
    database (or SQLite's C code, which releases the GIL) works on the second core meanwhile.
    """
    engine = db.engine
    stmt = stmt.order_by(Issue.id).limit(batch_size)

    def fetch(last_id: int) -> list[sa.Row]:
        with engine.connect() as connection:
            return connection.execute(stmt, {AFTER_ID: last_id}).all()

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-prefetch") as reader:
        batch = fetch(0)
        while batch:
            # Read ahead only after a full batch: a short one was the last.
            ahead = (reader.submit(fetch, batch[-1].issue_id)
                     if len(batch) == batch_size else None)
            yield from batch
            batch = ahead.result() if ahead is not None else []
