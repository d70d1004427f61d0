"""gunicorn settings for production: ``gunicorn app:app`` reads this file.

Every value comes from the environment, with defaults for a small machine.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Scale with processes (and hosts). One thread per worker (sync workers) by default: on a
# 2-core machine they registered 199 issues/s against 122/s with 4 threads each, and the
# dashboard answered faster (bench/README.md) — threads in one process share one CPU
# through the GIL, and SQLite's writers wait on each other. GUNICORN_THREADS > 1 switches
# to gthread workers, which a long request cannot get killed: use it behind slow clients.
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, multiprocessing.cpu_count())))

#: Where the login-throttle counts live when several workers serve and none is set: the
#: Redis every deployment runs (limits' Redis storage: atomic, shared by workers and hosts).
SHARED_THROTTLE_DEFAULT = "redis://127.0.0.1:6379/0"
#: Set to 1 to run several workers with memory:// anyway (each then counts on its own).
PER_WORKER_THROTTLE_OVERRIDE = "CIRCLE_ALLOW_PER_WORKER_THROTTLE"


def throttle_storage(environ, worker_count: int) -> str:
    """The RATELIMIT_STORAGE_URI the workers get: the one set, or with several workers and
    none set, :data:`SHARED_THROTTLE_DEFAULT`. Set here, at load, so that the app (loaded
    after this file, preloaded or not) reads it from the environment like every setting."""
    storage = environ.get("RATELIMIT_STORAGE_URI") or ""
    if not storage and worker_count > 1:
        storage = environ["RATELIMIT_STORAGE_URI"] = SHARED_THROTTLE_DEFAULT
    return storage or "memory://"


def throttle_problem(environ, worker_count: int) -> str | None:
    """Why these workers must not start with this throttle store, or None.

    memory:// with several workers lets each worker allow the configured failed sign-ins
    (three workers: three times the guesses), so it is refused unless explicitly allowed;
    a shared store that does not answer is refused too (every sign-in would fail open or
    closed, silently)."""
    storage = throttle_storage(environ, worker_count)
    if storage.startswith("memory://"):
        if worker_count > 1 and environ.get(PER_WORKER_THROTTLE_OVERRIDE) != "1":
            return (f"RATELIMIT_STORAGE_URI is memory:// with {worker_count} workers: each "
                    "worker would count failed sign-ins on its own, allowing "
                    f"{worker_count} times the configured guesses. Leave it unset (Redis at "
                    f"{SHARED_THROTTLE_DEFAULT}), set a shared redis://… store, run "
                    f"WEB_CONCURRENCY=1, or set {PER_WORKER_THROTTLE_OVERRIDE}=1 to accept it.")
        return None
    from limits.storage import storage_from_string

    try:
        reachable = storage_from_string(storage).check()
    except Exception:  # a malformed URI or a missing driver: say so, as for no answer
        reachable = False
    if not reachable:
        return (f"The login-throttle store {storage} does not answer. Start it, or set "
                "RATELIMIT_STORAGE_URI to one that does.")
    return None


throttle_storage(os.environ, workers)
threads = int(os.environ.get("GUNICORN_THREADS", 1))
# A sync worker is restarted when one request takes longer than this: a city-wide export
# of a million rows streams for under a minute here; allow five for slower machines.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 300))
graceful_timeout = 30
keepalive = 5
# Restart workers now and then so that a slow leak can never grow without bound.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 5000))
max_requests_jitter = 500
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_worker_init(worker):
    """Move the loaded app's objects out of the garbage collector's sight: a full
    collection then walks only what requests create, not every module, class and compiled
    template (full collections were most of the slowest 5 % of page times)."""
    import gc

    gc.collect()
    gc.freeze()


def on_starting(server):
    """Refuse to start workers that would not share the login-throttle counts (see
    :func:`throttle_problem`); ``-w`` on the command line counts, not only WEB_CONCURRENCY."""
    problem = throttle_problem(os.environ, server.cfg.workers)
    if problem:
        server.log.error(problem)
        raise SystemExit(problem)
