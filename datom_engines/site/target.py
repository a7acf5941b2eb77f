"""Where a site is written: into the project's store (under ``.site/``), or into a local directory.

Both give the same small interface (read a file's bytes, write a file with its content type, the URL
of a page), so the builder does not care which. Nothing outside the site's own prefix is ever written.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..core import keys
from ..errors import InvalidArgumentError, NotFoundError
from ..storage.objectstore import ObjectStore

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
}


def content_type(path: str) -> str:
    """The Content-Type a static host should serve ``path`` with."""
    return CONTENT_TYPES.get(os.path.splitext(path)[1], "application/octet-stream")


class StoreTarget:
    """The site inside the project's store namespace, under ``.site/`` (readers with store access see it).

    On a local store the files are written as in a :class:`DirTarget` on the ``.site`` folder (the same
    files, with fewer file-system calls than the object-store interface needs).
    """

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        location = store.location
        self._local = DirTarget(location.fs_path(keys.SITE_PREFIX.rstrip("/"))) if location.is_local else None

    def _key(self, path: str) -> str:
        return keys.SITE_PREFIX + path

    def read(self, path: str) -> bytes | None:
        """The bytes of a site file, or None when it does not exist."""
        if self._local is not None:
            return self._local.read(path)
        try:
            return self.store.get_bytes(self._key(path))
        except NotFoundError:
            return None

    def write(self, path: str, data: bytes) -> None:
        """Write (or replace) one site file."""
        if self._local is not None:
            self._local.write(path, data)
        else:
            self.store.put_bytes(self._key(path), data, content_type=content_type(path))

    @property
    def local_root(self) -> str | None:
        """The site's folder when the store is a local directory (else None)."""
        return str(self._local.root) if self._local is not None else None

    def url(self, path: str = "index.html") -> str:
        """Where to open a page: a ``file://`` URL for a local store, else the object's store URL."""
        location = self.store.location
        if location.is_local:
            return Path(location.fs_path(self._key(path))).as_uri()
        return location.url(self._key(path))

    def __str__(self) -> str:
        return self.store.location.url(keys.SITE_PREFIX)


class DirTarget:
    """The site in a local directory of the user's choice (``--out DIR``)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser().absolute()
        if self.root.exists() and not self.root.is_dir():
            raise InvalidArgumentError(
                f"cannot write the site into {self.root}: it is a file", hint="give a directory for --out"
            )
        self._dirs: set[str] = set()

    def _file(self, path: str) -> Path:
        return self.root.joinpath(*path.split("/"))

    def read(self, path: str) -> bytes | None:
        """The bytes of a site file, or None when it does not exist."""
        try:
            return self._file(path).read_bytes()
        except FileNotFoundError:
            return None

    def write(self, path: str, data: bytes) -> None:
        """Write one site file: a new file directly, a replaced one atomically (temporary file + rename).

        A new page is linked from nowhere until the pages that link to it are written after it, so no
        reader follows a link into a half-written file; a page that exists is never seen half-replaced.
        """
        dest = os.path.join(self.root, *path.split("/"))
        folder = os.path.dirname(dest)
        if folder not in self._dirs:
            os.makedirs(folder, exist_ok=True)
            self._dirs.add(folder)
        try:
            with open(dest, "xb") as fh:
                fh.write(data)
            return
        except FileExistsError:
            pass
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(dest)}.", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @property
    def local_root(self) -> str | None:
        """The site's folder."""
        return str(self.root)

    def url(self, path: str = "index.html") -> str:
        """The ``file://`` URL of a page."""
        return self._file(path).as_uri()

    def __str__(self) -> str:
        return str(self.root)


SiteTarget = StoreTarget | DirTarget
