"""figures that cannot hide dissatisfaction: first and final ratings, a response kept once

Revision ID: 0009_first_callback_figures
Revises: 0008_user_is_service_account
Create Date: 2026-12-01 21:00:00

"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0009_first_callback_figures'
down_revision = '0008_user_is_service_account'
branch_labels = None
depends_on = None

SATISFIED = ('very_satisfied', 'satisfied', 'basically_satisfied')
WITHDRAWN = 'withdrawn'

# The tables as this revision reads them (not the models: they move on).
issue = sa.table(
    'issue', sa.column('id', sa.Integer()), sa.column('circle_id', sa.Integer()),
    sa.column('status', sa.String()), sa.column('reported_at', sa.DateTime()),
    sa.column('first_on_site_at', sa.DateTime()), sa.column('responded_at', sa.DateTime()),
    sa.column('resolved_at', sa.DateTime()), sa.column('response_due_at', sa.DateTime()),
    sa.column('resolution_due_at', sa.DateTime()), sa.column('rehandle_count', sa.Integer()),
    sa.column('callback_attempts', sa.Integer()),
    sa.column('callback_unreachable', sa.Boolean()))
issue_event = sa.table(
    'issue_event', sa.column('issue_id', sa.Integer()), sa.column('action', sa.String()),
    sa.column('created_at', sa.DateTime()))
callback = sa.table(
    'callback', sa.column('id', sa.Integer()), sa.column('issue_id', sa.Integer()),
    sa.column('called_at', sa.DateTime()), sa.column('reached', sa.Boolean()),
    sa.column('rating', sa.String()), sa.column('resolved_per_merchant', sa.Boolean()))
figures = sa.table(
    'circle_day_figures', sa.column('day', sa.Date()), sa.column('circle_id', sa.Integer()),
    *(sa.column(name, sa.Integer()) for name in (
        'reported', 'withdrawn', 'settled', 'responded', 'responded_on_time', 'resolved',
        'resolved_with_deadline', 'resolved_on_time', 'called_back', 'first_rated',
        'first_satisfied', 'first_rehandled', 'rated', 'satisfied', 'confirmed',
        'unreachable')))
FIELDS = [column.name for column in figures.columns][2:]


def upgrade():
    # Reviewed by hand. In place on SQLite (recreate='never', as 0008): a batch copy of
    # "issue" would drop the old table, and with foreign keys on that deletes its events,
    # visits and callbacks (ON DELETE CASCADE). DROP COLUMN in place needs SQLite 3.35+.
    with op.batch_alter_table('issue', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('responded_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('circle_day_figures', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('callbacks')
        batch_op.add_column(sa.Column('first_rated', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('first_satisfied', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('first_rehandled', sa.Integer(), server_default='0', nullable=False))

    _fill_responded_at()
    _recount_figures()


def downgrade():
    with op.batch_alter_table('circle_day_figures', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('first_rehandled')
        batch_op.drop_column('first_satisfied')
        batch_op.drop_column('first_rated')
        batch_op.add_column(sa.Column('callbacks', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('issue', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('responded_at')
    # The figures keep this revision's counts (the older code reads the columns it knows);
    # `flask circle rebuild-figures` recounts them by the older rules.


def _earlier(a, b):
    """The earlier of two moments, either of which may be NULL (LEAST on both databases)."""
    return sa.case((a.is_(None), b), (b.is_(None), a), (a < b, a), else_=b)


def _fill_responded_at():
    """The response (circle/issues/response.py): the earliest on-site arrival or resolution.

    An issue never re-handled still has its only resolution in resolved_at. A re-handled one
    lost its first resolution there, and its timeline's first "resolve" event has it: that
    is written first (a few per cent of the issues), then every issue takes the earlier of
    its arrival and its resolution.
    """
    first_resolution = (sa.select(sa.func.min(issue_event.c.created_at))
                        .where(issue_event.c.issue_id == issue.c.id,
                               issue_event.c.action == 'resolve')
                        .scalar_subquery())
    op.execute(issue.update().where(issue.c.rehandle_count > 0)
               .values(responded_at=sa.func.coalesce(first_resolution, issue.c.resolved_at)))
    resolution = 'CASE WHEN rehandle_count = 0 THEN resolved_at ELSE responded_at END'
    if op.get_bind().dialect.name == 'postgresql':
        # A rewrite of the table (ALTER … TYPE … USING, the same type) writes every row once
        # and rebuilds the indexes in bulk: 14 s for a million issues, where an UPDATE, which
        # adds a new version of each row and of its entry in each of the 14 indexes, took 80.
        # (LEAST ignores NULLs.)
        op.alter_column('issue', 'responded_at', type_=sa.DateTime(timezone=True),
                        postgresql_using=f'LEAST(first_on_site_at, {resolution})')
    else:
        op.execute(issue.update().values(responded_at=_earlier(
            issue.c.first_on_site_at, sa.literal_column(f'({resolution})'))))


def _day_of(column, dialect_name):
    """The local day of a UTC moment (as circle/reports/figures.py computes it)."""
    from circle.timeutil import local_zone

    zone = local_zone()
    if dialect_name == 'postgresql':
        return sa.cast(sa.func.timezone(zone.key, column), sa.Date)
    offset = int(zone.utcoffset(datetime.now(timezone.utc).replace(tzinfo=None)).total_seconds())
    return sa.func.date(column, f'{offset:+d} seconds')


def _count_if(condition):
    return sa.func.sum(sa.case((condition, 1), else_=0))


def _none_beyond(call, *, later, ratings_only):
    """No other call of the same issue (a rating, if ratings_only) after (or before) it, by
    (called_at, id)."""
    other = callback.alias('other')
    a, b = (other, call) if later else (call, other)
    beyond = sa.or_(a.c.called_at > b.c.called_at,
                    sa.and_(a.c.called_at == b.c.called_at, a.c.id > b.c.id))
    conditions = [other.c.issue_id == call.c.issue_id, beyond]
    if ratings_only:
        conditions += [other.c.reached.is_(True), other.c.rating.is_not(None)]
    return ~sa.exists().where(*conditions)


def _recount_figures():
    """Every (day, circle) row counted again, in one INSERT … SELECT per database."""
    dialect = op.get_bind().dialect.name
    counted = issue.c.status != WITHDRAWN

    def grouped(moment, source, where, **counts):
        day = _day_of(moment, dialect).label('day')
        return (sa.select(day, issue.c.circle_id.label('circle_id'),
                          *(counts.get(name, sa.literal_column('0')).label(name) for name in FIELDS))
                .select_from(source).where(*where).group_by(day, issue.c.circle_id))

    responded = sa.and_(counted, issue.c.response_due_at.is_not(None),
                        issue.c.responded_at.is_not(None))
    reported = grouped(
        issue.c.reported_at, issue, [],
        reported=sa.func.count(),
        withdrawn=_count_if(issue.c.status == WITHDRAWN),
        settled=_count_if(issue.c.status.in_(('resolved', 'closed'))),
        responded=_count_if(responded),
        responded_on_time=_count_if(sa.and_(
            responded, issue.c.responded_at <= issue.c.response_due_at)))
    resolved = grouped(
        issue.c.resolved_at, issue, [issue.c.resolved_at.is_not(None), counted],
        resolved=sa.func.count(),
        resolved_with_deadline=sa.func.count(issue.c.resolution_due_at),
        resolved_on_time=_count_if(issue.c.resolved_at <= issue.c.resolution_due_at),
        called_back=_count_if(sa.or_(issue.c.status == 'closed',
                                     issue.c.callback_attempts > 0)))
    rating = sa.and_(callback.c.reached.is_(True), callback.c.rating.is_not(None))
    calls = callback.join(issue, issue.c.id == callback.c.issue_id)
    satisfied = callback.c.rating.in_(SATISFIED)
    first = grouped(
        callback.c.called_at, calls,
        [counted, rating, _none_beyond(callback, later=False, ratings_only=True)],
        first_rated=sa.func.count(), first_satisfied=_count_if(satisfied),
        first_rehandled=_count_if(issue.c.rehandle_count > 0))
    final = grouped(
        callback.c.called_at, calls,
        [counted, rating, _none_beyond(callback, later=True, ratings_only=True)],
        rated=sa.func.count(), satisfied=_count_if(satisfied),
        confirmed=_count_if(callback.c.resolved_per_merchant.is_(True)))
    unreachable = grouped(
        callback.c.called_at, calls,
        [counted, issue.c.callback_unreachable.is_(True),
         _none_beyond(callback, later=True, ratings_only=False)],
        unreachable=sa.func.count())
    parts = sa.union_all(reported, resolved, first, final, unreachable).subquery('parts')
    totals = sa.select(parts.c.day, parts.c.circle_id,
                       *(sa.func.sum(parts.c[name]) for name in FIELDS)
                       ).group_by(parts.c.day, parts.c.circle_id)
    op.execute(figures.delete())
    op.execute(figures.insert().from_select(['day', 'circle_id', *FIELDS], totals))
