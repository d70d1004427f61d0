"""Merchant-import confirmations are usable once: the digests of those already used

Revision ID: 0015_used_import_tokens
Revises: 0014_hardening
Create Date: 2026-12-02 03:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0015_used_import_tokens'
down_revision = '0014_hardening'
branch_labels = None
depends_on = None


def upgrade():
    # A new table: nothing existing is copied or altered.
    op.create_table(
        'used_import_token',
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('digest', name='pk_used_import_token'),
    )
    op.create_index('ix_used_import_token_used_at', 'used_import_token', ['used_at'],
                    unique=False)


def downgrade():
    op.drop_index('ix_used_import_token_used_at', table_name='used_import_token')
    op.drop_table('used_import_token')
