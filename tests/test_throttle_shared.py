"""Login-throttle counts are shared by every process that serves, by default.

Two server processes (as two gunicorn workers are) on one database and one Redis: the failed
sign-ins of an account add up across them. gunicorn.conf.py gives several workers
that shared store when none is set, and refuses to start them on ``memory://`` or on a
store that does not answer.
"""

from __future__ import annotations

import os
import runpy
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
import redis
import requests

from tests.conftest import csrf_token_from

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONF = ROOT / "gunicorn.conf.py"


@pytest.fixture
def shared_redis():
    """A reachable Redis (CI starts one) and a key prefix of this test's own, removed after."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no Redis at {REDIS_URL}")
    prefix = f"circle-test-{uuid.uuid4().hex}"
    yield prefix
    for key in client.scan_iter(match=f"*{prefix}*"):
        client.delete(key)
    client.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def two_workers(app, tmp_path, shared_redis):
    """Two server processes of the app (as two gunicorn workers are), on this test's
    database and the shared Redis, with an account to guess at."""
    from circle.extensions import db
    from tests import factories as f

    username = shared_redis
    with app.app_context():
        f.UserFactory(username=username, role="staff")
        db.session.commit()
        database_url = db.engine.url.render_as_string(hide_password=False)
        db.session.remove()
        db.engine.dispose()
    environ = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "secret-for-tests",
               "CIRCLE_JOBS_URL": "memory://", "RATELIMIT_STORAGE_URI": REDIS_URL,
               "CIRCLE_LOGIN_LIMIT_PER_ACCOUNT": "5 per 5 minutes", "CIRCLE_LOCALE": "zh_CN"}
    processes, urls = [], []
    for _ in range(2):
        port = _free_port()
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "run", "--port", str(port)],
            cwd=ROOT, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for url in urls:
            deadline = time.monotonic() + 60
            while True:
                try:
                    requests.get(f"{url}/login", timeout=5)
                    break
                except requests.ConnectionError:
                    assert time.monotonic() < deadline, "a server did not start"
                    time.sleep(0.2)
        yield urls, username
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)


def test_failed_sign_ins_add_up_across_two_processes(two_workers):
    urls, username = two_workers
    sessions = [requests.Session() for _ in urls]

    def wrong(i: int) -> int:
        """A wrong password, alternately at each process (all from the loopback address,
        well under the per-address limit)."""
        url, session = urls[i % 2], sessions[i % 2]
        token = csrf_token_from(session.get(f"{url}/login", timeout=10).text)
        return session.post(f"{url}/login", timeout=10, allow_redirects=False, data={
            "csrf_token": token, "username": username, "password": "wrong-password-x",
        }).status_code

    assert [wrong(i) for i in range(5)] == [200] * 5  # the form again, with its message
    # Three were counted by one process and two by the other: the sixth is refused by both.
    assert wrong(5) == 429
    assert wrong(6) == 429


def _gunicorn_conf(monkeypatch, **environ):
    for name in ("RATELIMIT_STORAGE_URI", "WEB_CONCURRENCY",
                 "CIRCLE_ALLOW_PER_WORKER_THROTTLE"):
        # Set, then removed: monkeypatch restores what the file writes into os.environ.
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(GUNICORN_CONF))


def _start(conf, workers: int):
    """Run the file's ``on_starting`` hook as gunicorn's master does."""
    logged = []
    server = SimpleNamespace(cfg=SimpleNamespace(workers=workers),
                             log=SimpleNamespace(error=logged.append))
    conf["on_starting"](server)
    return logged


def test_several_workers_share_redis_unless_told_otherwise(monkeypatch, shared_redis):
    conf = _gunicorn_conf(monkeypatch, WEB_CONCURRENCY="3")
    assert os.environ["RATELIMIT_STORAGE_URI"] == conf["SHARED_THROTTLE_DEFAULT"]
    if REDIS_URL == conf["SHARED_THROTTLE_DEFAULT"]:
        assert _start(conf, 3) == []


def test_one_worker_keeps_the_in_process_store(monkeypatch):
    conf = _gunicorn_conf(monkeypatch, WEB_CONCURRENCY="1")
    assert "RATELIMIT_STORAGE_URI" not in os.environ
    assert _start(conf, 1) == []


@pytest.mark.parametrize("environ, workers, words", [
    ({"RATELIMIT_STORAGE_URI": "memory://"}, 2, "memory:// with 2 workers"),
    # -w on the command line counts, not only WEB_CONCURRENCY.
    ({"RATELIMIT_STORAGE_URI": "memory://", "WEB_CONCURRENCY": "1"}, 4, "4 workers"),
    ({"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0"}, 2, "does not answer"),
    ({"RATELIMIT_STORAGE_URI": "nonsense://x"}, 2, "does not answer"),
])
def test_workers_that_would_not_share_counts_do_not_start(monkeypatch, environ, workers, words):
    conf = _gunicorn_conf(monkeypatch, **environ)
    with pytest.raises(SystemExit) as stopped:
        _start(conf, workers)
    assert words in str(stopped.value)


def test_per_worker_counts_only_when_explicitly_accepted(monkeypatch):
    conf = _gunicorn_conf(monkeypatch, RATELIMIT_STORAGE_URI="memory://",
                          CIRCLE_ALLOW_PER_WORKER_THROTTLE="1")
    assert _start(conf, 3) == []
