"""The job engine with real worker processes: periodic work once per period however many
workers run, and a worker killed with SIGKILL mid-batch losing and duplicating nothing."""

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from circle import jobs
from circle.extensions import db as _db
from circle.notify.models import Delivery, JobRun, Notice, WecomWebhook
from circle.timeutil import utcnow
from tests.notify_servers import RobotServer

ROOT = Path(__file__).resolve().parent.parent


def start_worker(app, tmp_path, name: str, **env):
    """``flask circle worker`` in its own process, on the test's database and job queue."""
    environ = {**os.environ,
               "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
               "SECRET_KEY": "secret-for-tests-only",
               "CIRCLE_JOBS_URL": f"sqlite:///{tmp_path / 'jobs.sqlite3'}",
               "CIRCLE_JOBS_TICK_SECONDS": "1",
               "CIRCLE_NOTIFY_SCAN_SECONDS": "2",
               "CIRCLE_NOTIFY_QUIET_FROM": "00:00", "CIRCLE_NOTIFY_QUIET_UNTIL": "00:00",
               **env}
    log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115  (closed by stop_worker)
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "circle", "worker", "--workers", "1"],
        cwd=ROOT, env=environ, stdout=log, stderr=subprocess.STDOUT)
    process.log_file = log
    process.log_path = tmp_path / f"{name}.log"
    return process


def stop_worker(process, sig=signal.SIGINT) -> str:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    process.log_file.close()
    return process.log_path.read_text()


def wait_for(condition, timeout: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def test_two_workers_run_each_period_once(app, db, data, tmp_path):
    first = start_worker(app, tmp_path, "first")
    second = start_worker(app, tmp_path, "second")
    try:
        def scans() -> int:
            _db.session.rollback()
            return _db.session.scalar(sa.select(sa.func.count()).select_from(JobRun).where(
                JobRun.job == "sla_scan")) or 0

        assert wait_for(lambda: scans() >= 4, timeout=60), "the workers ran no scans"
    finally:
        logs = stop_worker(first) + stop_worker(second)
    ran = Counter(re.findall(r"(sla_scan \S+): ran by", logs))
    skipped = set(re.findall(r"(sla_scan \S+): already claimed", logs))
    assert ran and max(ran.values()) == 1, ran  # no period ran twice
    assert skipped & set(ran), "the two workers never competed for a period"
    _db.session.rollback()
    rows = _db.session.execute(sa.select(JobRun.job, JobRun.period, JobRun.worker)).all()
    assert len(rows) == len({(job, period) for job, period, _ in rows})
    workers = {worker.split(":")[1] for job, _, worker in rows if job == "sla_scan"}
    assert workers <= {str(first.pid), str(second.pid)}
    print(f"\n{len(ran)} scan periods, each run once; {len(skipped)} claims refused")


def test_sigkill_mid_batch_loses_and_duplicates_nothing(app, db, data, tmp_path):
    total = 60
    with RobotServer(delay=0.05) as robot:
        webhook = WecomWebhook(community=data.community, url=robot.url)
        _db.session.add(webhook)
        for n in range(total):
            notice = Notice(key=f"bench:{n}", kind="chased", detail={})
            _db.session.add(notice)
            _db.session.add(Delivery(key=f"bench:{n}:wecom", notice=notice, channel="wecom",
                                     webhook=webhook))
        _db.session.commit()
        killed = start_worker(app, tmp_path, "killed", CIRCLE_NOTIFY_LEASE_SECONDS="2")
        try:
            assert wait_for(lambda: len(robot.calls) >= 15, timeout=60)
        finally:
            killed.send_signal(signal.SIGKILL)
            stop_worker(killed)
        at_kill = len(robot.calls)
        survivor = start_worker(app, tmp_path, "survivor", CIRCLE_NOTIFY_LEASE_SECONDS="2")
        try:
            def all_sent() -> bool:
                _db.session.rollback()
                return _db.session.scalar(sa.select(sa.func.count()).select_from(Delivery)
                                          .where(Delivery.status == "sent")) == total

            assert wait_for(all_sent, timeout=90), "not every delivery was sent"
        finally:
            stop_worker(survivor)
    keys = Counter(call["headers"]["X-Circle-Idempotency-Key"] for call in robot.calls)
    assert set(keys) == {f"bench:{n}:wecom" for n in range(total)}  # nothing lost
    repeated = {key: n for key, n in keys.items() if n > 1}
    # At most the one message in flight when the worker died is sent again, with its key.
    assert sum(n - 1 for n in repeated.values()) <= 1, repeated
    print(f"\n{total} deliveries; killed after {at_kill} calls; {len(robot.calls)} calls in "
          f"all, {len(keys)} distinct keys, {len(repeated)} repeated (same key)")


@pytest.mark.parametrize("url", ["memory://", "sqlite:///jobs.sqlite3",
                                 "redis://127.0.0.1:6379/5"])
def test_the_job_queue_lives_where_the_setting_says(tmp_path, url):
    storage = jobs.storage_for(url, str(tmp_path))
    assert type(storage).__name__ == {"memory": "MemoryStorage", "sqlite": "SqliteStorage",
                                      "redis": "RedisStorage"}[url.split(":")[0]]
    with pytest.raises(ValueError, match="CIRCLE_JOBS_URL"):
        jobs.storage_for("amqp://x", str(tmp_path))


def test_two_claims_on_one_period_make_one_run(app, db, data):
    calls = []
    job = jobs.Periodic("probe", lambda now, app: "p1", lambda now: calls.append(now) or "ok")
    now = utcnow()
    assert jobs.claim_and_run(job, "p1", now) == "ok"
    assert jobs.claim_and_run(job, "p1", now) is None
    assert len(calls) == 1
