"""The test's app on a free loopback port in a thread: real HTTP, for the sandbox bank (which the
portal calls over HTTP on its own address) and browsers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from werkzeug.serving import make_server

from tests.reconfigure import reconfigure


@contextmanager
def serve(app: Flask) -> Iterator[str]:
    """Serve ``app`` until the block ends; its base URL becomes ``PUBLIC_BASE_URL``."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base_url = f"http://127.0.0.1:{server.server_port}"
    reconfigure(app, PUBLIC_BASE_URL=base_url)  # the sandbox bank's URLs follow it
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="live-server", daemon=True)
    thread.start()
    try:
        yield base_url
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
