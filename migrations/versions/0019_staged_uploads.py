"""Staged uploads: photos kept across a failed desk form until it is sent again

Revision ID: 0019_staged_uploads
Revises: 0018_row_versions
Create Date: 2026-12-02 18:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0019_staged_uploads'
down_revision = '0018_row_versions'
branch_labels = None
depends_on = None


def upgrade():
    # A new table: nothing existing is copied or altered.
    op.create_table(
        'staged_upload',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=43), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('issue_id', sa.Integer(), nullable=False),
        sa.Column('action', sa.String(length=40), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('content_type', sa.String(length=20), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['issue_id'], ['issue.id'], name='fk_staged_upload_issue_id_issue',
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name='fk_staged_upload_user_id_user',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_staged_upload'),
        sa.UniqueConstraint('token', name='uq_staged_upload_token'),
    )
    # The periodic purge deletes by age; a user's and an issue's rows go with them.
    op.create_index('ix_staged_upload_created_at', 'staged_upload', ['created_at'], unique=False)
    op.create_index('ix_staged_upload_issue_id', 'staged_upload', ['issue_id'], unique=False)
    op.create_index('ix_staged_upload_user_id', 'staged_upload', ['user_id'], unique=False)


def downgrade():
    # Only photos waiting for a form to be sent again: nothing worth keeping.
    op.drop_index('ix_staged_upload_user_id', table_name='staged_upload')
    op.drop_index('ix_staged_upload_issue_id', table_name='staged_upload')
    op.drop_index('ix_staged_upload_created_at', table_name='staged_upload')
    op.drop_table('staged_upload')
