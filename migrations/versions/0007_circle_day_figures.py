"""dashboard figures per circle and day

Revision ID: 0007_circle_day_figures
Revises: 0006_list_indexes
Create Date: 2026-11-27 09:42:22.720601

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0007_circle_day_figures'
down_revision = '0006_list_indexes'
branch_labels = None
depends_on = None


def upgrade():
    # Reviewed by hand. The dashboard sums these rows instead of counting issues.
    op.create_table('circle_day_figures',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('circle_id', sa.Integer(), nullable=False),
    sa.Column('reported', sa.Integer(), server_default='0', nullable=False),
    sa.Column('withdrawn', sa.Integer(), server_default='0', nullable=False),
    sa.Column('settled', sa.Integer(), server_default='0', nullable=False),
    sa.Column('responded', sa.Integer(), server_default='0', nullable=False),
    sa.Column('responded_on_time', sa.Integer(), server_default='0', nullable=False),
    sa.Column('resolved', sa.Integer(), server_default='0', nullable=False),
    sa.Column('resolved_with_deadline', sa.Integer(), server_default='0', nullable=False),
    sa.Column('resolved_on_time', sa.Integer(), server_default='0', nullable=False),
    sa.Column('called_back', sa.Integer(), server_default='0', nullable=False),
    sa.Column('callbacks', sa.Integer(), server_default='0', nullable=False),
    sa.Column('rated', sa.Integer(), server_default='0', nullable=False),
    sa.Column('satisfied', sa.Integer(), server_default='0', nullable=False),
    sa.Column('confirmed', sa.Integer(), server_default='0', nullable=False),
    sa.Column('unreachable', sa.Integer(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['circle_id'], ['business_circle.id'], name=op.f('fk_circle_day_figures_circle_id_business_circle'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('day', 'circle_id', name=op.f('pk_circle_day_figures')),
    sqlite_with_rowid=False,
    )
    with op.batch_alter_table('circle_day_figures', schema=None) as batch_op:
        batch_op.create_index('ix_circle_day_figures_circle_day', ['circle_id', 'day'], unique=False)

    # Existing issues are counted into the rows by 0009_first_callback_figures, with SQL of
    # its own. (This revision used to call the app's counting code, which broke once that
    # code read a column added later, issue.responded_at: a migration must not depend on
    # the models of a later revision.)


def downgrade():
    with op.batch_alter_table('circle_day_figures', schema=None) as batch_op:
        batch_op.drop_index('ix_circle_day_figures_circle_day')

    op.drop_table('circle_day_figures')
