"""Merchants report for themselves; one case per problem; one issue per form

Revision ID: 0013_self_report
Revises: 0012_notifications
Create Date: 2026-12-01 23:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0013_self_report'
down_revision = '0012_notifications'
branch_labels = None
depends_on = None


def upgrade():
    # Reviewed by hand. Plain ADD COLUMN / CREATE INDEX only: "issue", "merchant" and
    # "callback" are referenced with ON DELETE CASCADE, so SQLite must never copy them.
    op.add_column('issue', sa.Column('registration_key', sa.String(length=64), nullable=True))
    op.add_column('issue', sa.Column('tracking_token', sa.String(length=64), nullable=True))
    if op.get_bind().dialect.name == 'sqlite':
        # SQLite adds a column with its REFERENCES clause, but not a constraint afterwards.
        op.execute('ALTER TABLE issue ADD COLUMN merged_into_id INTEGER '
                   'CONSTRAINT fk_issue_merged_into_id_issue REFERENCES issue (id)')
    else:
        op.add_column('issue', sa.Column('merged_into_id', sa.Integer(), nullable=True))
        op.create_foreign_key('fk_issue_merged_into_id_issue', 'issue', 'issue',
                              ['merged_into_id'], ['id'])
    op.create_index('ix_issue_registration_key', 'issue', ['registration_key'], unique=True)
    op.create_index('ix_issue_tracking_token', 'issue', ['tracking_token'], unique=True)
    op.create_index('ix_issue_merged_into_id', 'issue', ['merged_into_id'], unique=False)

    op.add_column('merchant', sa.Column('report_token', sa.String(length=64),
                                        nullable=True))
    op.add_column('merchant', sa.Column('report_token_issued_at', sa.DateTime(timezone=True),
                                        nullable=True))
    op.create_index('ix_merchant_report_token', 'merchant', ['report_token'],
                    unique=True)

    op.add_column('callback', sa.Column('channel', sa.String(length=20), nullable=False,
                                        server_default='phone'))
    op.add_column('circle_day_figures', sa.Column('merged', sa.Integer(), nullable=False,
                                                  server_default='0'))

    op.create_table(
        'issue_photo',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('issue_id', sa.Integer(), nullable=False),
        sa.Column('content_type', sa.String(length=20), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('original_name', sa.String(length=200), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['issue_id'], ['issue.id'], name='fk_issue_photo_issue_id_issue',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_issue_photo'))
    op.create_index('ix_issue_photo_issue_id', 'issue_photo', ['issue_id'], unique=False)


def downgrade():
    # Plain DROP COLUMN (SQLite 3.35+): a batch copy of these tables would trip their
    # ON DELETE CASCADE references.
    op.drop_index('ix_issue_photo_issue_id', table_name='issue_photo')
    op.drop_table('issue_photo')
    op.drop_column('circle_day_figures', 'merged')
    op.drop_column('callback', 'channel')
    op.drop_index('ix_merchant_report_token', table_name='merchant')
    op.drop_column('merchant', 'report_token_issued_at')
    op.drop_column('merchant', 'report_token')
    op.drop_index('ix_issue_merged_into_id', table_name='issue')
    op.drop_index('ix_issue_tracking_token', table_name='issue')
    op.drop_index('ix_issue_registration_key', table_name='issue')
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint('fk_issue_merged_into_id_issue', 'issue', type_='foreignkey')
    op.drop_column('issue', 'merged_into_id')
    op.drop_column('issue', 'tracking_token')
    op.drop_column('issue', 'registration_key')
