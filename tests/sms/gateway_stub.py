"""A MessageBird-shaped SMS gateway on 127.0.0.1 for tests: records each ``POST /messages``
and answers as told (201 with an id, an error status with ``errors[]``, or a hang)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.mail.conftest import free_port


@dataclass
class GatewayRequest:
    path: str
    headers: dict[str, str]
    body: Any


class GatewayStub:
    def __init__(self) -> None:
        self.port = free_port()
        self.requests: list[GatewayRequest] = []
        self.status = 201
        self.errors: list[dict[str, Any]] = []
        #: Hold requests until :meth:`release` (a gateway that does not answer in time).
        self.hang = False
        self._released = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> GatewayStub:
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler_for(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def release(self) -> None:
        self._released.set()

    def stop(self) -> None:
        self.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def answer(self) -> tuple[int, dict[str, Any]]:
        if self.status in (200, 201):
            return self.status, {"id": f"mb{len(self.requests):04d}", "type": "sms",
                                 "recipients": {"totalCount": 1}}
        return self.status, {"errors": self.errors or [
            {"code": 9, "description": "no (correct) recipients found", "parameter":
             "recipients"}]}


def _handler_for(stub: GatewayStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            stub.requests.append(GatewayRequest(self.path, {k.lower(): v for k, v in
                                                            self.headers.items()},
                                                json.loads(raw or b"null")))
            if stub.hang:
                stub._released.wait(30)
            status, body = stub.answer()
            payload = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting

        def log_message(self, *args: object) -> None:
            pass

    return Handler
