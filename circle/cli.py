"""``flask circle ...`` commands."""

from __future__ import annotations

import os

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from circle.accounts.models import Role, User, password_problem, role_problem
from circle.extensions import db
from circle.org.models import BusinessCircle, Community
from circle.transaction import unit_of_work

circle_cli = AppGroup("circle", help="Red business circle administration commands.")


@circle_cli.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice(Role.ALL), default=Role.ADMIN, show_default=True)
@click.option("--display-name", default=None, help="Name shown in the panel.")
@click.option("--phone", default="", help="Mobile or landline.")
@click.option("--community", "community_name", default=None,
              help="Community (required for specialists and staff).")
@click.option("--circle", "circle_names", multiple=True,
              help="Business circle (repeat; required for liaison officers).")
@click.option("--password-env", default="CIRCLE_PASSWORD", show_default=True,
              help="Environment variable to read the password from; prompted if unset.")
def create_user(username, role, display_name, phone, community_name, circle_names,
                password_env):
    """Create a login account."""
    from circle.validators import InvalidValue, normalise_phone

    if db.session.scalar(sa.select(User).where(User.username == username)):
        raise click.ClickException(f"user {username!r} already exists")
    community = None
    if community_name:
        community = db.session.scalar(sa.select(Community).where(Community.name == community_name))
        if community is None:
            raise click.ClickException(f"no community named {community_name!r}")
    circles = []
    for name in circle_names:
        circle = db.session.scalar(sa.select(BusinessCircle).where(BusinessCircle.name == name))
        if circle is None:
            raise click.ClickException(f"no business circle named {name!r}")
        circles.append(circle)
    problem = role_problem(role, community, circles)
    if problem:
        raise click.ClickException(str(problem))
    if phone:
        try:
            phone = normalise_phone(phone)
        except InvalidValue as exc:
            raise click.ClickException(str(exc.args[0])) from None
    password = os.environ.get(password_env) or click.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )
    problem = password_problem(password, (username, display_name))
    if problem:
        raise click.ClickException(str(problem))
    user = User(username=username, display_name=display_name or username, phone=phone,
                role=role, community=community, circles=circles, active=True)
    user.set_password(password)
    with unit_of_work():
        db.session.add(user)
    click.echo(f"Created {role} account {username!r}.")


@circle_cli.command("seed-demo")
@click.option("--quiet", is_flag=True, help="Do not print the demo logins.")
def seed_demo_command(quiet):
    """Load the demo community, accounts, merchants and issues (safe to run again)."""
    from circle.demo import DEMO_PASSWORD, seed_demo

    created = seed_demo()
    click.echo("Demo data loaded." if created else "Demo data already present; nothing changed.")
    if not quiet:
        from circle.demo import DEMO_ACCOUNTS

        click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for username, _name, role, *_rest in DEMO_ACCOUNTS:
            click.echo(f"  {username:<12} {role}")


@circle_cli.command("bootstrap")
@click.option("--demo/--no-demo", default=True, show_default=True,
              help="Load the demo data into an empty database.")
def bootstrap_command(demo):
    """Bring the database to the latest schema and install the missing reference data; on
    first run load demo data and print logins.

    This is what ``make run`` calls before serving, so a fresh checkout needs one command.
    """
    from flask_migrate import upgrade

    from circle.reference import install_reference_data

    upgrade()
    first_run = db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0
    # Production needs the lists, SLA defaults and holidays whether or not it gets the demo.
    with unit_of_work():
        install_reference_data()
    if demo and first_run:
        from circle.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, seed_demo

        seed_demo()
        click.echo("")
        click.echo("Demo data loaded. Sign in at http://127.0.0.1:5000/login with:")
        for username, name, role, *_rest in DEMO_ACCOUNTS:
            click.echo(f"  {username:<12} / {DEMO_PASSWORD}   ({role}, {name})")
        click.echo("")
    elif first_run:
        click.echo("Empty database: create the first administrator with "
                   "`flask --app app circle create-user USERNAME --role admin`.")
    else:
        click.echo("Database is up to date.")


@circle_cli.command("gen-synthetic")
@click.option("--merchants", type=click.IntRange(1), default=1000, show_default=True)
@click.option("--issues", type=click.IntRange(0), default=10000, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True,
              help="Same seed, same data (communities are named after it).")
@click.option("--days", type=click.IntRange(14, 3650), default=730, show_default=True,
              help="Days of history the issues are spread over.")
def gen_synthetic_command(merchants, issues, seed, days):
    """Generate realistic synthetic merchants and issues for benchmarks (bulk inserts)."""
    import time

    from circle.synthetic import generate

    started = time.monotonic()
    with click.progressbar(length=merchants + issues, label="Generating") as bar:
        counts = generate(merchants, issues, seed=seed, days=days, progress=bar)
    took = time.monotonic() - started
    click.echo(", ".join(f"{value:,} {name}" for name, value in counts.items())
               + f" in {took:.1f} s")


@circle_cli.command("rebuild-figures")
def rebuild_figures_command():
    """Recount the dashboard's per-day figures from the issues (after bulk SQL changes)."""
    import time

    from circle.reports.figures import rebuild_figures

    started = time.monotonic()
    with unit_of_work():
        rows = rebuild_figures()
    click.echo(f"{rows:,} day-and-circle rows in {time.monotonic() - started:.1f} s")


@circle_cli.command("chase")
def chase_command():
    """催办: chase every supervised issue whose supervision deadline passed before today.

    Run it daily (the task queue's schedule does); running it again the same day, or on
    several hosts at once, writes nothing more.
    """
    from circle.issues.workflow import chase_overdue_supervisions

    with unit_of_work():
        written = chase_overdue_supervisions()
    click.echo(f"{written} chase(s) recorded")


@circle_cli.command("settings")
def settings_command():
    """Print every setting read from the environment, with its default and meaning.

    The output is the README's configuration table, written from ``circle.config.Settings``.
    """
    from circle.config import settings_table

    click.echo(settings_table())


@circle_cli.command("worker")
@click.option("--workers", default=2, show_default=True,
              help="Threads taking jobs (sending messages) in this process.")
def worker(workers):
    """Run the job consumer: the SLA scan, the digest, the outbox relay (production)."""
    import logging

    from circle import jobs

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    jobs.consumer(workers=workers).run()
