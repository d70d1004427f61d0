"""sla policy, holiday calendar, site photos, callback outcome

Revision ID: 0002_sla_calendar_photos
Revises: 0001_initial
Create Date: 2026-11-27 06:32:06.049412

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0002_sla_calendar_photos'
down_revision = '0001_initial'
branch_labels = None
depends_on = None


def upgrade():
    # Reviewed by hand: new NOT NULL columns get a server default so existing issues upgrade.
    op.create_table('calendar_day',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.CheckConstraint("kind IN ('holiday', 'workday')", name=op.f('ck_calendar_day_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_day')),
    sa.UniqueConstraint('day', name=op.f('uq_calendar_day_day'))
    )
    op.create_table('sla_policy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('respond_minutes', sa.Integer(), nullable=False),
    sa.Column('resolve_minutes', sa.Integer(), nullable=False),
    sa.Column('working_days', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("severity IN ('small', 'big', 'hard')", name=op.f('ck_sla_policy_severity')),
    sa.CheckConstraint('respond_minutes > 0 AND resolve_minutes > 0', name=op.f('ck_sla_policy_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_policy')),
    sa.UniqueConstraint('severity', name=op.f('uq_sla_policy_severity'))
    )
    op.create_table('site_visit_photo',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('content_type', sa.String(length=20), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('original_name', sa.String(length=200), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user.id'], name=op.f('fk_site_visit_photo_uploaded_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['visit_id'], ['site_visit.id'], name=op.f('fk_site_visit_photo_visit_id_site_visit'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_site_visit_photo'))
    )
    with op.batch_alter_table('site_visit_photo', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_site_visit_photo_visit_id'), ['visit_id'], unique=False)

    with op.batch_alter_table('issue', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resolution_started_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('response_minutes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('resolution_minutes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('sla_working_days', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('rating', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('callback_attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('callback_unreachable', sa.Boolean(), nullable=False, server_default=sa.false()))



def downgrade():
    with op.batch_alter_table('issue', schema=None) as batch_op:
        batch_op.drop_column('callback_unreachable')
        batch_op.drop_column('callback_attempts')
        batch_op.drop_column('rating')
        batch_op.drop_column('sla_working_days')
        batch_op.drop_column('resolution_minutes')
        batch_op.drop_column('response_minutes')
        batch_op.drop_column('resolution_started_at')

    with op.batch_alter_table('site_visit_photo', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_site_visit_photo_visit_id'))

    op.drop_table('site_visit_photo')
    op.drop_table('sla_policy')
    op.drop_table('calendar_day')
