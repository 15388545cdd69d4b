"""A real webhook endpoint on 127.0.0.1 for tests and the benchmark: records every request and
can answer 500 first, hang, redirect, or not be listening at all."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.pgcluster import free_port


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)
    path: str = "/hooks"
    #: Wall-clock arrival, to compare with the event's ``created_at``.
    wall: float = field(default_factory=time.time)

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """Answers ``status`` (200) after ``delay`` seconds; the first ``hang_first`` requests are
    held until :meth:`release` (or ``hang_seconds``), the next ``fail_first`` get a 500. With
    ``hold_until_in_flight`` requests wait until that many were in flight at once (more than
    one sender's limit proves that two senders took part), or once for ``hold_seconds``."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.requests: list[Received] = []
        self.status = 200
        self.body = b'{"received":true}'
        self.response_headers: dict[str, str] = {}
        self.fail_first = 0
        self.hang_first = 0
        self.hang_seconds = 60.0
        self.delay = 0.0
        self.hold_until_in_flight = 0
        self.hold_seconds = 10.0
        #: Per-path answer delays (a slow endpoint among fast ones), else ``delay``.
        self.path_delays: dict[str, float] = {}
        #: Event ids always answered with a 500 (an endpoint choking on particular events).
        self.refuse_ids: set[str] = set()
        #: Concurrency record: ids in flight now, and ids ever seen in flight twice at once.
        self.in_flight: dict[str, int] = {}
        self.overlaps: list[str] = []
        self.max_in_flight = 0
        self.arrived = threading.Condition()
        self._released = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> Receiver:
        server = _Server(("127.0.0.1", self.port), _handler_for(self))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        self._server = server
        return self

    def stop(self) -> None:
        self.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def release(self) -> None:
        """Let held requests finish (their senders may have given up already)."""
        self._released.set()

    def ids(self) -> list[str]:
        return [request.id for request in self.requests]

    def wait_for(self, count: int, timeout: float = 30.0) -> bool:
        """Block until ``count`` requests arrived (for the process tests)."""
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.requests) >= count, timeout)

    def _answer(self, received: Received) -> tuple[int, bytes]:
        with self.arrived:
            self.requests.append(received)
            number = len(self.requests)
            self.in_flight[received.id] = self.in_flight.get(received.id, 0) + 1
            if self.in_flight[received.id] > 1:
                self.overlaps.append(received.id)
            self.max_in_flight = max(self.max_in_flight, sum(self.in_flight.values()))
            self.arrived.notify_all()
            if self.hold_until_in_flight and not self.arrived.wait_for(
                    lambda: self.max_in_flight >= self.hold_until_in_flight, self.hold_seconds):
                self.hold_until_in_flight = 0  # timed out: held no longer (the test fails)
                self.arrived.notify_all()
        try:
            if number <= self.hang_first:
                self._released.wait(self.hang_seconds)
                return 200, self.body
            if number <= self.hang_first + self.fail_first or received.id in self.refuse_ids:
                return 500, b'{"error":"not today"}'
            delay = self.path_delays.get(received.path, self.delay)
            if delay:
                time.sleep(delay)
            return self.status, self.body
        finally:
            with self.arrived:
                self.in_flight[received.id] -= 1


class _Server(ThreadingHTTPServer):
    #: Many senders connect at once (a worker keeps dozens of requests in flight).
    request_queue_size = 512

    def handle_error(self, request: object, client_address: object) -> None:
        """A sender that closed its idle connection is no error worth a traceback."""


def _handler_for(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in separate writes

        def do_POST(self) -> None: 
            length = int(self.headers.get("content-length") or 0)
            received = Received({k.lower(): v for k, v in self.headers.items()},
                                self.rfile.read(length), path=self.path)
            status, body = receiver._answer(received)
            try:
                self.send_response(status)
                for name, value in receiver.response_headers.items():
                    self.send_header(name, value)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass  # the sender gave up (timeout) or died

        def log_message(self, *args: object) -> None:
            pass

    return Handler
