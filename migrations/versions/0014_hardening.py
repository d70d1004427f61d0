"""One merchant per circle, shop name and phone (concurrent registrations end in one row)

Revision ID: 0014_hardening
Revises: 0013_self_report
Create Date: 2026-12-01 23:50:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0014_hardening'
down_revision = '0013_self_report'
branch_labels = None
depends_on = None


def upgrade():
    # A unique index, not a table constraint: on SQLite a constraint would recreate the
    # merchant table, which others reference with ON DELETE CASCADE.
    op.create_index('uq_merchant_circle_shop_phone', 'merchant',
                    ['circle_id', 'shop_name', 'phone'], unique=True)


def downgrade():
    op.drop_index('uq_merchant_circle_shop_phone', table_name='merchant')
