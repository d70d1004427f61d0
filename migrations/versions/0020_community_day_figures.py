"""Dashboard figures per community and day (the sums of its circles' rows) and per
community, day and category

Revision ID: 0020_community_day_figures
Revises: 0019_staged_uploads
Create Date: 2026-12-03 10:00:00

"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0020_community_day_figures'
down_revision = '0019_staged_uploads'
branch_labels = None
depends_on = None

#: The counts of circle_day_figures at this revision (written out: a migration must not
#: read the models of a later one).
FIELDS = (
    'reported', 'withdrawn', 'settled', 'responded', 'responded_on_time', 'resolved',
    'resolved_with_deadline', 'resolved_on_time', 'called_back', 'first_rated',
    'first_satisfied', 'first_rehandled', 'rated', 'satisfied', 'confirmed', 'unreachable',
    'returned', 'sign_required', 'signed_on_time', 'contact_required', 'contacted_on_time',
    'extended', 'chased', 'merged',
)


def upgrade():
    # Reviewed by hand. A new table, filled from the circles' rows that exist: each
    # community's day is the sum of its circles' days, as the app keeps it from now on.
    op.create_table('community_day_figures',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    *[sa.Column(name, sa.Integer(), server_default='0', nullable=False) for name in FIELDS],
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_community_day_figures_community_id_community'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('day', 'community_id', name=op.f('pk_community_day_figures')),
    sqlite_with_rowid=False,
    )
    with op.batch_alter_table('community_day_figures', schema=None) as batch_op:
        batch_op.create_index('ix_community_day_figures_community_day', ['community_id', 'day'], unique=False)

    columns = ', '.join(FIELDS)
    sums = ', '.join(f'SUM(f.{name})' for name in FIELDS)
    op.execute(
        f'INSERT INTO community_day_figures (day, community_id, {columns}) '
        f'SELECT f.day, c.community_id, {sums} FROM circle_day_figures f '
        'JOIN business_circle c ON c.id = f.circle_id GROUP BY f.day, c.community_id')

    op.create_table('category_day_figures',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('reported', sa.Integer(), server_default='0', nullable=False),
    sa.Column('withdrawn', sa.Integer(), server_default='0', nullable=False),
    sa.Column('settled', sa.Integer(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['category_id'], ['issue_category.id'], name=op.f('fk_category_day_figures_category_id_issue_category'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_category_day_figures_community_id_community'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('day', 'community_id', 'category_id', name=op.f('pk_category_day_figures')),
    sqlite_with_rowid=False,
    )
    # Issues reported per local day (as circle/reports/figures.py computes it), community
    # and category; withdrawn or returned, and resolved or closed, by their status now.
    day = _day_of('i.reported_at', op.get_bind().dialect.name)
    op.execute(
        'INSERT INTO category_day_figures (day, community_id, category_id, reported, '
        f'withdrawn, settled) SELECT {day}, c.community_id, i.category_id, COUNT(*), '
        "SUM(CASE WHEN i.status IN ('withdrawn', 'returned') THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN i.status IN ('resolved', 'closed') THEN 1 ELSE 0 END) "
        'FROM issue i JOIN business_circle c ON c.id = i.circle_id '
        f'GROUP BY {day}, c.community_id, i.category_id')


def _day_of(column: str, dialect_name: str) -> str:
    """SQL for the local day (``CIRCLE_TIMEZONE``) of a UTC timestamp column."""
    from circle.timeutil import local_zone

    zone = local_zone()
    if dialect_name == 'postgresql':
        return f"CAST(timezone('{zone.key}', {column}) AS DATE)"
    offset = int(zone.utcoffset(datetime.now(timezone.utc).replace(tzinfo=None)).total_seconds())
    return f"date({column}, '{offset:+d} seconds')"


def downgrade():
    op.drop_table('category_day_figures')
    with op.batch_alter_table('community_day_figures', schema=None) as batch_op:
        batch_op.drop_index('ix_community_day_figures_community_day')

    op.drop_table('community_day_figures')
