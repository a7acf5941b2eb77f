"""S3 behaviour on real endpoints: faults (endpoint dying mid-read, missing bucket, wrong credentials,
HEAD 403), put-if-absent races and multipart streaming, storage options for every engine, and the read
cache (counted on the wire by a proxy in front of moto)."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import duckdb
import fsspec
import polars as pl
import pytest
from conftest import S3Server
from s3proxy import CountingProxy

import datom_engines as dt
from datom_engines.project import reading
from datom_engines.storage import cache as read_cache
from datom_engines.storage.integrity import sha256_file
from datom_engines.storage.location import StoreLocation
from datom_engines.storage.objectstore import ObjectStore


def frame(n: int = 2000, shift: float = 0.0) -> pl.DataFrame:
    return pl.DataFrame({"id": list(range(n)), "value": [i * 0.25 + shift for i in range(n)]})


def read_frame(proj: dt.Project, table: str, **kw: object) -> pl.DataFrame:
    return pl.from_arrow(proj.read(table, **kw))  # type: ignore[return-value, arg-type]


@pytest.fixture
def proxy(s3_server: S3Server) -> Iterator[CountingProxy]:
    with CountingProxy(s3_server.endpoint) as p:
        yield p


def proxied(s3_server: S3Server, proxy: CountingProxy) -> dict[str, str]:
    return {**s3_server.storage_options(), "aws_endpoint_url": proxy.endpoint}


# ----- faults ------------------------------------------------------------------------------------
def test_endpoint_dying_mid_read_gives_clear_error_and_no_partial_result(
    tmp_path: Path, s3_server: S3Server, proxy: CountingProxy, bare_remote: str, read_cache_dir: Path
) -> None:
    opts = proxied(s3_server, proxy)
    proj = dt.init(tmp_path / "w", "CUT", store=f"s3://{s3_server.new_bucket()}/p", remote=bare_remote,
                   storage_options=opts)  # fmt: skip
    result = proj.write(frame(20000), "lb")
    size = proj.store.size(f"lb/{result.data_sha}.parquet")
    assert size is not None and size > 20000
    proxy.die_after(size // 3, lambda method, path: method == "GET" and path.endswith(".parquet"))
    started = time.monotonic()
    with pytest.raises(dt.StoreUnreachableError, match=r"cannot reach the store to read s3://.*\.parquet") as err:
        proj.read("lb")
    assert proxy.endpoint in err.value.hint and "running" in err.value.hint
    assert time.monotonic() - started < 60
    cut = [r for r in proxy.requests if r.path.endswith(".parquet") and r.method == "GET"]
    assert cut and 0 < cut[0].body_bytes < size  # the server really went away in the middle of the body
    # nothing partial is left anywhere: no cache entry, no download in progress
    assert read_cache.active_cache().info().entries == 0  # type: ignore[union-attr]
    assert not [p for p in read_cache_dir.rglob("*") if p.is_file()]


def test_missing_bucket_and_unreachable_endpoint(s3_server: S3Server) -> None:
    opts = s3_server.storage_options()
    with pytest.raises(dt.StoreUnreachableError, match=r"bucket 'no-such-bucket-here' does not exist \(endpoint http"):
        dt.connect("s3://no-such-bucket-here/p", storage_options=opts)
    bucket = s3_server.new_bucket()
    with pytest.raises(dt.NotFoundError, match="no datom project at s3://"):
        dt.connect(f"s3://{bucket}/p", storage_options=opts)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    started = time.monotonic()
    with pytest.raises(dt.StoreUnreachableError, match="cannot reach the store") as err:
        dt.connect(f"s3://{bucket}/p", storage_options={**opts, "aws_endpoint_url": dead})
    assert dead in err.value.hint
    assert time.monotonic() - started < 60


def test_racing_uploads_of_the_same_parquet(tmp_path: Path, s3_server: S3Server, proxy: CountingProxy) -> None:
    store = ObjectStore(
        StoreLocation.parse(f"s3://{s3_server.new_bucket()}/p", storage_options=proxied(s3_server, proxy))
    )
    small = tmp_path / "small.parquet"
    small.write_bytes(os.urandom(4096))
    winners: list[bool] = []
    barrier = threading.Barrier(4)

    def upload() -> None:
        barrier.wait()
        winners.append(store.put_file_if_absent("t/x.parquet", str(small)))

    threads = [threading.Thread(target=upload) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(winners) == [False, False, False, True]
    assert store.get_bytes("t/x.parquet") == small.read_bytes()
    assert sum(1 for r in proxy.requests if r.method == "PUT" and r.status == 412) == 3

    # a large file streams as a multipart upload; losing the race is detected at completion (HTTP 412)
    big = tmp_path / "big.parquet"
    big.write_bytes(os.urandom(11 * 2**20))
    store.upload_chunksize = 5 * 2**20
    proxy.reset()
    assert store.put_file_if_absent("t/big.parquet", str(big)) is True
    parts = [r for r in proxy.requests if r.method == "PUT" and "partNumber=" in r.query]
    assert len(parts) == 3 and any(r.method == "POST" and r.query == "uploads" for r in proxy.requests)
    proxy.reset()
    other = tmp_path / "other.parquet"
    other.write_bytes(os.urandom(11 * 2**20))
    assert store.put_file_if_absent("t/big.parquet", str(other)) is False
    assert [r.status for r in proxy.requests if r.method == "POST" and "uploadId=" in r.query] == [412]
    assert store.get_bytes("t/big.parquet") == big.read_bytes()  # the first upload is intact


# ----- credentials (a moto server that enforces IAM authentication, in its own process) ----------------
@dataclasses.dataclass
class AuthServer:
    endpoint: str
    bucket: str
    admin: dict[str, str]
    writeonly: dict[str, str]

    def options(self, creds: dict[str, str]) -> dict[str, str]:
        return {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_endpoint_url": self.endpoint,
            "aws_region": "us-east-1",
        }


@pytest.fixture(scope="module")
def auth_server() -> Iterator[AuthServer]:
    """moto in a separate process with IAM auth switched on (POST /moto-api/reset-auth), so keys are checked."""
    import boto3

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    moto = Path(sys.executable).with_name("moto_server")
    proc = subprocess.Popen(
        [str(moto), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        boot = {"endpoint_url": endpoint, "region_name": "us-east-1", "aws_access_key_id": "boot",
                "aws_secret_access_key": "boot"}  # fmt: skip
        iam = boto3.client("iam", **boot)
        boto3.client("s3", **boot).create_bucket(Bucket="auth-bucket")

        def user(name: str, actions: list[str]) -> dict[str, str]:
            iam.create_user(UserName=name)
            policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
            iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
            return iam.create_access_key(UserName=name)["AccessKey"]

        admin = user("admin", ["s3:*"])
        writeonly = user("uploader", ["s3:PutObject"])  # no GetObject, no ListBucket: HEAD answers 403
        req = urllib.request.Request(
            f"{endpoint}/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "text/plain"}
        )
        urllib.request.urlopen(req, timeout=10)
        yield AuthServer(endpoint, "auth-bucket", admin, writeonly)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_wrong_credentials_say_so(tmp_path: Path, auth_server: AuthServer, bare_remote: str) -> None:
    good = auth_server.options(auth_server.admin)
    url = f"s3://{auth_server.bucket}/creds"
    proj = dt.init(tmp_path / "w", "CREDS", store=url, remote=bare_remote, storage_options=good)
    proj.write(frame(50), "lb")
    assert read_frame(dt.connect(url, storage_options=good), "lb").equals(frame(50))
    dt.unregister("CREDS")
    wrong_secret = {**good, "aws_secret_access_key": "not-the-secret"}
    unknown_key = {**good, "aws_access_key_id": "AKIAUNKNOWNKEY000000"}
    for opts in (wrong_secret, unknown_key):
        with pytest.raises(dt.StoreAccessDeniedError, match="refused.*credentials are wrong") as err:
            dt.connect(url, storage_options=opts)
        assert "aws_secret_access_key" in err.value.hint
    # a reader that resolved with good credentials, then given wrong ones for a direct read
    reader = dt.connect(url, storage_options=good)
    resolved = reader.resolve("lb")
    bad_store = ObjectStore(StoreLocation.parse(url, storage_options=wrong_secret))
    dt.configure_cache(None)  # (a cached copy would be served without asking the store)
    with pytest.raises(dt.StoreAccessDeniedError, match="credentials"):
        reading.read_arrow(bad_store, resolved)


def test_head_403_on_a_missing_key_does_not_block_a_first_write(
    tmp_path: Path, auth_server: AuthServer, bare_remote: str
) -> None:
    """Section 8 item 25: with credentials that may upload but not read or list, S3 answers 403 to the
    existence check of a new parquet object. R aborts the first write; here the conditional PUT decides."""
    admin = auth_server.options(auth_server.admin)
    url = f"s3://{auth_server.bucket}/item25"
    dt.init(tmp_path / "w", "UPL", store=url, remote=bare_remote, storage_options=admin)
    dt.unregister("UPL")
    uploader = dt.open_project(tmp_path / "w", storage_options=auth_server.options(auth_server.writeonly))
    with pytest.raises(dt.StoreAccessDeniedError, match="S3 also answers 403 for an object that does not exist"):
        uploader.store.size("lb/nothing-here.parquet")
    result = uploader.write(frame(70), "lb")
    assert result.change == "full" and result.uploaded
    dt.unregister("UPL")
    assert read_frame(dt.connect(url, storage_options=admin), "lb").equals(frame(70))


# ----- storage options reach every engine the same way ------------------------------------------------
def test_storage_options_for_polars_fsspec_and_duckdb(tmp_path: Path, s3_server: S3Server, bare_remote: str) -> None:
    polars_style = s3_server.storage_options()
    fsspec_style = {"key": polars_style["aws_access_key_id"], "secret": polars_style["aws_secret_access_key"],
                    "endpoint_url": s3_server.endpoint, "client_kwargs": {"region_name": "us-east-1"}}  # fmt: skip
    url = f"s3://{s3_server.new_bucket()}/opts"
    proj = dt.init(tmp_path / "w", "OPTS", store=url, remote=bare_remote, storage_options=fsspec_style)
    proj.write(frame(500), "lb")
    for opts in (polars_style, fsspec_style):
        dt.unregister("OPTS")
        reader = dt.connect(url, storage_options=opts)
        resolved = reader.resolve("lb")
        assert resolved.storage_options is not None
        assert resolved.storage_options["aws_endpoint_url"] == s3_server.endpoint
        assert resolved.storage_options["aws_allow_http"] == "true"
        scanned = pl.scan_parquet(resolved.url, storage_options=resolved.storage_options)
        assert scanned.filter(pl.col("id") < 10).collect().height == 10
        fs_opts = resolved.location.fsspec_options()
        assert fs_opts["default_cache_type"] == "none" and fs_opts["endpoint_url"] == s3_server.endpoint
        fs = fsspec.filesystem("s3", **fs_opts)
        con = duckdb.connect()
        con.register_filesystem(fs)
        count = con.execute(f"SELECT count(*) FROM read_parquet('{resolved.url}') WHERE id >= 490").fetchone()
        assert count == (10,)
        con.close()


# ----- read cache ----------------------------------------------------------------------------------
def test_second_read_does_no_object_get_and_corruption_is_refetched(
    tmp_path: Path, s3_server: S3Server, proxy: CountingProxy, bare_remote: str, read_cache_dir: Path
) -> None:
    proj = dt.init(tmp_path / "w", "CACHE", store=f"s3://{s3_server.new_bucket()}/c", remote=bare_remote,
                   storage_options=proxied(s3_server, proxy))  # fmt: skip
    v1 = proj.write(frame(3000), "lb")
    proj.write(frame(3000, shift=1.0), "lb")
    proxy.reset()
    assert read_frame(proj, "lb", version=v1.version).equals(frame(3000))
    assert len(proxy.gets(".parquet")) == 1
    proxy.reset()
    assert read_frame(proj, "lb", version=v1.version).equals(frame(3000))
    assert proxy.gets(".parquet") == []  # served from the cache: no object GET at all
    assert proxy.gets(".json")  # (the metadata is still read from the store: it can change)
    cached = read_cache_dir / v1.parquet_sha[:2] / f"{v1.parquet_sha}.parquet"  # type: ignore[index]
    assert cached.is_file()

    # corrupt the cached copy: detected by its hash, dropped and fetched again
    data = bytearray(cached.read_bytes())
    data[len(data) // 2] ^= 0x01
    cached.write_bytes(bytes(data))
    proxy.reset()
    assert read_frame(proj, "lb", version=v1.version).equals(frame(3000))
    assert len(proxy.gets(".parquet")) == 1
    assert sha256_file(str(cached)) == v1.parquet_sha

    # with the cache off every read downloads
    dt.configure_cache(None)
    proxy.reset()
    read_frame(proj, "lb", version=v1.version)
    read_frame(proj, "lb", version=v1.version)
    assert len(proxy.gets(".parquet")) == 2


def test_cache_without_parquet_sha_and_lru_eviction(
    tmp_path: Path, s3_server: S3Server, proxy: CountingProxy, bare_remote: str
) -> None:
    proj = dt.init(tmp_path / "w", "LRU", store=f"s3://{s3_server.new_bucket()}/c", remote=bare_remote,
                   storage_options=proxied(s3_server, proxy))  # fmt: skip
    versions = [proj.write(frame(3000, shift=float(i)), f"t{i}") for i in range(3)]
    sizes = [proj.store.size(f"t{i}/{v.data_sha}.parquet") or 0 for i, v in enumerate(versions)]
    cache = dt.configure_cache(tmp_path / "small-cache", max_bytes=sizes[0] + sizes[1] + 10)
    assert cache is not None
    for i in range(3):
        read_frame(proj, f"t{i}")
        time.sleep(0.02)  # distinct access times
    info = dt.cache_info()
    assert info is not None and info.entries == 2 and info.total_bytes <= info.max_bytes
    proxy.reset()
    read_frame(proj, "t2")  # most recent: still cached
    read_frame(proj, "t1")
    assert proxy.gets(".parquet") == []
    read_frame(proj, "t0")  # the least recently used was evicted
    assert len(proxy.gets(".parquet")) == 1

    # pre-cv1 metadata has no parquet_sha: cached under data_sha, with the downloaded hash kept beside it
    resolved = dataclasses.replace(proj.resolve("t0"), parquet_sha=None, accepted_parquet_shas=frozenset())
    dt.clear_cache()
    proxy.reset()
    reading.read_arrow(proj.store, resolved)
    reading.read_arrow(proj.store, resolved)
    assert len(proxy.gets(".parquet")) == 1
    entry = tmp_path / "small-cache" / resolved.data_sha[:2] / f"{resolved.data_sha}.parquet"
    entry.write_bytes(entry.read_bytes()[:-10] + b"0123456789")
    assert pl.from_arrow(reading.read_arrow(proj.store, resolved)).equals(frame(3000))  # type: ignore[union-attr]
    assert len(proxy.gets(".parquet")) == 2


def test_cache_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert read_cache.parse_size("20G") == 20 * 2**30
    assert read_cache.parse_size("1.5m") == int(1.5 * 2**20)
    assert read_cache.parse_size(123) == 123
    with pytest.raises(dt.InvalidArgumentError, match="cache size"):
        read_cache.parse_size("lots")
    monkeypatch.setenv("DATOM_CACHE_DIR", str(tmp_path / "env-cache"))
    monkeypatch.setenv("DATOM_CACHE_MAX_BYTES", "2M")
    active = read_cache.active_cache()
    assert active is not None and active.directory == tmp_path / "env-cache" and active.max_bytes == 2 * 2**20
    monkeypatch.setenv("DATOM_CACHE_DIR", "off")
    assert read_cache.active_cache() is None and dt.cache_info() is None
    assert dt.configure_cache() is None  # True = follow the environment, which says off
    explicit = dt.configure_cache(tmp_path / "mine", max_bytes="1G")
    assert read_cache.active_cache() is explicit and explicit.max_bytes == 2**30  # type: ignore[union-attr]
    monkeypatch.delenv("DATOM_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    read_cache.reset_cache_configuration()
    assert read_cache.active_cache().directory == tmp_path / "xdg" / "datom_engines"  # type: ignore[union-attr]


def test_unreachable_s3_hint_says_endpoints_are_not_saved(tmp_path: Path) -> None:
    """A project on an S3-compatible server reopened without its endpoint: the hint says what is missing."""
    opts = {"aws_endpoint_url": "http://127.0.0.1:9", "aws_access_key_id": "k", "aws_secret_access_key": "s"}
    loc = dt.StoreLocation.parse("s3://some-bucket/p", storage_options=opts)
    with pytest.raises(dt.StoreUnreachableError) as err:
        dt.connect(loc)
    assert "127.0.0.1:9" in err.value.hint
    from datom_engines.storage.location import StoreLocation
    from datom_engines.storage.objectstore import translate_error

    plain = StoreLocation.parse("s3://some-bucket/p")
    exc = translate_error(ConnectionError("Could not connect to the endpoint URL"), "read", "s3://x/y", plain)
    assert isinstance(exc, dt.StoreUnreachableError) and "aws_endpoint_url" in exc.hint
