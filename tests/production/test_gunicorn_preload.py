"""Under gunicorn with ``preload_app`` the master builds the app before any server hook runs, so
whatever turns the in-process job runner off must already hold when the config file is read:
no web worker may run a job thread (the ``worker`` processes do)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]

#: Loads the app exactly as gunicorn's master does: the config file, then the Arbiter, whose
#: setup imports the app when preload_app is on (before on_starting and before any fork).
SCRIPT = """
import json, sys
sys.argv = ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
from gunicorn.app.wsgiapp import WSGIApplication
from gunicorn.arbiter import Arbiter

application = WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]")
arbiter = Arbiter(application)
app = application.callable
hooks = [f.__name__ for fs in app.before_request_funcs.values() for f in fs]
print(json.dumps({"preload": arbiter.cfg.preload_app,
                  "jobs_in_process": app.config["JOBS_IN_PROCESS"], "hooks": hooks}))
"""


def test_the_preloaded_app_that_workers_fork_from_runs_no_job_thread(tmp_path: Path) -> None:
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("PORTAL_", "GUNICORN_"))}
    env |= {"PORTAL_INSTANCE_PATH": str(tmp_path), "PORTAL_LOG_LEVEL": "WARNING",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["preload"] is True
    assert loaded["jobs_in_process"] is False
    assert "_start_jobs" not in loaded["hooks"]


def test_an_explicit_setting_still_wins(tmp_path: Path) -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("PORTAL_")}
    env |= {"PORTAL_INSTANCE_PATH": str(tmp_path), "PORTAL_LOG_LEVEL": "WARNING",
            "PORTAL_JOBS_IN_PROCESS": "true", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1])["jobs_in_process"] is True


def test_the_master_freezes_the_preloaded_app_before_the_workers_fork(tmp_path: Path) -> None:
    """``when_ready`` (after the preload, before the first fork) moves the app's objects out of
    the collector's sight, so no worker's full collection walks them."""
    script = ("import gc, runpy; conf = runpy.run_path('gunicorn.conf.py'); "
              "before = gc.get_freeze_count(); conf['when_ready'](None); "
              "print(before, gc.get_freeze_count())")
    env = {name: value for name, value in os.environ.items() if not name.startswith("PORTAL_")}
    env |= {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    before, after = map(int, result.stdout.split()[-2:])
    assert before == 0 and after > 10_000
