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
    """Say it loudly when several workers would each keep their own login-throttle counts:
    with ``memory://`` every worker allows the configured failures, so N workers allow N
    times as many guesses. Set RATELIMIT_STORAGE_URI=redis://… (or WEB_CONCURRENCY=1)."""
    storage = os.environ.get("RATELIMIT_STORAGE_URI") or "memory://"
    if storage.startswith("memory://") and server.cfg.workers > 1:
        banner = "!" * 78
        server.log.warning(
            "\n%s\nRATELIMIT_STORAGE_URI is memory:// with %d workers: each worker counts "
            "failed sign-ins\non its own, so an account allows %d times the configured "
            "guesses. Set\nRATELIMIT_STORAGE_URI=redis://127.0.0.1:6379/0 (shared by all "
            "workers and hosts).\n%s", banner, server.cfg.workers, server.cfg.workers, banner)
