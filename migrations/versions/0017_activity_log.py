"""The activity log: audit records carry the circle of their object (row scope)

Revision ID: 0017_activity_log
Revises: 0016_login_devices
Create Date: 2026-12-02 02:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0017_activity_log'
down_revision = '0016_login_devices'
branch_labels = None
depends_on = None


def upgrade():
    # Additive only: a nullable column and an index, so SQLite alters in place.
    op.add_column('audit_record', sa.Column('circle_id', sa.Integer(), nullable=True))
    op.create_index(op.f('ix_audit_record_circle_id'), 'audit_record', ['circle_id'],
                    unique=False)


def downgrade():
    op.drop_index(op.f('ix_audit_record_circle_id'), table_name='audit_record')
    op.drop_column('audit_record', 'circle_id')  # plain DROP COLUMN (SQLite 3.35+)
