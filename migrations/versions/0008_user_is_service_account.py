"""users: is_service_account

Revision ID: 0008_user_is_service_account
Revises: 0007_circle_day_figures
Create Date: 2026-12-01 20:10:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0008_user_is_service_account'
down_revision = '0007_circle_day_figures'
branch_labels = None
depends_on = None


def upgrade():
    # Reviewed by hand. recreate='never': on SQLite the column is added (and dropped) with
    # ALTER TABLE in place. Batch's default would copy "user" into a new table and drop the
    # old one, and with foreign keys on (circle/__init__.py) that DROP deletes every
    # user_circle row (ON DELETE CASCADE) or fails on api_token's RESTRICT.
    # (DROP COLUMN in place needs SQLite 3.35 or later.)
    with op.batch_alter_table('user', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('is_service_account', sa.Boolean(), server_default=sa.false(), nullable=False))

    # Until now an account was a service account by being some API token's service user
    # (revoked tokens included: their account still authored what the token did).
    user = sa.table('user', sa.column('id', sa.Integer()),
                    sa.column('is_service_account', sa.Boolean()))
    api_token = sa.table('api_token', sa.column('service_user_id', sa.Integer()))
    op.execute(user.update()
               .where(user.c.id.in_(sa.select(api_token.c.service_user_id)))
               .values(is_service_account=True))


def downgrade():
    with op.batch_alter_table('user', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('is_service_account')
