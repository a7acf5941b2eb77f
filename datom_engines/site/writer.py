"""Writing a build's pages: only those whose bytes changed, on background threads.

Writing is mostly waiting (a file system call, an object-store PUT), so a few threads write while the
build renders the next pages. :meth:`PageWriter.flush` waits for every write and re-raises the first
failure; the builder flushes before it records the build state, so a failed write is redone next time.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

from .state import digest
from .target import DirTarget, StoreTarget

THREADS = 1


class PageWriter:
    """Writes a page only when its bytes differ from the hash the site state remembers."""

    def __init__(self, target: StoreTarget | DirTarget, threads: int | None = None) -> None:
        self.target = target
        self.written: list[str] = []
        self.unchanged = 0
        self._pool = ThreadPoolExecutor(threads or THREADS, thread_name_prefix="datom-site-write")
        self._pending: list[Future[None]] = []

    def put(self, path: str, text: str, hashes: dict[str, str]) -> None:
        """Write ``text`` at ``path`` unless ``hashes[path]`` says it is there already; record its hash."""
        data = text.encode("utf-8")
        sha = digest(data)
        if hashes.get(path) == sha:
            self.unchanged += 1
            return
        self._pending.append(self._pool.submit(self.target.write, path, data))
        hashes[path] = sha
        self.written.append(path)

    def flush(self) -> None:
        """Wait for every write; raise the first error."""
        pending, self._pending = self._pending, []
        for future in pending:
            future.result()

    def close(self) -> None:
        """Stop the threads (after waiting for what was queued)."""
        self._pool.shutdown(wait=True)
