"""12345 work-order lifecycle: streets and leaders, signing-for and first-contact clocks,
extensions and returns, transfers, supervision

Revision ID: 0011_work_order_lifecycle
Revises: 0010_sla_deadline_rules
Create Date: 2026-12-01 23:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011_work_order_lifecycle'
down_revision = '0010_sla_deadline_rules'
branch_labels = None
depends_on = None

OLD_ROLES = ('admin', 'specialist', 'liaison', 'staff')
NEW_ROLES = OLD_ROLES + ('leader',)
OLD_STATUSES = ('registered', 'escalated', 'dispatched', 'on_site', 'joint_office', 'symposium',
                'on_hold', 'resolved', 'closed', 'withdrawn')
NEW_STATUSES = OLD_STATUSES + ('returned',)

ISSUE_COLUMNS = (
    ('received_at', sa.DateTime(timezone=True)), ('sign_due_at', sa.DateTime(timezone=True)),
    ('signed_at', sa.DateTime(timezone=True)), ('contact_due_at', sa.DateTime(timezone=True)),
    ('contacted_at', sa.DateTime(timezone=True)), ('contact_channel', sa.String(length=10)),
    ('supervised_at', sa.DateTime(timezone=True)),
)
FIGURE_COLUMNS = ('returned', 'sign_required', 'signed_on_time', 'contact_required',
                  'contacted_on_time', 'extended', 'chased')


def _in(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _sqlite() -> bool:
    return op.get_bind().dialect.name == 'sqlite'


def _rewrite_sqlite_schema(table, old, new):
    """Replace ``old`` by ``new`` in a SQLite table's CREATE statement, in place.

    On SQLite a table is never copied here: "user" and "issue" are referenced with ON DELETE
    CASCADE, so a batch copy's DROP TABLE would delete their timelines and circle
    memberships (and "community" is referenced with RESTRICT, so the DROP would fail).
    Instead the statement is rewritten, the procedure SQLite documents for changes that do
    not touch the stored rows (https://www.sqlite.org/lang_altertable.html, "Making Other
    Kinds Of Table Schema Changes"). Each change below is satisfied by every stored row: a
    CHECK widened (or, going down, narrowed after the rows were moved), a foreign key on a
    column that is NULL in every row.
    """
    conn = op.get_bind()
    sql = conn.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' "
                               "AND name = :table"), {'table': table}).scalar()
    if sql.count(old) != 1:
        raise RuntimeError(f'{table}: expected one {old!r} in its schema')
    version = conn.exec_driver_sql('PRAGMA schema_version').scalar()
    conn.exec_driver_sql('PRAGMA writable_schema=ON')
    conn.execute(sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' "
                         "AND name = :table"), {'sql': sql.replace(old, new), 'table': table})
    conn.exec_driver_sql(f'PRAGMA schema_version={version + 1}')
    conn.exec_driver_sql('PRAGMA writable_schema=OFF')


def _widen_check(table, name, column, old, new):
    """Replace a CHECK (column IN (...)) constraint with one allowing ``new``."""
    if _sqlite():
        _rewrite_sqlite_schema(table, _in(column, old), _in(column, new))
    else:
        op.drop_constraint(op.f(name), table, type_='check')
        op.create_check_constraint(op.f(name), table, _in(column, new))


def _fk_clause(column, target, fk_name, ondelete):
    return (f',\n\tCONSTRAINT {fk_name} FOREIGN KEY({column}) REFERENCES {target} (id) '
            f'ON DELETE {ondelete}\n)')


def _add_fk_column(table, column, target, fk_name, ondelete):
    """A nullable foreign-key column, added in place."""
    op.add_column(table, sa.Column(column, sa.Integer(), nullable=True))
    if _sqlite():
        # Written as a table constraint, the way CREATE TABLE writes the others.
        _rewrite_sqlite_schema(table, '\n)', _fk_clause(column, target, fk_name, ondelete))
    else:
        op.create_foreign_key(op.f(fk_name), table, target, [column], ['id'],
                              ondelete=ondelete)
    op.create_index(f'ix_{table}_{column}', table, [column], unique=False)


def _drop_fk_column(table, column, target, fk_name, ondelete):
    op.drop_index(f'ix_{table}_{column}', table_name=table)
    if _sqlite():
        _rewrite_sqlite_schema(table, _fk_clause(column, target, fk_name, ondelete), '\n)')
    else:
        op.drop_constraint(op.f(fk_name), table, type_='foreignkey')
    op.drop_column(table, column)


def upgrade():
    # Reviewed by hand. Nothing here copies a table on SQLite (see _widen_check).
    op.create_table('street',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_street')),
    sa.UniqueConstraint('name', name=op.f('uq_street_name'))
    )
    op.create_table('return_basis',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_return_basis')),
    sa.UniqueConstraint('name', name=op.f('uq_return_basis_name'))
    )
    _add_fk_column('community', 'street_id', 'street', 'fk_community_street_id_street',
                   'RESTRICT')
    _add_fk_column('user', 'street_id', 'street', 'fk_user_street_id_street', 'SET NULL')
    _widen_check('user', 'ck_user_role', 'role', OLD_ROLES, NEW_ROLES)
    _widen_check('issue', 'ck_issue_status', 'status', OLD_STATUSES, NEW_STATUSES)

    with op.batch_alter_table('issue', schema=None, recreate='never') as batch_op:
        for name, type_ in ISSUE_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
        batch_op.add_column(sa.Column('extension_count', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('chase_count', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('sla_policy', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('sign_minutes', sa.Integer(), server_default='30', nullable=False))
        batch_op.add_column(sa.Column('contact_minutes', sa.Integer(), server_default='120', nullable=False))
    # The starting values of circle/reference.py: a small matter's merchant within the hour.
    op.execute("UPDATE sla_policy SET contact_minutes = 60 WHERE severity = 'small'")
    with op.batch_alter_table('circle_day_figures', schema=None, recreate='never') as batch_op:
        for name in FIGURE_COLUMNS:
            batch_op.add_column(sa.Column(name, sa.Integer(), server_default='0', nullable=False))

    op.create_table('approval_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issue_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('basis_id', sa.Integer(), nullable=True),
    sa.Column('old_deadline', sa.DateTime(timezone=True), nullable=True),
    sa.Column('new_deadline', sa.DateTime(timezone=True), nullable=True),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=False),
    sa.CheckConstraint("kind IN ('extension', 'return')", name=op.f('ck_approval_request_kind')),
    sa.CheckConstraint("status IN ('pending', 'approved', 'refused')", name=op.f('ck_approval_request_status')),
    sa.ForeignKeyConstraint(['basis_id'], ['return_basis.id'], name=op.f('fk_approval_request_basis_id_return_basis'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], name=op.f('fk_approval_request_decided_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['issue_id'], ['issue.id'], name=op.f('fk_approval_request_issue_id_issue'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user.id'], name=op.f('fk_approval_request_requested_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_request'))
    )
    op.create_index('ix_approval_request_issue_id', 'approval_request', ['issue_id'], unique=False)
    op.create_index('ix_approval_request_status_requested_at', 'approval_request', ['status', 'requested_at'], unique=False)
    op.create_table('supervision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issue_id', sa.Integer(), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('deadline', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_chased_on', sa.Date(), nullable=True),
    sa.Column('chase_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['issue_id'], ['issue.id'], name=op.f('fk_supervision_issue_id_issue'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['issued_by_id'], ['user.id'], name=op.f('fk_supervision_issued_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision'))
    )
    op.create_index('ix_supervision_issue_id', 'supervision', ['issue_id'], unique=False)
    op.create_index('ix_supervision_deadline', 'supervision', ['deadline'], unique=False)


def downgrade():
    # Issues returned, and leaders, have no place in the older schema: returned issues go
    # back as withdrawn (they left the community), leaders' accounts are deactivated
    # specialists without a community.
    op.execute("UPDATE issue SET status = 'withdrawn' WHERE status = 'returned'")
    op.execute("UPDATE \"user\" SET role = 'specialist', active = false WHERE role = 'leader'")
    op.drop_index('ix_supervision_deadline', table_name='supervision')
    op.drop_index('ix_supervision_issue_id', table_name='supervision')
    op.drop_table('supervision')
    op.drop_index('ix_approval_request_status_requested_at', table_name='approval_request')
    op.drop_index('ix_approval_request_issue_id', table_name='approval_request')
    op.drop_table('approval_request')
    with op.batch_alter_table('circle_day_figures', schema=None, recreate='never') as batch_op:
        for name in reversed(FIGURE_COLUMNS):
            batch_op.drop_column(name)
    with op.batch_alter_table('sla_policy', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('contact_minutes')
        batch_op.drop_column('sign_minutes')
    with op.batch_alter_table('issue', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('chase_count')
        batch_op.drop_column('extension_count')
        for name, _type in reversed(ISSUE_COLUMNS):
            batch_op.drop_column(name)
    _widen_check('issue', 'ck_issue_status', 'status', NEW_STATUSES, OLD_STATUSES)
    _widen_check('user', 'ck_user_role', 'role', NEW_ROLES, OLD_ROLES)
    _drop_fk_column('user', 'street_id', 'street', 'fk_user_street_id_street', 'SET NULL')
    _drop_fk_column('community', 'street_id', 'street', 'fk_community_street_id_street',
                    'RESTRICT')
    op.drop_table('return_basis')
    op.drop_table('street')
