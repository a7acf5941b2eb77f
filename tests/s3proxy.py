"""A counting HTTP reverse proxy in front of a real S3 endpoint (moto or seaweedfs), for tests and benchmarks.

Every request is forwarded unchanged (the ``Host`` header too, so SigV4 signatures still verify) and
recorded: method, path, query, status and the response-body bytes sent back. The proxy can also play a
fault: :meth:`CountingProxy.die_after` cuts the connection after ``n`` body bytes of a matching response
and stops answering, as an endpoint that goes down in the middle of a download.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

CHUNK = 1 << 20
_HOP_HEADERS = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "expect", "te"}


@dataclass(frozen=True)
class Request:
    """One proxied request."""

    method: str
    path: str
    query: str
    status: int
    body_bytes: int
    range: str | None

    @property
    def key(self) -> str:
        """The object key (path without the bucket)."""
        return self.path.lstrip("/").partition("/")[2]


class CountingProxy:
    """``with CountingProxy(upstream) as proxy: proxy.endpoint`` — a proxy on 127.0.0.1 that counts requests."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._down = threading.Event()
        self._fault: tuple[Callable[[str, str], bool], int] | None = None
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def handle_one_request(self) -> None:
                if proxy._down.is_set():
                    self.close_connection = True
                    return
                super().handle_one_request()

            def _forward(self) -> None:
                proxy._forward(self)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # ----- lifecycle -----------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        """The proxy's URL (use it as ``aws_endpoint_url``)."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> CountingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop listening: new connections are refused, open ones are closed at their next request."""
        self._down.set()
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    # ----- observation ---------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget the requests seen so far."""
        with self._lock:
            self.requests.clear()

    def gets(self, suffix: str = "") -> list[Request]:
        """GET requests whose path ends with ``suffix``."""
        with self._lock:
            return [r for r in self.requests if r.method == "GET" and r.path.endswith(suffix)]

    def bytes_sent(self, suffix: str = "") -> int:
        """Response-body bytes sent for requests whose path ends with ``suffix``."""
        with self._lock:
            return sum(r.body_bytes for r in self.requests if r.path.endswith(suffix))

    def die_after(self, nbytes: int, match: Callable[[str, str], bool]) -> None:
        """Cut the first response matching ``match(method, path)`` after ``nbytes`` body bytes, then stop."""
        self._fault = (match, nbytes)

    # ----- forwarding ----------------------------------------------------------------------------
    def _forward(self, h: BaseHTTPRequestHandler) -> None:
        path, _, query = h.path.partition("?")
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else None
        if h.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = _read_chunked(h.rfile)
        headers = {k: v for k, v in h.headers.items() if k.lower() not in _HOP_HEADERS}
        if body is not None:
            headers["Content-Length"] = str(len(body))
        conn = http.client.HTTPConnection(*self.upstream, timeout=120)
        try:
            conn.request(h.command, h.path, body=body, headers=headers)
            resp = conn.getresponse()
            fault = self._fault
            cut = fault[1] if fault is not None and fault[0](h.command, path) else None
            h.send_response(resp.status, resp.reason)
            out_headers = [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP_HEADERS]
            declared = resp.getheader("Content-Length")
            data = b"" if declared is not None or h.command == "HEAD" else resp.read()
            for k, v in out_headers:
                if k.lower() != "content-length" or declared is not None:
                    h.send_header(k, v)
            if declared is None and h.command != "HEAD":
                h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            sent = 0
            if data:
                h.wfile.write(data)
                sent = len(data)
            elif h.command != "HEAD":
                while chunk := resp.read(CHUNK):
                    if cut is not None and sent + len(chunk) > cut:
                        h.wfile.write(chunk[: max(cut - sent, 0)])
                        h.wfile.flush()
                        sent = cut
                        self._fault = None
                        self._record(h.command, path, query, resp.status, sent, h.headers.get("Range"))
                        self._die(h)
                        return
                    h.wfile.write(chunk)
                    sent += len(chunk)
            self._record(h.command, path, query, resp.status, sent, h.headers.get("Range"))
        finally:
            conn.close()

    def _record(self, method: str, path: str, query: str, status: int, nbytes: int, rng: str | None) -> None:
        with self._lock:
            self.requests.append(Request(method, path, query, status, nbytes, rng))

    def _die(self, h: BaseHTTPRequestHandler) -> None:
        self._down.set()
        h.close_connection = True
        with contextlib.suppress(OSError):
            h.connection.shutdown(socket.SHUT_RDWR)
        threading.Thread(target=self.stop, daemon=True).start()


def _read_chunked(rfile: Any) -> bytes:
    out = bytearray()
    while True:
        size = int(rfile.readline().split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return bytes(out)
        out += rfile.read(size)
        rfile.readline()
