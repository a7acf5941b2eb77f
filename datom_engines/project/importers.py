"""Reading source files (CSV, parquet, Excel, SAS, SPSS, Stata) into frames for sync and ``datom write``.

The formats are the reference's allowlist (section 3.13). Each reader aims at the values R datom's
importer (``rio::import``) would produce, so that the same file gives the same ``data_sha`` in R and here:

* ``csv``/``tsv``/``psv``/``txt``: every field read as text by Polars, then typed like ``data.table::fread``
  (:mod:`datom_engines.project.fread`). Separators: ``,`` ``\\t`` ``|``; for ``txt`` the first line decides
  (tab, ``|``, ``;`` or ``,``, whichever occurs most). The first line is the header.
* ``parquet``: read as stored (pyarrow types, as R's arrow reads them).
* ``xlsx``/``xls`` (first sheet, Polars ``read_excel`` with the fastexcel engine) made to look like
  ``readxl``: Excel numbers are doubles (Float64), date cells become UTC datetimes (R ``POSIXct``), text is
  trimmed of surrounding spaces and empty cells are null.
* ``sas7bdat``/``xpt``/``sav``/``zsav``/``por``/``dta`` through pyreadstat (as ``haven``): numbers are
  Float64, missing numbers null, blank text ``""``, date/datetime/time formats become Date/Datetime/Time.

Excel and the statistical formats need the optional extra: ``pip install 'datom_engines[formats]'``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidArgumentError, UnsupportedDataError

if TYPE_CHECKING:  # polars is imported when a file is read (the CLI starts without it)
    import polars as pl

SUPPORTED_FORMATS = (
    "csv",
    "tsv",
    "txt",
    "psv",
    "parquet",
    "sas7bdat",
    "xpt",
    "sav",
    "zsav",
    "por",
    "dta",
    "xls",
    "xlsx",
)
_SEPARATORS = {"csv": ",", "tsv": "\t", "psv": "|"}
_FORMATS_HINT = "install the readers with: pip install 'datom_engines[formats]'"


def file_format(path: str | os.PathLike[str]) -> str:
    """The format of a file as the reference records it: its last extension, case kept (``""`` if none)."""
    suffix = Path(path).suffix
    return suffix[1:] if suffix else ""


def is_supported(fmt: str) -> bool:
    """True if ``fmt`` (any case) is in the reference's allowlist."""
    return fmt.lower() in SUPPORTED_FORMATS


def unsupported_message(name: str, fmt: str) -> str:
    """The error text for a file whose format is not on the allowlist."""
    shown = f".{fmt}" if fmt else "no extension"
    return (
        f"{name}: format {shown!r} is not supported (supported: {', '.join(SUPPORTED_FORMATS)}); "
        "convert it to CSV or parquet, or read it yourself and write the frame with Project.write()"
    )


def _sniff_separator(path: Path) -> str:
    with open(path, "rb") as fh:
        first = fh.readline().decode("utf-8", errors="replace")
    counts = {sep: first.count(sep) for sep in ("\t", "|", ";", ",")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def read_text(path: Path, fmt: str) -> pl.DataFrame:
    """A delimited text file, typed like ``data.table::fread``."""
    import polars as pl

    from . import fread

    sep = _SEPARATORS.get(fmt) or _sniff_separator(path)
    raw = pl.read_csv(
        path,
        separator=sep,
        infer_schema=False,
        empty_string_is_null=False,
        has_header=True,
        raise_if_empty=True,
    )
    return fread.type_frame(raw)


def read_parquet(path: Path) -> pl.LazyFrame:
    """A parquet file, lazily (streamed to the store's parquet without loading it whole)."""
    import polars as pl
    import pyarrow.parquet as pq

    pq.read_schema(path)  # fail now, with a clear message, if this is not a parquet file
    return pl.scan_parquet(path)


def read_excel(path: Path) -> pl.DataFrame:
    """The first sheet of a workbook, with ``readxl``'s types."""
    try:
        import fastexcel  # noqa: F401
    except ImportError as exc:
        raise UnsupportedDataError(f"reading {path.name} needs the fastexcel package", hint=_FORMATS_HINT) from exc
    import polars as pl

    frame = pl.read_excel(path, engine="calamine", sheet_id=1)
    out = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if dtype.is_integer() or dtype == pl.Float32:
            col = col.cast(pl.Float64)
        elif dtype == pl.Date:
            col = col.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
        elif isinstance(dtype, pl.Datetime) and dtype.time_zone is None:
            col = col.dt.replace_time_zone("UTC")
        elif dtype == pl.String:
            trimmed = col.str.strip_chars()
            col = pl.when(trimmed == "").then(None).otherwise(trimmed)
        out.append(col.alias(name))
    return frame.select(out)


def _pyreadstat(fmt: str) -> Callable[..., Any]:
    try:
        import pyreadstat
    except ImportError as exc:
        raise UnsupportedDataError(f"reading .{fmt} files needs the pyreadstat package", hint=_FORMATS_HINT) from exc
    return {
        "sas7bdat": pyreadstat.read_sas7bdat,
        "xpt": pyreadstat.read_xport,
        "sav": pyreadstat.read_sav,
        "zsav": pyreadstat.read_sav,
        "por": pyreadstat.read_por,
        "dta": pyreadstat.read_dta,
    }[fmt]


def read_statistical(path: Path, fmt: str) -> pl.DataFrame:
    """A SAS, SPSS or Stata file through pyreadstat (values as ``haven`` reads them)."""
    import polars as pl

    frame, _meta = _pyreadstat(fmt)(str(path), output_format="polars")
    casts = [pl.col(n).cast(pl.Float64) for n, t in frame.schema.items() if t.is_integer() or t == pl.Float32]
    return frame.with_columns(casts) if casts else frame


def read_file(path: str | os.PathLike[str], fmt: str | None = None) -> pl.DataFrame | pl.LazyFrame:
    """Read a source file into a frame; ``fmt`` defaults to the file's extension.

    Raises :class:`InvalidArgumentError` for a format outside the allowlist and
    :class:`UnsupportedDataError` (naming the file and what went wrong) when the file cannot be read.
    """
    p = Path(path)
    kind = (fmt if fmt is not None else file_format(p)).lower().lstrip(".")
    if not is_supported(kind):
        raise InvalidArgumentError(unsupported_message(p.name, kind))
    if not p.is_file():
        raise InvalidArgumentError(f"{p} is not a file", hint="check the path")
    try:
        if kind in ("csv", "tsv", "psv", "txt"):
            return read_text(p, kind)
        if kind == "parquet":
            return read_parquet(p)
        if kind in ("xls", "xlsx"):
            return read_excel(p)
        return read_statistical(p, kind)
    except UnsupportedDataError:
        raise
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UnsupportedDataError(
            f"could not read {p.name} as {kind}: {reason}",
            hint=f"check that the file is a valid, UTF-8 encoded {kind} file (open it in the program that made it)",
        ) from exc
