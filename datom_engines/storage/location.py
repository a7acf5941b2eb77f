"""Where a project's data lives: :class:`StoreLocation` and storage-option translation.

A location is a protocol, a *root* (a bucket, or an absolute directory for local stores) and an optional
*prefix*; the datom namespace is ``{root}/{prefix}/datom/`` (reference section 1.2.1). Credentials live
in ``storage_options`` only and are never written to any file.

``storage_options`` may be given in the keys Polars uses (``aws_access_key_id``, ``aws_endpoint_url``...)
or in fsspec/s3fs keys (``key``, ``secret``, ``endpoint_url``...); :func:`fsspec_options`,
:func:`polars_options` and :func:`hadoop_options` (Spark's ``s3a://`` filesystem) translate one set for
each consumer so every engine sees the same store.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..core.keys import full_key, namespace_root, normalize_prefix
from ..errors import InvalidArgumentError

LOCAL_PROTOCOLS = frozenset({"file", "local"})
_R_TYPES = {"file": "local", "s3": "s3"}

# Polars (object_store) key -> s3fs key
_S3_POLARS_TO_FSSPEC = {
    "aws_access_key_id": "key",
    "access_key_id": "key",
    "aws_secret_access_key": "secret",
    "secret_access_key": "secret",
    "aws_session_token": "token",
    "aws_token": "token",
    "session_token": "token",
    "aws_endpoint_url": "endpoint_url",
    "aws_endpoint": "endpoint_url",
    "endpoint": "endpoint_url",
}
_S3_FSSPEC_TO_POLARS = {
    "key": "aws_access_key_id",
    "secret": "aws_secret_access_key",
    "token": "aws_session_token",
    "endpoint_url": "aws_endpoint_url",
}
_S3_POLARS_ONLY = {
    "aws_allow_http",
    "allow_http",
    "aws_region",
    "region",
    "aws_default_region",
    "aws_skip_signature",
    "skip_signature",
    "aws_virtual_hosted_style_request",
}
_S3FS_KEYS = {
    "key",
    "secret",
    "token",
    "endpoint_url",
    "anon",
    "client_kwargs",
    "config_kwargs",
    "default_cache_type",
    "default_block_size",
    "use_ssl",
    "requester_pays",
    "s3_additional_kwargs",
    "version_aware",
    "cache_regions",
    "asynchronous",
    "loop",
    "skip_instance_cache",
    "use_listings_cache",
    "listings_expiry_time",
    "max_concurrency",
    "profile",
    "session",
}


@dataclass(frozen=True)
class StoreLocation:
    """A data store namespace: ``protocol://root/prefix/datom/`` plus credentials.

    ``root`` is a bucket name (object stores) or an absolute directory (``protocol == "file"``).
    ``storage_options`` holds credentials and endpoint settings; it is not part of equality and is
    never persisted.
    """

    protocol: str
    root: str
    prefix: str | None = None
    region: str | None = None
    storage_options: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        if not self.root:
            raise InvalidArgumentError("a store location needs a root (a bucket or a directory)")
        object.__setattr__(self, "prefix", normalize_prefix(self.prefix))
        object.__setattr__(self, "storage_options", dict(self.storage_options or {}))

    # ----- constructors -------------------------------------------------------------------------
    @classmethod
    def parse(
        cls,
        url: str | os.PathLike[str] | StoreLocation,
        *,
        prefix: str | None = None,
        storage_options: Mapping[str, Any] | None = None,
        region: str | None = None,
    ) -> StoreLocation:
        """Build a location from a local path or an fsspec URL.

        A local path (or ``file://`` URL) is the store's root directory; ``prefix`` is then given
        separately. For object stores the first segment is the bucket and the rest the prefix:
        ``s3://bucket/a//b/`` is bucket ``bucket`` with prefix ``a/b``.
        """
        if isinstance(url, StoreLocation):
            if storage_options is None and prefix is None and region is None:
                return url
            return cls(
                url.protocol,
                url.root,
                prefix if prefix is not None else url.prefix,
                region or url.region,
                storage_options if storage_options is not None else url.storage_options,
            )
        text = os.fspath(url)
        opts = dict(storage_options or {})
        parts = urlsplit(text)
        if len(parts.scheme) <= 1 or parts.scheme in LOCAL_PROTOCOLS:  # plain path (or Windows drive)
            path = parts.path if parts.scheme in LOCAL_PROTOCOLS else text
            return cls("file", os.path.abspath(os.path.expanduser(path)), prefix, None, opts)
        protocol = parts.scheme
        if protocol in ("s3a", "s3n"):
            protocol = "s3"
        bucket = parts.netloc
        rest = parts.path
        if not bucket:
            segs = [s for s in rest.split("/") if s]
            if not segs:
                raise InvalidArgumentError(f"store URL {text!r} names no bucket", hint="use protocol://bucket/prefix")
            bucket, rest = segs[0], "/".join(segs[1:])
        url_prefix = normalize_prefix(rest)
        if prefix is not None and url_prefix is not None:
            raise InvalidArgumentError(
                f"store URL {text!r} already has a prefix and prefix={prefix!r} was also given",
                hint="give the prefix in one place",
            )
        if protocol == "s3" and region is None:
            region = _option(opts, "aws_region", "region", "aws_default_region") or None
        return cls(protocol, bucket, prefix if prefix is not None else url_prefix, region, opts)

    @classmethod
    def from_project_yaml(
        cls, data: Mapping[str, Any], storage_options: Mapping[str, Any] | None = None
    ) -> StoreLocation:
        """The location recorded in ``project.yaml`` under ``storage.data`` (R field names)."""
        kind = str(data.get("type") or "local")
        root = data.get("root") or data.get("bucket")
        if not root:
            raise InvalidArgumentError("project.yaml storage.data has no root", hint="repair .datom/project.yaml")
        protocol = "file" if kind == "local" else kind
        return cls(
            protocol,
            str(root),
            _prefix_value(data.get("prefix")),
            data.get("region"),
            dict(storage_options or {}),
        )

    # ----- views ------------------------------------------------------------------------------
    @property
    def is_local(self) -> bool:
        """True for a directory on this machine."""
        return self.protocol == "file"

    @property
    def r_type(self) -> str:
        """The ``storage.data.type`` value written to project.yaml (``local`` or ``s3`` for R)."""
        return _R_TYPES.get(self.protocol, self.protocol)

    def to_project_yaml(self) -> dict[str, Any]:
        """The ``storage.data`` block of project.yaml (R field names and order)."""
        out: dict[str, Any] = {"type": self.r_type, "root": self.root, "prefix": self.prefix}
        if self.protocol == "s3":
            out["region"] = self.region or "us-east-1"
        return out

    def same_place(self, other: StoreLocation) -> bool:
        """True when both name the same namespace (protocol, root, normalised prefix)."""
        return (self.protocol, self.root, self.prefix) == (other.protocol, other.root, other.prefix)

    def fs_path(self, key: str = "") -> str:
        """The path of a key as the fsspec filesystem sees it (no protocol)."""
        return _fs_path(self.is_local, self.root, self.prefix, key)

    def url(self, key: str = "") -> str:
        """The URL of a key for engines (a plain absolute path for local stores)."""
        path = self.fs_path(key)
        return path if self.is_local else f"{self.protocol}://{path}"

    @property
    def store_url(self) -> str:
        """The URL to pass back to :meth:`parse`: ``protocol://root/prefix`` (a directory for local stores)."""
        if self.is_local:
            return self.root
        return f"{self.protocol}://{self.root}" + (f"/{self.prefix}" if self.prefix else "")

    def __str__(self) -> str:
        return self.url()

    def fsspec_options(self) -> dict[str, Any]:
        """storage_options translated for fsspec (s3fs keys for S3)."""
        return fsspec_options(self.protocol, self.storage_options, region=self.region)

    def polars_options(self) -> dict[str, Any] | None:
        """storage_options translated for Polars' native cloud readers (None for local)."""
        return polars_options(self.protocol, self.storage_options, region=self.region)

    def hadoop_url(self, key: str = "") -> str | None:
        """The URL of a key for Hadoop filesystems (Spark): ``file:/...`` or ``s3a://...``; None for
        protocols without a Hadoop filesystem that ships with Spark or hadoop-aws."""
        if self.is_local:
            return "file://" + Path(self.fs_path(key)).as_posix()  # Hadoop paths are not percent-encoded
        if self.protocol == "s3":
            return f"s3a://{self.fs_path(key)}"
        return None

    def hadoop_options(self) -> dict[str, str]:
        """storage_options translated to Hadoop ``fs.s3a.bucket.<bucket>.*`` settings (empty unless S3)."""
        return hadoop_options(self.protocol, self.storage_options, bucket=self.root, region=self.region)


@functools.lru_cache(maxsize=8192)
def _fs_path(is_local: bool, root: str, prefix: str | None, key: str) -> str:
    """``StoreLocation.fs_path``, memoised: scans and queries ask for the same few paths over and over."""
    inner = full_key(prefix, key) if key else namespace_root(prefix)
    if is_local:
        return os.path.join(root, *inner.split("/"))
    return f"{root}/{inner}"


def _option(opts: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if opts.get(name) not in (None, ""):
            return opts[name]
    return None


def _prefix_value(value: Any) -> str | None:
    """Normalise a prefix read from JSON/YAML: null, {}, [], '' all mean no prefix."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if not isinstance(value, str):
        return None
    return normalize_prefix(value)


def fsspec_options(
    protocol: str, storage_options: Mapping[str, Any] | None, *, region: str | None = None
) -> dict[str, Any]:
    """Translate storage options to the keyword arguments of the protocol's fsspec filesystem."""
    opts = dict(storage_options or {})
    if protocol != "s3":
        return opts
    out: dict[str, Any] = {}
    for k, v in opts.items():
        if k in _S3_POLARS_TO_FSSPEC:
            out.setdefault(_S3_POLARS_TO_FSSPEC[k], v)
        elif k in ("aws_skip_signature", "skip_signature"):
            out["anon"] = _truthy(v)
        elif k in _S3FS_KEYS:
            out[k] = v
    reg = _option(opts, "aws_region", "region", "aws_default_region") or region
    client_kwargs = dict(out.get("client_kwargs") or {})
    if reg and "region_name" not in client_kwargs:
        client_kwargs["region_name"] = reg
    if client_kwargs:
        out["client_kwargs"] = client_kwargs
    # no read-ahead cache (DuckDB over fsspec fetched 25x the bytes with it) and no listing cache
    # (existence must reflect the store now, not an earlier listing)
    out.setdefault("default_cache_type", "none")
    out.setdefault("use_listings_cache", False)
    config = dict(out.get("config_kwargs") or {})
    config.setdefault("connect_timeout", 10)
    config.setdefault("read_timeout", 60)
    config.setdefault("retries", {"max_attempts": 3, "mode": "standard"})
    out["config_kwargs"] = config
    return out


def polars_options(
    protocol: str, storage_options: Mapping[str, Any] | None, *, region: str | None = None
) -> dict[str, Any] | None:
    """Translate storage options to the keys Polars' native readers understand."""
    if protocol == "file":
        return None
    opts = dict(storage_options or {})
    if protocol != "s3":
        return opts or None
    out: dict[str, Any] = {}
    for k, v in opts.items():
        if k in _S3_FSSPEC_TO_POLARS:
            out.setdefault(_S3_FSSPEC_TO_POLARS[k], v)
        elif k in _S3_POLARS_TO_FSSPEC or k in _S3_POLARS_ONLY or k.startswith("aws_"):
            out[k] = v
        elif k == "anon":
            out["aws_skip_signature"] = _truthy(v)
        elif k == "client_kwargs" and isinstance(v, Mapping) and v.get("region_name"):
            out.setdefault("aws_region", v["region_name"])
    if "aws_endpoint" in out and "aws_endpoint_url" not in out:
        out["aws_endpoint_url"] = out.pop("aws_endpoint")
    if region and not _option(out, "aws_region", "region", "aws_default_region"):
        out["aws_region"] = region
    endpoint = str(out.get("aws_endpoint_url") or "")
    if endpoint.startswith("http://"):
        out.setdefault("aws_allow_http", "true")
    return {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in out.items()} or None


_S3A_CREDENTIALS = "org.apache.hadoop.fs.s3a.{}CredentialsProvider"


def hadoop_options(
    protocol: str, storage_options: Mapping[str, Any] | None, *, bucket: str, region: str | None = None
) -> dict[str, str]:
    """Translate S3 storage options to Hadoop S3A settings scoped to ``bucket`` (``fs.s3a.bucket.<b>.*``).

    These are what Spark needs to read ``s3a://bucket/...`` with hadoop-aws: pass them as reader
    options, or prefix them with ``spark.hadoop.`` in the session's configuration. Keys scoped to the
    bucket let stores with different credentials be read in one session. Empty for other protocols.
    """
    if protocol != "s3":
        return {}
    opts = polars_options(protocol, storage_options, region=region) or {}
    out: dict[str, str] = {}
    key, secret = _option(opts, "aws_access_key_id"), _option(opts, "aws_secret_access_key")
    token = _option(opts, "aws_session_token", "aws_token", "session_token")
    if key and secret:
        out["access.key"], out["secret.key"] = str(key), str(secret)
        if token:
            out["session.token"] = str(token)
            out["aws.credentials.provider"] = _S3A_CREDENTIALS.format("TemporaryAWS")
        else:
            out["aws.credentials.provider"] = _S3A_CREDENTIALS.format("SimpleAWS")
    elif _truthy(_option(opts, "aws_skip_signature", "skip_signature")):
        out["aws.credentials.provider"] = _S3A_CREDENTIALS.format("AnonymousAWS")
    endpoint = _option(opts, "aws_endpoint_url", "aws_endpoint", "endpoint")
    if endpoint:
        out["endpoint"] = str(endpoint)
        # custom endpoints (MinIO, seaweedfs, moto...) rarely serve virtual-hosted bucket names
        hosted = _truthy(_option(opts, "aws_virtual_hosted_style_request"))
        out["path.style.access"] = "false" if hosted else "true"
        if str(endpoint).startswith("http://"):
            out["connection.ssl.enabled"] = "false"
    reg = _option(opts, "aws_region", "region", "aws_default_region")
    if reg:
        out["endpoint.region"] = str(reg)
    return {f"fs.s3a.bucket.{bucket}.{k}": v for k, v in out.items()}


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true", "yes")
