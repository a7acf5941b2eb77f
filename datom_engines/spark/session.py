"""Getting a SparkSession, and what it can do: Java, hadoop-aws, the TIME type, filter pushdown."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from typing import Any

from pyspark.sql import SparkSession

from ..errors import EngineUnavailableError
from .types import TIME_TYPE_CONF

#: Spark conf that lets Python data sources take filters (Spark 4.1+).
PUSHDOWN_CONF = "spark.sql.python.filterPushdown.enabled"

_JAVA_HINT = (
    "Spark runs on Java 17 or newer: install a JDK (e.g. apt-get install openjdk-17-jre-headless) "
    "or point JAVA_HOME at one, then start the session again"
)

#: Settings of :func:`local_session`: quiet, loopback only, small shuffles, no UI.
LOCAL_DEFAULTS: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.shuffle.partitions": "2",
    "spark.sql.session.timeZone": "UTC",
    PUSHDOWN_CONF: "true",
    TIME_TYPE_CONF: "true",
}


def find_java() -> str:
    """The ``java`` executable Spark will start (from ``JAVA_HOME``, else ``PATH``); raises if there is none."""
    home = os.environ.get("JAVA_HOME", "").strip()
    if home:
        java = os.path.join(home, "bin", "java")
        if os.access(java, os.X_OK):
            return java
        raise EngineUnavailableError(f"JAVA_HOME is {home!r}, which has no bin/java", hint=_JAVA_HINT)
    java = shutil.which("java")
    if java is None:
        raise EngineUnavailableError(
            "Spark needs Java, and no java was found (JAVA_HOME is unset and PATH has none)", hint=_JAVA_HINT
        )
    return java


def local_session(
    master: str = "local[2]", *, conf: Mapping[str, str] | None = None, app_name: str = "datom"
) -> SparkSession:
    """A local SparkSession for scripts and tests: loopback only, no UI, quiet logs, small shuffles.

    Python workers use this interpreter (so they import the same datom_engines), the session time
    zone is UTC, and Python data-source filter pushdown and the TIME type are on. ``conf`` overrides
    any setting. Raises :class:`EngineUnavailableError` when Java is missing.
    """
    find_java()
    import sys

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # block manager too: large task results go through it
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in {**LOCAL_DEFAULTS, **(conf or {})}.items():
        builder = builder.config(key, value)
    session = _start(builder)
    session.sparkContext.setLogLevel("ERROR")
    return session


def _start(builder: Any) -> SparkSession:
    try:
        return builder.getOrCreate()
    except Exception as exc:  # pyspark raises PySparkRuntimeError(JAVA_GATEWAY_EXITED) and friends
        if "JAVA_GATEWAY" in str(exc) or "Java gateway" in str(exc):
            raise EngineUnavailableError(f"Spark could not start its Java process: {exc}", hint=_JAVA_HINT) from exc
        raise


def active_session(spark: SparkSession | None) -> SparkSession:
    """``spark``, else the active session, else a new one from ``SparkSession.builder`` (Java checked first)."""
    if spark is not None:
        if not isinstance(spark, SparkSession):
            from ..errors import InvalidArgumentError

            raise InvalidArgumentError(
                f"expected a SparkSession, got {type(spark).__module__}.{type(spark).__qualname__}",
                hint="pass the session (SparkSession.builder.getOrCreate()) or None for the active one",
            )
        return spark
    current = SparkSession.getActiveSession()
    if current is not None:
        return current
    find_java()
    return _start(SparkSession.builder)


def conf_enabled(spark: SparkSession, key: str) -> bool | None:
    """A boolean Spark conf: True / False when set, None when left at its default."""
    value = spark.conf.get(key, None)
    return None if value is None else str(value).strip().lower() == "true"


def class_loadable(spark: SparkSession, name: str) -> bool | None:
    """Whether the JVM of a classic session can load class ``name`` (None: cannot tell, e.g. Spark Connect)."""
    jvm = getattr(spark, "_jvm", None)
    if jvm is None:
        return None
    try:
        return bool(jvm.org.apache.spark.util.Utils.classIsLoadable(name))
    except Exception:
        return None


def has_hadoop_aws(spark: SparkSession) -> bool | None:
    """Whether the session can read ``s3a://`` (hadoop-aws on its class path); None when it cannot tell."""
    return class_loadable(spark, "org.apache.hadoop.fs.s3a.S3AFileSystem")
