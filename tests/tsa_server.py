"""An RFC 3161 timestamp authority over HTTP on loopback, as tests' stand-in for a real TSA.

It answers with the development CA's local authority and may demand HTTP basic credentials,
so the portal's HTTP client, its settings and `flask check` meet a real server.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from signing.timestamps import (
    TIMESTAMP_QUERY,
    TIMESTAMP_REPLY,
    LocalTimestampAuthority,
    timestamp_reply,
)


@dataclass
class RunningTsa:
    url: str
    requests: list[dict[str, str]] = field(default_factory=list)


@contextmanager
def serve_tsa(authority: LocalTimestampAuthority, username: str | None = None,
              password: str | None = None) -> Iterator[RunningTsa]:
    expected = None
    if username is not None:
        expected = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
    running = RunningTsa(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            running.requests.append(dict(self.headers))
            if expected is not None and self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="tsa"')
                self.end_headers()
                return
            if self.headers.get("Content-Type") != TIMESTAMP_QUERY:
                self.send_response(415)
                self.end_headers()
                return
            query = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            reply = timestamp_reply(authority, query)
            self.send_response(200)
            self.send_header("Content-Type", TIMESTAMP_REPLY)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    running.url = f"http://127.0.0.1:{server.server_address[1]}/tsa"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield running
    finally:
        server.shutdown()
        server.server_close()
