"""The job engine: huey, on a SQLite file by default, on Redis when several hosts serve.

Why huey (measured, see the commit that brought it): it runs with no server of its own on
one machine (``SqliteStorage``, a file beside the database) and on Redis across hosts, with
the same tasks and the same consumer; RQ needs Redis everywhere; Dramatiq and Celery need a
broker and bring more than we use.

``CIRCLE_JOBS_URL`` picks the storage: ``sqlite:///path`` (the default, under the instance
folder), ``redis://host:port/db``, or ``memory://`` (tasks queued in the process and never
run by themselves: the tests run them by hand). ``flask circle worker`` runs the consumer;
with ``CIRCLE_JOBS_IN_APP=1`` (what ``make run`` sets) the app runs it in threads itself.

Periodic work does not trust any single scheduler: every consumer enqueues a *tick* every
``CIRCLE_JOBS_TICK_SECONDS``, and each tick asks :func:`run_periodic`, which claims each
job's current period with a unique row (:class:`~circle.notify.models.JobRun`) in the same
transaction as the job's work — so a period's work is done exactly once however many
workers and hosts tick, and a worker killed mid-job leaves the period to the next tick.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa
from huey import Huey, crontab
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage

from circle.extensions import db
from circle.timeutil import utcnow

log = logging.getLogger("circle.jobs")

huey = Huey("circle", results=False, storage_class=MemoryStorage)
_state: dict = {"app": None, "url": None}


def storage_for(url: str, instance_path: str):
    """The huey storage ``CIRCLE_JOBS_URL`` names."""
    if url.startswith("memory://"):
        return MemoryStorage("circle")
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisStorage("circle", url=url)
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):] or Path(instance_path) / "jobs.sqlite3")
        if not path.is_absolute():
            path = Path(instance_path) / path
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteStorage("circle", filename=str(path))
    raise ValueError(f"CIRCLE_JOBS_URL: expected sqlite:///, redis:// or memory://, got {url!r}")


def init_app(app) -> None:
    """Point the job engine at this app and its storage (opened on first use)."""
    _state["app"] = app
    _state["url"] = None  # storage rebuilt lazily for this app's settings
    if app.config.get("CIRCLE_JOBS_IN_APP"):
        start_in_process(app)


def _storage_ready() -> None:
    app = _state["app"]
    url = app.config["CIRCLE_JOBS_URL"] or f"sqlite:///{Path(app.instance_path) / 'jobs.sqlite3'}"
    if _state["url"] != url:
        huey.storage = storage_for(url, app.instance_path)
        _state["url"] = url


def _in_app_context(func: Callable) -> Callable:
    def run(*args, **kwargs):
        app = _state["app"]
        with app.app_context():
            return func(*args, **kwargs)

    run.__name__ = func.__name__
    run.__doc__ = func.__doc__
    return run


# --- tasks ----------------------------------------------------------------------------------

@huey.task(name="circle.relay")
@_in_app_context
def relay_task() -> int:
    """Send the deliveries that are due (the outbox relay)."""
    from circle.notify.delivery import deliver_due

    return deliver_due()


@huey.periodic_task(crontab(), name="circle.tick")
@_in_app_context
def tick_task() -> None:
    """Every consumer's heartbeat: the periodic jobs of the current period, then the relay."""
    run_periodic()
    from circle.notify.delivery import deliver_due

    deliver_due()


def wake_relay() -> None:
    """Ask a worker to send deliveries now (after a commit that wrote some)."""
    if _state["app"] is None:
        return
    try:
        _storage_ready()
        relay_task()
    except Exception:  # the periodic relay sends them anyway
        log.exception("could not enqueue the outbox relay")


# --- periodic jobs, once per period ----------------------------------------------------------

@dataclass(frozen=True)
class Periodic:
    """A job run once per period: ``period(now, app)`` names the current period (or
    ``None``: nothing due yet), ``run(now)`` does the work and returns a short summary."""

    name: str
    period: Callable[[datetime, object], str | None]
    run: Callable[[datetime], str]


def _every(setting: str):
    def period(now: datetime, app) -> str:
        seconds = max(int(app.config[setting]), 1)
        start = int(now.timestamp()) // seconds * seconds
        return datetime.fromtimestamp(start, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")

    return period


def _daily_at(setting: str):
    def period(now: datetime, app) -> str | None:
        from datetime import time

        from circle.timeutil import local_zone

        local = now.astimezone(local_zone())
        if local.time() < time.fromisoformat(app.config[setting]):
            return None
        return local.date().isoformat()

    return period


def _daily(now: datetime, app) -> str:
    """Every local day, from midnight."""
    from circle.timeutil import local_zone

    return now.astimezone(local_zone()).date().isoformat()


def _chase(now: datetime) -> str:
    from circle.issues.workflow import chase_overdue_supervisions

    return str(chase_overdue_supervisions(now))


def _scan(now: datetime) -> str:
    from circle.notify.sla_scan import scan

    return str(scan(now))


def _digest(now: datetime) -> str:
    from circle.notify.digest import send_digests

    return str(send_digests(now))


def _purge_staged(now: datetime) -> str:
    from circle.issues.staging import purge_expired

    return str(purge_expired(now))


PERIODIC: tuple[Periodic, ...] = (
    Periodic("sla_scan", _every("CIRCLE_NOTIFY_SCAN_SECONDS"), _scan),
    Periodic("digest", _daily_at("CIRCLE_NOTIFY_DIGEST_AT"), _digest),
    # 催办: the supervision orders whose deadline passed before today, once a day.
    Periodic("chase", _daily, _chase),
    # Photos kept from failed desk forms that nobody sent again (circle/issues/staging.py).
    Periodic("staged_uploads", _daily, _purge_staged),
)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def claim_and_run(job: Periodic, period: str, now: datetime) -> str | None:
    """Run ``job`` for ``period`` unless someone has: the claim and the work commit together,
    so a second claimant waits for the first and then finds the period taken."""
    from circle.notify.models import JobRun
    from circle.notify.outbox import insert_once

    session = db.session
    try:
        claimed = insert_once(session.connection(), JobRun.__table__, {
            "job": job.name, "period": period, "worker": worker_name()[:80],
            "claimed_at": now, "result": ""}, key_column=None)
    except sa.exc.OperationalError:
        session.rollback()
        return None
    if claimed is None:
        session.rollback()
        log.info("%s %s: already claimed, skipped by %s", job.name, period, worker_name())
        return None
    try:
        result = job.run(now)
        session.execute(sa.update(JobRun).where(JobRun.id == claimed)
                        .values(finished_at=utcnow(), result=result[:2000]))
        session.commit()
    except BaseException:
        session.rollback()
        raise
    log.info("%s %s: ran by %s: %s", job.name, period, worker_name(), result)
    return result


def run_periodic(now: datetime | None = None) -> dict[str, str]:
    """Run every periodic job whose current period nobody has run yet."""
    from flask import current_app

    now = now or utcnow()
    done = {}
    for job in PERIODIC:
        period = job.period(now, current_app)
        if period is None:
            continue
        result = claim_and_run(job, period, now)
        if result is not None:
            done[job.name] = result
    return done


# --- consumers ------------------------------------------------------------------------------

def consumer(workers: int = 1):
    """A huey consumer whose scheduler ticks every ``CIRCLE_JOBS_TICK_SECONDS``."""
    from huey.consumer import Consumer, Scheduler

    _storage_ready()
    seconds = max(int(_state["app"].config["CIRCLE_JOBS_TICK_SECONDS"]), 1)

    class TickingScheduler(Scheduler):
        periodic_task_seconds = seconds

    class TickingConsumer(Consumer):
        scheduler_class = TickingScheduler

    return TickingConsumer(huey, workers=workers, worker_type="thread", periodic=True,
                           scheduler_interval=1, check_worker_health=True)


def start_in_process(app) -> None:
    """Run the consumer in daemon threads of this process (one machine, ``make run``)."""
    if _state.get("threads"):
        return
    built = consumer()
    built.scheduler.start()
    for _, worker in built.worker_threads:
        worker.start()
    _state["threads"] = built
    log.info("job engine running in the app process")


def next_attempt(attempts: int, base_seconds: float, now: datetime) -> datetime:
    """Exponential back-off: base, 2×base, 4×base… capped at six hours."""
    return now + timedelta(seconds=min(base_seconds * 2 ** max(attempts - 1, 0), 6 * 3600))
