"""indexes for lists at city scale

Revision ID: 0006_list_indexes
Revises: 0005_index_resolved_at
Create Date: 2026-11-27 09:40:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0006_list_indexes'
down_revision = '0005_index_resolved_at'
branch_labels = None
depends_on = None


def upgrade():
    # Reviewed by hand. The pattern-ops index exists only on PostgreSQL (the model's
    # Index.ddl_if): SQLite serves the prefix search from the unique index.
    if op.get_bind().dialect.name == 'postgresql':
        op.create_index('ix_issue_work_order_no_pattern', 'issue', ['work_order_no'],
                        unique=False,
                        postgresql_ops={'work_order_no': 'text_pattern_ops'})
    with op.batch_alter_table('issue', schema=None) as batch_op:
        batch_op.create_index('ix_issue_unreachable_closed_at',
                              ['callback_unreachable', 'closed_at'], unique=False)
        # Covering indexes for the dashboard; the second one replaces ix_issue_reported_at.
        batch_op.create_index('ix_issue_open_figures',
                              ['status', 'circle_id', 'level', 'resolution_due_at'],
                              unique=False, postgresql_include=['id'])
        batch_op.create_index('ix_issue_reported_category',
                              ['reported_at', 'category_id', 'status', 'circle_id'],
                              unique=False)
        batch_op.drop_index('ix_issue_reported_at')


def downgrade():
    with op.batch_alter_table('issue', schema=None) as batch_op:
        batch_op.create_index('ix_issue_reported_at', ['reported_at'], unique=False)
        batch_op.drop_index('ix_issue_reported_category')
        batch_op.drop_index('ix_issue_open_figures')
        batch_op.drop_index('ix_issue_unreachable_closed_at')
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_issue_work_order_no_pattern', table_name='issue')
