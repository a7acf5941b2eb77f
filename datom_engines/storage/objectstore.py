"""One object-store interface for every backend, over fsspec.

:class:`ObjectStore` reads and writes keys relative to a :class:`StoreLocation`'s namespace root.
Local directories get atomic writes (temp file + rename/link) so a reader never sees half an object;
object stores get put-if-absent through conditional requests (``If-None-Match: *``), with a lost race
recognised by HTTP 412 / ``PreconditionFailed`` rather than by exception class. Every error is turned
into a :class:`~datom_engines.errors.DatomError` naming the object and what to do.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from functools import cached_property
from typing import IO, Any

import fsspec

from ..core import jsonfmt
from ..errors import NotFoundError, StoreAccessDeniedError, StoreError, StoreUnreachableError
from .location import StoreLocation
from .s3put import SINGLE_PUT_MAX, put_streamed
from .staging import staging_root
from .stat import ObjectStat, fsspec_stat, local_stat, s3_stat

ProgressCallback = Callable[[int], None]
"""Called with the number of bytes just transferred."""

_memory_lock = threading.Lock()


class ObjectStore:
    """Keys under one datom namespace (``{root}/{prefix}/datom/``) on any fsspec filesystem."""

    #: Part size of multipart uploads to S3 (None: s3fs's 50 MiB). Files under two parts go in one PUT.
    upload_chunksize: int | None = None
    #: Files up to this size whose SHA-256 is known go to S3 in one streamed PUT carrying that checksum.
    single_put_max: int = SINGLE_PUT_MAX

    def __init__(self, location: StoreLocation) -> None:
        self.location = location

    def __repr__(self) -> str:
        return f"ObjectStore({self.location.url()!r})"

    @cached_property
    def fs(self) -> fsspec.AbstractFileSystem:
        """The fsspec filesystem behind this store (one instance per set of options)."""
        loc = self.location
        try:
            if loc.is_local:
                return fsspec.filesystem("file")
            return fsspec.filesystem(loc.protocol, **loc.fsspec_options())
        except (ImportError, ValueError) as exc:
            raise StoreError(
                f"cannot open a {loc.protocol!r} filesystem: {exc}",
                hint=f"install the fsspec driver for {loc.protocol!r} (for S3: pip install 'datom_engines[s3]')",
            ) from exc

    @cached_property
    def endpoint(self) -> str | None:
        """The endpoint URL of an S3-compatible store (None for AWS itself and other stores)."""
        if self.location.protocol != "s3":
            return None
        value = self.location.fsspec_options().get("endpoint_url")
        return str(value) if value else None

    # ----- reading -----------------------------------------------------------------------------
    def exists(self, key: str) -> bool:
        """True if the object exists (a 404 means absent; a 403 raises :class:`StoreAccessDeniedError`)."""
        return self.size(key) is not None

    def size(self, key: str) -> int | None:
        """Byte size of an object, or None if it does not exist (see :meth:`stat`)."""
        found = self.stat(key)
        return None if found is None else found.size

    def stat(self, key: str) -> ObjectStat | None:
        """Size and identity of an object (see :mod:`.stat`), or None if it does not exist.

        On S3 this is one ``HeadObject`` (with ``ChecksumMode=ENABLED``, so a full-object SHA-256 comes
        back with it): a 404 means absent. A 403 raises :class:`StoreAccessDeniedError`, because S3
        answers 403 both for refused credentials and for a missing object when the credentials lack
        ``s3:ListBucket`` (reference section 8 item 25): callers that can proceed without knowing
        (put-if-absent) catch it.
        """
        path = self.location.fs_path(key)
        with self._errors("stat", key):
            try:
                if self.location.is_local:
                    return local_stat(path)
                if self.location.protocol == "s3":
                    bucket, inner, _ = self.fs.split_path(path)
                    return s3_stat(self.fs.call_s3("head_object", Bucket=bucket, Key=inner, ChecksumMode="ENABLED"))
                info = self.fs.info(path)
                if info.get("type") == "directory":
                    return None
                handle = getattr(self.fs, "store", {}).get(self.fs._strip_protocol(path)) if self._is_memory else None
                return fsspec_stat(self.location.protocol, info, handle)
            except FileNotFoundError:
                return None

    @property
    def _is_memory(self) -> bool:
        return self.location.protocol == "memory"

    def get_bytes(self, key: str) -> bytes:
        """The whole object; :class:`NotFoundError` if it is missing."""
        path = self.location.fs_path(key)
        with self._errors("read", key):
            if self.location.is_local:
                with open(path, "rb") as fh:
                    return fh.read()
            if self.location.protocol == "s3":  # one GET, no HEAD/list probe first
                return bytes(self.fs.cat_file(path, max_concurrency=1))
            return bytes(self.fs.cat_file(path))

    @contextlib.contextmanager
    def open_read(self, key: str) -> Iterator[IO[bytes]]:
        """A binary stream over an object (no read-ahead cache)."""
        path = self.location.fs_path(key)
        with self._errors("read", key):
            if self.location.is_local:
                fh: IO[bytes] = open(path, "rb")  # noqa: SIM115
            else:
                fh = self.fs.open(path, "rb", cache_type="none", block_size=8 * 2**20)
        try:
            with self._errors("read", key):
                yield fh
        finally:
            fh.close()

    def read_json(self, key: str) -> Any:
        """Parse a JSON object; a malformed one raises :class:`StoreError` naming the key."""
        data = self.get_bytes(key)
        try:
            return jsonfmt.parse(data)
        except ValueError as exc:
            raise StoreError(
                f"failed to parse JSON at {self.location.url(key)}: {exc}",
                hint="the metadata mirror is damaged; a writer can rebuild it with validate(repair=True)",
            ) from exc

    def read_json_or_none(self, key: str) -> Any:
        """Like :meth:`read_json` but None when the object does not exist."""
        try:
            return self.read_json(key)
        except NotFoundError:
            return None

    def list_keys(self, under: str = "") -> list[str]:
        """Every key below ``under`` (relative to the namespace root), sorted."""
        base = self.location.fs_path(under) if under else self.location.fs_path()
        root = self.location.fs_path()
        if not self.location.is_local:
            root = self.fs._strip_protocol(root)
        with self._errors("list", under or "."):
            try:
                found = self.fs.find(base, withdirs=False)
            except FileNotFoundError:
                return []
        out = []
        for path in found:
            rel = os.path.relpath(path, root) if self.location.is_local else path[len(root.rstrip("/")) + 1 :]
            out.append(rel.replace(os.sep, "/"))
        return sorted(out)

    # ----- writing -----------------------------------------------------------------------------
    def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> None:
        """Write (or overwrite) an object atomically where the backend allows it."""
        path = self.location.fs_path(key)
        with self._errors("write", key):
            if self.location.is_local:
                self._local_write(path, lambda fh: fh.write(data))
            elif self.location.protocol == "s3" and content_type:
                self.fs.pipe_file(path, data, ContentType=content_type)
            else:
                self.fs.pipe_file(path, data)

    def write_json(self, key: str, value: Any) -> None:
        """Write JSON the way R datom does: pretty, trailing newline locally, none on object stores."""
        text = jsonfmt.pretty(value)
        if self.location.is_local:
            text += "\n"
        self.put_bytes(key, text.encode("utf-8"), content_type="application/json")

    def put_file_if_absent(
        self, key: str, local_path: str, *, progress: ProgressCallback | None = None, sha256: str | None = None
    ) -> bool:
        """Upload a local file unless the key exists. True if this call created the object.

        Local stores link the finished file into place (atomic, no partial object visible); S3 uses a
        conditional PUT and treats HTTP 412 as "someone else won" (with ``sha256``, the file's SHA-256,
        and up to :attr:`single_put_max` bytes: one streamed PUT carrying that checksum, which S3
        verifies and returns on every later HEAD); other filesystems check then write under a process lock.
        """
        path = self.location.fs_path(key)
        with self._errors("upload", key):
            if self.location.is_local:
                return self._local_put_if_absent(local_path, path, progress)
            if self.location.protocol == "s3":
                if sha256 is not None and os.path.getsize(local_path) <= self.single_put_max:
                    bucket, inner, _ = self.fs.split_path(path)
                    return _unless_precondition_failed(
                        lambda: put_streamed(
                            self.fs, bucket, inner, local_path, sha256=sha256, if_none_match=True, progress=progress
                        )
                    )
                return _unless_precondition_failed(
                    lambda: self.fs.put_file(
                        local_path,
                        path,
                        mode="create",
                        callback=_FsspecCallback(progress),
                        chunksize=self.upload_chunksize,
                    )
                )
            with _memory_lock:
                if self.fs.exists(path):
                    return False
                self.fs.put_file(local_path, path)
            if progress:
                progress(os.path.getsize(local_path))
            return True

    def put_file(self, key: str, local_path: str, *, progress: ProgressCallback | None = None) -> None:
        """Upload (or overwrite) an object from a local file, streamed (multipart on S3 for large files)."""
        path = self.location.fs_path(key)
        with self._errors("upload", key):
            if self.location.is_local:
                self._local_write(path, lambda fh: _copy_file(local_path, fh, progress))
            elif self.location.protocol == "s3":
                self.fs.put_file(local_path, path, callback=_FsspecCallback(progress), chunksize=self.upload_chunksize)
            else:
                self.fs.put_file(local_path, path)
                if progress:
                    progress(os.path.getsize(local_path))

    def replace_file(
        self, key: str, local_path: str, *, expected: ObjectStat | None, sha256: str | None = None
    ) -> bool:
        """Overwrite an object with a local file only if it is still ``expected`` (None: only if absent).

        Used to restore a corrupted or missing object without clobbering a concurrent repair: S3 sends
        ``If-Match: <expected ETag>`` (``If-None-Match: *`` when absent) and reads HTTP 412 as "it changed
        meanwhile"; a local store checks the identity and renames the finished file into place; other
        filesystems check and write under a process lock. Returns False when the object changed.
        """
        path = self.location.fs_path(key)
        with self._errors("upload", key):
            if self.location.protocol == "s3":
                bucket, inner, _ = self.fs.split_path(path)
                condition = {"if_match": expected.etag} if expected is not None else {"if_none_match": True}
                if sha256 is not None and os.path.getsize(local_path) <= self.single_put_max:
                    return _unless_precondition_failed(
                        lambda: put_streamed(self.fs, bucket, inner, local_path, sha256=sha256, **condition)  # type: ignore[arg-type]
                    )
                if self.stat(key) != expected:  # beyond one PUT: multipart, unconditional once checked again
                    return False
                self.fs.put_file(local_path, path, chunksize=self.upload_chunksize)
                return True
            with _memory_lock:
                now = self.stat(key)
                if (now is None) != (expected is None) or (now is not None and now.identity != expected.identity):  # type: ignore[union-attr]
                    return False
                if self.location.is_local:
                    self._local_write(path, lambda fh: _copy_file(local_path, fh, None))
                else:
                    self.fs.put_file(local_path, path)
                return True

    def delete(self, key: str) -> None:
        """Delete one object (missing is fine)."""
        path = self.location.fs_path(key)
        with self._errors("delete", key), contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(path)

    def staging_dir(self) -> str | None:
        """A directory on the same filesystem as a local store, for files that will be linked into it."""
        if not self.location.is_local:
            return None
        return staging_root(self.location.root)

    def check_reachable(self) -> None:
        """Raise :class:`StoreUnreachableError` if the store's root cannot be reached."""
        loc = self.location
        if loc.is_local:
            if not os.path.isdir(loc.root):
                raise StoreUnreachableError(
                    f"local store directory {loc.root} does not exist",
                    hint="create it, or pass the right store path",
                )
            return
        if loc.protocol == "memory":
            return
        with self._errors("open", ""):
            try:
                if loc.protocol == "s3":
                    self.fs.call_s3("head_bucket", Bucket=loc.root)
                else:
                    self.fs.ls(loc.root, detail=False)
            except FileNotFoundError as exc:
                raise StoreUnreachableError(
                    f"bucket {loc.root!r} does not exist{_endpoint_text(loc)}",
                    hint="check the bucket name (and the endpoint URL)",
                ) from exc

    # ----- internals ---------------------------------------------------------------------------
    def _local_put_if_absent(self, src: str, dest: str, progress: ProgressCallback | None) -> bool:
        if os.path.exists(dest):
            return False
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        size = os.path.getsize(src)
        try:
            os.link(src, dest)  # same filesystem: atomic and zero-copy
        except FileExistsError:
            return False
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                raise
            tmp = self._local_tmp(dest)
            try:
                with open(tmp, "wb") as fout:
                    _copy_file(src, fout, progress)
                try:
                    os.link(tmp, dest)
                except FileExistsError:
                    return False
            finally:
                _unlink_quiet(tmp)
            return True
        if progress:
            progress(size)
        return True

    def _local_write(self, path: str, fill: Callable[[IO[bytes]], object]) -> None:
        """Write a local file atomically: ``fill`` writes a temporary sibling, which is renamed into place."""
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = self._local_tmp(path)
        try:
            with open(tmp, "wb") as fh:
                fill(fh)
            os.replace(tmp, path)
        finally:
            _unlink_quiet(tmp)

    @staticmethod
    def _local_tmp(path: str) -> str:
        return os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.{uuid.uuid4().hex}.tmp")

    @contextlib.contextmanager
    def _errors(self, action: str, key: str) -> Iterator[None]:
        try:
            yield
        except (NotFoundError, StoreError):
            raise
        except Exception as exc:
            raise translate_error(exc, action, self.location.url(key), self.location) from exc


def translate_error(exc: BaseException, action: str, url: str, location: StoreLocation) -> Exception:
    """Turn a filesystem/SDK exception into a DatomError that says what failed and what to do."""
    if isinstance(exc, FileNotFoundError):
        return NotFoundError(f"{url} does not exist", hint="check the table name and that the project was written here")
    if isinstance(exc, IsADirectoryError | NotADirectoryError):
        return StoreError(f"cannot {action} {url}: {exc}")
    text = f"{type(exc).__name__}: {exc}"
    low = text.lower()
    if isinstance(exc, PermissionError) or any(
        s in low
        for s in (
            "accessdenied",
            "access denied",
            "forbidden",
            "invalidaccesskeyid",
            "signaturedoesnotmatch",
            "invalid access key",
            "403",
            "expiredtoken",
            "nocredentials",
            "unable to locate credentials",
        )
    ):
        maybe_missing = ""
        if location.protocol == "s3" and action in ("check", "stat", "read"):
            maybe_missing = (
                "; S3 also answers 403 for an object that does not exist when the credentials lack "
                "s3:ListBucket, so the object may be missing"
            )
        return StoreAccessDeniedError(
            f"access to {url} was refused ({action}): the credentials are wrong, expired or lack permission"
            + maybe_missing,
            hint="check aws_access_key_id / aws_secret_access_key (or the store's credentials) in storage_options",
        )
    if any(
        s in low
        for s in (
            "connect",
            "timed out",
            "timeout",
            "unreachable",
            "name or service",
            "refused",
            "endpointconnection",
            "network",
        )
    ):
        hint = f"check that the object store{_endpoint_text(location)} is running and reachable"
        if location.protocol == "s3" and not _endpoint_text(location):
            hint += (
                "; endpoints and credentials are never saved in a project: for an S3-compatible server pass "
                "storage_options={'aws_endpoint_url': ...} (CLI: --storage-option aws_endpoint_url=...) every time"
            )
        return StoreUnreachableError(f"cannot reach the store to {action} {url}: {exc}", hint=hint)
    if isinstance(exc, OSError) and "nosuchbucket" in low.replace(" ", ""):
        return StoreUnreachableError(f"bucket {location.root!r} does not exist ({url})", hint="check the bucket name")
    return StoreError(f"failed to {action} {url}: {text}")


def _endpoint_text(location: StoreLocation) -> str:
    where = location.fsspec_options().get("endpoint_url") if location.protocol == "s3" else None
    return f" (endpoint {where})" if where else ""


def _unless_precondition_failed(upload: Callable[[], object]) -> bool:
    """Run a conditional upload: True when it went through, False when its condition failed (HTTP 412)."""
    try:
        upload()
    except Exception as exc:
        if _is_precondition_failed(exc):
            return False
        raise
    return True


def _is_precondition_failed(exc: BaseException | None) -> bool:
    """True if an exception chain carries HTTP 412 / PreconditionFailed (a lost put-if-absent race)."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, FileExistsError):
            return True
        response = getattr(exc, "response", None)
        if isinstance(response, dict):
            err = response.get("Error", {}) or {}
            status = (response.get("ResponseMetadata", {}) or {}).get("HTTPStatusCode")
            if err.get("Code") in ("PreconditionFailed", "412") or status == 412:
                return True
        if "PreconditionFailed" in str(exc) or "412" in str(getattr(exc, "args", ""))[:200]:
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


class _FsspecCallback(fsspec.callbacks.Callback):
    def __init__(self, progress: ProgressCallback | None) -> None:
        super().__init__()
        self._progress = progress

    def relative_update(self, inc: int = 1) -> None:
        if self._progress and inc:
            self._progress(inc)


def _copy_file(src: str, out: IO[bytes], progress: ProgressCallback | None) -> None:
    with open(src, "rb") as fin:
        while chunk := fin.read(16 * 2**20):
            out.write(chunk)
            if progress:
                progress(len(chunk))


def _unlink_quiet(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
