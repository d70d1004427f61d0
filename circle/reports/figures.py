"""Pre-aggregated dashboard figures: one row per business circle (and per community) and
local day.

The dashboard's rates count issues by the date of the event each one is about
(registration, latest resolution, the first rating, the final rating, the call that found
the merchant unreachable), each count declared once in :mod:`circle.reports.counts`. Counting
them from the issue and callback tables costs time in proportion to the issues in the
period — tens of thousands for a district's month at a million issues. Instead each
``(day, circle)`` keeps its counts in :class:`CircleDayFigures`, and the dashboard sums
at most ``days × circles`` small rows; each ``(day, community)`` keeps the sum of its
circles' rows in :class:`CommunityDayFigures`, which a view over many communities sums
instead (``days × communities``).

**Kept correct on every change.** Whenever a flush touches an issue or a callback — any
workflow transition, an administrator's edit, the API, an import — the ``(day, circle)``
keys the issue counts in, before and after the change, are marked; before the transaction
commits they are recounted from the issue and callback tables (a few indexed rows each) and
written back, then their communities' rows are summed again from the circles' rows (also
when a circle moves to another community). Recounting rather than adding deltas means a
row is always exactly what the raw tables say, whatever changed. On PostgreSQL each row is
locked (``SELECT … FOR UPDATE``) before it is recounted — every circle row first, then
every community row, each set in one order, so that no two transactions wait on each other
in a circle — so two transactions touching the same day and circle (or community) queue up
and the second recounts with the first one's changes committed. On SQLite,
writers are serialised by the database lock.

Bulk writes that bypass the ORM (``flask circle gen-synthetic``) call
:func:`rebuild_figures`; ``flask circle rebuild-figures`` does the same by hand.

Days are local days in ``CIRCLE_TIMEZONE``; on SQLite they are computed with the zone's
current UTC offset, which is exact for zones without daylight saving time (China's).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from circle.extensions import db
from circle.issues.models import Callback, Issue, Status
from circle.org.models import BusinessCircle
from circle.reports.counts import COUNTS, DATINGS, FIELDS, dating_conditions
from circle.timeutil import local_zone


def _count_column(name):
    return mapped_column(name, sa.Integer, default=0, server_default="0", nullable=False)


class DayCounts:
    """The dashboard's counts of one local day, as columns (see :mod:`circle.reports.counts`)."""

    reported: Mapped[int] = _count_column("reported")
    withdrawn: Mapped[int] = _count_column("withdrawn")
    settled: Mapped[int] = _count_column("settled")
    responded: Mapped[int] = _count_column("responded")
    responded_on_time: Mapped[int] = _count_column("responded_on_time")
    resolved: Mapped[int] = _count_column("resolved")
    resolved_with_deadline: Mapped[int] = _count_column("resolved_with_deadline")
    resolved_on_time: Mapped[int] = _count_column("resolved_on_time")
    called_back: Mapped[int] = _count_column("called_back")
    first_rated: Mapped[int] = _count_column("first_rated")
    first_satisfied: Mapped[int] = _count_column("first_satisfied")
    first_rehandled: Mapped[int] = _count_column("first_rehandled")
    rated: Mapped[int] = _count_column("rated")
    satisfied: Mapped[int] = _count_column("satisfied")
    confirmed: Mapped[int] = _count_column("confirmed")
    unreachable: Mapped[int] = _count_column("unreachable")
    returned: Mapped[int] = _count_column("returned")
    sign_required: Mapped[int] = _count_column("sign_required")
    signed_on_time: Mapped[int] = _count_column("signed_on_time")
    contact_required: Mapped[int] = _count_column("contact_required")
    contacted_on_time: Mapped[int] = _count_column("contacted_on_time")
    extended: Mapped[int] = _count_column("extended")
    chased: Mapped[int] = _count_column("chased")
    merged: Mapped[int] = _count_column("merged")


class CircleDayFigures(DayCounts, db.Model):
    """The dashboard's counts for one business circle and one local day."""

    __tablename__ = "circle_day_figures"
    __table_args__ = (
        sa.Index("ix_circle_day_figures_circle_day", "circle_id", "day"),
        # Stored in primary-key order on SQLite, so that a period is one contiguous range.
        {"sqlite_with_rowid": False},
    )

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    circle_id: Mapped[int] = mapped_column(
        sa.ForeignKey("business_circle.id", ondelete="CASCADE"), primary_key=True)


class CommunityDayFigures(DayCounts, db.Model):
    """The same counts for one community and one local day: the sum of its circles' rows,
    rewritten whenever one of them is. A district's dashboard sums these (fifty
    communities) rather than a thousand circles' rows, so that its cost does not grow
    with the number of circles."""

    __tablename__ = "community_day_figures"
    __table_args__ = (
        sa.Index("ix_community_day_figures_community_day", "community_id", "day"),
        {"sqlite_with_rowid": False},
    )

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    community_id: Mapped[int] = mapped_column(
        sa.ForeignKey("community.id", ondelete="CASCADE"), primary_key=True)


class CategoryDayFigures(db.Model):
    """Issues reported on one local day in one community, per category: how many, how many
    withdrawn or returned, how many resolved or closed (the dashboard's category chart).
    Counted again from the issues whenever the community's day is summed again."""

    __tablename__ = "category_day_figures"
    __table_args__ = ({"sqlite_with_rowid": False},)

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    community_id: Mapped[int] = mapped_column(
        sa.ForeignKey("community.id", ondelete="CASCADE"), primary_key=True)
    category_id: Mapped[int] = mapped_column(
        sa.ForeignKey("issue_category.id", ondelete="CASCADE"), primary_key=True)
    reported: Mapped[int] = _count_column("reported")
    withdrawn: Mapped[int] = _count_column("withdrawn")
    settled: Mapped[int] = _count_column("settled")


def category_counts() -> list:
    """The category chart's counts over a set of issues, declared once: for the rows kept
    here and for a count straight from the issues (a liaison's circles)."""
    return [sa.func.count().label("reported"),
            # Withdrawn or returned: out of the resolution rate, as everywhere.
            count_if(Issue.status.in_(Status.LEFT)).label("withdrawn"),
            count_if(Issue.status.in_((Status.RESOLVED, Status.CLOSED))).label("settled")]


# --- local days ------------------------------------------------------------------------

def local_day(moment: datetime) -> date:
    """The local day (``CIRCLE_TIMEZONE``) of an aware UTC moment."""
    return moment.astimezone(local_zone()).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """``[local midnight of day, next local midnight)`` in UTC."""
    zone = local_zone()
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def _day_of(column, dialect_name: str):
    """The local day of a UTC timestamp column, computed by the database."""
    zone = local_zone()
    if dialect_name == "postgresql":
        return sa.cast(sa.func.timezone(zone.key, column), sa.Date)
    return sa.type_coerce(sa.func.date(column, f"{_utc_offset(zone):+d} seconds"), sa.Date)


def _utc_offset(zone) -> int:
    """The zone's offset from UTC now, in seconds."""
    return int(zone.utcoffset(datetime.now(timezone.utc).replace(tzinfo=None)).total_seconds())


# --- counting from the raw tables ------------------------------------------------------

def count_if(condition):
    """``sum(CASE WHEN condition THEN 1 ELSE 0 END)``: how many rows of the group match."""
    return sa.func.sum(sa.case((condition, 1), else_=0))


def _restrict(stmt, column, circle_column, circle_id, start, end):
    if circle_id is not None:
        stmt = stmt.where(circle_column == circle_id)
    if start is not None:
        stmt = stmt.where(column >= start, column < end)
    return stmt


def _counts_dated(dialect, dated, circle_id=None, start=None, end=None):
    """Per circle and day of the ``dated`` date (a key of
    :data:`~circle.reports.counts.DATINGS`): every stored count so dated, each
    ``count_if`` its condition over the issues (or their dating calls) that date counts."""
    dating = DATINGS[dated]
    day = _day_of(dating.moment, dialect).label("day")
    stmt = _dated_from(sa.select(Issue.circle_id, day, *_count_columns(dated)), dated)
    return _restrict(stmt.group_by(Issue.circle_id, day), dating.moment, Issue.circle_id,
                     circle_id, start, end)


def _count_columns(dated: str) -> list:
    """The stored counts ``dated`` dates, each ``count_if`` its condition, labelled."""
    return [(sa.func.count() if count.condition is None else count_if(count.condition())
             ).label(count.name) for count in COUNTS if count.stored and count.dated == dated]


def _dated_from(stmt, dated: str):
    """``stmt`` over the issues (or their dating calls) that date ``dated`` counts."""
    if DATINGS[dated].call is not None:
        stmt = stmt.select_from(Callback).join(Issue, Issue.id == Callback.issue_id)
    return stmt.where(*dating_conditions(dated))


@functools.cache
def _recount_circle(dated: str) -> sa.Update:
    """``UPDATE`` of one ``(day, circle)`` row's counts dated by ``dated``, counted in the
    same statement from the issues (or calls) of that circle in the day's bounds
    (``key_day``, ``key_circle``, ``start``, ``end``), ``RETURNING`` them. Counting in the
    UPDATE rather than in a SELECT before it saves a round trip per row; the row is locked
    before (:func:`_lock`), so the statement's snapshot sees every recount committed
    before ours. Built once: building it cost more than executing it."""
    table, moment = CircleDayFigures.__table__, DATINGS[dated].moment
    circle_id = sa.bindparam("key_circle", type_=sa.Integer)
    names = [column.name for column in _count_columns(dated)]
    # One row whatever matches (no GROUP BY), with the circle's id to join it on.
    counts = _dated_from(sa.select(circle_id.label("circle_id"), *[
        sa.func.coalesce(column, 0).label(column.name) for column in _count_columns(dated)
    ]), dated).where(Issue.circle_id == circle_id, moment >= sa.bindparam("start"),
                     moment < sa.bindparam("end")).subquery("counted")
    return (table.update()
            .where(table.c.day == sa.bindparam("key_day"),
                   table.c.circle_id == counts.c.circle_id)
            .values({name: counts.c[name] for name in names})
            .returning(*[table.c[name] for name in names]))


#: Which counts each kind of date dates, and the dates (queries) that count them.
KINDS = {
    kind: (tuple(count.name for count in COUNTS
                 if count.stored and DATINGS[count.dated].kind == kind),
           tuple(dated for dated, dating in DATINGS.items() if dating.kind == kind))
    for kind in dict.fromkeys(dating.kind for dating in DATINGS.values())
}


def count_raw(connection, circle_id=None, day=None, kinds=tuple(KINDS)
              ) -> dict[tuple[date, int], dict]:
    """The figures counted from the issue and callback tables: for one ``(day, circle)``,
    or for every day and circle when both are ``None``; only the counts of ``kinds``."""
    dialect = connection.dialect.name
    start, end = day_bounds(day) if day is not None else (None, None)
    fields = [name for kind in kinds for name in KINDS[kind][0]]
    totals: dict[tuple[date, int], dict] = defaultdict(lambda: dict.fromkeys(fields, 0))
    for kind in kinds:
        for dated in KINDS[kind][1]:
            for row in connection.execute(_counts_dated(dialect, dated, circle_id, start, end)):
                values = totals[row.day, row.circle_id]
                for name, value in row._mapping.items():
                    if name in values:
                        values[name] += int(value or 0)
    return totals


# --- keeping the rows correct ----------------------------------------------------------


_PENDING = "circle_figures_pending"


#: What dates an issue (its own columns), and what dates a call.
_DATED_BY = {Issue: ("circle_id", "reported_at", "resolved_at"), Callback: ("called_at",)}


def _pending(session) -> dict:
    """``issues``: ids written in this transaction; ``keys``: ``{(day, circle): kinds}``
    to recount besides theirs; ``moved``: ``{circle: community before}`` of circles that
    may have moved to another community (both communities' rows are summed again)."""
    return session.info.setdefault(_PENDING, {"issues": set(), "keys": defaultdict(set),
                                              "moved": {}})


def _merge(keys: dict, more: dict) -> None:
    for key, kinds in more.items():
        keys[key] |= kinds


@event.listens_for(Session, "before_flush")
def _mark_old_keys(session, flush_context, instances):
    """Before an issue's circle or dates change, or a call's time (or it or a call goes),
    remember the days and circles the issue counts in now: the database still holds the
    old values."""
    issue_ids, deleted = set(), session.deleted
    for obj in (*session.dirty, *deleted):
        dated_by = _DATED_BY.get(type(obj))
        if dated_by is None or not (obj in deleted or any(
                sa.inspect(obj).attrs[name].history.has_changes() for name in dated_by)):
            continue
        issue_ids.add(obj.id if isinstance(obj, Issue) else obj.issue_id)
    issue_ids.discard(None)
    if issue_ids:
        _merge(_pending(session)["keys"], _current_keys(session.connection(), issue_ids))
    # A circle given another community: its community as the database has it now (the
    # old value may not be loaded), compared with the new one before commit.
    for obj in session.dirty:
        if isinstance(obj, BusinessCircle) and obj.id is not None and any(
                sa.inspect(obj).attrs[name].history.added for name in ("community_id",
                                                                       "community")):
            old = session.connection().scalar(
                sa.select(BusinessCircle.community_id).where(BusinessCircle.id == obj.id))
            _pending(session)["moved"].setdefault(obj.id, old)


@event.listens_for(Session, "after_flush")
def _mark_issues(session, flush_context):
    """Remember which issues were written; their days are recounted before commit."""
    pending = _pending(session)
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Issue) and obj.id is not None:
            pending["issues"].add(obj.id)
        elif isinstance(obj, Callback) and obj.issue_id is not None:
            pending["issues"].add(obj.issue_id)


@event.listens_for(Session, "before_commit")
def _recount(session):
    """Recount the marked ``(day, circle)`` rows before the transaction commits."""
    if session.new or session.dirty or session.deleted:
        session.flush()  # commit flushes after this hook: flush now to see every change
    pending = session.info.pop(_PENDING, None)
    if not pending or not (pending["issues"] or pending["keys"] or pending["moved"]):
        return
    connection = session.connection()
    keys, community_of = pending["keys"], {}
    _merge(keys, _current_keys(connection, pending["issues"], community_of))
    circles = CircleDayFigures.__table__
    # Each key is recounted only for the kinds of date that put an issue there: a
    # registration recounts its day's registrations, not that day's calls.
    for (day, circle_id), kinds in sorted(keys.items()):  # one order everywhere: no deadlocks
        key = {"day": day, "circle_id": circle_id}
        _lock(connection, circles, key)
        start, end = day_bounds(day)
        counted = {}
        for dated in (dated for kind in KINDS if kind in kinds for dated in KINDS[kind][1]):
            counted.update(connection.execute(_recount_circle(dated), {
                "key_day": day, "key_circle": circle_id, "start": start, "end": end,
            }).one()._mapping)
        _drop_if_empty(connection, circles, key, counted)
    # Then (after every circle row, in one order: no deadlocks) the communities' rows
    # those circles add up to.
    communities = _community_keys(connection, keys, pending["moved"], community_of)
    for (day, community_id), categories in sorted(communities.items()):
        key = {"day": day, "community_id": community_id}
        _lock(connection, CommunityDayFigures.__table__, key)
        # Summed after the lock is held: the sum's snapshot sees every recount committed
        # before ours. The categories too: the community's row lock covers their rows.
        params = {"key_day": day, "key_community": community_id}
        if categories:
            params["start"], params["end"] = day_bounds(day)
        summing, *counting = _recount_community(connection.dialect.name, categories)
        summed = connection.execute(summing, params).one()._mapping
        for statement in counting:
            connection.execute(statement, params)
        _drop_if_empty(connection, CommunityDayFigures.__table__, key, summed)


def _community_keys(connection, circle_keys, moved,
                    community_of: dict) -> dict[tuple[date, int], bool]:
    """The ``(day, community)`` rows to sum again — those of the recounted circles' days
    and, for a circle moved to another community, every day it has counts on in both —
    each with whether its categories are counted again too: only for a day of registration
    (the categories count issues by the day they were reported; any change to an issue
    recounts that day) and for a moved circle's days. ``community_of`` holds the
    communities of circles already read FOR SHARE (:func:`_current_keys`); the others are
    read here the same way."""
    circle_ids = {circle_id for _day, circle_id in circle_keys} | set(moved)
    if missing := sorted(circle_ids - community_of.keys()):
        community_of.update(connection.execute(
            _for_share(sa.select(BusinessCircle.id, BusinessCircle.community_id)
                       .where(BusinessCircle.id.in_(missing)))).all())
    keys: dict[tuple[date, int], bool] = {}
    for (day, circle_id), kinds in circle_keys.items():
        if circle_id in community_of:
            key = (day, community_of[circle_id])
            keys[key] = keys.get(key, False) or "reported" in kinds
    table = CircleDayFigures.__table__
    for circle_id, old in moved.items():
        new = community_of.get(circle_id)
        if new == old or new is None:
            continue
        for (day,) in connection.execute(sa.select(table.c.day)
                                         .where(table.c.circle_id == circle_id)):
            keys[day, old] = keys[day, new] = True
    return keys


def _category_recount(dialect: str) -> tuple:
    """The statements that count one community's day per category again from its issues
    (a day's issues of one community: a few indexed rows), with the day (``key_day``, its
    bounds ``start`` and ``end``) and the community (``key_community``) as parameters.
    PostgreSQL: the counts upserted, and the rows of categories no longer counted (an
    issue given another category) deleted, as two CTEs (to run within another statement);
    SQLite: a DELETE and an INSERT."""
    table = CategoryDayFigures.__table__
    day = sa.bindparam("key_day", type_=sa.Date)
    community_id = sa.bindparam("key_community", type_=sa.Integer)
    of_day = (table.c.day == day, table.c.community_id == community_id)
    counts = _category_counts(day, community_id, Issue.circle_id.in_(
        sa.select(BusinessCircle.id).where(BusinessCircle.community_id == community_id)),
        Issue.reported_at >= sa.bindparam("start"), Issue.reported_at < sa.bindparam("end"))
    names = [column.name for column in counts.selected_columns]
    if dialect != "postgresql":
        return table.delete().where(*of_day), table.insert().from_select(names, counts)
    counted = counts.cte("counted")
    gone = table.delete().where(*of_day, ~sa.exists().where(
        counted.c.category_id == table.c.category_id)).cte("gone")
    insert = postgresql.insert(table).from_select(names, sa.select(counted))
    return gone, insert.on_conflict_do_update(
        index_elements=[table.c.day, table.c.community_id, table.c.category_id],
        set_={name: insert.excluded[name] for name in ("reported", "withdrawn", "settled")},
    ).cte("upserted")


def _category_counts(day, community_id, *where, per_day: bool = False) -> sa.Select:
    """:class:`CategoryDayFigures` rows counted from the issues matching ``where`` per
    category: of one day and community (literals), or ``per_day`` grouped by the ``day``
    and ``community_id`` columns too."""
    by = (day, community_id) if per_day else ()
    return (sa.select(day.label("day"), community_id.label("community_id"), Issue.category_id,
                      *category_counts())
            .where(*where).group_by(*by, Issue.category_id))


def _category_rows(day, community_id, *where, per_day: bool = False) -> sa.Insert:
    """``INSERT … SELECT`` of :func:`_category_counts`."""
    counts = _category_counts(day, community_id, *where, per_day=per_day)
    return CategoryDayFigures.__table__.insert().from_select(
        [column.name for column in counts.selected_columns], counts)


def _circle_sums(*columns) -> sa.Select:
    """``columns`` and the sums of every count of the circles' rows (0 over none), joined
    to their circles (for the communities' rows)."""
    table, circle_table = CircleDayFigures.__table__, BusinessCircle.__table__
    return (sa.select(*columns, *[sa.func.coalesce(sa.func.sum(table.c[name]), 0).label(name)
                                  for name in FIELDS])
            .select_from(table.join(circle_table, circle_table.c.id == table.c.circle_id)))


@functools.cache
def _recount_community(dialect: str, categories: bool) -> tuple:
    """The statements that write one community's row of one day (``key_day``,
    ``key_community``) again, built once: an ``UPDATE`` to the sums of its circles' rows,
    summed in the same statement, ``RETURNING`` them; with ``categories``, its categories
    counted again too (:func:`_category_recount`) — on PostgreSQL within the same
    statement, as CTEs of the UPDATE (a round trip each saved), on SQLite after it."""
    update = _sum_community()
    if not categories:
        return (update,)
    counting = _category_recount(dialect)
    if dialect != "postgresql":
        return (update, *counting)
    for cte in counting:
        update = update.add_cte(cte)  # data-modifying CTEs run whether read or not
    return (update,)


def _sum_community() -> sa.Update:
    """``UPDATE`` of one community's day to the sums of its circles' rows, ``RETURNING``
    them."""
    table, circle_table = CommunityDayFigures.__table__, BusinessCircle.__table__
    community_id = sa.bindparam("key_community", type_=sa.Integer)
    # One row whatever matches (no GROUP BY), with the community's id to join it on.
    summed = _circle_sums(community_id.label("community_id")).where(
        CircleDayFigures.__table__.c.day == sa.bindparam("key_day"),
        circle_table.c.community_id == community_id).subquery("summed")
    return (table.update()
            .where(table.c.day == sa.bindparam("key_day"),
                   table.c.community_id == summed.c.community_id)
            .values({name: summed.c[name] for name in FIELDS})
            .returning(*[table.c[name] for name in FIELDS]))


@event.listens_for(Session, "after_rollback")
def _forget(session):
    session.info.pop(_PENDING, None)


def _for_share(stmt):
    """``stmt`` reading circles FOR SHARE (PostgreSQL): a circle being moved by another
    transaction is read once that move has committed, with its new community, whose row
    is then summed again here. Read plainly, it would be the old community: the move's sum
    of the new one misses this recount, and this one's sum of the old one no longer counts
    the circle. (The move holds no circle row's lock, only the circle's and, after it,
    community rows'; a recount takes the circles' shared locks before its rows' locks or
    after them, never between two of its own: no deadlock.)"""
    return stmt.with_for_update(read=True, of=BusinessCircle)


def _current_keys(connection, issue_ids,
                  community_of: dict | None = None) -> dict[tuple[date, int], set[str]]:
    """The days and circles the issues count in now, with the kind of date that puts them
    there (registration, resolution, calls). With ``community_of``, the community of each
    of their circles too, read FOR SHARE (:func:`_for_share`) in the same statement."""
    keys: dict[tuple[date, int], set[str]] = defaultdict(set)
    ids = sorted(issue_ids)
    stmt = sa.select(Issue.circle_id, Issue.reported_at, Issue.resolved_at, Callback.called_at)
    if community_of is not None:
        stmt = _for_share(stmt.add_columns(BusinessCircle.community_id).join(
            BusinessCircle, BusinessCircle.id == Issue.circle_id))
    # The issues with their calls in one statement (one row per call, or one without): a
    # round trip less than asking for the calls apart, and most issues have none.
    stmt = stmt.outerjoin(Callback, Callback.issue_id == Issue.id)
    for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        for circle_id, reported_at, resolved_at, called_at, *community in connection.execute(
                stmt.where(Issue.id.in_(chunk))):
            if community_of is not None:
                community_of[circle_id] = community[0]
            keys[local_day(reported_at), circle_id].add("reported")
            if resolved_at is not None:
                keys[local_day(resolved_at), circle_id].add("resolved")
            if called_at is not None:
                keys[local_day(called_at), circle_id].add("callback")
    return keys


def _insert(dialect_name, table):
    return (postgresql.insert(table) if dialect_name == "postgresql"
            else sqlite.insert(table))


def _lock(connection, table, key: dict) -> None:
    """Make sure the row of ``key`` (its primary key's values) exists and, on PostgreSQL,
    hold its lock until commit: one ``INSERT … ON CONFLICT DO UPDATE`` inserts it or locks
    the existing row (waiting for whoever holds it)."""
    connection.execute(_lock_statement(connection.dialect.name, table), key)


@functools.cache
def _lock_statement(dialect_name: str, table) -> sa.Insert:
    """:func:`_lock`'s statement, its values given when it runs: built once (building
    ``excluded`` copies every column of the table, twice a registration)."""
    insert = _insert(dialect_name, table)
    if dialect_name != "postgresql":
        return insert.on_conflict_do_nothing()
    return insert.on_conflict_do_update(index_elements=list(table.primary_key.columns),
                                        set_={"day": insert.excluded.day})


def _drop_if_empty(connection, table, key: dict, written) -> None:
    """Remove the row of ``key`` if the counts just ``written`` to it are all 0 and so
    are the others: a row left with nothing."""
    if not any(written.values()):
        connection.execute(table.delete().where(
            *(table.c[name] == value for name, value in key.items()),
            *(table.c[name] == 0 for name in FIELDS)))


def rebuild_figures(session=None) -> int:
    """Recount every row from the issue and callback tables; returns the rows written."""
    session = session or db.session
    written = rebuild_figures_on(session.connection())
    session.info.pop(_PENDING, None)
    return written


def rebuild_figures_on(connection) -> int:
    """:func:`rebuild_figures` on a bare connection."""
    table = CircleDayFigures.__table__
    totals = count_raw(connection)
    connection.execute(table.delete())
    rows = [{"day": day, "circle_id": circle_id, **values}
            for (day, circle_id), values in totals.items() if any(values.values())]
    for start in range(0, len(rows), 5000):
        connection.execute(table.insert(), rows[start:start + 5000])
    rebuild_community_figures_on(connection)
    return len(rows)


def rebuild_community_figures_on(connection) -> None:
    """Write every community's rows again as the sums of its circles' rows, and its
    categories' rows from its issues."""
    communities, categories = CommunityDayFigures.__table__, CategoryDayFigures.__table__
    day, community_id = CircleDayFigures.__table__.c.day, BusinessCircle.__table__.c.community_id
    connection.execute(communities.delete())
    connection.execute(communities.insert().from_select(
        ["day", "community_id", *FIELDS],
        _circle_sums(day, community_id).group_by(day, community_id)))
    connection.execute(categories.delete())
    connection.execute(_category_rows(
        _day_of(Issue.reported_at, connection.dialect.name), BusinessCircle.community_id,
        BusinessCircle.id == Issue.circle_id, per_day=True))
