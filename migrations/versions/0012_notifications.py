"""Notifications: notices, the in-app inbox, the outbox of deliveries, preferences,
WeCom robots per community, and the claims of periodic jobs

New tables only (plain create_table / create_index: nothing that references another table
is recreated). The SLA scan reads the open issues through the existing
ix_issue_open_figures index; it needs no new index on issue.

Revision ID: 0012_notifications
Revises: 0011_work_order_lifecycle
Create Date: 2026-12-01 23:03:34

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0012_notifications'
down_revision = '0011_work_order_lifecycle'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('job_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job', sa.String(length=40), nullable=False),
    sa.Column('period', sa.String(length=40), nullable=False),
    sa.Column('worker', sa.String(length=80), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('result', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_run')),
    sa.UniqueConstraint('job', 'period', name=op.f('uq_job_run_job_period'))
    )
    op.create_table('wecom_webhook',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_wecom_webhook_community_id_community'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wecom_webhook')),
    sa.UniqueConstraint('community_id', name=op.f('uq_wecom_webhook_community_id'))
    )
    op.create_table('notification_preference',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=200), nullable=False),
    sa.Column('email_enabled', sa.Boolean(), nullable=False),
    sa.Column('wecom_enabled', sa.Boolean(), nullable=False),
    sa.Column('quiet_start', sa.Time(), nullable=True),
    sa.Column('quiet_end', sa.Time(), nullable=True),
    sa.Column('digest_enabled', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_notification_preference_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_notification_preference'))
    )
    op.create_table('notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('issue_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['issue_id'], ['issue.id'], name=op.f('fk_notice_issue_id_issue'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice')),
    sa.UniqueConstraint('key', name=op.f('uq_notice_key'))
    )
    op.create_index(op.f('ix_notice_issue_id'), 'notice', ['issue_id'], unique=False)

    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['notice_id'], ['notice.id'], name=op.f('fk_notification_notice_id_notice'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_notification_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification')),
    sa.UniqueConstraint('notice_id', 'user_id', name=op.f('uq_notification_notice_id_user_id'))
    )
    op.create_index('ix_notification_user_read', 'notification', ['user_id', 'read_at'], unique=False)

    op.create_table('notification_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=160), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('webhook_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("channel IN ('wecom', 'email')", name=op.f('ck_notification_delivery_channel')),
    sa.CheckConstraint("status IN ('pending', 'retry', 'sent', 'failed')", name=op.f('ck_notification_delivery_status')),
    sa.ForeignKeyConstraint(['notice_id'], ['notice.id'], name=op.f('fk_notification_delivery_notice_id_notice'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_notification_delivery_user_id_user'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['webhook_id'], ['wecom_webhook.id'], name=op.f('fk_notification_delivery_webhook_id_wecom_webhook'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_delivery')),
    sa.UniqueConstraint('key', name=op.f('uq_notification_delivery_key'))
    )
    op.create_index('ix_notification_delivery_due', 'notification_delivery',
                    ['status', 'next_attempt_at'], unique=False)
    op.create_index(op.f('ix_notification_delivery_notice_id'), 'notification_delivery',
                    ['notice_id'], unique=False)



def downgrade():
    op.drop_index(op.f('ix_notification_delivery_notice_id'), 'notification_delivery')
    op.drop_index('ix_notification_delivery_due', 'notification_delivery')

    op.drop_table('notification_delivery')
    op.drop_index('ix_notification_user_read', 'notification')

    op.drop_table('notification')
    op.drop_index(op.f('ix_notice_issue_id'), 'notice')

    op.drop_table('notice')
    op.drop_table('notification_preference')
    op.drop_table('wecom_webhook')
    op.drop_table('job_run')
