"""initial schema

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-27 06:14:45.031706

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0001_initial'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    # Reviewed by hand: constraint names come from the naming convention.
    op.create_table('community',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community')),
    sa.UniqueConstraint('name', name=op.f('uq_community_name'))
    )
    op.create_table('department_kind',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_department_kind')),
    sa.UniqueConstraint('name', name=op.f('uq_department_kind_name'))
    )
    op.create_table('issue_category',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issue_category')),
    sa.UniqueConstraint('name', name=op.f('uq_issue_category_name'))
    )
    op.create_table('issue_source',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('is_hotline', sa.Boolean(), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issue_source')),
    sa.UniqueConstraint('name', name=op.f('uq_issue_source_name'))
    )
    op.create_table('business_circle',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_business_circle_community_id_community'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_business_circle')),
    sa.UniqueConstraint('community_id', 'name', name=op.f('uq_business_circle_community_id_name'))
    )
    with op.batch_alter_table('business_circle', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_business_circle_community_id'), ['community_id'], unique=False)

    op.create_table('department',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind_id', sa.Integer(), nullable=False),
    sa.Column('contact_person', sa.String(length=50), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['kind_id'], ['department_kind.id'], name=op.f('fk_department_kind_id_department_kind'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_department')),
    sa.UniqueConstraint('name', name=op.f('uq_department_name'))
    )
    with op.batch_alter_table('department', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_department_kind_id'), ['kind_id'], unique=False)

    op.create_table('user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=50), nullable=False),
    sa.Column('display_name', sa.String(length=50), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=True),
    sa.Column('session_version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("role IN ('admin', 'specialist', 'liaison', 'staff')", name=op.f('ck_user_role')),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_user_community_id_community'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user')),
    sa.UniqueConstraint('username', name=op.f('uq_user_username'))
    )
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_community_id'), ['community_id'], unique=False)

    op.create_table('circle_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('circle_id', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('advisor', 'collector')", name=op.f('ck_circle_member_role')),
    sa.ForeignKeyConstraint(['circle_id'], ['business_circle.id'], name=op.f('fk_circle_member_circle_id_business_circle'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_circle_member'))
    )
    with op.batch_alter_table('circle_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_circle_member_circle_id'), ['circle_id'], unique=False)

    op.create_table('merchant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shop_name', sa.String(length=100), nullable=False),
    sa.Column('owner_name', sa.String(length=50), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('circle_id', sa.Integer(), nullable=False),
    sa.Column('business_category', sa.String(length=50), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['circle_id'], ['business_circle.id'], name=op.f('fk_merchant_circle_id_business_circle'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_merchant')),
    sa.UniqueConstraint('credit_code', name=op.f('uq_merchant_credit_code'))
    )
    with op.batch_alter_table('merchant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_merchant_circle_id'), ['circle_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_merchant_phone'), ['phone'], unique=False)
        batch_op.create_index(batch_op.f('ix_merchant_shop_name'), ['shop_name'], unique=False)

    op.create_table('user_circle',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('circle_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['circle_id'], ['business_circle.id'], name=op.f('fk_user_circle_circle_id_business_circle'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_user_circle_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'circle_id', name=op.f('pk_user_circle'))
    )
    op.create_table('emergency_contact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('relation', sa.String(length=50), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], name=op.f('fk_emergency_contact_merchant_id_merchant'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_emergency_contact_user_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_emergency_contact'))
    )
    with op.batch_alter_table('emergency_contact', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_emergency_contact_merchant_id'), ['merchant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_emergency_contact_user_id'), ['user_id'], unique=False)

    op.create_table('issue',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('circle_id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('work_order_no', sa.String(length=40), nullable=True),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('highest_level', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_before_hold', sa.String(length=20), nullable=True),
    sa.Column('reporter_id', sa.Integer(), nullable=True),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('first_on_site_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('response_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('hold_started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('held_seconds', sa.Integer(), nullable=False),
    sa.Column('resolution_summary', sa.Text(), nullable=False),
    sa.Column('rehandle_count', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("severity IN ('small', 'big', 'hard')", name=op.f('ck_issue_severity')),
    sa.CheckConstraint("status IN ('registered', 'escalated', 'dispatched', 'on_site', 'joint_office', 'symposium', 'on_hold', 'resolved', 'closed', 'withdrawn')", name=op.f('ck_issue_status')),
    sa.CheckConstraint('level BETWEEN 1 AND 4', name=op.f('ck_issue_level')),
    sa.ForeignKeyConstraint(['assignee_id'], ['user.id'], name=op.f('fk_issue_assignee_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['category_id'], ['issue_category.id'], name=op.f('fk_issue_category_id_issue_category'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['circle_id'], ['business_circle.id'], name=op.f('fk_issue_circle_id_business_circle'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], name=op.f('fk_issue_merchant_id_merchant'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['reporter_id'], ['user.id'], name=op.f('fk_issue_reporter_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['source_id'], ['issue_source.id'], name=op.f('fk_issue_source_id_issue_source'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issue')),
    sa.UniqueConstraint('work_order_no', name=op.f('uq_issue_work_order_no'))
    )
    with op.batch_alter_table('issue', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issue_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_issue_category_id'), ['category_id'], unique=False)
        batch_op.create_index('ix_issue_circle_reported_at', ['circle_id', 'reported_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_issue_merchant_id'), ['merchant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_issue_reported_at'), ['reported_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_issue_reporter_id'), ['reporter_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_issue_source_id'), ['source_id'], unique=False)
        batch_op.create_index('ix_issue_status_reported_at', ['status', 'reported_at'], unique=False)

    op.create_table('callback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issue_id', sa.Integer(), nullable=False),
    sa.Column('called_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('called_by_id', sa.Integer(), nullable=True),
    sa.Column('reached', sa.Boolean(), nullable=False),
    sa.Column('resolved_per_merchant', sa.Boolean(), nullable=True),
    sa.Column('rating', sa.String(length=30), nullable=True),
    sa.Column('comments', sa.Text(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.CheckConstraint("rating IS NULL OR rating IN ('very_satisfied', 'satisfied', 'basically_satisfied', 'dissatisfied', 'very_dissatisfied')", name=op.f('ck_callback_rating')),
    sa.ForeignKeyConstraint(['called_by_id'], ['user.id'], name=op.f('fk_callback_called_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['issue_id'], ['issue.id'], name=op.f('fk_callback_issue_id_issue'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callback'))
    )
    with op.batch_alter_table('callback', schema=None) as batch_op:
        batch_op.create_index('ix_callback_called_at', ['called_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_callback_issue_id'), ['issue_id'], unique=False)

    op.create_table('issue_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issue_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('from_status', sa.String(length=20), nullable=True),
    sa.Column('to_status', sa.String(length=20), nullable=True),
    sa.Column('from_level', sa.Integer(), nullable=True),
    sa.Column('to_level', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], name=op.f('fk_issue_event_actor_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['issue_id'], ['issue.id'], name=op.f('fk_issue_event_issue_id_issue'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issue_event'))
    )
    with op.batch_alter_table('issue_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issue_event_issue_id'), ['issue_id'], unique=False)

    op.create_table('site_visit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issue_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('arrived_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('findings', sa.Text(), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("outcome IN ('resolved', 'temporary', 'escalate')", name=op.f('ck_site_visit_outcome')),
    sa.CheckConstraint('level BETWEEN 2 AND 3', name=op.f('ck_site_visit_level')),
    sa.ForeignKeyConstraint(['issue_id'], ['issue.id'], name=op.f('fk_site_visit_issue_id_issue'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], name=op.f('fk_site_visit_recorded_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_site_visit'))
    )
    with op.batch_alter_table('site_visit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_site_visit_issue_id'), ['issue_id'], unique=False)

    op.create_table('symposium',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issue_id', sa.Integer(), nullable=False),
    sa.Column('held_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('participants', sa.Text(), nullable=False),
    sa.Column('minutes', sa.Text(), nullable=False),
    sa.Column('agreed_deadline', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['issue_id'], ['issue.id'], name=op.f('fk_symposium_issue_id_issue'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], name=op.f('fk_symposium_recorded_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_symposium'))
    )
    with op.batch_alter_table('symposium', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_symposium_issue_id'), ['issue_id'], unique=False)

    op.create_table('site_visit_attendee',
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_site_visit_attendee_user_id_user'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['visit_id'], ['site_visit.id'], name=op.f('fk_site_visit_attendee_visit_id_site_visit'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('visit_id', 'user_id', name=op.f('pk_site_visit_attendee'))
    )
    op.create_table('site_visit_department',
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_site_visit_department_department_id_department'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['visit_id'], ['site_visit.id'], name=op.f('fk_site_visit_department_visit_id_site_visit'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('visit_id', 'department_id', name=op.f('pk_site_visit_department'))
    )
    op.create_table('symposium_department',
    sa.Column('symposium_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_symposium_department_department_id_department'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['symposium_id'], ['symposium.id'], name=op.f('fk_symposium_department_symposium_id_symposium'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('symposium_id', 'department_id', name=op.f('pk_symposium_department'))
    )


def downgrade():
    # Reviewed by hand: constraint names come from the naming convention.
    op.drop_table('symposium_department')
    op.drop_table('site_visit_department')
    op.drop_table('site_visit_attendee')
    with op.batch_alter_table('symposium', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_symposium_issue_id'))

    op.drop_table('symposium')
    with op.batch_alter_table('site_visit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_site_visit_issue_id'))

    op.drop_table('site_visit')
    with op.batch_alter_table('issue_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_issue_event_issue_id'))

    op.drop_table('issue_event')
    with op.batch_alter_table('callback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callback_issue_id'))
        batch_op.drop_index('ix_callback_called_at')

    op.drop_table('callback')
    with op.batch_alter_table('issue', schema=None) as batch_op:
        batch_op.drop_index('ix_issue_status_reported_at')
        batch_op.drop_index(batch_op.f('ix_issue_source_id'))
        batch_op.drop_index(batch_op.f('ix_issue_reporter_id'))
        batch_op.drop_index(batch_op.f('ix_issue_reported_at'))
        batch_op.drop_index(batch_op.f('ix_issue_merchant_id'))
        batch_op.drop_index('ix_issue_circle_reported_at')
        batch_op.drop_index(batch_op.f('ix_issue_category_id'))
        batch_op.drop_index(batch_op.f('ix_issue_assignee_id'))

    op.drop_table('issue')
    with op.batch_alter_table('emergency_contact', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_emergency_contact_user_id'))
        batch_op.drop_index(batch_op.f('ix_emergency_contact_merchant_id'))

    op.drop_table('emergency_contact')
    op.drop_table('user_circle')
    with op.batch_alter_table('merchant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_merchant_shop_name'))
        batch_op.drop_index(batch_op.f('ix_merchant_phone'))
        batch_op.drop_index(batch_op.f('ix_merchant_circle_id'))

    op.drop_table('merchant')
    with op.batch_alter_table('circle_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_circle_member_circle_id'))

    op.drop_table('circle_member')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_community_id'))

    op.drop_table('user')
    with op.batch_alter_table('department', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_department_kind_id'))

    op.drop_table('department')
    with op.batch_alter_table('business_circle', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_business_circle_community_id'))

    op.drop_table('business_circle')
    op.drop_table('issue_source')
    op.drop_table('issue_category')
    op.drop_table('department_kind')
    op.drop_table('community')
