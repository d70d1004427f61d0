"""Row versions for optimistic locking of every row edited in the admin

Revision ID: 0018_row_versions
Revises: 0017_activity_log
Create Date: 2026-12-02 03:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0018_row_versions'
down_revision = '0017_activity_log'
branch_labels = None
depends_on = None

# Every table an admin form edits (issue has had its version since the first schema).
TABLES = ('street', 'community', 'business_circle', 'department_kind', 'department',
          'circle_member', 'issue_category', 'issue_source', 'return_basis', 'sla_policy',
          'work_schedule', 'calendar_day', 'user', 'merchant', 'emergency_contact',
          'wecom_webhook')


def upgrade():
    # ADD COLUMN with a server default: SQLite alters in place (merchant and others are
    # referenced ON DELETE CASCADE and must not be copied), existing rows get version 1.
    for table in TABLES:
        op.add_column(table, sa.Column('version', sa.Integer(), nullable=False,
                                       server_default='1'))


def downgrade():
    # Plain DROP COLUMN (SQLite 3.35+), never a batch copy of these tables.
    for table in reversed(TABLES):
        op.drop_column(table, 'version')
