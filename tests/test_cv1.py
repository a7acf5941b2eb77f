"""Tests of the datom-cv1 content hash against the R-computed vectors and its invariants."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import itertools
import json
import math
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datom_engines.core import cv1
from datom_engines.core.cv1 import (
    Cv1Digest,
    StreamHasher,
    classify_columns,
    column_hashes,
    data_sha,
    data_sha_from_column_hashes,
    hash_batches,
    hash_column,
    hash_frame,
    hash_parquet,
    hash_table,
)
from datom_engines.core.frames import is_lazy, to_arrow
from datom_engines.errors import InvalidArgumentError, UnsupportedDataError

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLES = Path(__file__).parent.parent / "datom_engines" / "examples"

FIXTURE_LIST: list[dict[str, Any]] = json.loads((FIXTURES / "cv1-fixtures.json").read_text("utf-8"))
EXPECTED: dict[str, dict[str, Any]] = {
    e["name"]: e for e in json.loads((FIXTURES / "cv1-expected.json").read_text("utf-8"))
}

# --------------------------------------------------------------------------------------------------
# Building the fixtures (rules in cv1-python.md, "Fixture files")

_PL_INT = {"Int8": pl.Int8, "Int16": pl.Int16, "Int32": pl.Int32, "Int64": pl.Int64, "UInt32": pl.UInt32}
_PA_INT = {
    "Int8": pa.int8(),
    "Int16": pa.int16(),
    "Int32": pa.int32(),
    "Int64": pa.int64(),
    "UInt32": pa.uint32(),
}


def _float(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    special = {"NaN": math.nan, "-NaN": -math.nan, "-0": -0.0, "Inf": math.inf, "-Inf": -math.inf}
    if value in special:
        return special[value]
    if value.startswith("bits:"):
        return struct.unpack(">d", bytes.fromhex(value[5:]))[0]
    return float.fromhex(value)


def _generated(gen: dict[str, Any]) -> tuple[list[Any], str]:
    """Values and fixture kind of a ``generate`` column."""
    i = np.arange(gen["n"])
    formula = gen["formula"]
    if formula == "i":
        return i.tolist(), "int"
    if formula == "i*0.1":
        return (i * 0.1).tolist(), "float"
    if formula == "sqrt(i)":
        return np.sqrt(i.astype(np.float64)).tolist(), "float"
    if formula == "str(i)":
        return [f"row-{k}" for k in i.tolist()], "str"
    if formula == "i%3==0":
        return (i % 3 == 0).tolist(), "bool"
    if formula == "date(i)":
        return [(dt.date(1970, 1, 1) + dt.timedelta(days=k)).isoformat() for k in i.tolist()], "date"
    raise AssertionError(f"unknown formula {formula}")


def _column_values(col: dict[str, Any]) -> tuple[list[Any], str]:
    if "generate" in col:
        return _generated(col["generate"])
    return col["values"], col["kind"]


def _polars_series(col: dict[str, Any]) -> pl.Series:
    values, kind = _column_values(col)
    name = col["name"]
    if kind == "int":
        return pl.Series(name, values, dtype=_PL_INT[col.get("py_dtype", "Int32")])
    if kind == "float":
        dtype = pl.Float32 if col.get("py_dtype") == "Float32" else pl.Float64
        return pl.Series(name, [_float(v) for v in values], dtype=dtype)
    if kind == "bool":
        return pl.Series(name, values, dtype=pl.Boolean)
    if kind == "str":
        return pl.Series(name, values, dtype=pl.String)
    if kind == "cat":
        return pl.Series(name, values, dtype=pl.Categorical)
    if kind == "date":
        return pl.Series(name, [None if v is None else dt.date.fromisoformat(v) for v in values], dtype=pl.Date)
    if kind == "datetime":
        unit, tz = col["unit"], col.get("tz")
        ints = pl.Series(name, values, dtype=pl.Int64)
        if unit == "s":  # Polars has no second unit
            ints, unit = ints * 1000, "ms"
        out = ints.cast(pl.Datetime(unit))
        if tz is not None:
            out = out.dt.replace_time_zone("UTC").dt.convert_time_zone(tz)
        assert out.to_physical().to_list() == ints.to_list()
        return out
    if kind == "duration":
        unit = col["unit"]
        ints = pl.Series(name, values, dtype=pl.Int64)
        if unit == "s":
            ints, unit = ints * 1000, "ms"
        return ints.cast(pl.Duration(unit))
    if kind == "time":
        return pl.Series(name, values, dtype=pl.Int64).cast(pl.Time)
    if kind == "i64":
        return pl.Series(name, [None if v is None else int(v) for v in values], dtype=pl.Int64)
    raise AssertionError(f"unknown kind {kind}")


def _arrow_array(col: dict[str, Any]) -> pa.Array:
    values, kind = _column_values(col)
    if kind == "int":
        return pa.array(values, _PA_INT[col.get("py_dtype", "Int32")])
    if kind == "float":
        typ = pa.float32() if col.get("py_dtype") == "Float32" else pa.float64()
        return pa.array([_float(v) for v in values], typ)
    if kind == "bool":
        return pa.array(values, pa.bool_())
    if kind == "str":
        return pa.array(values, pa.string())
    if kind == "cat":
        return pa.array(values, pa.string()).dictionary_encode()
    if kind == "date":
        return pa.array([None if v is None else dt.date.fromisoformat(v) for v in values], pa.date32())
    if kind == "datetime":
        return pa.array(values, pa.timestamp(col["unit"], tz=col.get("tz")))
    if kind == "duration":
        return pa.array(values, pa.duration(col["unit"]))
    if kind == "time":
        return pa.array(values, pa.time64("ns"))
    if kind == "i64":
        return pa.array([None if v is None else int(v) for v in values], pa.int64())
    raise AssertionError(f"unknown kind {kind}")


def build_polars(fixture: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame([_polars_series(c) for c in fixture["columns"]])


def build_arrow(fixture: dict[str, Any]) -> pa.Table:
    return pa.table({c["name"]: _arrow_array(c) for c in fixture["columns"]})


def _assert_matches(digest: Cv1Digest, expected: dict[str, Any]) -> None:
    assert digest.column_hashes_json() == expected["column_hashes"]
    assert digest.data_sha == expected["data_sha"]


FIXTURE_IDS = [f["name"] for f in FIXTURE_LIST]


def test_every_fixture_has_an_expected_hash() -> None:
    assert sorted(FIXTURE_IDS) == sorted(EXPECTED)
    assert len(FIXTURE_IDS) == 18


@pytest.mark.parametrize("fixture", FIXTURE_LIST, ids=FIXTURE_IDS)
def test_fixture_polars(fixture: dict[str, Any]) -> None:
    df = build_polars(fixture)
    expected = EXPECTED[fixture["name"]]
    _assert_matches(hash_frame(df), expected)
    assert data_sha(df) == expected["data_sha"]
    assert column_hashes(df) == {c["name"]: c["sha"] for c in expected["column_hashes"]}


@pytest.mark.parametrize("fixture", FIXTURE_LIST, ids=FIXTURE_IDS)
def test_fixture_arrow(fixture: dict[str, Any]) -> None:
    table = build_arrow(fixture)
    expected = EXPECTED[fixture["name"]]
    _assert_matches(hash_table(table), expected)
    assert data_sha(table) == expected["data_sha"]


@pytest.mark.parametrize("fixture", FIXTURE_LIST, ids=FIXTURE_IDS)
def test_fixture_polars_default_arrow_export(fixture: dict[str, Any]) -> None:
    # The table to_arrow() gives by default (large_string, dictionary<large_string>) hashes the same.
    table = to_arrow(build_polars(fixture))
    _assert_matches(hash_table(table), EXPECTED[fixture["name"]])


@pytest.mark.parametrize("fixture", FIXTURE_LIST, ids=FIXTURE_IDS)
def test_fixture_parquet_stream(fixture: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    build_polars(fixture).write_parquet(path, row_group_size=3000)
    _assert_matches(hash_parquet(path), EXPECTED[fixture["name"]])


def test_golden_numeric_payload_bytes() -> None:
    fixture = next(f for f in FIXTURE_LIST if f["name"] == "golden_numeric")
    payload = bytes(cv1._num_payload(_arrow_array(fixture["columns"][0])))
    slots = [payload[i : i + 8].hex() for i in range(0, len(payload), 8)]
    assert slots == [
        "0000000000000000", "0000000000000000", "000000000000f03f", "000000000000f0bf",
        "9a9999999999b93f", "555555555555d53f", "000000000000607e", "0000000000008081",
        "ffffffffffffef7f", "0000000000001080", "000000000000f07f", "000000000000f0ff",
        "a20700000000f07f", "000000000000f87f",
    ]  # fmt: skip
    assert EXPECTED["golden_numeric"]["column_hashes"][0]["sha"] == (
        "d398b1bc40e614e854a1b81ab03b7b6d447e23aeef7ced9e24aac57f08373319"
    )


def test_nan_flavours_and_pins() -> None:
    flavours = [math.nan, -math.nan, struct.unpack("<d", bytes.fromhex("010000000000f07f"))[0]]
    payload = bytes(cv1._num_payload(pa.array([1.0, *flavours, 2.0])))
    assert len(payload) == 40
    assert [payload[i : i + 8].hex() for i in range(8, 32, 8)] == ["000000000000f87f"] * 3
    assert payload[:8] == bytes(cv1._num_payload(pa.array([1.0])))
    assert payload[32:] == bytes(cv1._num_payload(pa.array([2.0])))
    assert bytes(cv1._num_payload(pa.array([float.fromhex("0x1.fcp+996")]))).hex() == "0000000000c03f7e"
    assert bytes(cv1._num_payload(pa.array([None], pa.float64()))).hex() == "a20700000000f07f"


# --------------------------------------------------------------------------------------------------
# Vectors of reference-format.md 7.1 and 7.4


def test_sha256_sanity() -> None:
    assert hashlib.sha256(b"abc").hexdigest() == ("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")


def test_worked_example_x_equals_one() -> None:
    digest = hash_frame(pl.DataFrame({"x": [1.0]}))
    assert digest.column_hashes == (("x", "a71ef9b776d0fee98df49b187186a6d07e034eeafc8676863b8a0ca955eb3fb6"),)
    assert digest.data_sha == "a19b3ee47d4b3ac485b8becbd2b51dbb18ddc5d312bed0677936f07f62b7c58e"
    assert (digest.nrow, digest.ncol) == (1, 1)
    manual = hashlib.sha256(b"num" + b"x" + b"\x00" + bytes.fromhex("000000000000f03f")).hexdigest()
    assert manual == digest.column_hashes[0][1]


DATE = dt.date
UTC = dt.UTC

VECTORS: list[tuple[str, Callable[[], object], str]] = [
    (
        "chr a,NA,'',z",
        lambda: pl.DataFrame({"x": ["a", None, "", "z"]}),
        "15ceda31e3f254bd4b7d1afa2150150dff971bb0c5943bb6fd3d90d4a9bd8c7c",
    ),
    (
        "factor x,y,x",
        lambda: pl.DataFrame({"x": pl.Series(["x", "y", "x"], dtype=pl.Categorical)}),
        "6abf705c3eb90ba047825cdad70d71f849d4ebdd5c90dc70de5bba408ba57d19",
    ),
    (
        "factor as Enum with extra levels",
        lambda: pl.DataFrame({"x": pl.Series(["x", "y", "x"], dtype=pl.Enum(["z", "y", "x"]))}),
        "6abf705c3eb90ba047825cdad70d71f849d4ebdd5c90dc70de5bba408ba57d19",
    ),
    (
        "Date 2026-01-01,NA,2026-12-31",
        lambda: pl.DataFrame({"x": [DATE(2026, 1, 1), None, DATE(2026, 12, 31)]}),
        "2ce0b61a4f6474d237c3256d3e612117dfcc53e5cc67971e25ddabfe4d80c72f",
    ),
    (
        "POSIXct UTC",
        lambda: pl.DataFrame({"x": [dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), None]}),
        "831c7afaa61d61d6f02880aa320e8320dd09cec0957f85ab4a523da113db030f",
    ),
    (
        "POSIXct as arrow timestamp[s]",
        lambda: pa.table({"x": pa.array([1767323045, None], pa.timestamp("s"))}),
        "831c7afaa61d61d6f02880aa320e8320dd09cec0957f85ab4a523da113db030f",
    ),
    (
        "difftime 60,120 secs",
        lambda: pa.table({"x": pa.array([60, 120], pa.duration("s"))}),
        "c1715086d34ee59c646b85d33ae3b79c022963f342f12f2b32109b7637c6917c",
    ),
    (
        "difftime 60,120 secs as Polars Duration",
        lambda: pl.DataFrame({"x": [dt.timedelta(seconds=60), dt.timedelta(seconds=120)]}),
        "c1715086d34ee59c646b85d33ae3b79c022963f342f12f2b32109b7637c6917c",
    ),
    (
        "x int 1,2,3 and y chr a,b,c",
        lambda: pl.DataFrame({"x": pl.Series([1, 2, 3], dtype=pl.Int32), "y": ["a", "b", "c"]}),
        "f3a74d60893878351b987439f906e4d309e5b1eaf24ab2b50c9049644512d95f",
    ),
    (
        "0,-0,1,NA,NaN,0/0",
        lambda: pl.DataFrame({"x": [0.0, -0.0, 1.0, None, math.nan, -math.nan]}),
        "47fe331a7a86e3b4a68ac2e975a293a283d6c53dbd74e5ddfde707279ade0945",
    ),
    (
        "chr a,NA,''",
        lambda: pl.DataFrame({"x": ["a", None, ""]}),
        "403e41a7c0cdacaf2ec03c00767d58b671eae46d82d433921c8013ee7e60bb95",
    ),
    (
        "Date 2026-01-01,NA",
        lambda: pl.DataFrame({"x": [DATE(2026, 1, 1), None]}),
        "f59e50a0b53bcf4925dcb30f87801f7a78066ce0020601143a8eb308ad72b1ac",
    ),
    (
        "Date as arrow date64",
        lambda: pa.table({"x": pa.array([20454 * 86_400_000, None], pa.date64())}),
        "f59e50a0b53bcf4925dcb30f87801f7a78066ce0020601143a8eb308ad72b1ac",
    ),
    (
        "中文",
        lambda: pl.DataFrame({"x": ["中文"]}),
        "40635afdf63acadfd4ca2ae3fc258e5f1406524d7d8306c93c61877c65e82dee",
    ),
    (
        "x = '1'",
        lambda: pl.DataFrame({"x": ["1"]}),
        "6ce66dd055a94234e4ea11094e798ab982aa1e17afab4e902a5789e4c0c29302",
    ),
    (
        "a = 1, b = 2",
        lambda: pl.DataFrame({"a": [1.0], "b": [2.0]}),
        "fb7b624346d79541ea7aec5d5633f3fcede6496f7d3076d11f2dda17a3bbe2bd",
    ),
    (
        "x int 1,2,3",
        lambda: pl.DataFrame({"x": pl.Series([1, 2, 3], dtype=pl.Int32)}),
        "b66673731e98e91133e026b2bfaa70d73256ab073584e3e37dd5a9910522e4aa",
    ),
    (
        "x Int64 1,2,3 (small: num)",
        lambda: pl.DataFrame({"x": [1, 2, 3]}),
        "b66673731e98e91133e026b2bfaa70d73256ab073584e3e37dd5a9910522e4aa",
    ),
    (
        "x UInt64 1,2,3",
        lambda: pa.table({"x": pa.array([1, 2, 3], pa.uint64())}),
        "b66673731e98e91133e026b2bfaa70d73256ab073584e3e37dd5a9910522e4aa",
    ),
    (
        "TRUE,FALSE,NA",
        lambda: pl.DataFrame({"x": [True, False, None]}),
        "81e68f1905718598ceccab66a51c81aa3755317868ef5140c7f18f926d9b424d",
    ),
    (
        "double 1,0,NA",
        lambda: pl.DataFrame({"x": [1.0, 0.0, None]}),
        "81e68f1905718598ceccab66a51c81aa3755317868ef5140c7f18f926d9b424d",
    ),
    (
        "NA,NaN,-0,0",
        lambda: pl.DataFrame({"x": [None, math.nan, -0.0, 0.0]}),
        "d870ad1d88deee63bf6d494ba40a3b8f3739cbd30fb3544d77cf358606e74f93",
    ),
    (
        "hms 3661 s as Polars Time",
        lambda: pl.DataFrame({"x": [dt.time(1, 1, 1)]}),
        "d31cdac9553b745c165b1e818b8ba2dbc7f25c3c05a21de27e75c3ac7ee8eafa",
    ),
    (
        "hms 3661 s as arrow time32[s]",
        lambda: pa.table({"x": pa.array([3661], pa.time32("s"))}),
        "d31cdac9553b745c165b1e818b8ba2dbc7f25c3c05a21de27e75c3ac7ee8eafa",
    ),
    (
        "hms 3661 s as arrow time32[ms]",
        lambda: pa.table({"x": pa.array([3661000], pa.time32("ms"))}),
        "d31cdac9553b745c165b1e818b8ba2dbc7f25c3c05a21de27e75c3ac7ee8eafa",
    ),
    (
        "hms 3661 s as duration[s]",
        lambda: pa.table({"x": pa.array([3661], pa.duration("s"))}),
        "d31cdac9553b745c165b1e818b8ba2dbc7f25c3c05a21de27e75c3ac7ee8eafa",
    ),
    (
        "column named é",
        lambda: pl.DataFrame({"é": [1.0]}),
        "9463c973f8a2cca59aea6fddba40de38bd1dac66a74fe058e9150a31eb8d4f6f",
    ),
    (
        "golden mixed (pandas)",
        lambda: pd.DataFrame(
            {
                "n": pd.array([1, None, 3], dtype="Int32"),
                "s": pd.array(["a", None, ""], dtype="string"),
                "f": pd.Categorical(["x", "y", "x"]),
                "d": pd.array([DATE(2026, 1, 1), None, DATE(2026, 12, 31)], dtype="date32[pyarrow]"),
                "t": pd.to_datetime([1767323045, None, 946684799], unit="s", utc=True),
            }
        ),
        "47c94f30e2214c7917cfca976960a475825afd710dd12e6cb003cff82fb41db2",
    ),
]


@pytest.mark.parametrize(("label", "build", "expected"), VECTORS, ids=[v[0] for v in VECTORS])
def test_reference_vectors(label: str, build: Callable[[], object], expected: str) -> None:
    assert data_sha(build()) == expected


def test_golden_mixed_column_digests_from_reference() -> None:
    digest = hash_frame(build_polars(next(f for f in FIXTURE_LIST if f["name"] == "golden_mixed")))
    assert digest.column_hashes == (
        ("n", "88753aa701fe19a4d7931ae0bab5fbf0982115356598338361d17d547fdd3f4e"),
        ("s", "121c94ffc706b9572dbb21fcc5265be012f4b3a5632ebc7aac644081dfc387eb"),
        ("f", "9cb670a54153783917805f0d9212963e66ca922a7b6674aded67d9166e343a49"),
        ("d", "2b8c894e4846d4e323bc2f253c5c2d587b17b0c60924452a68ffe10f7188a368"),
        ("t", "e85ad42bebc38e828d0d2e341780b3507ac49a707dfc14304c9c9190d7ae8120"),
    )


def test_reference_parity_column_digests() -> None:
    digest = hash_frame(pl.DataFrame({"x": pl.Series([1, 2, 3], dtype=pl.Int32), "y": ["a", "b", "c"]}))
    assert digest.column_hashes == (
        ("x", "501eb6a897498a3be2762d9385beb9eeef10ce0130d91a27dd9a45ae552e23e6"),
        ("y", "38646702c06303c008083e7f071643e7db09e9ebc905bc3de9aecb1321ed435c"),
    )


def test_real_integer64_vectors_with_forced_i64_kind() -> None:
    # Real bit64::integer64 columns of small values: Arrow Int64 of such values is `num` by the
    # value rule, so force the i64 kind through the lower-level column function.
    sha_12 = hash_column("x", pa.array([1, 2], pa.int64()), kind="i64")
    assert data_sha_from_column_hashes(2, 1, [sha_12]) == (
        "2e60e713e65965b8b4a55900589ca8c716db7ed643490c6a2bd9d9a917d00c4b"
    )
    sha_na = hash_column("x", pa.array([1, None, -5], pa.int64()), kind="i64")
    assert data_sha_from_column_hashes(3, 1, [sha_na]) == (
        "4baafad83830eb5dfe1007e8cb5448460436411373a14a31dd5e2ce38d935768"
    )
    # Not forced, the same values are `num`.
    assert hash_column("x", pa.array([1, 2], pa.int64())) != sha_12
    assert hash_column("x", pa.array([1, 2], pa.int64()), kind="num") == hash_column("x", pa.array([1.0, 2.0]))


def test_faked_integer64_vector_from_documented_bytes() -> None:
    # "integer64" faked by class over the doubles 1.0, 2.0 is not expressible in Arrow; check the
    # documented payload through data_sha_from_column_hashes.
    payload = bytes.fromhex("000000000000f03f0000000000000040")
    col = hashlib.sha256(b"i64x\x00" + payload).hexdigest()
    assert data_sha_from_column_hashes(2, 1, [col]) == (
        "7cfcb4881940449f9472226dc4ae4d8beb10bae3e0027b795b083901d16626a4"
    )


# difftime `1` unit `mins` (d2d2ed65…) is not expressible: Arrow durations always hash in `secs`.


def test_hash_column_rejects_incompatible_forced_kind() -> None:
    with pytest.raises(InvalidArgumentError):
        hash_column("x", pa.array([1.0]), kind="i64")
    with pytest.raises(InvalidArgumentError):
        hash_column("x", pa.array(["a"]), kind="num")


# --------------------------------------------------------------------------------------------------
# The example CSVs (reference-format.md 7.4)

READ_CSV_NUM = ["SUBJID", "AGE", "EXDOSE", "VISITNUM", "LBORRES", "LBORNRLO", "LBORNRHI", "AESEQ"]
FREAD_DATES = ["RFSTDTC", "DMDTC", "EXSTDTC", "LBDTC", "AESTDTC", "AEENDTC"]
CSV_VECTORS = {
    "dm": (48, 12, "71a93ffaa4cdc59750a5d5fbf49bb4ffcd656f00038cae2849958acae622b538",
           "e1cf3e7765814482be4048f2a8a73b75a58f61a7373f638712fba087d0cf6d5d"),
    "ex": (48, 10, "c83f7806d76e770ed2b6f195a7868f3764c43ece6cb00283cecc77ebd0f49236",
           "813881534b29257439415624b7ee977f594410288bf703747ef879b07d7e8eb7"),
    "lb": (720, 15, "87f206ab6debc5ae80d7a64511e4694a55c8e55ad79ad524c9c4888faeb2fd8a",
           "01b400bcbad54387f744dcc0ce8701b733e609517aeb3c260daaee2dc84f979c"),
    "ae": (84, 12, "ed31ca849abf23b886402079f8fe8e526a69cf6bb51e810d66bf16b6bd90b761",
           "9ba3ef6c346bcb8e0879265102e9423097043b1247275ccda2f017498ba4a93b"),
}  # fmt: skip


def read_like_read_csv(path: Path) -> pl.DataFrame:
    """R's utils::read.csv: the numeric columns as double ("001" -> 1), the rest as character.

    read.csv turns empty numeric cells into NA and keeps "" in character columns; "NA" is NA.
    """
    raw = pl.read_csv(path, infer_schema=False, empty_string_is_null=False)
    return raw.with_columns(
        [pl.col(c).replace("", None).cast(pl.Float64) for c in raw.columns if c in READ_CSV_NUM]
        + [pl.when(pl.col(c) == "NA").then(None).otherwise(pl.col(c)).alias(c)
           for c in raw.columns if c not in READ_CSV_NUM]
    )  # fmt: skip


def read_like_fread(path: Path) -> pl.DataFrame:
    """data.table::fread via rio: as read.csv, plus ISO date columns as Date (empty -> NA)."""
    df = read_like_read_csv(path)
    return df.with_columns(
        [pl.col(c).replace("", None).str.to_date("%Y-%m-%d") for c in df.columns if c in FREAD_DATES]
    )


@pytest.mark.parametrize("stem", sorted(CSV_VECTORS))
def test_example_csv_read_csv(stem: str) -> None:
    nrow, ncol, expected, _ = CSV_VECTORS[stem]
    df = read_like_read_csv(EXAMPLES / f"{stem}.csv")
    assert df.shape == (nrow, ncol)
    assert data_sha(df) == expected
    assert data_sha(df.to_arrow()) == expected


@pytest.mark.parametrize("stem", sorted(CSV_VECTORS))
def test_example_csv_fread(stem: str) -> None:
    nrow, ncol, _, expected = CSV_VECTORS[stem]
    df = read_like_fread(EXAMPLES / f"{stem}.csv")
    assert df.shape == (nrow, ncol)
    assert any(df.schema[c] == pl.Date for c in df.columns)
    assert data_sha(df) == expected


def test_example_subjid_is_number_one() -> None:
    df = read_like_read_csv(EXAMPLES / "dm.csv")
    assert df["SUBJID"][0] == 1.0
    assert df["SUBJID"].dtype == pl.Float64


# --------------------------------------------------------------------------------------------------
# Properties

RNG = np.random.default_rng(20260101)


def _mixed_table(n: int = 5000, seed: int = 7) -> pa.Table:
    """A table with every kind, nulls in every column, NaN, -0 and multi-byte strings."""
    rng = np.random.default_rng(seed)
    nulls = rng.random((10, n)) < 0.1
    words = np.array(["", "a", "héllo", "中文", "🧪 assay", "x" * 40, "tab\tq"])

    def masked(values: np.ndarray, k: int, typ: pa.DataType) -> pa.Array:
        return pa.array(values, type=typ, mask=nulls[k])

    floats = rng.normal(size=n)
    floats[rng.random(n) < 0.05] = np.nan
    floats[rng.random(n) < 0.05] = -0.0
    big = rng.integers(-(2**62), 2**62, n)
    return pa.table(
        {
            "i32": masked(rng.integers(-1000, 1000, n), 0, pa.int32()),
            "i64": masked(rng.integers(-1000, 1000, n), 1, pa.int64()),
            "big": masked(big, 2, pa.int64()),
            "f": masked(floats, 3, pa.float64()),
            "b": masked(rng.random(n) < 0.5, 4, pa.bool_()),
            "s": masked(words[rng.integers(0, len(words), n)], 5, pa.string()),
            "c": masked(words[rng.integers(0, 3, n)], 6, pa.string()).dictionary_encode(),
            "d": masked(rng.integers(-5000, 30000, n), 7, pa.int32()).cast(pa.date32()),
            "t": masked(rng.integers(-(10**15), 10**15, n), 8, pa.int64()).cast(pa.timestamp("us", "UTC")),
            "dur": masked(rng.integers(-(10**12), 10**12, n), 9, pa.int64()).cast(pa.duration("ns")),
        }
    )


_NA = struct.pack("<Q", 0x7FF00000000007A2)
_NAN = struct.pack("<Q", 0x7FF8000000000000)


def _reference_num(values: list[float | None]) -> bytes:
    """Row-by-row NUM encoding, straight from the spec (slow, for cross-checking)."""
    out = bytearray()
    for v in values:
        if v is None:
            out += _NA
        elif math.isnan(v):
            out += _NAN
        else:
            out += struct.pack("<d", v + 0.0)
    return bytes(out)


def _reference_digest(table: pa.Table) -> str:
    """A slow, independent datom-cv1 implementation for the types of :func:`_mixed_table`."""
    hexes = []
    for name, column in zip(table.column_names, table.columns, strict=True):
        typ = column.type
        if pa.types.is_dictionary(typ) or pa.types.is_string(typ):
            values = column.cast(pa.string()).to_pylist() if pa.types.is_dictionary(typ) else column.to_pylist()
            mask = bytes(1 if v is None else 0 for v in values)
            kind, payload = "chr", mask + b"".join((v or "").encode() + b"\x00" for v in values)
        elif pa.types.is_int64(typ) and any(v is not None and abs(v) > 2**31 - 1 for v in column.to_pylist()):
            ints = column.to_pylist()
            kind, payload = "i64", b"".join(struct.pack("<q", -(2**63) if v is None else v) for v in ints)
        elif pa.types.is_timestamp(typ) or pa.types.is_duration(typ):
            scale = 10.0 ** {"s": 0, "ms": 3, "us": 6, "ns": 9}[typ.unit]
            ints = column.cast(pa.int64()).to_pylist()
            kind = "time" if pa.types.is_timestamp(typ) else "drtn"
            payload = _reference_num([None if v is None else float(v) / scale for v in ints])
            payload += b"\x00secs" if kind == "drtn" else b""
        elif pa.types.is_date32(typ):
            kind = "date"
            payload = _reference_num([None if v is None else float(v) for v in column.cast(pa.int32()).to_pylist()])
        else:
            values = column.to_pylist()
            kind, payload = "num", _reference_num([None if v is None else float(v) for v in values])
        hexes.append(hashlib.sha256(kind.encode() + name.encode() + b"\x00" + payload).hexdigest())
    head = b"datom-cv1" + struct.pack("<dd", table.num_rows, table.num_columns)
    return hashlib.sha256(head + "".join(hexes).encode()).hexdigest()


def test_row_by_row_reference_matches_r() -> None:
    for name in ("golden_mixed", "golden_numeric", "i64_big", "generated_10k", "duration_us"):
        fixture = next(f for f in FIXTURE_LIST if f["name"] == name)
        assert _reference_digest(build_arrow(fixture)) == EXPECTED[name]["data_sha"], name


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_matches_a_row_by_row_reference(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    table = _mixed_table(2000, seed=seed)
    expected = _reference_digest(table)
    assert hash_table(table).data_sha == expected
    # Small zero blocks, pieces and threads on: the block/piece boundaries fall everywhere.
    monkeypatch.setattr(cv1, "_ZEROS", bytes(7))
    monkeypatch.setattr(cv1, "PIECE_BYTES", 200)
    monkeypatch.setattr(cv1, "SMALL_TABLE_BYTES", 0)
    monkeypatch.setattr(cv1, "_worker_count", lambda: 2)
    assert hash_table(_rechunk(table, [5, 999, 1003])).data_sha == expected
    no_null_strings = table.select(["f", "d"]).append_column("s", pa.array(["a", "", "中文"] * 666 + ["z", "y"]))
    assert hash_batches(
        no_null_strings.schema,
        lambda cols: (no_null_strings if cols is None else no_null_strings.select(cols)).to_batches(300),
        {},
        nrow=2000,
        chr_without_nulls=["s"],
    ).data_sha == _reference_digest(no_null_strings)


def _rechunk(table: pa.Table, bounds: list[int]) -> pa.Table:
    """The same table with every column cut into chunks at ``bounds``."""
    edges = [0, *bounds, table.num_rows]
    columns = [
        pa.chunked_array([col.slice(a, b - a) for a, b in itertools.pairwise(edges)], col.type)
        for col in (c.combine_chunks() for c in table.columns)
    ]
    return pa.Table.from_arrays(columns, names=table.column_names)


def test_chunked_contiguous_and_sliced_inputs_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    table = _mixed_table()
    reference = hash_table(table)
    assert reference.nrow == 5000 and reference.ncol == 10
    # Many chunks with odd boundaries (validity bitmaps not byte aligned).
    assert hash_table(_rechunk(table, [1, 3, 11, 1000, 1001, 4999])) == reference
    # A slice of a bigger table: every buffer has a non-zero offset.
    padded = pa.concat_tables([_mixed_table(13, seed=1), table, _mixed_table(29, seed=2)]).combine_chunks()
    sliced = padded.slice(13, 5000)
    assert sliced.column("f").chunk(0).offset == 13
    assert hash_table(sliced) == reference
    assert hash_table(_rechunk(sliced, [7, 2500])) == reference
    # Tiny pieces inside each chunk.
    monkeypatch.setattr(cv1, "PIECE_BYTES", 64)
    assert hash_table(sliced) == reference
    assert hash_table(table) == reference


def test_record_batch_and_single_thread_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    table = _mixed_table(800)
    reference = hash_table(table)
    assert data_sha(table.to_batches()[0]) == reference.data_sha
    monkeypatch.setattr(cv1, "_worker_count", lambda: 1)
    assert hash_table(table) == reference


@pytest.mark.parametrize("workers", [2, 4, 16])
def test_threaded_and_pipelined_paths_agree(monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    table = _mixed_table(3000)
    inline = hash_table(table)
    single = {name: hash_table(table.select([name])).data_sha for name in table.column_names}
    monkeypatch.setattr(cv1, "SMALL_TABLE_BYTES", 0)
    monkeypatch.setattr(cv1, "PIECE_BYTES", 512)
    monkeypatch.setattr(cv1, "_worker_count", lambda: workers)
    assert cv1._critical_columns([10, 1, 1], 2) == [True, False, False]
    assert cv1._critical_columns([1, 1, 1], 2) == [False, False, False]
    assert cv1._critical_columns([5], 1) == [False]
    assert hash_table(table) == inline
    # One column per table: the column is critical, so its pieces are prepared on a helper thread.
    assert {name: hash_table(table.select([name])).data_sha for name in table.column_names} == single
    batches = table.to_batches(max_chunksize=1000)
    assert hash_batches(table.schema, lambda cols: batches if cols is None else
                        table.select(cols).to_batches(max_chunksize=700),
                        {"i64": False, "big": True}) == inline  # fmt: skip


@pytest.mark.parametrize("count", [0, 1, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 5])
def test_zero_blocks_cover_exactly_count_bytes(count: int) -> None:
    blocks = cv1._zeros(count)
    assert sum(len(b) for b in blocks) == count
    assert all(not any(b) for b in blocks)


def test_long_null_free_string_mask(monkeypatch: pytest.MonkeyPatch) -> None:
    # Masks longer than the zero block: one small dictionary column, so pieces hold many rows.
    n = (1 << 20) * 2 + 17
    codes = pa.array(np.arange(n, dtype=np.int8) % 2)
    column = pa.DictionaryArray.from_arrays(codes, pa.array(["a", "b"]))
    expected = hashlib.sha256(b"chrx\x00" + bytes(n) + b"a\x00b\x00" * (n // 2) + b"a\x00").hexdigest()
    assert hash_column("x", column) == expected
    monkeypatch.setattr(cv1, "PIECE_BYTES", 1 << 30)
    assert hash_column("x", column.cast(pa.string())) == expected
    table = pa.table({"x": column})
    assert hash_batches(
        table.schema, lambda cols: table.to_batches(max_chunksize=n), {}, nrow=n, chr_without_nulls=["x"]
    ) == hash_table(table)
    assert hash_table(table).column_hashes[0][1] == expected


def test_string_layouts_agree() -> None:
    values = ["a", None, "", "héllo", "x" * 30, None, "中文"]
    reference = data_sha(pa.table({"s": pa.array(values, pa.string())}))
    for typ in (pa.large_string(), pa.string_view()):
        assert data_sha(pa.table({"s": pa.array(values, typ)})) == reference
    for dict_type in (pa.string(), pa.large_string()):
        encoded = pa.array(values, dict_type).dictionary_encode()
        assert data_sha(pa.table({"s": encoded})) == reference
    # Different dictionaries per chunk, one of them holding a null entry.
    first = pa.DictionaryArray.from_arrays(pa.array([0, 1, 2], pa.int32()), pa.array(["a", None, ""]))
    second = pa.array(values[3:], pa.string()).dictionary_encode()
    chunked = pa.chunked_array([first, second])
    assert data_sha(pa.table({"s": chunked})) == reference
    assert data_sha(pl.DataFrame({"s": values})) == reference
    assert data_sha(pl.DataFrame({"s": pl.Series(values, dtype=pl.Categorical)})) == reference


def test_garbage_under_null_strings_is_ignored() -> None:
    # A null slot whose offsets span bytes: must still contribute just the 0x00.
    offsets = pa.py_buffer(np.array([0, 1, 4, 5], dtype=np.int64).tobytes())
    data = pa.py_buffer(b"abcde")
    validity = pa.py_buffer(bytes([0b101]))
    arr = pa.Array.from_buffers(pa.large_string(), 3, [validity, offsets, data])
    assert arr.to_pylist() == ["a", None, "e"]
    assert data_sha(pa.table({"s": arr})) == data_sha(pl.DataFrame({"s": ["a", None, "e"]}))
    # The same for values under null numbers.
    floats = pa.Array.from_buffers(pa.float64(), 2, [validity, pa.py_buffer(np.array([1.0, np.nan]).tobytes())])
    assert data_sha(pa.table({"x": floats})) == data_sha(pl.DataFrame({"x": [1.0, None]}))


def test_polars_multi_chunk_frames() -> None:
    a = pl.DataFrame({"x": [1.5, None], "s": ["a", None], "i": [1, 2]})
    b = pl.DataFrame({"x": [math.nan, 2.0], "s": ["", "z"], "i": [3, 3_000_000_000]})
    stacked = pl.concat([a, b], rechunk=False)
    assert stacked.n_chunks() == 2
    assert data_sha(stacked) == data_sha(stacked.rechunk())
    assert column_hashes(stacked)["i"] == hash_column("i", pa.array([1, 2, 3, 3_000_000_000]), kind="i64")


def test_pandas_input() -> None:
    pdf = pd.DataFrame(
        {
            "i": np.array([1, 2, 3], dtype=np.int64),
            "f": [0.5, -0.0, 2.0],
            "s": ["a", "", "c"],
            "c": pd.Categorical(["x", "y", "x"]),
            "d": pd.to_datetime(["2026-01-01", "2026-01-02", "1969-12-31"]),
        }
    )
    expected = pl.DataFrame(
        {
            "i": [1, 2, 3],
            "f": [0.5, 0.0, 2.0],
            "s": ["a", "", "c"],
            "c": pl.Series(["x", "y", "x"], dtype=pl.Categorical),
            "d": [dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 2), dt.datetime(1969, 12, 31)],
        }
    )
    assert data_sha(pdf) == data_sha(expected)
    # The index is not part of the identity.
    assert data_sha(pdf.set_axis([10, 20, 30])) == data_sha(pdf)


def test_lazy_frame_is_collected() -> None:
    df = pl.DataFrame({"x": [1.0, 2.0], "s": ["a", "b"]})
    lazy = df.lazy().with_columns(pl.col("x") * 1)
    assert is_lazy(lazy) and not is_lazy(df)
    assert data_sha(lazy) == data_sha(df)
    assert to_arrow(lazy).equals(to_arrow(df))


def test_row_and_column_order_matter() -> None:
    df = pl.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})
    base = data_sha(df)
    assert data_sha(df.reverse()) != base
    assert data_sha(df.select("b", "a")) != base
    assert data_sha(df.rename({"a": "A"})) != base


def test_changing_one_column_changes_only_its_digest() -> None:
    table = _mixed_table(300)
    before = column_hashes(table)
    f = table.column("f").to_numpy(zero_copy_only=False).copy()
    f[150] = 12345.0
    changed = table.set_column(table.schema.get_field_index("f"), "f", pa.array(f))
    after = column_hashes(changed)
    assert [n for n in before if before[n] != after[n]] == ["f"]
    assert data_sha(changed) != data_sha(table)


def test_null_nan_zero_semantics() -> None:
    assert data_sha(pl.DataFrame({"x": [None, 1.0]})) != data_sha(pl.DataFrame({"x": [math.nan, 1.0]}))
    assert data_sha(pl.DataFrame({"x": [-0.0]})) == data_sha(pl.DataFrame({"x": [0.0]}))
    f32 = pl.DataFrame({"x": pl.Series([-0.0, math.nan, None], dtype=pl.Float32)})
    assert data_sha(f32) == data_sha(pl.DataFrame({"x": [0.0, -math.nan, None]}))
    assert data_sha(pl.DataFrame({"x": [1.0]})) != data_sha(pl.DataFrame({"x": [1.0 + 2**-52]}))
    assert data_sha(pl.DataFrame({"x": ["a", None]})) != data_sha(pl.DataFrame({"x": ["a", ""]}))
    assert data_sha(pl.DataFrame({"x": ["\u00ef"]})) != data_sha(pl.DataFrame({"x": ["i\u0308"]}))
    assert data_sha(pl.DataFrame({"x": [1.0]})) != data_sha(pl.DataFrame({"x": ["1"]}))


def test_numeric_types_unify() -> None:
    reference = data_sha(pl.DataFrame({"x": [0.0, 1.0, None]}))
    for dtype in (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64):
        assert data_sha(pl.DataFrame({"x": pl.Series([0, 1, None], dtype=dtype)})) == reference, dtype
    assert data_sha(pl.DataFrame({"x": [False, True, None]})) == reference
    assert data_sha(pl.DataFrame({"x": pl.Series([0, 1, None], dtype=pl.Float32)})) == reference


def test_null_dtype_is_all_na_num() -> None:
    all_null = pl.DataFrame({"x": pl.Series([None, None], dtype=pl.Null)})
    assert data_sha(all_null) == data_sha(pl.DataFrame({"x": pl.Series([None, None], dtype=pl.Float64)}))
    assert data_sha(all_null) != data_sha(pl.DataFrame({"x": pl.Series([None, None], dtype=pl.String)}))


def test_int64_rule_boundaries() -> None:
    def kind_of(values: list[int | None]) -> str:
        table = pa.table({"x": pa.array(values, pa.int64())})
        as_num = hash_column("x", table.column("x"), kind="num")
        as_i64 = hash_column("x", table.column("x"), kind="i64")
        digest = hash_table(table).column_hashes[0][1]
        assert digest in (as_num, as_i64)
        return "num" if digest == as_num else "i64"

    assert kind_of([2**31 - 1, -(2**31 - 1), None]) == "num"
    assert kind_of([2**31]) == "i64"
    assert kind_of([-(2**31)]) == "i64"
    assert kind_of([None, None]) == "num"
    assert kind_of([1, 2, None, 2**40]) == "i64"


def test_time_units_and_zones_agree() -> None:
    instant = [dt.datetime(2026, 1, 2, 3, 4, 5, 123456), None]
    reference = data_sha(pl.DataFrame({"x": pl.Series(instant, dtype=pl.Datetime("us"))}))
    for unit in ("ns", "us"):
        series = pl.Series(instant, dtype=pl.Datetime(unit)).dt.replace_time_zone("UTC")
        assert data_sha(pl.DataFrame({"x": series.dt.convert_time_zone("Asia/Tokyo")})) == reference
    seconds = pl.DataFrame({"x": pl.Series([dt.datetime(2026, 1, 2, 3, 4, 5)], dtype=pl.Datetime("ms"))})
    assert data_sha(seconds) == data_sha(pa.table({"x": pa.array([1767323045], pa.timestamp("s"))}))


def test_duration_and_time_agree_in_seconds() -> None:
    time_df = pl.DataFrame({"x": [dt.time(1, 1, 1), None]})
    dur_df = pl.DataFrame({"x": [dt.timedelta(seconds=3661), None]})
    assert data_sha(time_df) == data_sha(dur_df)
    assert data_sha(dur_df) != data_sha(pl.DataFrame({"x": [3661.0, None]}))


def test_categorical_enum_dictionary_equal_plain_string() -> None:
    values = ["b", "a", None, "b"]
    reference = data_sha(pl.DataFrame({"x": values}))
    assert data_sha(pl.DataFrame({"x": pl.Series(values, dtype=pl.Categorical)})) == reference
    assert data_sha(pl.DataFrame({"x": pl.Series(values, dtype=pl.Enum(["c", "b", "a"]))})) == reference
    assert data_sha(pa.table({"x": pa.array(values).dictionary_encode()})) == reference
    assert data_sha(pd.DataFrame({"x": pd.Categorical(values, categories=["b", "a", "z"])})) == reference


def test_unsupported_columns_are_all_named_once() -> None:
    table = pa.table(
        {
            "ok": pa.array([1.0]),
            "blob": pa.array([[1, 2]], pa.list_(pa.int64())),
            "bytes": pa.array([b"\x00"], pa.binary()),
            "money": pa.array([1], pa.decimal128(5, 2)),
            "rec": pa.array([{"a": 1}]),
        }
    )
    with pytest.raises(UnsupportedDataError) as info:
        hash_table(table)
    err = info.value
    assert err.message.startswith("4 columns are not hashable:")
    for shown in ("'blob' (list<item: int64>)", "'bytes' (binary)", "'money' (decimal128(5, 2))", "'rec'"):
        assert shown in err.message
    assert "'ok'" not in err.message
    assert "flatten or serialise to a string" in err.hint
    assert "hex-encode to a string" in err.hint
    assert "cast to Float64 or String" in err.hint
    with pytest.raises(UnsupportedDataError, match="1 column is not hashable: 'blob'"):
        classify_columns(table.select(["ok", "blob"]).schema, {})


def test_unsupported_polars_columns_including_object() -> None:
    df = pl.DataFrame(
        {
            "o": pl.Series([object()], dtype=pl.Object),
            "l": [[1, 2]],
            "x": [1.0],
            "b": [b"ab"],
            "h": pl.Series([1.5], dtype=pl.Float16),
        }
    )
    with pytest.raises(UnsupportedDataError) as info:
        data_sha(df)
    message = info.value.message
    assert message.startswith("4 columns are not hashable:")
    assert message.index("'o' (Object)") < message.index("'l'") < message.index("'b'") < message.index("'h'")
    assert "Object columns ('o')" in info.value.hint
    with pytest.raises(UnsupportedDataError, match="'o'"):
        to_arrow(df)


def test_zero_rows_or_columns_are_errors(tmp_path: Path) -> None:
    for frame in (
        pl.DataFrame({"x": pl.Series([], dtype=pl.Float64)}),
        pl.DataFrame(),
        pa.table({"x": pa.array([], pa.string())}),
        pd.DataFrame(),
    ):
        with pytest.raises(UnsupportedDataError, match="at least one row and one column"):
            data_sha(frame)
    path = tmp_path / "empty.parquet"
    pl.DataFrame({"x": pl.Series([], dtype=pl.Int64)}).write_parquet(path)
    with pytest.raises(UnsupportedDataError, match="at least one row and one column"):
        hash_parquet(path)


def test_unsupported_input_types() -> None:
    for bad in ({"x": [1]}, [1, 2], pl.Series([1]), np.zeros(3)):
        with pytest.raises(UnsupportedDataError) as info:
            data_sha(bad)
        assert "polars.DataFrame" in info.value.hint and "pandas.DataFrame" in info.value.hint


def test_classify_columns() -> None:
    schema = pa.schema(
        [
            ("a", pa.float64()),
            ("b", pa.large_string()),
            ("c", pa.date32()),
            ("d", pa.timestamp("ns", "UTC")),
            ("e", pa.duration("ms")),
            ("f", pa.time64("ns")),
            ("g", pa.int64()),
            ("h", pa.int64()),
            ("i", pa.dictionary(pa.uint32(), pa.string_view())),
            ("j", pa.null()),
        ]
    )
    assert classify_columns(schema, {"g": True, "h": False}) == [
        "num", "chr", "date", "time", "drtn", "drtn", "i64", "num", "chr", "num",
    ]  # fmt: skip
    with pytest.raises(InvalidArgumentError, match="'h'"):
        classify_columns(schema, {"g": True})


def test_data_sha_recomputes_from_column_hashes() -> None:
    digest = hash_table(_mixed_table(100))
    hexes = [sha for _, sha in digest.column_hashes]
    assert data_sha_from_column_hashes(digest.nrow, digest.ncol, hexes) == digest.data_sha
    assert data_sha_from_column_hashes(digest.nrow + 1, digest.ncol, hexes) != digest.data_sha
    with pytest.raises(InvalidArgumentError):
        data_sha_from_column_hashes(digest.nrow, digest.ncol + 1, hexes)
    with pytest.raises(InvalidArgumentError):
        data_sha_from_column_hashes(digest.nrow, digest.ncol, [h.upper() for h in hexes])


def test_digest_json_shape() -> None:
    digest = hash_frame(pl.DataFrame({"a": [1.0], "b": ["x"]}))
    assert [item["name"] for item in digest.column_hashes_json()] == ["a", "b"]
    assert all(len(item["sha"]) == 64 for item in digest.column_hashes_json())
    with pytest.raises(AttributeError):
        digest.nrow = 3  # type: ignore[misc]


# --------------------------------------------------------------------------------------------------
# Streaming


def test_hash_batches_matches_hash_table() -> None:
    table = _mixed_table(3000)
    calls: list[list[str] | None] = []

    def batches(columns: list[str] | None) -> list[pa.RecordBatch]:
        calls.append(columns)
        selected = table if columns is None else table.select(columns)
        return selected.to_batches(max_chunksize=700)

    needs = {"i64": False, "big": True}
    assert hash_batches(table.schema, batches, needs) == hash_table(table)
    assert calls == [None, ["s", "c"]]


@pytest.mark.parametrize("threads", [1, 2])
def test_stream_hasher_hashes_as_batches_arrive(threads: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # No Int64 rule is given: "i64" (small values) stays num, "big" turns out to need i64 and is
    # hashed again from the reread, with the string columns.
    table = _mixed_table(3000)
    monkeypatch.setattr(cv1, "PIECE_BYTES", 700)
    rereads: list[list[str]] = []

    def reread(columns: list[str]) -> list[pa.RecordBatch]:
        rereads.append(columns)
        return table.select(columns).to_batches(max_chunksize=900)

    hasher = StreamHasher(table.schema, threads=threads)
    for batch in table.to_batches(max_chunksize=640):
        hasher.update(batch)
    assert hasher.finish(reread) == hash_table(table)
    assert rereads == [["big", "s", "c"]]


def test_stream_hasher_without_second_pass_and_its_errors() -> None:
    table = pa.table({"x": pa.array([1, 2**40, None], pa.int64()), "y": [0.5, None, 2.0]})
    hasher = StreamHasher(table.schema, int64_needs_i64={"x": True})
    hasher.update(table.to_batches()[0])
    assert hasher.finish(None) == hash_table(table)  # nothing to read again
    strings = pa.table({"s": ["a", None]})
    hasher = StreamHasher(strings.schema)
    hasher.update(strings.to_batches()[0])
    with pytest.raises(InvalidArgumentError, match="second pass"):
        hasher.finish(None)
    hasher = StreamHasher(strings.schema)
    hasher.update(strings.to_batches()[0])
    with pytest.raises(InvalidArgumentError, match="second pass yielded 1 rows"):
        hasher.finish(lambda cols: strings.slice(0, 1).to_batches())
    with pytest.raises(UnsupportedDataError, match="at least one row"):
        StreamHasher(strings.schema).finish(None)
    with pytest.raises(UnsupportedDataError, match="not hashable"):
        StreamHasher(pa.schema([("l", pa.list_(pa.int32()))]))


def test_hash_parquet_threads_agree(tmp_path: Path) -> None:
    table = _mixed_table(4000)
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, row_group_size=1000)
    assert hash_parquet(path, threads=1) == hash_parquet(path, threads=2) == hash_table(table)


def test_hash_batches_checks_its_input() -> None:
    table = pa.table({"x": [1.0], "s": ["a"]})
    with pytest.raises(InvalidArgumentError):
        hash_batches(table.schema, lambda cols: table.to_batches(), {})
    empty = table.slice(0, 0)
    with pytest.raises(UnsupportedDataError, match="at least one row"):
        hash_batches(empty.schema, lambda cols: empty.to_batches(), {})


@pytest.mark.parametrize("statistics", [True, False])
def test_hash_parquet_matches_in_memory(tmp_path: Path, statistics: bool) -> None:
    table = _mixed_table(4000)
    # A big value only in the last row group, and an all-null Int64 column.
    table = table.append_column("late", pa.array([1] * 3999 + [2**35], pa.int64()))
    table = table.append_column("nothing", pa.array([None] * 4000, pa.int64()))
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, row_group_size=1000, write_statistics=statistics)
    expected = hash_table(table)
    assert hash_parquet(path) == expected
    assert hash_parquet(path, batch_size=333) == expected
    with path.open("rb") as handle:
        assert hash_parquet(handle) == expected
    assert hash_parquet(io.BytesIO(path.read_bytes())) == expected


def test_hash_parquet_rejects_unsupported_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"x": [1.0], "l": pa.array([[1]], pa.list_(pa.int64()))}), path)
    with pytest.raises(UnsupportedDataError, match="1 column is not hashable: 'l'"):
        hash_parquet(path)


def test_hash_batches_with_null_free_strings_announced() -> None:
    table = pa.table({"x": [1.0, 2.0, 3.0], "s": ["a", "b", ""], "n": ["a", None, "c"]})
    calls: list[list[str] | None] = []

    def batches(columns: list[str] | None) -> list[pa.RecordBatch]:
        calls.append(columns)
        return (table if columns is None else table.select(columns)).to_batches(max_chunksize=2)

    expected = hash_table(table)
    assert hash_batches(table.schema, batches, {}, nrow=3, chr_without_nulls=["s"]) == expected
    assert calls == [None, ["n"]]
    calls.clear()
    no_nulls = table.select(["x", "s"])
    assert hash_batches(
        no_nulls.schema, lambda cols: no_nulls.to_batches(), {}, nrow=3, chr_without_nulls=["s"]
    ) == hash_table(no_nulls)
    with pytest.raises(InvalidArgumentError, match="'n' was announced without nulls"):
        hash_batches(table.schema, batches, {}, nrow=3, chr_without_nulls=["n"])
    with pytest.raises(InvalidArgumentError, match="nrow=4"):
        hash_batches(table.schema, batches, {}, nrow=4, chr_without_nulls=["s"])


@pytest.mark.parametrize(("with_null", "passes"), [(False, 1), (True, 2)])
def test_hash_parquet_skips_second_pass_when_statistics_prove_no_nulls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_null: bool, passes: int
) -> None:
    strings = ["a", "bb", None if with_null else "c", "d"] * 500
    table = pa.table({"x": np.arange(2000, dtype=np.float64), "s": strings, "c": ["k", "l"] * 1000})
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, row_group_size=600)
    calls: list[list[str] | None] = []
    original = pq.ParquetFile.iter_batches

    def counting(self: pq.ParquetFile, *args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs.get("columns"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", counting)
    assert hash_parquet(path) == hash_table(table)
    assert len(calls) == passes
    if with_null:
        assert calls[1] == ["s"]


def test_check_hashable() -> None:
    table = pa.table({"x": [1.0], "b": pa.array([b"a"], pa.binary())})
    with pytest.raises(UnsupportedDataError, match="1 column is not hashable: 'b' \\(binary\\)"):
        cv1.check_hashable(table)
    with pytest.raises(UnsupportedDataError, match="'b'"):
        cv1.check_hashable(table.schema)
    empty = pa.table({"x": pa.array([], pa.float64())})
    with pytest.raises(UnsupportedDataError, match="at least one row"):
        cv1.check_hashable(empty)
    cv1.check_hashable(empty, allow_empty=True)
    cv1.check_hashable(empty.schema)
    with pytest.raises(UnsupportedDataError, match="'b'"):
        cv1.check_hashable(table.slice(0, 0), allow_empty=True)


def test_polars_int128_is_named_with_the_others() -> None:
    df = pl.DataFrame({"big": pl.Series([1], dtype=pl.Int128), "l": [[1]], "x": [1.0]})
    with pytest.raises(UnsupportedDataError) as info:
        data_sha(df)
    assert info.value.message.startswith("2 columns are not hashable: 'big' (Int128), 'l' (")
    assert "cast to Int64, Float64 or String" in info.value.hint


@pytest.mark.slow
def test_large_table_all_entry_points_agree(tmp_path: Path) -> None:
    # Above the 1 MiB zero block and several pieces per column, with the real constants.
    n = 1_300_000
    rng = np.random.default_rng(5)
    df = pl.DataFrame(
        {
            "id": rng.integers(0, 1000, n),
            "v": rng.normal(size=n),
            "s": pl.Series(rng.integers(0, 10**6, n)).cast(pl.String),
            "c": pl.Series(rng.integers(0, 3, n)).cast(pl.String).cast(pl.Categorical),
            "d": pl.Series(rng.integers(0, 20000, n).astype(np.int32)).cast(pl.Date),
        }
    )
    digest = hash_frame(df)
    assert hash_table(to_arrow(df)) == digest
    path = tmp_path / "big.parquet"
    df.write_parquet(path, row_group_size=400_000)
    assert hash_parquet(path) == digest
    with_nulls = df.with_columns(pl.when(pl.col("id") == 7).then(None).otherwise(pl.col("s")).alias("s"))
    with_nulls.write_parquet(path, row_group_size=400_000)
    assert hash_parquet(path) == hash_frame(with_nulls) != digest
