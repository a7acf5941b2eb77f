"""Spark adapter: datom table versions as Spark DataFrames, and Spark DataFrames written as versions.

    import datom_engines.spark as dts
    df = dts.read(spark, "STUDY1.lb", version="6c9b32")     # Spark's own parquet scan of that version
    df = spark.read.format("datom").option("as_of", "2026-02-01").load("STUDY1.lb")   # after dts.register(spark)
    dts.write(df.filter("LBTESTCD = 'ALT'"), "STUDY1.alt", message="ALT only")      # parents recorded

:func:`read` resolves the version on the driver, checks its object (``verify=``) and returns
``spark.read.parquet`` of it with the schema given, so filters show as ``PushedFilters`` in
``explain()`` and row groups are skipped by Spark itself. That needs a store Spark reads natively:
local paths, and ``s3a://`` when the session has hadoop-aws (the store's credentials are translated to
``fs.s3a.bucket.<bucket>.*`` reader options). Other stores are read through the ``datom`` Python data
source (:mod:`datom_engines.spark.source`), which works on any fsspec store. :func:`write` streams the
partitions in order into one parquet object, hashed while it streams (:mod:`datom_engines.spark.writing`).
Needs ``pip install 'datom_engines[spark]'`` (pyspark 4.1 or newer) and Java 17+.
"""

from __future__ import annotations

try:
    import pyspark  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    from ..errors import EngineUnavailableError

    raise EngineUnavailableError(
        "datom_engines.spark needs pyspark", hint="pip install 'datom_engines[spark]' (pyspark 4.1+; Java 17+)"
    ) from exc

from .lineage import lineage_of
from .reading import read, register, registered_context
from .session import active_session, find_java, local_session
from .source import DatomDataSource
from .types import plan_columns, write_schema
from .writing import write

__all__ = [
    "DatomDataSource",
    "active_session",
    "find_java",
    "lineage_of",
    "local_session",
    "plan_columns",
    "read",
    "register",
    "registered_context",
    "write",
    "write_schema",
]
