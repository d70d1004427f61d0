"""Dashboard figures per community and day: the sums of its circles' rows

Revision ID: 0020_community_day_figures
Revises: 0019_staged_uploads
Create Date: 2026-12-03 10:00:00

"""
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


def downgrade():
    with op.batch_alter_table('community_day_figures', schema=None) as batch_op:
        batch_op.drop_index('ix_community_day_figures_community_day')

    op.drop_table('community_day_figures')
