"""Benchmark circle under gunicorn against generated databases of growing size.

    .venv/bin/python bench/run.py --db sqlite,postgresql --sizes 10000,100000,1000000 \
        --workers 2,4 [--quick]

For each database kind and size it builds (or reuses) a database with the app's own CLI
(``circle bootstrap``, ``circle gen-synthetic``, ``circle create-user``), then for each worker
count copies it to a scratch database, serves the copy with gunicorn on a loopback port,
and drives it from a separate process (:mod:`bench.driver`): page latency, registration
throughput with a row count afterwards, and — under the first worker count — the
satisfaction export in CSV and XLSX with the worker's peak RSS. gunicorn is always stopped
at the end, also on errors and Ctrl-C. The table is printed and appended to
``bench/results/<db>-<date>.md``. See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import http.client
import json
import math
import os
import platform
import runpy
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import report  # noqa: E402

BENCH = ROOT / "bench"
DATA = BENCH / ".data"
RESULTS = BENCH / "results"
BIN = Path(sys.executable).parent
#: Bump when the way this harness builds a database changes (invalidates cached ones).
BUILD_VERSION = "1"
#: Files whose change means the generated data or schema may differ: rebuild (with the
#: migrations). Anything else that changes the data needs --rebuild.
FINGERPRINT_FILES = ("circle/synthetic.py", "circle/demo.py", "circle/demo_issues.py",
                     "circle/demo_cases.py", "circle/reference.py",
                     "circle/reports/figures.py")
ADMIN_USERNAME = "bench-admin"
# Not a secret: it opens a throwaway database served on loopback only.
ADMIN_PASSWORD = "bench-admin-pass-2024"
PORTS = range(8200, 8300)
#: Rows per page of the issue list (Flask-Admin's page_size, set explicitly in the URL of
#: "page 1,000" so that the page means the same rows whatever the view's default).
LIST_PAGE_SIZE = 50
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
#: Name prefix of the generated PostgreSQL databases (``<prefix>_<size>``): engineers sharing
#: one server each keep their own.
PG_PREFIX = os.environ.get("BENCH_PG_PREFIX", "circle_bench")
#: Requests, clients and limits; --quick uses the second set.
FULL = {"requests": 200, "clients": 2, "warmup": 10, "max_seconds": 60,
        "register_requests": 800, "register_clients": 8, "register_seconds": 120,
        "compare_rounds": 100, "compare_seconds": 120}
QUICK = {"requests": 40, "clients": 2, "warmup": 3, "max_seconds": 20,
         "register_requests": 160, "register_clients": 8, "register_seconds": 60,
         "compare_rounds": 20, "compare_seconds": 30}
#: What --compare serves beside circle (bench/baseline.py): stock Flask-Admin and the floor.
BASELINE_APP = "bench.baseline:create_app()"
#: The production default (gunicorn.conf.py): a million-row export must finish within it.
GUNICORN_TIMEOUT = 300


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def sa_url(url: str) -> str:
    """The URL with the psycopg 3 driver for PostgreSQL (as the app itself does)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def fingerprint(size: int, seed: int) -> str:
    """Identifies what a generated database holds: generator, reference data, migrations."""
    digest = hashlib.sha256(f"{BUILD_VERSION}:{size}:{seed}".encode())
    paths = [ROOT / name for name in FINGERPRINT_FILES if (ROOT / name).exists()]
    paths += sorted((ROOT / "migrations" / "versions").glob("*.py"))
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def flask_cli(database_url: str, *args: str, password: str | None = None) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": secrets.token_hex(16)}
    if password:
        env["CIRCLE_PASSWORD"] = password
    # Its output is progress, not results: keep stdout for the report.
    subprocess.run([str(BIN / "flask"), "--app", "app", "circle", *args], cwd=ROOT, env=env,
                   check=True, stdout=sys.stderr)


def generate(database_url: str, size: int, seed: int) -> None:
    """Schema, reference data, synthetic merchants and issues, and the bench admin."""
    started = time.monotonic()
    flask_cli(database_url, "bootstrap", "--no-demo")
    flask_cli(database_url, "gen-synthetic", "--merchants", str(max(1, size // 10)),
              "--issues", str(size), "--seed", str(seed))
    flask_cli(database_url, "create-user", ADMIN_USERNAME, "--role", "admin",
              password=ADMIN_PASSWORD)
    log(f"built {size:,} issues in {time.monotonic() - started:.0f} s")


# --- databases -------------------------------------------------------------------------------

class SqliteDatabases:
    """Generated databases as files under bench/.data/, one per size; runs use a copy."""

    kind = "sqlite"

    def __init__(self, seed: int):
        self.seed = seed
        DATA.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def url(path: Path) -> str:
        return f"sqlite:///{path}"

    def golden(self, size: int, rebuild: bool, reuse_stale: bool) -> str:
        path = DATA / f"sqlite-{size}.sqlite3"
        stamp = path.with_suffix(".fingerprint")
        wanted = fingerprint(size, self.seed)
        if path.exists() and not rebuild and (
                reuse_stale or (stamp.exists() and stamp.read_text() == wanted)):
            log(f"reusing {path.relative_to(ROOT)}")
            return self.url(path)
        building = path.with_suffix(".building")
        self._remove(building)
        log(f"building {path.relative_to(ROOT)} ({size:,} issues)")
        generate(self.url(building), size, self.seed)
        self._remove(path)
        os.replace(building, path)
        stamp.write_text(wanted)
        return self.url(path)

    def scratch(self, golden_url: str, size: int) -> str:
        source = Path(make_url(golden_url).database)
        target = DATA / f"sqlite-{size}-run.sqlite3"
        self._remove(target)
        shutil.copyfile(source, target)
        return self.url(target)

    def drop(self, url: str) -> None:
        self._remove(Path(make_url(url).database))

    @staticmethod
    def _remove(path: Path) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(path) + suffix).unlink(missing_ok=True)

    @staticmethod
    def version() -> str:
        return f"SQLite {sqlite3.sqlite_version}"

    @staticmethod
    def size_on_disk(url: str) -> int:
        return Path(make_url(url).database).stat().st_size


class PostgresDatabases:
    """Generated databases ``circle_bench_<size>``; each run uses a template copy."""

    kind = "postgresql"

    def __init__(self, seed: int, admin_url: str = PG_ADMIN_URL):
        self.seed = seed
        self.admin_url = admin_url
        self.engine = sa.create_engine(sa_url(admin_url), isolation_level="AUTOCOMMIT")

    def url(self, name: str) -> str:
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def _exec(self, sql: str, **params) -> None:
        with self.engine.connect() as conn:
            conn.execute(sa.text(sql), params)

    def _rows(self, sql: str, **params) -> list:
        with self.engine.connect() as conn:
            return conn.execute(sa.text(sql), params).all()

    def _drop(self, name: str) -> None:
        self._exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def golden(self, size: int, rebuild: bool, reuse_stale: bool) -> str:
        name = f"{PG_PREFIX}_{size}"
        wanted = fingerprint(size, self.seed)
        rows = self._rows("SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                          "WHERE datname = :name", name=name)
        if rows and not rebuild and (reuse_stale or rows[0][0] == wanted):
            log(f"reusing database {name}")
            return self.url(name)
        building = f"{name}_building"
        self._drop(building)
        self._exec(f'CREATE DATABASE "{building}"')
        log(f"building database {name} ({size:,} issues)")
        generate(self.url(building), size, self.seed)
        # What autovacuum would have done by the time anyone looks at a real database.
        engine = sa.create_engine(sa_url(self.url(building)), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
        engine.dispose()
        self._drop(name)
        self._exec(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
        self._exec(f"COMMENT ON DATABASE \"{name}\" IS '{wanted}'")
        return self.url(name)

    def scratch(self, golden_url: str, size: int) -> str:
        source = make_url(golden_url).database
        name = f"{source}_run"
        self._drop(name)
        # FILE_COPY: much faster than the WAL-logged default for a multi-gigabyte template.
        self._exec(f'CREATE DATABASE "{name}" TEMPLATE "{source}" STRATEGY = FILE_COPY')
        return self.url(name)

    def drop(self, url: str) -> None:
        self._drop(make_url(url).database)

    def version(self) -> str:
        return "PostgreSQL " + self._rows("SELECT current_setting('server_version')")[0][0]

    def size_on_disk(self, url: str) -> int:
        return self._rows("SELECT pg_database_size(:name)", name=make_url(url).database)[0][0]


# --- what to request -------------------------------------------------------------------------

def issue_count(url: str) -> int:
    engine = sa.create_engine(sa_url(url))
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT count(*) FROM issue")).scalar_one()
    finally:
        engine.dispose()


def discover(url: str) -> dict:
    """Users, ids and search terms for the plan, read from the generated database.

    One community is used throughout: its specialist, its callback staff, and up to eight
    of its circles' liaison officers with their active merchants.
    """
    engine = sa.create_engine(sa_url(url))
    with engine.connect() as conn:
        def rows(sql, **params):
            return conn.execute(sa.text(sql), params).all()

        specialist = rows('SELECT username, community_id FROM "user" WHERE role = :role '
                          "AND active ORDER BY id LIMIT 1", role="specialist")[0]
        staff = rows('SELECT username FROM "user" WHERE role = :role AND active '
                     "AND community_id = :c ORDER BY id LIMIT 1",
                     role="staff", c=specialist.community_id)[0]
        liaisons = []
        for username, circle_id, circle_name in rows(
                'SELECT u.username, bc.id, bc.name FROM "user" u '
                "JOIN user_circle uc ON uc.user_id = u.id "
                "JOIN business_circle bc ON bc.id = uc.circle_id "
                "WHERE u.role = :role AND u.active AND bc.community_id = :c "
                "ORDER BY u.id LIMIT 8", role="liaison", c=specialist.community_id):
            merchants = [str(m) for (m,) in rows(
                "SELECT id FROM merchant WHERE circle_id = :c AND active ORDER BY id LIMIT 50",
                c=circle_id)]
            if merchants:
                liaisons.append({"username": username, "circle_id": circle_id,
                                 "circle_name": circle_name, "merchants": merchants})
        total, low, high = rows("SELECT count(*), min(id), max(id) FROM issue")[0]

        def spread(count):
            """Ids of ``count`` issues spread evenly over the table."""
            ids = []
            for k in range(count):
                target = low + (high - low) * k // max(1, count - 1)
                ids += [i for (i,) in rows("SELECT id FROM issue WHERE id >= :t ORDER BY id "
                                           "LIMIT 1", t=target)]
            return ids

        shops, work_orders = [], []
        for issue_id in spread(5):
            found = rows("SELECT i.work_order_no, m.shop_name FROM issue i "
                         "JOIN merchant m ON m.id = i.merchant_id "
                         "WHERE i.id >= :id AND i.work_order_no IS NOT NULL "
                         "ORDER BY i.id LIMIT 1", id=issue_id)
            if found:
                work_orders.append(found[0][0])
                shops.append(found[0][1])
        detail_ids = spread(20)
    engine.dispose()
    last_page = max(0, math.ceil(total / LIST_PAGE_SIZE) - 1)
    return {
        "issues": total, "detail_ids": detail_ids,
        "specialist": specialist.username, "staff": staff.username, "liaisons": liaisons,
        "shops": shops, "work_orders": work_orders, "page": min(999, last_page),
    }


def build_plan(found: dict) -> list[dict]:
    """The endpoints to time: who requests what (see the table in bench/README.md)."""
    from urllib.parse import urlencode

    admin, specialist, staff = (user_entry(ADMIN_USERNAME), user_entry(found["specialist"]),
                                user_entry(found["staff"]))
    circle = found["liaisons"][0]
    return [
        {"name": "list_page1", "user": admin, "urls": ["/admin/issue/"]},
        {"name": "list_page1_specialist", "user": specialist, "urls": ["/admin/issue/"]},
        {"name": "list_filtered", "user": admin, "list_url": "/admin/issue/",
         "filters": [[circle["circle_id"], circle["circle_name"]], ["closed", ""]]},
        {"name": "search_shop", "user": admin,
         "urls": ["/admin/issue/?" + urlencode({"search": s}) for s in found["shops"]]},
        {"name": "search_work_order", "user": admin,
         "urls": ["/admin/issue/?" + urlencode({"search": w}) for w in found["work_orders"]]},
        {"name": "list_page1000", "user": admin,
         "urls": [f"/admin/issue/?page={found['page']}&page_size={LIST_PAGE_SIZE}"]},
        {"name": "dispatch", "user": specialist, "urls": ["/admin/dispatch/"]},
        {"name": "detail", "user": admin,
         "urls": [f"/admin/desk/{i}" for i in found["detail_ids"]]},
        {"name": "dashboard", "user": admin, "urls": ["/admin/"]},
        {"name": "dashboard_specialist", "user": specialist, "urls": ["/admin/"]},
        {"name": "callbacks", "user": staff, "urls": ["/admin/callbacks/"]},
    ]


def compare_plan(found: dict) -> list[dict]:
    """The pages of issue #19's table, each as circle, stock Flask-Admin and the floor
    (bench/baseline.py) serve it: the same rows, asked in each one's own terms."""
    from urllib.parse import urlencode

    circle = found["liaisons"][0]
    page = found["page"]

    def same(path_circle, path_stock, path_floor, terms=None, key="search"):
        if terms is None:
            return {"circle": [path_circle], "stock": [path_stock], "floor": [path_floor]}
        return {system: [f"{path}?{urlencode({key: term})}" for term in terms]
                for system, path in (("circle", path_circle), ("stock", path_stock),
                                     ("floor", path_floor))}

    details = found["detail_ids"]
    return [
        {"name": "list_page1", "urls": same("/admin/issue/", "/admin/issue/", "/floor/issue/")},
        {"name": "list_page1000", "urls": same(
            f"/admin/issue/?page={page}&page_size={LIST_PAGE_SIZE}",
            f"/admin/issue/?page={page}&page_size={LIST_PAGE_SIZE}",
            f"/floor/issue/?page={page}")},
        {"name": "search_shop", "urls": same("/admin/issue/", "/admin/issue/",
                                             "/floor/issue/", found["shops"])},
        {"name": "search_work_order", "urls": same("/admin/issue/", "/admin/issue/",
                                                   "/floor/issue/", found["work_orders"])},
        # circle's filter arguments are read from its list page by the driver.
        {"name": "list_filtered", "list_url": "/admin/issue/",
         "filters": [[circle["circle_id"], circle["circle_name"]], ["closed", ""]],
         "urls": {"stock": ["/admin/issue/?" + urlencode(
                      {"flt0_0": circle["circle_id"], "flt1_1": "closed"})],
                  "floor": ["/floor/issue/?" + urlencode(
                      {"circle": circle["circle_id"], "status": "closed"})]}},
        {"name": "detail", "urls": {
            "circle": [f"/admin/desk/{i}" for i in details],
            "stock": [f"/admin/issue/details/?id={i}" for i in details],
            "floor": [f"/floor/issue/{i}" for i in details]}},
        {"name": "merchant_list", "urls": same("/admin/merchant/", "/admin/merchant/",
                                               "/floor/merchant/")},
        # The same page beside stock's list with circle's columns and filters.
        {"name": "merchant_list_same", "urls": same("/admin/merchant/",
                                                    "/admin/merchant-same/",
                                                    "/floor/merchant/")},
    ]


def synthetic_password() -> str:
    from circle.synthetic import SYNTHETIC_PASSWORD

    return SYNTHETIC_PASSWORD


def user_entry(username: str) -> dict:
    password = ADMIN_PASSWORD if username == ADMIN_USERNAME else synthetic_password()
    return {"username": username, "password": password}


# --- the server ------------------------------------------------------------------------------

def free_port() -> int:
    for port in PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


def children(pid: int) -> list[int]:
    """Pids of the processes whose parent is ``pid`` (gunicorn's workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: the fields follow the last ")".
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def peak_rss_mb(pid: int) -> float | None:
    """The process's peak resident set (VmHWM) in MB, or ``None`` if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


class Gunicorn:
    """``gunicorn -c gunicorn.conf.py app:app`` on a loopback port, as a context manager."""

    def __init__(self, database_url: str, workers: int, log_path: Path,
                 app_spec: str = "app:app"):
        self.database_url = database_url
        self.app_spec = app_spec
        self.workers = workers
        self.log_path = log_path
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.worker_pids: list[int] = []

    def start(self) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "SECRET_KEY": secrets.token_hex(32),
            "WEB_CONCURRENCY": str(self.workers),
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "GUNICORN_ACCESS_LOG": "/dev/null",
            "GUNICORN_TIMEOUT": str(GUNICORN_TIMEOUT),
            "RATELIMIT_STORAGE_URI": "memory://",
            # Per-worker counts are fine here (gunicorn.conf.py refuses them otherwise).
            "CIRCLE_ALLOW_PER_WORKER_THROTTLE": "1",
            # Only failed sign-ins count; none are expected, but never throttle the bench.
            "CIRCLE_LOGIN_LIMIT_PER_ACCOUNT": "100000 per minute",
            "CIRCLE_LOGIN_LIMIT_PER_IP": "100000 per minute",
        }
        with open(self.log_path, "ab") as sink:
            # A session of its own: Ctrl-C reaches us, and we stop gunicorn in order.
            self.process = subprocess.Popen(
                [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", self.app_spec], cwd=ROOT,
                env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.process.returncode}); see "
                                   f"{self.log_path}")
            if self._healthy() and len(children(self.process.pid)) >= self.workers:
                self.worker_pids = children(self.process.pid)
                return
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer /healthz within 60 s; see {self.log_path}")

    def _healthy(self) -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request("GET", "/healthz")
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def peak_rss_mb(self) -> float | None:
        """The largest VmHWM among the current workers."""
        values = [v for v in map(peak_rss_mb, children(self.process.pid)) if v is not None]
        return max(values) if values else None

    def stop(self) -> None:
        if self.process is None:
            return
        workers = children(self.process.pid) if self.process.poll() is None else []
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(45)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        # Workers leave with their master; make sure of it (they are ours, by pid).
        for pid in workers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


def drive(plan: dict, timeout: float) -> dict:
    """Run one phase of :mod:`bench.driver` in its own process and return its result."""
    done = subprocess.run([sys.executable, "-m", "bench.driver"], input=json.dumps(plan),
                          stdout=subprocess.PIPE, text=True, cwd=ROOT, timeout=timeout)
    if done.returncode:
        raise RuntimeError(f"the driver failed in phase {plan['phase']!r} "
                           f"(exit {done.returncode})")
    return json.loads(done.stdout)


# --- one database kind -----------------------------------------------------------------------

def measure(server: Gunicorn, db_url: str, found: dict, settings: dict, tag: str) -> dict:
    """Page latency, then registration throughput with the row count checked."""
    plan = build_plan(found)
    latency = drive({"phase": "latency", "base": server.base, "endpoints": plan,
                     "clients": settings["clients"], "warmup": settings["warmup"],
                     "requests": settings["requests"],
                     "max_seconds": settings["max_seconds"]},
                    timeout=len(plan) * (settings["max_seconds"] + 120))
    before = issue_count(db_url)
    liaisons = [{**user_entry(found_liaison["username"]), "merchants": found_liaison["merchants"]}
                for found_liaison in found["liaisons"]]
    register = drive({"phase": "register", "base": server.base, "liaisons": liaisons,
                      "clients": settings["register_clients"],
                      "requests": settings["register_requests"],
                      "max_seconds": settings["register_seconds"], "tag": tag},
                     timeout=settings["register_seconds"] + 180)
    after = issue_count(db_url)
    register.update(rows_before=before, rows_after=after,
                    lost=before + register["registered"] - after)
    return {"latency": latency, "register": register}


def measure_exports(server: Gunicorn) -> dict:
    """Each format on freshly started workers, so that VmHWM is the export's own peak."""
    results = {}
    for file_format in ("csv", "xlsx"):
        server.restart()
        idle = server.peak_rss_mb()
        result = drive({"phase": "export", "base": server.base, "format": file_format,
                        "user": user_entry(ADMIN_USERNAME), "timeout": GUNICORN_TIMEOUT},
                       timeout=GUNICORN_TIMEOUT + 300)
        peak = server.peak_rss_mb()
        result.update(peak_rss_mb=round(peak) if peak else None,
                      idle_rss_mb=round(idle) if idle else None)
        log(f"  {file_format} export: {result['status']}, {result['bytes'] / 1e6:.1f} MB in "
            f"{result['seconds']:.1f} s, worker peak RSS {result['peak_rss_mb']} MB")
        results[file_format] = result
    return results


def run_database(databases, sizes, workers, settings, args) -> list[dict]:
    runs = []
    for size in sizes:
        golden = databases.golden(size, args.rebuild, args.reuse_stale)
        found = discover(golden)
        for count in workers:
            log(f"{databases.kind} · {report.size_label(size)} issues · {count} workers")
            scratch = databases.scratch(golden, size)
            log_path = DATA / f"gunicorn-{databases.kind}-{size}-{count}w.log"
            log_path.unlink(missing_ok=True)
            try:
                with Gunicorn(scratch, count, log_path) as server:
                    run = {"size": size, "workers": count, "issues": found["issues"],
                           "db_bytes": databases.size_on_disk(scratch)}
                    run.update(measure(server, scratch, found, settings,
                                       tag=f"{size}{count}{secrets.token_hex(2)}"))
                    if not args.no_export and count == workers[0]:
                        run["export"] = measure_exports(server)
            finally:
                databases.drop(scratch)
            runs.append(run)
    return runs


def run_compare(databases, sizes, settings, args) -> list[dict]:
    """Issue #19: circle beside stock Flask-Admin and the floor, 2 workers each, one scratch
    copy of the database served by both, pages requested interleaved."""
    runs = []
    for size in sizes:
        golden = databases.golden(size, args.rebuild, args.reuse_stale)
        found = discover(golden)
        log(f"{databases.kind} · {report.size_label(size)} issues · circle vs stock vs floor")
        scratch = databases.scratch(golden, size)
        circle_log = DATA / f"gunicorn-{databases.kind}-{size}-compare-circle.log"
        stock_log = DATA / f"gunicorn-{databases.kind}-{size}-compare-stock.log"
        for path in (circle_log, stock_log):
            path.unlink(missing_ok=True)
        try:
            with Gunicorn(scratch, 2, circle_log) as circle, \
                    Gunicorn(scratch, 2, stock_log, app_spec=BASELINE_APP) as stock:
                load_start = os.getloadavg()[0]
                pages = drive({"phase": "compare", "user": user_entry(ADMIN_USERNAME),
                               "bases": {"circle": circle.base, "stock": stock.base,
                                         "floor": stock.base},
                               "pages": compare_plan(found),
                               "requests": settings["compare_rounds"],
                               "warmup": settings["warmup"],
                               "max_seconds": settings["compare_seconds"]},
                              timeout=10 * (settings["compare_seconds"] + 120))
        finally:
            databases.drop(scratch)
        runs.append({"size": size, "issues": found["issues"], "pages": pages,
                     "load": [round(load_start, 2), round(os.getloadavg()[0], 2)]})
    return runs


# --- the report ------------------------------------------------------------------------------

def machine(databases) -> dict:
    def first(path, prefix):
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(prefix):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return "?"

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    mem_kb = int(first("/proc/meminfo", "MemTotal").split()[0])
    return {
        "date": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "git": commit + (" + uncommitted changes" if dirty else ""),
        "CPU": f"{first('/proc/cpuinfo', 'model name')}, {os.cpu_count()} cores",
        "RAM": f"{mem_kb / 1024 ** 2:.1f} GB",
        "load average at start": " ".join(f"{v:.2f}" for v in os.getloadavg()),
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "database": databases.version(),
        "stack": ", ".join(f"{name} {metadata.version(name)}" for name in
                           ("gunicorn", "Flask", "Flask-Admin", "SQLAlchemy", "psycopg")),
        "gunicorn": gunicorn_settings(),
    }


def gunicorn_settings() -> str:
    """Worker class and threads as gunicorn.conf.py sets them (from this environment)."""
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    threads = conf.get("threads", 1)
    worker_class = conf.get("worker_class") or ("gthread" if threads > 1 else "sync")
    return (f"{worker_class} workers, {threads} thread(s) each, GUNICORN_TIMEOUT="
            f"{GUNICORN_TIMEOUT}, access log off; driver and server share the machine "
            "over loopback")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="sqlite,postgresql",
                        help="sqlite, postgresql or both, comma-separated (default: both)")
    parser.add_argument("--sizes", default=None,
                        help="issue counts, comma-separated (default 10000,100000,1000000; "
                             "--quick: 10000)")
    parser.add_argument("--workers", default=None,
                        help="gunicorn worker counts (default 2,4; --quick: 2)")
    parser.add_argument("--quick", action="store_true",
                        help="few requests, to check that the harness works end to end")
    parser.add_argument("--requests", type=int, help="timed GETs per page (default 200)")
    parser.add_argument("--clients", type=int, help="concurrent clients per page (default 2)")
    parser.add_argument("--register-requests", type=int,
                        help="registration POSTs in all (default 800)")
    parser.add_argument("--no-export", action="store_true", help="skip the export timing")
    parser.add_argument("--seed", type=int, default=1, help="gen-synthetic --seed")
    parser.add_argument("--rebuild", action="store_true",
                        help="regenerate the databases even if cached ones match")
    parser.add_argument("--reuse-stale", action="store_true",
                        help="use a cached database even if the generator has changed since")
    parser.add_argument("--build-only", action="store_true",
                        help="build (or check) the databases and stop, e.g. to prepare 1M "
                             "ahead of a run")
    parser.add_argument("--compare", action="store_true",
                        help="issue #19: circle beside stock Flask-Admin and a bare-Flask "
                             "floor (bench/baseline.py), interleaved, ratios printed")
    parser.add_argument("--rounds", type=int,
                        help="--compare: rounds per page (default 100; --quick: 20)")
    parser.add_argument("--no-save", action="store_true",
                        help="print the report only; do not append to bench/results/")
    args = parser.parse_args(argv)
    settings = dict(QUICK if args.quick else FULL)
    for key in ("requests", "clients", "register_requests"):
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    if args.rounds is not None:
        settings["compare_rounds"] = args.rounds
    sizes = [int(s) for s in (args.sizes or ("10000" if args.quick
                                             else "10000,100000,1000000")).split(",")]
    workers = [int(w) for w in (args.workers or ("2" if args.quick else "2,4")).split(",")]
    kinds = [kind.strip() for kind in args.db.split(",")]
    for kind in kinds:
        if kind not in ("sqlite", "postgresql"):
            parser.error(f"unknown --db {kind!r}")
    return args, settings, kinds, sizes, workers


def _interrupted(signum, frame):
    # A polite kill (SIGTERM) unwinds like Ctrl-C, so that gunicorn is stopped.
    raise KeyboardInterrupt


def main(argv=None) -> int:
    args, settings, kinds, sizes, workers = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupted)
    command = "bench/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
    DATA.mkdir(parents=True, exist_ok=True)
    for kind in kinds:
        databases = (SqliteDatabases(args.seed) if kind == "sqlite"
                     else PostgresDatabases(args.seed))
        if args.build_only:
            for size in sizes:
                databases.golden(size, args.rebuild, args.reuse_stale)
            continue
        meta = machine(databases)
        if args.compare:
            runs = run_compare(databases, sizes, settings, args)
        else:
            runs = run_database(databases, sizes, workers, settings, args)
        # Other work on the machine skews the figures: say how busy it was.
        meta["load average at end"] = " ".join(f"{v:.2f}" for v in os.getloadavg())
        title = f"{databases.version()} — {meta['date']}"
        render = report.render_compare if args.compare else report.render_report
        text = render(title, meta, runs, command)
        print(text, flush=True)
        suffix = "-compare" if args.compare else ""
        (DATA / f"last-{kind}{suffix}.json").write_text(
            json.dumps({"meta": meta, "runs": runs}, indent=1))
        if not args.no_save:
            RESULTS.mkdir(exist_ok=True)
            path = RESULTS / f"{kind}{suffix}-{dt.date.today().isoformat()}.md"
            with open(path, "a", encoding="utf-8") as out:
                out.write(text + "\n")
            log(f"appended to {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        log("interrupted: gunicorn stopped, scratch database dropped")
        sys.exit(130)
