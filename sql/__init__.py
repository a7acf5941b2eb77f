"""SQL shipped with datom_engines: ``datom.sql`` (DuckDB macros), installed as ``datom_engines.sql``."""
