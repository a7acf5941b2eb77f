"""Test helper: serve bare git repositories over HTTP with the real ``git http-backend``.

``dulwich.web`` loses concurrent pushes (it reports success without moving the ref), so tests use real git
behind a tiny threaded ``http.server`` CGI wrapper on 127.0.0.1, with optional HTTP basic auth.

    root = tmp_path / "srv"
    make_bare_repo(root / "data.git")
    with GitHTTPServer(root, username="git", password="tok") as srv:
        url = srv.url("data.git")     # http://127.0.0.1:PORT/data.git
"""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

GIT = shutil.which("git") or "git"


def make_bare_repo(path: Path, *, branch: str = "main") -> Path:
    """Create a bare repository with ``git init --bare`` (HEAD on ``branch``, pushes over HTTP allowed).

    ``path`` may be a directory to create the repository in (``<path>/remote.git``) or the repository path
    itself (when it ends in ``.git``).
    """
    path = Path(path)
    if path.suffix != ".git":
        path = path / "remote.git"
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [GIT, "init", "--quiet", "--bare", f"--initial-branch={branch}", str(path)],
        check=True,
        capture_output=True,
    )
    subprocess.run([GIT, "-C", str(path), "config", "http.receivepack", "true"], check=True)
    return path


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Without TCP_NODELAY, Nagle + delayed ACKs add ~40 ms to every small request/response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:  # silence the default stderr logging
        return

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size_line = self.rfile.readline()
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()  # CRLF after each chunk
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _authorized(self) -> str | None:
        """The authenticated user ('' when the server has no auth), or None when the request is refused."""
        srv = self.server
        if srv.username is None:
            return ""
        header = self.headers.get("Authorization", "")
        if header.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                return None
            if user == srv.username and password == srv.password:
                return user
        return None

    def _handle(self) -> None:
        body = self._read_body() if self.command == "POST" else b""
        user = self._authorized()
        self.server.requests.append((self.command, self.path, user is not None))
        if user is None:
            self._send(401, [("WWW-Authenticate", 'Basic realm="git"')], b"authentication required\n")
            return
        parts = urlsplit(self.path)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": str(self.server.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.receivepack",
            "GIT_CONFIG_VALUE_0": "true",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": parts.path,
            "QUERY_STRING": parts.query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": self.client_address[0],
            "REMOTE_USER": user or "anonymous",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
        }
        for name in ("Git-Protocol", "Content-Encoding", "Accept"):
            value = self.headers.get(name)
            if value:
                env["HTTP_" + name.upper().replace("-", "_")] = value
        proc = subprocess.run([GIT, "http-backend"], input=body, env=env, capture_output=True, check=False)
        out = proc.stdout
        sep = out.find(b"\r\n\r\n")
        head, payload = (out[:sep], out[sep + 4 :]) if sep >= 0 else out.partition(b"\n\n")[::2]
        status = 200
        headers: list[tuple[str, str]] = []
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                headers.append((name.strip(), value.strip()))
        if proc.returncode != 0 and not out:
            self._send(500, [("Content-Type", "text/plain")], proc.stderr)
            return
        self._send(status, headers, payload)

    do_GET = _handle
    do_POST = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    root: Path
    username: str | None
    password: str | None
    requests: list[tuple[str, str, bool]]

    def handle_error(self, request: object, client_address: object) -> None:
        """Ignore clients that hang up (a finished writer process closing its keep-alive connection)."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class GitHTTPServer:
    """Serve every bare repository below ``root`` at ``http://127.0.0.1:<port>/<relative path>``."""

    def __init__(self, root: Path, *, username: str | None = None, password: str | None = None) -> None:
        self.root = Path(root)
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.root = self.root
        self._server.username = username
        self._server.password = password
        self._server.requests = []
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="git-http", daemon=True
        )

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        return int(self._server.server_address[1])

    @property
    def requests(self) -> list[tuple[str, str, bool]]:
        """``(method, path, authorized)`` of every request served so far."""
        return self._server.requests

    def url(self, repo: str | Path) -> str:
        """The HTTP URL of ``repo`` (a path below ``root`` or relative to it)."""
        rel = Path(repo)
        if rel.is_absolute():
            rel = rel.relative_to(self.root)
        return f"http://127.0.0.1:{self.port}/{rel.as_posix()}"

    def start(self) -> GitHTTPServer:
        """Start serving in a daemon thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> GitHTTPServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
