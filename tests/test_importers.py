"""Reading source files for sync: the fread typing rule for CSV (reference section 8 item 30) and the
Excel / SAS / SPSS / Stata readers."""

from __future__ import annotations

import datetime as dtm
import hashlib
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import datom_engines as dt
from datom_engines.project import fread, importers

CLINICAL = Path(__file__).parent / "fixtures" / "clinical"

# reference section 7.4: (original_file_sha, data_sha under fread / datom_sync, shape)
FREAD_VECTORS = {
    "dm": (
        "85dc50d0b9a94a994294193e01a902dcb4fdea82f0559e0fee6c38183725da82",
        "e1cf3e7765814482be4048f2a8a73b75a58f61a7373f638712fba087d0cf6d5d",
        (48, 12),
    ),
    "ex": (
        "25d305e1316550255c526a6b271251ff3ad6992ebfc30dfe63a63c59fd8d79b5",
        "813881534b29257439415624b7ee977f594410288bf703747ef879b07d7e8eb7",
        (48, 10),
    ),
    "lb": (
        "6c22d1b92c365257d510cff18b7c2dd7473f79dd3c54cb0db62d30d794fe29ef",
        "01b400bcbad54387f744dcc0ce8701b733e609517aeb3c260daaee2dc84f979c",
        (720, 15),
    ),
    "ae": (
        "a6560cc26cb9be4e1a1ba5c003673d3757e11c23b6b99e7bf1399c10bd439267",
        "9ba3ef6c346bcb8e0879265102e9423097043b1247275ccda2f017498ba4a93b",
        (84, 12),
    ),
}


@pytest.mark.parametrize("domain", sorted(FREAD_VECTORS))
def test_clinical_csv_matches_r_fread(domain: str) -> None:
    file_sha, data_sha, shape = FREAD_VECTORS[domain]
    path = CLINICAL / f"{domain}.csv"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == file_sha
    frame = importers.read_file(path)
    assert isinstance(frame, pl.DataFrame)
    assert frame.shape == shape
    assert dt.data_sha(frame) == data_sha


def test_clinical_column_kinds_follow_fread() -> None:
    dm = importers.read_file(CLINICAL / "dm.csv")
    assert isinstance(dm, pl.DataFrame)
    assert dm.schema["SUBJID"] == pl.Int64 and dm["SUBJID"][0] == 1  # "001" -> 1, as fread
    assert dm.schema["RFSTDTC"] == pl.Date
    assert dm.schema["SEX"] == pl.String
    ae = importers.read_file(CLINICAL / "ae.csv")
    assert isinstance(ae, pl.DataFrame)
    assert ae.schema["AEENDTC"] == pl.Date


def _typed(text: str) -> pl.DataFrame:
    raw = pl.read_csv(text.encode(), infer_schema=False, empty_string_is_null=False)
    return fread.type_frame(raw)


def test_fread_rule_types() -> None:
    out = _typed(
        "b,i,f,d,t,s,empty,na\n"
        "TRUE,007,1.5,2026-01-02,2026-01-02 10:11,x,,NA\n"
        'FALSE,-2,NaN,NA,2026-01-02T10:11:12.5Z,"",,NA\n'
        "NA,+3,-Inf,,2026-01-02T10:11:12+0100,NA,,\n"
    )
    assert out.schema == {
        "b": pl.Boolean,
        "i": pl.Int64,
        "f": pl.Float64,
        "d": pl.Date,
        "t": pl.Datetime("us", "UTC"),
        "s": pl.String,
        "empty": pl.Boolean,
        "na": pl.Boolean,
    }
    assert out["b"].to_list() == [True, False, None]
    assert out["i"].to_list() == [7, -2, 3]
    f = out["f"].to_list()
    assert f[0] == 1.5 and f[1] != f[1] and f[2] == float("-inf")
    assert out["f"].null_count() == 0  # NaN stays NaN, not null
    assert out["d"].to_list() == [dtm.date(2026, 1, 2), None, None]
    utc = dtm.UTC
    assert out["t"].to_list() == [
        dtm.datetime(2026, 1, 2, 10, 11, tzinfo=utc),
        dtm.datetime(2026, 1, 2, 10, 11, 12, 500000, tzinfo=utc),
        dtm.datetime(2026, 1, 2, 9, 11, 12, tzinfo=utc),
    ]
    assert out["s"].to_list() == ["x", "", None]  # empty text stays "", only NA is missing
    assert out["empty"].null_count() == 3 and out["na"].null_count() == 3


def test_fread_rule_fallbacks() -> None:
    out = _typed(
        "mixed_bool,big,huge,bad_date,code\n"
        "TRUE,3000000000,99999999999999999999,2026-02-30,0012A\n"
        "True,1,1,2026-01-01,0013\n"
    )
    assert out.schema["mixed_bool"] == pl.String  # two spellings: text, as in fread
    assert out.schema["big"] == pl.Int64  # integer64 in R: hashed as i64, like R
    assert out.schema["huge"] == pl.Float64  # beyond int64: double
    assert out.schema["bad_date"] == pl.String
    assert out["code"].to_list() == ["0012A", "0013"]
    big = pl.DataFrame({"big": pl.Series([3000000000, 1], dtype=pl.Int64)})
    assert dt.column_hashes(out.select("big")) == dt.column_hashes(big)


@pytest.mark.parametrize(("ext", "sep"), [("tsv", "\t"), ("psv", "|"), ("txt", "\t"), ("txt", ";")])
def test_delimited_variants(tmp_path: Path, ext: str, sep: str) -> None:
    path = tmp_path / f"x.{ext}"
    path.write_text(sep.join(["id", "name", "when"]) + "\n" + sep.join(["01", "a b", "2026-03-04"]) + "\n")
    out = importers.read_file(path)
    assert isinstance(out, pl.DataFrame)
    assert out.to_dicts() == [{"id": 1, "name": "a b", "when": dtm.date(2026, 3, 4)}]


def test_unreadable_and_unsupported_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"this is not parquet")
    with pytest.raises(dt.UnsupportedDataError, match=r"could not read bad\.parquet as parquet"):
        importers.read_file(bad)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b\n1,2,3\n")
    with pytest.raises(dt.UnsupportedDataError, match=r"ragged\.csv"):
        importers.read_file(ragged)
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"a,b\n1,caf\xe9\n")
    with pytest.raises(dt.UnsupportedDataError, match="UTF-8"):
        importers.read_file(latin)
    doc = tmp_path / "notes.docx"
    doc.write_bytes(b"x")
    with pytest.raises(dt.InvalidArgumentError, match=r"'\.docx' is not supported"):
        importers.read_file(doc)
    assert importers.is_supported("CSV") and importers.file_format(tmp_path / "DM.CSV") == "CSV"


def source_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "USUBJID": ["S-001", "S-002", "S-003"],
            "AGE": [34.0, None, 71.5],
            "VISITNUM": [1.0, 2.0, 3.0],
            "RFSTDTC": [dtm.date(2026, 1, 20), None, dtm.date(2025, 12, 31)],
        }
    )


def source_pandas() -> object:
    pdf = source_frame().to_pandas()
    pdf["RFSTDTC"] = [d.date() if d == d and d is not None else None for d in pdf["RFSTDTC"]]  # python dates
    return pdf


def test_sas_xpt_reads_back_the_source(tmp_path: Path) -> None:
    pyreadstat = pytest.importorskip("pyreadstat")
    src = source_frame()
    path = tmp_path / "dm.xpt"
    pyreadstat.write_xport(source_pandas(), str(path), table_name="DM")
    out = importers.read_file(path)
    assert isinstance(out, pl.DataFrame)
    assert_frame_equal(out, src)


@pytest.mark.parametrize("ext", ["sav", "dta"])
def test_spss_and_stata_read_back_the_source(tmp_path: Path, ext: str) -> None:
    pyreadstat = pytest.importorskip("pyreadstat")
    src = source_frame()
    path = tmp_path / f"dm.{ext}"
    writer = pyreadstat.write_sav if ext == "sav" else pyreadstat.write_dta
    writer(source_pandas(), str(path))
    out = importers.read_file(path)
    assert isinstance(out, pl.DataFrame)
    assert_frame_equal(out, src)


def test_xlsx_reads_with_readxl_types(tmp_path: Path) -> None:
    pytest.importorskip("fastexcel")
    pytest.importorskip("xlsxwriter")
    src = pl.DataFrame(
        {
            "id": [1, 2, 3],
            "name": ["a", None, " c "],
            "score": [1.5, None, 3.25],
            "day": [dtm.date(2026, 1, 2), None, dtm.date(2020, 5, 5)],
        }
    )
    path = tmp_path / "scores.xlsx"
    src.write_excel(path)
    out = importers.read_file(path)
    assert isinstance(out, pl.DataFrame)
    # readxl's rule: Excel numbers are doubles, dates are UTC date-times, text is trimmed
    expected = src.with_columns(
        pl.col("id").cast(pl.Float64),
        pl.col("name").str.strip_chars(),
        pl.col("day").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
    )
    assert_frame_equal(out, expected)
