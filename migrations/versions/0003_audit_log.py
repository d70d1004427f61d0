"""audit log

Revision ID: 0003_audit_log
Revises: 0002_sla_calendar_photos
Create Date: 2026-11-27 06:40:51.632351

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0003_audit_log'
down_revision = '0002_sla_calendar_photos'
branch_labels = None
depends_on = None


def upgrade():
    # Reviewed by hand: matches circle/audit/models.py.
    op.create_table('audit_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=100), nullable=False),
    sa.Column('remote_addr', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('object_type', sa.String(length=50), nullable=False),
    sa.Column('object_id', sa.String(length=50), nullable=False),
    sa.Column('object_repr', sa.String(length=200), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], name=op.f('fk_audit_record_actor_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_record'))
    )
    with op.batch_alter_table('audit_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_record_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_record_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_audit_record_object', ['object_type', 'object_id'], unique=False)



def downgrade():
    # Reviewed by hand: matches circle/audit/models.py.
    with op.batch_alter_table('audit_record', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_record_object')
        batch_op.drop_index(batch_op.f('ix_audit_record_created_at'))
        batch_op.drop_index(batch_op.f('ix_audit_record_actor_id'))

    op.drop_table('audit_record')
