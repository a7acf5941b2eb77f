"""Issue 10: no read path hands out bytes that differ from ``parquet_sha``, and verification is paid once.

Every corruption (16 bytes flipped mid-file, a valid parquet with one value changed swapped in, the
object truncated to a third) on every store kind (local directory, fsspec memory, S3 on moto) must make
``scan_datom(...).collect()``, ``FROM datom(...)`` and an ``attach`` view fail with the datom
IntegrityError and return no rows, while untouched objects scan normally. Verdicts are counted: a warm
scan hashes nothing, a changed object is hashed again.
"""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from conftest import S3Server, StoreSpec
from polars.testing import assert_frame_equal
from s3proxy import CountingProxy

import datom_engines as dt
from datom_engines import duckdb as ddb
from datom_engines.storage import verify
from datom_engines.storage.stat import hex_to_b64

CORRUPTIONS = ["flipped", "swapped", "truncated"]


def lb(n: int = 400, shift: float = 0.0) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "USUBJID": [f"S-{i:04d}" for i in range(n)],
            "LBTESTCD": ["ALT" if i % 2 else "AST" for i in range(n)],
            "LBSTRESN": [float(i) + shift for i in range(n)],
        }
    )


def new_project(tmp_path: Path, store: StoreSpec, name: str = "P") -> dt.Project:
    return dt.init(
        tmp_path / f"{name}-clone",
        name,
        store=store.url,
        remote=str(tmp_path / f"{name}.git"),
        storage_options=store.storage_options,
    )


def corrupted(good: bytes, how: str) -> bytes:
    """The object's bytes after one of the corruptions of the issue."""
    if how == "flipped":
        bad = bytearray(good)
        mid = len(bad) // 2
        bad[mid : mid + 16] = bytes(b ^ 0xFF for b in bad[mid : mid + 16])
        return bytes(bad)
    if how == "swapped":  # a perfectly valid parquet file, one value changed
        table = pq.read_table(io.BytesIO(good))
        values = table.column("LBSTRESN").to_pylist()
        values[7] = values[7] + 1000.0
        table = table.set_column(table.schema.get_field_index("LBSTRESN"), "LBSTRESN", pc.cast(values, "double"))
        out = io.BytesIO()
        pq.write_table(table, out, compression="zstd")
        assert pq.read_table(io.BytesIO(out.getvalue())).num_rows == table.num_rows
        return out.getvalue()
    if how == "truncated":
        return good[: len(good) // 3]
    raise ValueError(how)


def overwrite(proj: dt.Project, key: str, data: bytes) -> None:
    """Replace a stored object's bytes: in place on a local disk (same inode), a new object elsewhere."""
    if proj.location.is_local:
        with open(proj.location.fs_path(key), "r+b") as fh:
            fh.write(data)
            fh.truncate()
    else:
        proj.store.put_bytes(key, data)


def corrupt_and_expect_refusal(proj: dt.Project, con: Any, key: str, ref: str, hashes: list[str]) -> bytes:
    """Flip bytes of a local object in place (settled), check that Polars and DuckDB refuse it after one
    hash; return the good bytes."""
    path = proj.location.fs_path(key)
    good = Path(path).read_bytes()
    overwrite(proj, key, corrupted(good, "flipped"))
    age(path)
    hashes.clear()
    with pytest.raises(dt.IntegrityError):
        pl.scan_datom(ref)  # type: ignore[attr-defined]
    with pytest.raises(duckdb.InvalidInputException, match="integrity"):
        con.execute(f"FROM datom('{ref}')").fetchall()
    assert hashes == [key]
    return good


def age(path: str, seconds: float = 30.0) -> None:
    """Make a local file look written a while ago (its identity settles; see storage/stat.py)."""
    then = time.time() - seconds
    os.utime(path, (then, then))


@pytest.fixture
def con() -> Iterator[Any]:
    connection = ddb.register(duckdb.connect())
    yield connection
    connection.close()


# ----- acceptance 1: every corruption, every store, every read path -----------------------------------
@pytest.mark.parametrize("how", CORRUPTIONS)
def test_corrupted_object_is_refused_by_every_scan(
    tmp_path: Path, store: StoreSpec, how: str, con: Any, read_cache_dir: Path
) -> None:
    proj = new_project(tmp_path, store)
    bad = proj.write(lb(), "lb")
    proj.write(lb(50, shift=0.5), "dm")
    ddb.attach(con, "P")
    key = f"lb/{bad.data_sha}.parquet"
    overwrite(proj, key, corrupted(proj.store.get_bytes(key), how))

    for attempt in range(2):  # refused again on a second try (a recorded bad verdict, or a new check)
        with pytest.raises(dt.IntegrityError, match="P.lb@.*failed its integrity check"):
            pl.scan_datom("P.lb").collect()  # type: ignore[attr-defined]
        with pytest.raises(duckdb.InvalidInputException, match="failed its integrity check") as sql_error:
            con.execute("FROM datom('P.lb')").fetchall()
        assert "corrupted or tampered with, so no data was returned" in str(sql_error.value)
        with pytest.raises(duckdb.InvalidInputException, match="failed its integrity check"):
            con.execute("SELECT count(*) FROM P.lb").fetchall()
        with pytest.raises(dt.IntegrityError):
            dt.read_datom("P.lb")
        if attempt == 0 and how == "truncated":
            with pytest.raises(dt.IntegrityError, match=r"it has \d+ bytes, the metadata records \d+"):
                pl.scan_datom("P.lb", verify="never")  # type: ignore[attr-defined]
    # nothing of the bad object reached the read cache
    assert not any(read_cache_dir.glob(f"??/*{bad.parquet_sha}*"))
    # the untouched table scans normally through every path
    assert_frame_equal(pl.scan_datom("P.dm").collect(), lb(50, shift=0.5))  # type: ignore[attr-defined]
    assert con.execute("SELECT count(*), sum(LBSTRESN) FROM datom('P.dm')").fetchone() == (50, 1250.0)
    assert con.execute("SELECT count(*) FROM P.dm").fetchone() == (50,)


def test_a_good_object_scans_normally_everywhere(tmp_path: Path, store: StoreSpec, con: Any) -> None:
    proj = new_project(tmp_path, store)
    proj.write(lb(), "lb")
    ddb.attach(con, "P")
    for mode in verify.VERIFY_MODES:
        lazy = pl.scan_datom("P.lb", verify=mode).filter(pl.col("LBTESTCD") == "ALT")  # type: ignore[attr-defined]
        assert lazy.collect().height == 200
        assert con.execute(f"SELECT count(*) FROM datom('P.lb', verify := '{mode}')").fetchone() == (400,)
    assert con.execute("SELECT count(*) FROM P.lb WHERE LBTESTCD = 'AST'").fetchone() == (200,)
    checked = dt.verify("P.lb")
    assert checked.how == "hashed" and checked.sha256 == proj.resolve("lb").parquet_sha


def test_bad_verify_values_are_refused(tmp_path: Path, local_store: StoreSpec, con: Any) -> None:
    new_project(tmp_path, local_store).write(lb(), "lb")
    with pytest.raises(dt.InvalidArgumentError, match="verify must be one of 'once', 'always' or 'never'"):
        pl.scan_datom("P.lb", verify="sometimes")  # type: ignore[attr-defined]
    with pytest.raises(duckdb.InvalidInputException, match="verify must be one of"):
        con.execute("FROM datom('P.lb', verify := 'sometimes')").fetchall()
    assert con.execute("SELECT count(*) FROM datom('P.lb', verify := NULL)").fetchone() == (400,)


# ----- verdicts: paid once per object per machine ----------------------------------------------------
def test_local_verdict_is_reused_and_invalidated(
    tmp_path: Path, local_store: StoreSpec, con: Any, hashes: list[str]
) -> None:
    proj = new_project(tmp_path, local_store)
    result = proj.write(lb(), "lb")
    key = f"lb/{result.data_sha}.parquet"
    path = proj.location.fs_path(key)

    # the writer hashed these bytes as it wrote them: its own first scan needs no hash
    assert pl.scan_datom("P.lb").collect().height == 400  # type: ignore[attr-defined]
    assert hashes == []

    # a file modified less than a second ago has no settled identity: every check hashes it
    overwrite(proj, key, Path(path).read_bytes())
    pl.scan_datom("P.lb")  # type: ignore[attr-defined]
    pl.scan_datom("P.lb")  # type: ignore[attr-defined]
    assert hashes == [key, key]

    age(path)
    hashes.clear()
    assert pl.scan_datom("P.lb").collect().height == 400  # type: ignore[attr-defined]
    assert hashes == [key]  # hashed once, the verdict recorded
    for _ in range(3):
        assert pl.scan_datom("P.lb").collect().height == 400  # type: ignore[attr-defined]
        assert con.execute("SELECT count(*) FROM datom('P.lb')").fetchone() == (400,)
        assert dt.read_datom("P.lb").height == 400
    assert hashes == [key]  # warm: no re-hash on any path

    verify.forget_process_verdicts()  # a new process: the verdict persisted in the cache directory
    pl.scan_datom("P.lb")  # type: ignore[attr-defined]
    assert hashes == [key]

    pl.scan_datom("P.lb", verify="always")  # type: ignore[attr-defined]
    con.execute("FROM datom('P.lb', verify := 'always')").fetchall()
    assert hashes == [key] * 3
    pl.scan_datom("P.lb", verify="never")  # type: ignore[attr-defined]
    assert hashes == [key] * 3

    # changed in place (same inode, same size): the identity changed, so it is checked again and refused
    good = corrupt_and_expect_refusal(proj, con, key, "P.lb", hashes)  # the bad verdict is remembered too
    overwrite(proj, key, good)
    age(path)
    assert pl.scan_datom("P.lb").collect().height == 400  # type: ignore[attr-defined]
    assert hashes == [key, key]

    # with the cache off, verdicts live in this process only
    dt.configure_cache(None)
    verify.forget_process_verdicts()
    hashes.clear()
    pl.scan_datom("P.lb")  # type: ignore[attr-defined]
    pl.scan_datom("P.lb")  # type: ignore[attr-defined]
    assert hashes == [key]


@pytest.fixture
def resolutions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tables resolved from the store mirror (a warm local scan resolves nothing)."""
    from datom_engines.project import reading

    calls: list[str] = []
    real = reading.resolve

    def counting(store: Any, project: str, table: str, **kwargs: Any) -> Any:
        calls.append(table)
        return real(store, project, table, **kwargs)

    monkeypatch.setattr(reading, "resolve", counting)
    return calls


def age_mirror(proj: dt.Project, table: str, seconds: float = 30.0) -> None:
    """Age a table's metadata mirror files (their identities settle; the writer settled its object's)."""
    from datom_engines.core import keys

    for key in (keys.metadata_key(table), keys.history_key(table)):
        age(proj.location.fs_path(key), seconds)


def test_warm_local_scans_reuse_the_resolution_until_a_file_changes(
    tmp_path: Path, local_store: StoreSpec, con: Any, hashes: list[str], resolutions: list[str]
) -> None:
    from datom_engines.core import keys

    proj = new_project(tmp_path, local_store)
    v1 = proj.write(lb(), "lb")
    age_mirror(proj, "lb")
    resolutions.clear()
    for _ in range(3):
        assert pl.scan_datom("P.lb").collect().height == 400  # type: ignore[attr-defined]
        assert con.execute("SELECT count(*) FROM datom('P.lb')").fetchone() == (400,)
    assert resolutions == ["lb"]  # resolved once, then three stat calls per scan
    assert hashes == []

    # a new version replaces metadata.json: the next scan sees it at once
    v2 = proj.write(lb(1000), "lb")
    assert pl.scan_datom("P.lb").collect().height == 1000  # type: ignore[attr-defined]
    assert con.execute("SELECT count(*) FROM datom('P.lb')").fetchone() == (1000,)
    # (freshly written files are unsettled: not cached, resolved on every call)
    assert resolutions.count("lb") == 3

    # metadata.json rewritten in place with its old size and mtime (only the ctime tells): seen too
    age_mirror(proj, "lb")
    assert pl.scan_datom("P.lb").collect().height == 1000  # type: ignore[attr-defined]
    meta_path = proj.location.fs_path(keys.metadata_key("lb"))
    snapshot = Path(proj.location.fs_path(keys.snapshot_key("lb", v1.version))).read_bytes()
    current = Path(meta_path).read_bytes()
    assert len(snapshot) <= len(current)
    snapshot = snapshot[:-1] + b" " * (len(current) - len(snapshot)) + b"\n"  # the same size
    st = os.stat(meta_path)
    with open(meta_path, "r+b") as fh:
        fh.write(snapshot)
    os.utime(meta_path, ns=(st.st_atime_ns, st.st_mtime_ns))
    resolutions.clear()
    assert pl.scan_datom("P.lb").collect().height == 400  # type: ignore[attr-defined]
    assert resolutions == ["lb"]

    # a version pinned by id, and a tag, are cached on the history (and the tag record)
    age_mirror(proj, "lb")
    resolutions.clear()
    for _ in range(2):
        assert pl.scan_datom("P.lb", version=v2.version[:10]).collect().height == 1000  # type: ignore[attr-defined]
    assert resolutions == ["lb"]
    proj.tag("cut-1")
    age(proj.location.fs_path(keys.tag_key("cut-1")))
    resolutions.clear()
    for _ in range(2):
        assert con.execute("SELECT count(*) FROM datom('P.lb', tag := 'cut-1')").fetchone() == (1000,)
    assert resolutions == ["lb"]


def test_warm_local_scans_still_check_the_object_every_time(
    tmp_path: Path, local_store: StoreSpec, con: Any, hashes: list[str], resolutions: list[str]
) -> None:
    proj = new_project(tmp_path, local_store)
    result = proj.write(lb(), "lb")
    key = f"lb/{result.data_sha}.parquet"
    path = proj.location.fs_path(key)
    age_mirror(proj, "lb")
    for _ in range(2):  # both warm: Polars' cached answer, and the one DuckDB's datom() keeps
        assert pl.scan_datom("P.lb").collect().height == 400  # type: ignore[attr-defined]
        assert con.execute("SELECT count(*) FROM datom('P.lb')").fetchone() == (400,)
        assert con.execute("SELECT count(*) FROM datom('P.lb', verify := 'once')").fetchone() == (400,)
    resolutions.clear()

    # corrupted in place (same size, the mtime put back; the ctime changes): verified again and refused
    good = Path(path).read_bytes()
    st = os.stat(path)
    overwrite(proj, key, corrupted(good, "flipped"))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    with pytest.raises(dt.IntegrityError):
        pl.scan_datom("P.lb")  # type: ignore[attr-defined]
    with pytest.raises(duckdb.InvalidInputException, match="integrity"):
        con.execute("FROM datom('P.lb')").fetchall()
    with pytest.raises(duckdb.InvalidInputException, match="integrity"):
        con.execute("FROM datom('P.lb', verify := 'once')").fetchall()
    assert hashes == [key]
    assert resolutions == ["lb", "lb", "lb"]  # nothing cached for a refused object

    # restored: hashed again, then warm again
    overwrite(proj, key, good)
    age(path)
    for _ in range(3):
        assert con.execute("SELECT count(*) FROM datom('P.lb')").fetchone() == (400,)
    assert hashes == [key, key]

    # the object removed: NotFoundError, not the cached answer
    os.rename(path, f"{path}.moved")
    with pytest.raises(dt.NotFoundError, match="parquet object"):
        pl.scan_datom("P.lb")  # type: ignore[attr-defined]
    os.rename(f"{path}.moved", path)

    # forgetting the verdicts (as dt.clear_cache() does) drops the cached answers: checked again
    dt.clear_cache()
    hashes.clear()
    assert pl.scan_datom("P.lb").collect().height == 400  # type: ignore[attr-defined]
    assert hashes == [key]
    # verify="always" hashes on every call, warm or not
    pl.scan_datom("P.lb", verify="always")  # type: ignore[attr-defined]
    assert hashes == [key, key]


def test_warm_datom_follows_the_project_a_name_means(tmp_path: Path, local_store: StoreSpec, con: Any) -> None:
    """DuckDB's datom() keeps warm answers per reference; opening another project of that name (another
    store) must not leave the first one's answer in place."""
    from datom_engines.project import registry

    first = new_project(tmp_path / "a", local_store)
    first.write(lb(), "lb")
    age_mirror(first, "lb")
    for _ in range(2):
        assert con.execute("SELECT count(*) FROM datom('P.lb')").fetchone() == (400,)
    other_store = tmp_path / "other-store"
    other_store.mkdir()
    second = new_project(tmp_path / "b", StoreSpec("local", str(other_store), {}))
    second.write(lb(1000), "lb")
    age_mirror(second, "lb")
    assert registry.lookup("P") is second
    for _ in range(2):
        assert con.execute("SELECT count(*) FROM datom('P.lb')").fetchone() == (1000,)
    dt.register(first)
    assert con.execute("SELECT count(*) FROM datom('P.lb')").fetchone() == (400,)


def test_memory_store_verdict_through_duckdb(
    tmp_path: Path, make_store: Callable[[str], StoreSpec], con: Any, hashes: list[str]
) -> None:
    proj = new_project(tmp_path, make_store("memory"))
    result = proj.write(lb(), "lb")
    key = f"lb/{result.data_sha}.parquet"
    for _ in range(3):
        assert con.execute("SELECT count(*) FROM datom('P.lb')").fetchone() == (400,)
    assert hashes == [key]
    good = proj.store.get_bytes(key)
    proj.store.put_bytes(key, corrupted(good, "swapped"))
    with pytest.raises(duckdb.InvalidInputException, match="integrity"):
        con.execute("FROM datom('P.lb')").fetchall()
    assert hashes == [key, key]
    proj.store.put_bytes(key, good)
    assert con.execute("SELECT count(*) FROM datom('P.lb')").fetchone() == (400,)
    # Polars copies memory objects once per process (verified on the way) and scans the copy
    assert pl.scan_datom("P.lb").collect().height == 400  # type: ignore[attr-defined]
    assert pl.scan_datom("P.lb").collect().height == 400  # type: ignore[attr-defined]


@pytest.fixture
def proxy(s3_server: S3Server) -> Iterator[CountingProxy]:
    with CountingProxy(s3_server.endpoint) as p:
        yield p


def parquet_gets(proxy: CountingProxy) -> int:
    """Whole-object reads of parquet objects (datom's downloads and hashing; an engine reads ranges past the
    magic bytes or from the end, ``bytes=-N``)."""
    return sum(1 for r in proxy.gets(".parquet") if r.range is None or r.range.startswith("bytes=0-"))


def test_s3_checksum_attests_without_download_and_verdicts_follow_the_etag(
    tmp_path: Path, s3_server: S3Server, proxy: CountingProxy, con: Any, read_cache_dir: Path
) -> None:
    opts = {**s3_server.storage_options(), "aws_endpoint_url": proxy.endpoint}
    spec = StoreSpec("s3", f"s3://{s3_server.new_bucket()}/p", opts, s3_server)
    proj = new_project(tmp_path, spec)
    result = proj.write(lb(), "lb")
    key = f"lb/{result.data_sha}.parquet"
    head = s3_server.client().head_object(Bucket=proj.location.root, Key=f"p/datom/{key}", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == hex_to_b64(result.parquet_sha)  # type: ignore[arg-type]

    # uploaded with its SHA-256: the first scan is attested by one HEAD, nothing is downloaded
    proxy.reset()
    lazy = pl.scan_datom("P.lb")  # type: ignore[attr-defined]
    assert parquet_gets(proxy) == 0
    assert [r.method for r in proxy.requests if r.path.endswith(".parquet")] == ["HEAD"]
    assert proj.location.root in lazy.explain()  # read in place, with pushdown
    assert con.execute("SELECT count(*) FROM datom('P.lb')").fetchone() == (400,)

    # an object that cannot be attested (no checksum): the cold scan downloads it into the read cache and
    # scans that copy; later scans trust the verdict for its ETag (one HEAD) and read in place
    good = proj.store.get_bytes(key)
    proj.store.put_bytes(key, good + b"")  # same bytes, uploaded without a SHA-256 checksum
    other = proj.write(lb(30), "other")
    other_key = f"other/{other.data_sha}.parquet"
    proj.store.put_bytes(other_key, proj.store.get_bytes(other_key))
    proxy.reset()
    cold = pl.scan_datom("P.other")  # type: ignore[attr-defined]
    assert parquet_gets(proxy) == 1 and str(read_cache_dir) in cold.explain()
    proxy.reset()
    warm = pl.scan_datom("P.other")  # type: ignore[attr-defined]
    assert parquet_gets(proxy) == 0 and proj.location.root in warm.explain()
    assert warm.collect().height == 30

    # corrupted: a new ETag, so it is checked again (downloaded and refused), and the bad verdict sticks
    proj.store.put_bytes(other_key, corrupted(proj.store.get_bytes(other_key), "flipped"))
    proxy.reset()
    with pytest.raises(dt.IntegrityError):
        pl.scan_datom("P.other")  # type: ignore[attr-defined]
    assert parquet_gets(proxy) == 1
    proxy.reset()
    with pytest.raises(duckdb.InvalidInputException, match="integrity"):
        con.execute("FROM datom('P.other')").fetchall()
    assert parquet_gets(proxy) == 0  # refused from the recorded verdict: no second download

    # with the cache off, an unattested object is hashed streaming (nothing kept) and read in place
    dt.configure_cache(None)
    verify.forget_process_verdicts()
    third = proj.write(lb(20), "third")
    third_key = f"third/{third.data_sha}.parquet"
    proj.store.put_bytes(third_key, proj.store.get_bytes(third_key))
    proxy.reset()
    assert proj.location.root in pl.scan_datom("P.third").explain()  # type: ignore[attr-defined]
    assert parquet_gets(proxy) == 1
    proxy.reset()
    pl.scan_datom("P.third")  # type: ignore[attr-defined]
    assert parquet_gets(proxy) == 0


def test_dt_verify_records_ahead_of_time_and_reports_corruption(
    tmp_path: Path, local_store: StoreSpec, hashes: list[str]
) -> None:
    proj = new_project(tmp_path, local_store)
    v1 = proj.write(lb(), "lb")
    proj.write(lb(shift=1.0), "lb")
    key = f"lb/{v1.data_sha}.parquet"
    age(proj.location.fs_path(key))
    checked = dt.verify("P.lb", version=v1.version[:10])
    assert (checked.how, checked.sha256, checked.in_store) == ("hashed", v1.parquet_sha, True)
    assert dt.verify("P.lb", version=v1.version, mode="once").how == "recorded"
    assert hashes == [key]
    pl.scan_datom("P.lb", version=v1.version).collect()  # type: ignore[attr-defined]
    assert hashes == [key]
    overwrite(proj, key, corrupted(proj.store.get_bytes(key), "truncated"))
    with pytest.raises(dt.IntegrityError, match="failed its integrity check"):
        proj.verify("lb", version=v1.version)
    with pytest.raises(dt.IntegrityError):
        pl.scan_datom("P.lb", version=v1.version)  # type: ignore[attr-defined]
    assert pl.scan_datom("P.lb").collect().height == 400  # type: ignore[attr-defined]


# ----- the second hash of large objects (storage/fastcheck.py) ---------------------------------------------
def big(seed: int = 0) -> pl.DataFrame:
    """A table whose parquet object is over fastcheck.MIN_SIZE (random floats do not compress)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return pl.DataFrame({"i": np.arange(1_300_000), "x": rng.random(1_300_000)})


def test_large_objects_are_first_checked_with_the_recorded_blake3(
    tmp_path: Path, local_store: StoreSpec, con: Any, hashes: list[str]
) -> None:
    import blake3

    from datom_engines.core import keys
    from datom_engines.storage import fastcheck

    proj = new_project(tmp_path, local_store)
    result = proj.write(big(), "t")
    key = keys.parquet_key("t", result.data_sha)
    path = proj.location.fs_path(key)
    size = os.path.getsize(path)
    assert size >= fastcheck.MIN_SIZE
    record_path = proj.location.fs_path(keys.object_record_key("t", result.parquet_sha))
    record = json.loads(Path(record_path).read_text())
    assert record == {
        "parquet_sha": result.parquet_sha,
        "size_bytes": size,
        "blake3": blake3.blake3(Path(path).read_bytes()).hexdigest(),
    }
    expected = pl.read_datom("P.t")  # type: ignore[attr-defined]
    assert expected.height == 1_300_000

    # a machine with no verdict: the first check uses the record (no SHA-256), and records the verdict
    age(path)
    dt.clear_cache()
    hashes.clear()
    found = proj.verified_object("t")
    assert (found.how, found.sha256) == ("hashed", result.parquet_sha)
    assert hashes == []
    assert proj.verified_object("t").how == "recorded"
    dt.clear_cache()
    assert_frame_equal(pl.scan_datom("P.t").collect(), expected)  # type: ignore[attr-defined]
    dt.clear_cache()
    got = con.execute("SELECT count(*), max(i), min(x) FROM datom('P.t')").fetchone()
    assert got == (1_300_000, 1_299_999, expected["x"].min())
    assert hashes == []

    # verify="always" trusts nothing recorded: SHA-256
    proj.verified_object("t", verify="always")
    assert hashes == [key]

    # a corrupted object fails the BLAKE3 check, then SHA-256 decides: refused everywhere
    good = corrupt_and_expect_refusal(proj, con, key, "P.t", hashes)

    # a wrong or unreadable record never refuses a good object: SHA-256 decides
    overwrite(proj, key, good)
    for bad_record in (
        json.dumps({**record, "blake3": "0" * 64}),
        "{not json",
        json.dumps({**record, "size_bytes": 1}),
    ):
        Path(record_path).write_text(bad_record)
        age(path)
        dt.clear_cache()
        hashes.clear()
        assert_frame_equal(pl.scan_datom("P.t").collect(), expected)  # type: ignore[attr-defined]
        assert hashes == [key]
    os.remove(record_path)  # no record (an R-written object): SHA-256, as before
    dt.clear_cache()
    hashes.clear()
    assert proj.verified_object("t").how == "hashed"
    assert hashes == [key]


def test_small_objects_get_no_record(tmp_path: Path, local_store: StoreSpec) -> None:
    from datom_engines.core import keys

    proj = new_project(tmp_path, local_store)
    result = proj.write(lb(), "lb")
    assert not proj.store.exists(keys.object_record_key("lb", result.parquet_sha))
