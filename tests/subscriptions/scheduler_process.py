"""A scheduler process for tests: ``flask subscriptions run`` as an operator starts it (the app
configured from ``PORTAL_*`` variables), but on a fixed clock the test chooses, and able to stop
at a known point so the test can kill it there.

    python -m tests.subscriptions.scheduler_process --now 2026-12-01T09:00:00+00:00 \
        [--stop-in-step 13 --signal-fd 5]

With ``--stop-in-step N`` the process does the N-th step of its run (one period billed or one
change applied) up to and including the database writes, then, with that transaction still
open, writes ``stopped`` to ``--signal-fd`` and waits for ever: the test kills it there."""

from __future__ import annotations

import argparse
import os
import threading
from datetime import datetime
from typing import Any

from flask.cli import ScriptInfo

from portal import create_app
from portal.subscriptions import scheduler


def _stop_in_step(step: int, signal_fd: int) -> None:
    real_advance = scheduler.advance
    calls = 0

    def advance(session: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        done = real_advance(session, *args, **kwargs)
        if done is None:  # nothing (more) due on this subscription: not a step
            return done
        calls += 1
        if calls == step:
            session.flush()  # the step's rows are in the database, not yet committed
            os.write(signal_fd, b"stopped\n")
            threading.Event().wait()  # until killed
        return done

    scheduler.advance = advance  # bill_subscription looks it up at each step


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--now", required=True, type=datetime.fromisoformat)
    parser.add_argument("--stop-in-step", type=int)
    parser.add_argument("--signal-fd", type=int)
    options = parser.parse_args()
    app = create_app()
    app.config["CLOCK"] = lambda: options.now  # the adapters' clock reads it at each call
    if options.stop_in_step:
        _stop_in_step(options.stop_in_step, options.signal_fd)
    app.cli.main(args=["subscriptions", "run", "--wait", "--timeout", "600"],
                 obj=ScriptInfo(create_app=lambda: app), prog_name="flask")


if __name__ == "__main__":
    main()
