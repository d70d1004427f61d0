"""SLA deadline rules that read like the promise; working hours

Revision ID: 0010_sla_deadline_rules
Revises: 0009_first_callback_figures
Create Date: 2026-12-01 22:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010_sla_deadline_rules'
down_revision = '0009_first_callback_figures'
branch_labels = None
depends_on = None

RULES = ('half_day', 'end_of_day', 'calendar_days', 'working_hours', 'working_days', 'duration')
CLOCKS = ('calendar', 'business_hours', 'working_days')

# The budgets every install started with (respond, resolve minutes, calendar time): a policy
# still holding them gets the promise as the rules read it; any other policy keeps what it
# counted, as a fixed duration.
OLD_DEFAULTS = {'small': (30, 240), 'big': (120, 1440), 'hard': (1440, 10080)}
NEW_DEFAULTS = {'small': ('half_day', 1), 'big': ('end_of_day', 1), 'hard': ('calendar_days', 7)}

# The tables as this revision reads and writes them (not the models: they move on).
sla_policy = sa.table(
    'sla_policy', sa.column('severity', sa.String()), sa.column('respond_minutes', sa.Integer()),
    sa.column('resolve_minutes', sa.Integer()), sa.column('working_days', sa.Boolean()),
    sa.column('respond_clock', sa.String()), sa.column('rule', sa.String()),
    sa.column('amount', sa.Integer()))
issue = sa.table(
    'issue', sa.column('sla_working_days', sa.Boolean()), sa.column('response_clock', sa.String()),
    sa.column('resolution_clock', sa.String()))


def _in(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _policy_at_0009():
    # Batch mode copies sla_policy on SQLite; given the table as it stands, the copy keeps its
    # CHECK constraints (and drops the one replaced below) whatever reflection sees.
    return sa.Table(
        'sla_policy', sa.MetaData(),
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('severity', sa.String(length=10), nullable=False),
        sa.Column('respond_minutes', sa.Integer(), nullable=False),
        sa.Column('resolve_minutes', sa.Integer(), nullable=False),
        sa.Column('working_days', sa.Boolean(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("severity IN ('small', 'big', 'hard')", name='ck_sla_policy_severity'),
        sa.CheckConstraint('respond_minutes > 0 AND resolve_minutes > 0', name='ck_sla_policy_positive'),
        sa.PrimaryKeyConstraint('id', name='pk_sla_policy'),
        sa.UniqueConstraint('severity', name='uq_sla_policy_severity'))


def upgrade():
    # Reviewed by hand.
    op.create_table('work_schedule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('season_start', sa.String(length=5), nullable=True),
    sa.Column('season_end', sa.String(length=5), nullable=True),
    sa.Column('morning_start', sa.Time(), nullable=False),
    sa.Column('morning_end', sa.Time(), nullable=False),
    sa.Column('afternoon_start', sa.Time(), nullable=False),
    sa.Column('afternoon_end', sa.Time(), nullable=False),
    sa.Column('noon_cutoff', sa.Time(), nullable=False),
    sa.Column('afternoon_cutoff', sa.Time(), nullable=False),
    sa.Column('evening_cutoff', sa.Time(), nullable=False),
    sa.CheckConstraint('morning_start < morning_end AND morning_end <= afternoon_start AND afternoon_start < afternoon_end', name=op.f('ck_work_schedule_sessions')),
    sa.CheckConstraint('noon_cutoff <= morning_end AND afternoon_cutoff <= afternoon_end', name=op.f('ck_work_schedule_cutoffs')),
    sa.CheckConstraint('(season_start IS NULL AND season_end IS NULL) OR (season_start IS NOT NULL AND season_end IS NOT NULL)', name=op.f('ck_work_schedule_season')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_schedule'))
    )
    # (flask circle bootstrap installs the default hours into the empty table.)

    # sla_policy is referenced by nothing, so batch may copy it on SQLite.
    with op.batch_alter_table('sla_policy', schema=None, copy_from=_policy_at_0009()) as batch_op:
        batch_op.add_column(sa.Column('respond_clock', sa.String(length=20), server_default='calendar', nullable=False))
        batch_op.add_column(sa.Column('rule', sa.String(length=20), server_default='duration', nullable=False))
        batch_op.add_column(sa.Column('amount', sa.Integer(), nullable=True))
        batch_op.alter_column('resolve_minutes', existing_type=sa.Integer(), nullable=True)
        batch_op.drop_constraint(op.f('ck_sla_policy_positive'), type_='check')
        batch_op.create_check_constraint(op.f('ck_sla_policy_positive'), 'respond_minutes > 0 AND (resolve_minutes IS NULL OR resolve_minutes > 0) AND (amount IS NULL OR amount > 0)')
        batch_op.create_check_constraint(op.f('ck_sla_policy_rule'), _in('rule', RULES))
        batch_op.create_check_constraint(op.f('ck_sla_policy_respond_clock'), _in('respond_clock', CLOCKS))
        batch_op.create_check_constraint(op.f('ck_sla_policy_budget'), "(rule = 'duration' AND resolve_minutes IS NOT NULL) OR (rule <> 'duration' AND amount IS NOT NULL)")

    # Every policy keeps what it counted (a fixed duration on its clock) ...
    op.execute(sla_policy.update().values(
        rule='duration',
        respond_clock=sa.case((sla_policy.c.working_days, 'working_days'), else_='calendar')))
    # ... unless it still holds the old defaults: then new issues get the promise.
    for severity, (respond, resolve) in OLD_DEFAULTS.items():
        rule, amount = NEW_DEFAULTS[severity]
        op.execute(sla_policy.update().where(
            sla_policy.c.severity == severity, sla_policy.c.respond_minutes == respond,
            sla_policy.c.resolve_minutes == resolve, sla_policy.c.working_days.is_(False),
        ).values(rule=rule, amount=amount, respond_clock='calendar', resolve_minutes=None))

    # In place on SQLite (recreate='never', as 0008 and 0009): a batch copy of "issue" would
    # drop the old table, and with foreign keys on that deletes its events, visits, symposiums
    # and callbacks (ON DELETE CASCADE). So no CHECK constraints on the new columns either:
    # SQLite cannot add one without copying the table.
    with op.batch_alter_table('issue', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('response_clock', sa.String(length=20), server_default='calendar', nullable=False))
        batch_op.add_column(sa.Column('resolution_rule', sa.String(length=20), server_default='duration', nullable=False))
        batch_op.add_column(sa.Column('resolution_amount', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('resolution_clock', sa.String(length=20), server_default='calendar', nullable=False))
    # Existing issues keep their deadlines and their fixed durations ('duration', the
    # default above); the working-day flag becomes the name of their clock.
    op.execute(issue.update().where(issue.c.sla_working_days.is_(True)).values(
        response_clock='working_days', resolution_clock='working_days'))
    with op.batch_alter_table('issue', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('sla_working_days')


def downgrade():
    with op.batch_alter_table('issue', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('sla_working_days', sa.Boolean(), server_default=sa.false(), nullable=False))
    # Deadlines stay as they are; an issue of a rule has no minutes to restart a clock with.
    op.execute(issue.update().where(issue.c.resolution_clock == 'working_days').values(
        sla_working_days=True))
    with op.batch_alter_table('issue', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('resolution_clock')
        batch_op.drop_column('resolution_amount')
        batch_op.drop_column('resolution_rule')
        batch_op.drop_column('response_clock')

    # A policy of a rule becomes the nearest fixed duration.
    n = sa.func.coalesce(sla_policy.c.amount, 1)
    op.execute(sla_policy.update().where(sla_policy.c.rule != 'duration').values(
        resolve_minutes=sa.case(
            (sla_policy.c.rule == 'half_day', 240 * n),
            (sla_policy.c.rule == 'working_hours', 60 * n),
            else_=1440 * n),
        working_days=sla_policy.c.rule == 'working_days'))
    op.execute(sla_policy.update().where(sla_policy.c.resolve_minutes < sla_policy.c.respond_minutes)
               .values(resolve_minutes=sla_policy.c.respond_minutes))
    with op.batch_alter_table('sla_policy', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_sla_policy_budget'), type_='check')
        batch_op.drop_constraint(op.f('ck_sla_policy_respond_clock'), type_='check')
        batch_op.drop_constraint(op.f('ck_sla_policy_rule'), type_='check')
        batch_op.drop_constraint(op.f('ck_sla_policy_positive'), type_='check')
        batch_op.alter_column('resolve_minutes', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('amount')
        batch_op.drop_column('rule')
        batch_op.drop_column('respond_clock')
        batch_op.create_check_constraint(op.f('ck_sla_policy_positive'), 'respond_minutes > 0 AND resolve_minutes > 0')

    op.drop_table('work_schedule')
