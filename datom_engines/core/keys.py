"""Storage keys of the data store (reference section 1.2) and file paths of the data repo (section 1.1).

A *key* is relative to the namespace root ``{prefix}/datom/``. Pure string functions, no I/O.
"""

from __future__ import annotations

from .names import check_hex_sha

NAMESPACE_DIR = "datom"
MANIFEST_KEY = ".metadata/manifest.json"
GOVERNANCE_KEY = ".metadata/governance.json"
# keys of this implementation that the reference does not define (project snapshots, section 1.2 untouched)
COMMIT_LOG_KEY = ".metadata/commits.json"
COMMIT_LOG_SEGMENTS = ".metadata/commits/"
TAGS_PREFIX = ".metadata/tags/"
# not in the reference format (R ignores it): left in a store a project was migrated away from
MOVED_KEY = ".metadata/datom_engines_moved.json"
# the static catalog (datom_engines.site): HTML pages and their build state, never read by datom itself
SITE_PREFIX = ".site/"

# files in the data repo (git working tree)
PROJECT_YAML_PATH = ".datom/project.yaml"
MANIFEST_PATH = ".datom/manifest.json"
GOVERNANCE_PATH = ".datom/governance.json"
INPUT_DIR = "input_files"
# top-level directories that are never tables (section 1.1, table discovery)
NON_TABLE_DIRS = frozenset({"input_files", "renv", "man", "R", "tests", "vignettes", "src"})


def join_key(*parts: str | None) -> str:
    """Join key segments with ``/``, stripping leading/trailing slashes and dropping empty segments."""
    out: list[str] = []
    for part in parts:
        if part is None:
            continue
        out.extend(seg for seg in part.strip("/").split("/") if seg)
    return "/".join(out)


def normalize_prefix(prefix: str | None) -> str | None:
    """A store prefix without leading/trailing or doubled slashes; ``None`` when empty."""
    if prefix is None:
        return None
    joined = join_key(prefix)
    return joined or None


def namespace_root(prefix: str | None) -> str:
    """The namespace root ``{prefix}/datom`` (just ``datom`` without a prefix)."""
    return join_key(prefix, NAMESPACE_DIR)


def full_key(prefix: str | None, key: str) -> str:
    """The full key ``{prefix}/datom/{key}`` of a relative key."""
    return join_key(prefix, NAMESPACE_DIR, key)


def parquet_key(table: str, data_sha: str) -> str:
    """Key of the parquet object holding the content ``data_sha`` of ``table``."""
    check_hex_sha(data_sha, "data_sha")
    return f"{table}/{data_sha}.parquet"


def metadata_key(table: str) -> str:
    """Key of the store mirror of a table's current ``metadata.json``."""
    return f"{table}/.metadata/metadata.json"


def history_key(table: str) -> str:
    """Key of the store mirror of a table's ``version_history.json``."""
    return f"{table}/.metadata/version_history.json"


def snapshot_key(table: str, version: str) -> str:
    """Key of the immutable metadata snapshot of one version."""
    check_hex_sha(version, "version")
    return f"{table}/.metadata/{version}.json"


def log_segment_key(commit: str) -> str:
    """Key of an immutable older part of the commit log, named after the newest commit it holds."""
    check_hex_sha(commit, "commit")
    return f"{COMMIT_LOG_SEGMENTS}{commit}.json"


def object_record_key(table: str, parquet_sha: str) -> str:
    """Key of the record of a stored object's second hash (a datom_engines file; see storage/fastcheck.py)."""
    check_hex_sha(parquet_sha, "parquet_sha")
    return f"{table}/.metadata/objects/{parquet_sha}.json"


def tag_key(name: str) -> str:
    """Key of the store record of a tag (``name`` must already be a valid tag name)."""
    return f"{TAGS_PREFIX}{name}.json"


def table_metadata_path(table: str) -> str:
    """Path of a table's ``metadata.json`` in the data repo."""
    return f"{table}/metadata.json"


def table_history_path(table: str) -> str:
    """Path of a table's ``version_history.json`` in the data repo."""
    return f"{table}/version_history.json"
