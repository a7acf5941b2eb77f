"""Automatic lineage for Spark writes: the datom versions a DataFrame's plan reads.

Both read paths (the native parquet scan and the ``datom`` data source) give every column field
metadata naming the version it was read from (``datom_source``). The leaves of the DataFrame's
analysed plan keep their full schemas, so every datom read in the plan is found, in plan order,
even when none of its columns survive into the result (an aggregate, a semi join). Sessions without
a JVM plan to inspect (Spark Connect) fall back to the metadata of the result's own columns.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

from pyspark.sql import DataFrame

from .. import api
from .source import LINEAGE_KEY


def _leaf_schemas(df: DataFrame) -> list[dict[str, Any]] | None:
    """The JSON schemas of the leaves of the analysed plan, left to right (None: no JVM plan)."""
    jdf = getattr(df, "_jdf", None)
    if jdf is None:
        return None
    leaves = jdf.queryExecution().analyzed().collectLeaves().iterator()
    out = []
    while leaves.hasNext():
        out.append(json.loads(leaves.next().schema().json()))
    return out


def sources_of(df: DataFrame) -> list[tuple[str, str, str]]:
    """``(project, table, version)`` of every datom version the plan reads, in plan order, once each."""
    try:
        schemas = _leaf_schemas(df)
    except Exception as exc:  # a plan py4j cannot walk: say so rather than record wrong parents
        warnings.warn(f"could not inspect the Spark plan for datom sources ({exc}); pass parents=", stacklevel=3)
        schemas = None
    if schemas is None:
        schemas = [json.loads(df.schema.json())]
    found: dict[tuple[str, str, str], None] = {}
    for schema in schemas:
        for f in schema.get("fields", []):
            entry = (f.get("metadata") or {}).get(LINEAGE_KEY)
            if isinstance(entry, dict) and {"project", "table", "version"} <= entry.keys():
                found.setdefault((str(entry["project"]), str(entry["table"]), str(entry["version"])), None)
    return list(found)


def lineage_of(df: DataFrame) -> list[dict[str, Any]]:
    """The ``parents`` entries :func:`datom_engines.spark.write` records for ``df``: the datom versions
    its plan reads (entries as :meth:`Project.parent` builds them, in plan order)."""
    return [api.project(project).parent(table, version) for project, table, version in sources_of(df)]
