-- datom tables in DuckDB SQL.
--
-- datom_engines.duckdb.register(con) runs this file on a connection after registering the Python
-- functions the macros call. Those functions read metadata (manifest, metadata.json, version history)
-- and datom_file checks the object's bytes (once per machine by default); the table data is read by
-- DuckDB's own parquet reader, so filters and projections are pushed into the scan: EXPLAIN shows them
-- inside READ_PARQUET.
--
--   datom_file(ref, version, as_of, tag, verify), datom_latest_file(ref)
--                                     VARCHAR    the parquet URL of one table version, after checking the
--                                                stored bytes against parquet_sha (a corrupted object fails
--                                                with the datom IntegrityError); an object-store filesystem
--                                                is registered on the database as needed
--   datom_table_list(project)         STRUCT[]   one entry per table of a project
--   datom_version_list(ref)           STRUCT[]   one entry per version of a table, newest first
--
-- The macros are ordinary (not TEMP) so that every cursor of the database sees them.


-- The rows of a table version.
--   FROM datom('STUDY1.lb')                               the latest version (version NULL = latest)
--   FROM datom('STUDY1.lb', version := 'a793e7c1')        a full version id or a unique prefix of it
--   FROM datom('STUDY1.lb', as_of := '2026-01-15')        the version current at a time: a TIMESTAMP,
--                                                         TIMESTAMPTZ, DATE or ISO string (naive = UTC,
--                                                         a bare date = the end of that UTC day)
--   FROM datom('STUDY1.lb', tag := 'dblock-2026-03')      the version a tag (named snapshot) pins
--   FROM datom('STUDY1.lb', verify := 'always')           hash the stored bytes on every query; the default
--                                                         ('once') hashes an object once per machine and
--                                                         then trusts the verdict while it is unchanged;
--                                                         'never' checks existence and size only
-- datom(ref) alone (a string) is its own overload calling a one-argument function: on a short query (a
-- selective filter over one row group takes ~2.5 ms) each argument passed to a Python function, and each
-- cast, shows in the time.
-- Unknown or ambiguous versions and unknown tags fail with the datom error message and a hint; so does
-- an object whose bytes do not hash to the recorded parquet_sha (no rows are returned).
CREATE OR REPLACE MACRO datom(ref VARCHAR) AS TABLE (
    SELECT * FROM read_parquet(datom_latest_file(ref), hive_partitioning := false)
), (ref, version := NULL, as_of := NULL, tag := NULL, verify := NULL) AS TABLE (
    SELECT * FROM read_parquet(
        datom_file(ref::VARCHAR, version::VARCHAR, as_of::VARCHAR, tag::VARCHAR, verify::VARCHAR),
        hive_partitioning := false
    )
);


-- The tables of a project, from its manifest and each table's current metadata.
--   FROM datom_tables('STUDY1')
CREATE OR REPLACE MACRO datom_tables(project) AS TABLE
    SELECT
        t.name,
        t.version,
        t.data_sha,
        t.nrow,
        t.ncol,
        t.updated::TIMESTAMPTZ AS updated,
        t.version_count
    FROM (SELECT unnest(datom_table_list(project::VARCHAR)) AS t);


-- The versions of a table, newest first.
--   change:  'full' (new data) or 'metadata_only' (same data as the version before it)
--   parents: the table versions this one was derived from, as recorded at write time
--   FROM datom_history('STUDY1.lb')
CREATE OR REPLACE MACRO datom_history(ref) AS TABLE
    SELECT
        v.version,
        v.data_sha,
        v.created_at::TIMESTAMPTZ AS created_at,
        v.change,
        v.parents,
        v.author,
        v.message
    FROM (SELECT unnest(datom_version_list(ref::VARCHAR)) AS v);
