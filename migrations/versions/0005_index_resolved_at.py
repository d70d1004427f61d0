"""index issue resolved_at

Revision ID: 0005_index_resolved_at
Revises: 0004_api_tokens
Create Date: 2026-11-27 08:12:03.293277

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0005_index_resolved_at'
down_revision = '0004_api_tokens'
branch_labels = None
depends_on = None


def upgrade():
    # Reviewed by hand: the dashboard groups resolved issues by resolved_at.
    with op.batch_alter_table('issue', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issue_resolved_at'), ['resolved_at'], unique=False)



def downgrade():
    # Reviewed by hand: the dashboard groups resolved issues by resolved_at.
    with op.batch_alter_table('issue', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_issue_resolved_at'))

