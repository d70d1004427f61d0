"""Signed-in devices: remember-me tokens per login, stored as hashes, revocable

Revision ID: 0016_login_devices
Revises: 0015_used_import_tokens
Create Date: 2026-12-02 03:10:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0016_login_devices'
down_revision = '0015_used_import_tokens'
branch_labels = None
depends_on = None


def upgrade():
    # A new table: nothing existing is copied or altered. Sessions signed in before it no
    # longer have a device and end: everyone signs in once more.
    op.create_table(
        'login_device',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('user_agent', sa.String(length=200), nullable=False),
        sa.Column('remote_addr', sa.String(length=45), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name='fk_login_device_user_id_user',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_login_device'),
        sa.UniqueConstraint('token_hash', name='uq_login_device_token_hash'),
    )
    op.create_index('ix_login_device_user_id', 'login_device', ['user_id'], unique=False)


def downgrade():
    op.drop_index('ix_login_device_user_id', table_name='login_device')
    op.drop_table('login_device')
