"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py wsgi:app`.

Every value can be overridden with the usual GUNICORN_* / command-line options."""

import gc
import os
import tempfile

#: Separate `flask --app portal worker` processes run background jobs, never the web workers.
#: Set here, while gunicorn reads this file: with preload_app the master builds the app (and reads
#: its configuration) before any server hook such as on_starting runs. An explicit
#: PORTAL_JOBS_IN_PROCESS still wins.
os.environ.setdefault("PORTAL_JOBS_IN_PROCESS", "false")

from portal import serving  # noqa: E402 - after the environment it must not read first

bind = os.environ.get("PORTAL_BIND", serving.DEFAULT_BIND)
#: Sync workers: the portal is I/O-light and CPU-bound on rendering; 2×cores+1 is the classic.
#: ``flask --app portal check`` reads the same (portal/serving.py).
workers = serving.web_workers(os.environ)
worker_class = "sync"
timeout = 30
graceful_timeout = 20
keepalive = 5
#: Load the app once in the master: workers fork ready (fast restarts, shared memory). Database
#: connections are opened lazily, in each worker, after the fork.
preload_app = True
#: Recycle workers now and then as a guard against leaks; the wide jitter keeps them from all
#: restarting at the same moment under an even load.
max_requests = 50000
max_requests_jitter = 25000
#: Trust X-Forwarded-* only from the reverse proxy in front (set to its address).
forwarded_allow_ips = os.environ.get("PORTAL_FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
errorlog = "-"
#: The URL path only (%(U)s), never the query string; /sign/<token> is scrubbed by the portal's
#: log record factory, which gunicorn's loggers go through as well.
access_log_format = ('{"remote": "%(h)s", "method": "%(m)s", "path": "%(U)s", '
                     '"status": %(s)s, "bytes": "%(B)s", "duration_ms": %(M)s, '
                     '"request_id": "%({x-request-id}o)s"}')

# Prometheus metrics shared by all workers (see portal/metrics.py).
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR",
                      tempfile.mkdtemp(prefix="portal-metrics-"))


def when_ready(server):  # noqa: ARG001 - gunicorn hook signature
    """The app is loaded (preload_app): its objects live as long as the workers, so they are
    moved out of the garbage collector's sight before the workers fork. A full collection
    otherwise walks every mapper, template and catalog (some 270,000 objects), about 10 ms of
    a worker's CPU per sign-and-verify flow; and its reference-count writes would unshare the
    pages the fork shared. Cycles made later are collected as before."""
    gc.collect()
    gc.freeze()


def child_exit(server, worker):  # noqa: ARG001 - gunicorn hook signature
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
