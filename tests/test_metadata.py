"""Tests of canonical JSON, metadata_sha, the metadata builders and version selection.

Golden vectors come from the reference (``../shared/spec/reference-format.md``): sections 1.1 (file
layouts, examples reproduced byte for byte), 2.2 (canonical JSON rules, vectors G and V1-V4) and 7.2.
"""

from __future__ import annotations

import copy
import hashlib
import math
import random
import time
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

import pytest
import yaml

from datom_engines.core import jsonfmt
from datom_engines.core.jsonfmt import canonical, format_number, parse, pretty, quote_string
from datom_engines.core.metadata import (
    DEFAULT_GITIGNORE,
    VOLATILE_FIELDS,
    add_history_entry,
    build_metadata,
    gitignore_text,
    history_entry,
    lineage_union,
    metadata_sha,
    new_manifest,
    parse_project_yaml,
    parse_ref_json,
    parse_timestamp,
    project_yaml_text,
    readme_text,
    ref_json,
    update_manifest,
    utc_timestamp,
    validate_custom,
    validate_parents,
    validate_source_lineage,
)
from datom_engines.core.versions import select_version
from datom_engines.errors import AmbiguousVersionError, InvalidArgumentError, VersionNotFoundError

# ---------------------------------------------------------------------------------------------------
# spec examples, copied verbatim (files end with one newline; pretty() adds none)

YAML_EXAMPLE = """\
project_name: STUDY_001
project_description: ''
created_at: '2026-01-15'
datom_version: 0.1.1
storage:
  data:
    type: s3
    root: acme-datom-data
    prefix: ~
    region: us-east-1
  max_file_size_gb: 1000.0
repos:
  data:
    remote_url: https://github.com/acme/study-001.git
sync:
  continue_on_error: yes
  parallel_uploads: 4
renv: no
"""

MANIFEST_EXAMPLE = """\
{
  "project_name": "STUDY_001",
  "updated_at": "2026-01-15T10:30:00Z",
  "tables": {
    "mixed": {
      "current_version": "54b29e7986735ecea0af340ed977d99b4a409e0c9db502ce6088770ca957348c",
      "current_data_sha": "47c94f30e2214c7917cfca976960a475825afd710dd12e6cb003cff82fb41db2",
      "last_updated": "2026-01-15T10:30:00Z",
      "size_bytes": 2048,
      "version_count": 1,
      "original_file_sha": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
      "original_format": "csv"
    }
  },
  "summary": {
    "total_tables": 1,
    "total_size_bytes": 2048,
    "total_versions": 1
  }
}
"""

METADATA_EXAMPLE = """\
{
  "data_sha": "47c94f30e2214c7917cfca976960a475825afd710dd12e6cb003cff82fb41db2",
  "hash_algo": "datom-cv1",
  "parquet_sha": "<sha256 of the uploaded parquet bytes>",
  "table_type": "imported",
  "nrow": 3,
  "ncol": 5,
  "colnames": ["n", "s", "f", "d", "t"],
  "column_hashes": [
    {
      "name": "n",
      "sha": "88753aa701fe19a4d7931ae0bab5fbf0982115356598338361d17d547fdd3f4e"
    },
    {
      "name": "s",
      "sha": "121c94ffc706b9572dbb21fcc5265be012f4b3a5632ebc7aac644081dfc387eb"
    },
    {
      "name": "f",
      "sha": "9cb670a54153783917805f0d9212963e66ca922a7b6674aded67d9166e343a49"
    },
    {
      "name": "d",
      "sha": "2b8c894e4846d4e323bc2f253c5c2d587b17b0c60924452a68ffe10f7188a368"
    },
    {
      "name": "t",
      "sha": "e85ad42bebc38e828d0d2e341780b3507ac49a707dfc14304c9c9190d7ae8120"
    }
  ],
  "created_at": "2026-01-15T10:30:00Z",
  "datom_version": "0.1.1",
  "original_file_sha": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  "source_lineage": [
    {
      "project": "STUDY_001",
      "table": "mixed",
      "version_sha": "47c94f30e2214c7917cfca976960a475825afd710dd12e6cb003cff82fb41db2"
    }
  ],
  "size_bytes": 2048
}
"""

HISTORY_EXAMPLE = """\
[
  {
    "version": "5d0c…(64 hex)",
    "data_sha": "47c94f30e2214c7917cfca976960a475825afd710dd12e6cb003cff82fb41db2",
    "timestamp": "2026-02-15T09:00:00Z",
    "author": {
      "name": "Jane Doe",
      "email": "jane@example.org"
    },
    "commit_message": "Sync mixed (changed)",
    "parquet_sha": "9f10…(64 hex)",
    "original_file_sha": "77aa…(64 hex)"
  },
  {
    "version": "54b29e7986735ecea0af340ed977d99b4a409e0c9db502ce6088770ca957348c",
    "data_sha": "47c94f30e2214c7917cfca976960a475825afd710dd12e6cb003cff82fb41db2",
    "timestamp": "2026-01-15T10:30:00Z",
    "author": {
      "name": "Jane Doe",
      "email": "jane@example.org"
    },
    "commit_message": "Sync mixed (new)",
    "parquet_sha": "9f10…(64 hex)",
    "original_file_sha": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
  }
]
"""

REF_EXAMPLE = """\
{
  "current": {
    "type": "s3",
    "root": "acme-datom-data-eu",
    "prefix": "study-001/",
    "region": "eu-west-1"
  },
  "previous": [
    {
      "type": "s3",
      "root": "acme-datom-data",
      "prefix": "study-001/",
      "region": "us-east-1",
      "migrated_at": "2026-08-15T10:23:00Z",
      "sunset_at": "2026-11-15T00:00:00Z"
    }
  ]
}
"""

GOLDEN_MIXED = "47c94f30e2214c7917cfca976960a475825afd710dd12e6cb003cff82fb41db2"
FILE_SHA = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
X123 = "b66673731e98e91133e026b2bfaa70d73256ab073584e3e37dd5a9910522e4aa"
AB = "fb7b624346d79541ea7aec5d5633f3fcede6496f7d3076d11f2dda17a3bbe2bd"
V1 = "54b29e7986735ecea0af340ed977d99b4a409e0c9db502ce6088770ca957348c"
V2 = "c1e560332247183f2044c1de1bb297c5eccb324ca663c0bdba76c45684963823"
V3 = "8d9d1773b1a302e0e3828145a1cad0c27a65bdd6db82dcf874e1ac0cbbe7d297"
V4 = "9541e6c91518ce985b4c753ea2221e131c51e6680d3ce6955b146386a0cdb1ac"
MIXED_COLUMN_HASHES = [
    {"name": "n", "sha": "88753aa701fe19a4d7931ae0bab5fbf0982115356598338361d17d547fdd3f4e"},
    {"name": "s", "sha": "121c94ffc706b9572dbb21fcc5265be012f4b3a5632ebc7aac644081dfc387eb"},
    {"name": "f", "sha": "9cb670a54153783917805f0d9212963e66ca922a7b6674aded67d9166e343a49"},
    {"name": "d", "sha": "2b8c894e4846d4e323bc2f253c5c2d587b17b0c60924452a68ffe10f7188a368"},
    {"name": "t", "sha": "e85ad42bebc38e828d0d2e341780b3507ac49a707dfc14304c9c9190d7ae8120"},
]
SELF_LINEAGE = [{"project": "STUDY_001", "table": "mixed", "version_sha": GOLDEN_MIXED}]
WHEN = "2026-01-15T10:30:00Z"


def sha_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def v1_metadata(**overrides):
    args = {
        "data_sha": GOLDEN_MIXED,
        "nrow": 3,
        "ncol": 5,
        "colnames": ["n", "s", "f", "d", "t"],
        "column_hashes": MIXED_COLUMN_HASHES,
        "created_at": WHEN,
        "datom_version": "0.1.1",
        "table_type": "imported",
        "original_file_sha": FILE_SHA,
        "source_lineage": SELF_LINEAGE,
        "size_bytes": 2048,
        "parquet_sha": "<sha256 of the uploaded parquet bytes>",
    }
    args.update(overrides)
    return build_metadata(**args)


def x_metadata(**overrides):
    """The one-column integer table x = 1, 2, 3 (derived)."""
    args = {
        "data_sha": X123,
        "nrow": 3,
        "ncol": 1,
        "colnames": ["x"],
        "column_hashes": [("x", "0" * 64)],
        "created_at": WHEN,
        "datom_version": "0.1.1",
    }
    args.update(overrides)
    return build_metadata(**args)


def v1_parent():
    return {
        "source": "STUDY_001",
        "table": "mixed",
        "version": V1,
        "data_sha": GOLDEN_MIXED,
        "source_lineage": SELF_LINEAGE,
    }


# ---------------------------------------------------------------------------------------------------
# numbers (2.2.3)

NUMBER_EXAMPLES = [
    # R integers
    (0, "0"),
    (5, "5"),
    (-17, "-17"),
    (2147483647, "2147483647"),
    (-2147483647, "-2147483647"),
    # doubles, fixed point with at most 4 decimals
    (1 / 3, "0.3333"),
    (math.pi, "3.1416"),
    (0.1 + 0.2, "0.3"),
    (0.00015, "0.0001"),
    (0.00025, "0.0002"),
    (123.45675, "123.4567"),
    (0.99995, "1"),
    (1234567.891, "1234567.891"),
    (1.234e-5, "0"),
    (0.123456, "0.1235"),
    (100.0, "100"),
    (-1.5, "-1.5"),
    (2.5, "2.5"),
    (-0.25, "-0.25"),
    (1.0, "1"),
    (0.05, "0.05"),
    # %g branch
    (0.0, "0"),
    (-0.0, "-0"),
    (1e-5, "1e-05"),
    (1e-7, "1e-07"),
    (-1e-7, "-1e-07"),
    (2147483647.0, "2147483647"),
    (2.5e9, "2500000000"),
    (3e9, "3000000000"),
    (1e15, "1000000000000000"),
    (2147483647.5, "2147483647.5"),
    (1e20, "1e+20"),
    # ints outside the R integer range are doubles
    (2147483648, "2147483648"),
    (-2147483648, "-2147483648"),
    (3000000000, "3000000000"),
    (10**15, "1000000000000000"),
    # non-finite
    (math.nan, '"NaN"'),
    (math.inf, '"Inf"'),
    (-math.inf, '"-Inf"'),
]


@pytest.mark.parametrize(("value", "expected"), NUMBER_EXAMPLES)
def test_format_number(value, expected):
    assert format_number(value) == expected


def test_format_number_rejects_bool_and_other_types():
    with pytest.raises(TypeError):
        format_number(True)
    with pytest.raises(TypeError):
        format_number("1")  # type: ignore[arg-type]


def test_format_number_huge_int_is_infinite_double():
    assert format_number(10**400) == '"Inf"'
    assert format_number(-(10**400)) == '"-Inf"'


def test_jsonlite_1_8_4_form_is_not_used():
    # jsonlite <= 1.8.4 capped %g precision at 15 significant digits: 1e15 -> 1e+15
    assert format_number(1e15) != "1e+15"
    assert format_number(123456789012345.67) == "123456789012345.67"


# ---------------------------------------------------------------------------------------------------
# strings (2.2.3)

STRING_EXAMPLES = [
    ("plain", '"plain"'),
    ("", '""'),
    ('say "hi"', '"say \\"hi\\""'),
    ("back\\slash", '"back\\\\slash"'),
    ("a\nb", '"a\\nb"'),
    ("a\rb", '"a\\rb"'),
    ("a\tb", '"a\\tb"'),
    ("a\bb", '"a\\bb"'),
    ("a\fb", '"a\\fb"'),
    ("\x01", '"\\u0001"'),
    ("\x00", '"\\u0000"'),
    ("\x1f", '"\\u001f"'),
    ("\x1b[0m", '"\\u001b[0m"'),
    ("a/b", '"a/b"'),
    ("</script>", '"<\\/script>"'),
    ("< /", '"< /"'),
    ("<//", '"<\\//"'),
    ("é中文", '"é中文"'),
    ("\x7f", '"\x7f"'),
    ("\u2028\u2029", '"\u2028\u2029"'),
    ("😀", '"😀"'),
]


@pytest.mark.parametrize(("value", "expected"), STRING_EXAMPLES)
def test_quote_string(value, expected):
    assert quote_string(value) == expected


def test_quote_string_is_fast_on_long_strings():
    clean = "abcdefghij" * 1_000_000
    dirty = 'ab"c\nd</e' * 1_000_000
    start = time.perf_counter()
    assert quote_string(clean) == '"' + clean + '"'
    escaped = quote_string(dirty)
    assert time.perf_counter() - start < 5.0
    assert escaped[:17] == '"ab\\"c\\nd<\\/eab\\"'
    assert len(escaped) == len(dirty) + 3 * 1_000_000 + 2


def test_quote_string_agrees_with_the_escape_table_on_random_strings():
    """The C-encoder fast path of quote_string gives the escape table's text, character for character."""
    from datom_engines.core.jsonfmt import _quote_string_re

    rng = random.Random(7)
    alphabet = [chr(c) for c in range(0x80)] + ["<", "/", "</", "é", "\u2028", "\ud7ff", "😀", "\x7f"]
    for _ in range(20_000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randrange(12)))
        assert quote_string(value) == _quote_string_re(value), repr(value)


def _random_json(rng: random.Random, depth: int = 0) -> Any:
    if depth > 4 or rng.random() < 0.4:
        return rng.choice(
            [
                "".join(rng.choice('ab"</\\\n\x01é') for _ in range(rng.randrange(6))),
                rng.randrange(-3_000_000_000, 3_000_000_000),
                rng.uniform(-1e6, 1e6) * rng.choice([1, 1e-7, 1e12]),
                rng.choice([True, False]),
                float(rng.randrange(10)),
            ]
        )
    kind = rng.randrange(3)
    if kind == 0:
        keys = [f"k{i}" + rng.choice(["", "<", "/", '"']) for i in range(rng.randrange(4))]
        return {key: _random_json(rng, depth + 1) for key in keys}
    items = [_random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    return items if kind == 1 else tuple(items)


def test_pretty_fast_path_writes_what_the_general_path_writes():
    from datom_engines.core.jsonfmt import _pretty

    rng = random.Random(11)
    for _ in range(5_000):
        value = _random_json(rng)
        assert pretty(value) == _pretty(value, 0, "$")
    # what the fast path leaves to the general one: other mappings, and the errors naming the place
    assert pretty(MappingProxyType({"a": (1, "x")})) == '{\n  "a": [1, "x"]\n}'
    with pytest.raises(ValueError, match=r"at \$\.a\[1\]"):
        pretty({"a": [1, None]})
    with pytest.raises(TypeError, match="keys must be strings"):
        pretty({"a": {1: 2}})


# ---------------------------------------------------------------------------------------------------
# canonical / pretty / parse


def test_canonical_structure():
    value = {"b": [1, 2.5, "x", True, False], "a": {"z": (), "y": {}}, "t": ("p", "q")}
    assert canonical(value) == '{"b":[1,2.5,"x",true,false],"a":{"z":[],"y":{}},"t":["p","q"]}'


def test_canonical_bool_is_not_int():
    assert canonical([True, 1, False, 0]) == "[true,1,false,0]"


def test_canonical_rejects_null_and_unknown_types():
    with pytest.raises(ValueError, match="null"):
        canonical({"a": None})
    with pytest.raises(ValueError):
        canonical([1, None])
    with pytest.raises(TypeError):
        canonical({"a": {1, 2}})
    with pytest.raises(TypeError):
        canonical({1: "a"})


def test_canonical_escapes_keys():
    assert canonical({'k"</': 1}) == '{"k\\"<\\/":1}'


def test_pretty_layout():
    value = {"a": ("x", "y"), "b": [{"n": 1}], "c": {}, "d": [], "e": "z", "f": [1, 2], "g": ()}
    assert pretty(value) == (
        "{\n"
        '  "a": ["x", "y"],\n'
        '  "b": [\n'
        "    {\n"
        '      "n": 1\n'
        "    }\n"
        "  ],\n"
        '  "c": {},\n'
        '  "d": [],\n'
        '  "e": "z",\n'
        '  "f": [\n'
        "    1,\n"
        "    2\n"
        "  ],\n"
        '  "g": []\n'
        "}"
    )


def test_pretty_scalars_and_empty_top_level():
    assert pretty({}) == "{}"
    assert pretty([]) == "[]"
    assert pretty("a/b") == '"a/b"'
    assert pretty((1, 0.5, True)) == "[1, 0.5, true]"
    with pytest.raises(ValueError):
        pretty({"a": None})


def test_pretty_tuple_of_containers_prints_like_a_list():
    assert pretty(({"a": 1},)) == '[\n  {\n    "a": 1\n  }\n]'


def test_parse_keeps_order_and_number_kinds():
    value = parse('{"z": 1, "a": [1.0, 3000000000, -0, 1e2, "s"], "m": {"y": true, "b": false}}')
    assert list(value) == ["z", "a", "m"]
    assert list(value["m"]) == ["y", "b"]
    assert value["a"] == [1.0, 3000000000, 0, 100.0, "s"]
    assert isinstance(value["a"], list)
    # re-serialised exactly as R would after its own parse
    assert canonical(value) == '{"z":1,"a":[1,3000000000,0,100,"s"],"m":{"y":true,"b":false}}'


def test_parse_bytes_bom_and_nulls():
    assert parse(b'\xef\xbb\xbf{"a": "\xc3\xa9"}') == {"a": "é"}
    assert parse('{"a": null}') == {"a": None}
    assert parse('{"a": null, "b": [null]}', null_as_empty_object=True) == {"a": {}, "b": [{}]}
    with pytest.raises(ValueError):
        parse('{"a": NaN}')


# ---------------------------------------------------------------------------------------------------
# metadata_sha vectors (2.2.5, 7.2)


def test_sha256_sanity():
    assert sha_text("abc") == FILE_SHA


def test_vector_g_package_golden():
    metadata = {
        "data_sha": "abc123",
        "name": "mytable",
        "nrow": 100,
        "ncol": 5,
        "table_type": "imported",
        "hash_algo": "datom-cv1",
    }
    text = '{"data_sha":"abc123","hash_algo":"datom-cv1","name":"mytable","ncol":5,"nrow":100,"table_type":"imported"}'
    assert sha_text(text) == "59f1f1d936c5d65472733a924493ce2362255d442ebea6d41f7c3c9e7069d326"
    assert metadata_sha(metadata) == "59f1f1d936c5d65472733a924493ce2362255d442ebea6d41f7c3c9e7069d326"
    # independent of member insertion order
    assert metadata_sha(dict(reversed(list(metadata.items())))) == metadata_sha(metadata)


V1_CANONICAL = (
    '{"colnames":["n","s","f","d","t"],"data_sha":"47c94f30e2214c7917cfca976960a475825afd710dd12e6cb003cff82fb41db2",'
    '"hash_algo":"datom-cv1","ncol":5,"nrow":3,'
    '"original_file_sha":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",'
    '"source_lineage":[{"project":"STUDY_001","table":"mixed",'
    '"version_sha":"47c94f30e2214c7917cfca976960a475825afd710dd12e6cb003cff82fb41db2"}],"table_type":"imported"}'
)


def test_vector_v1():
    metadata = v1_metadata()
    semantic = {k: metadata[k] for k in sorted(metadata) if k not in VOLATILE_FIELDS}
    assert canonical(semantic) == V1_CANONICAL
    assert sha_text(V1_CANONICAL) == V1
    assert metadata_sha(metadata) == V1


def test_vector_v2():
    custom = {"description": "Derived", "tags": ["a", "b"], "ratio": 0.123456, "flag": True, "one": "solo"}
    metadata = x_metadata(parents=[v1_parent()], custom=custom)
    text = (
        '{"colnames":"x","custom":{"description":"Derived","tags":["a","b"],"ratio":0.1235,"flag":true,'
        '"one":"solo"},"data_sha":"' + X123 + '","hash_algo":"datom-cv1","ncol":1,"nrow":3,'
        '"parents":[{"source":"STUDY_001","table":"mixed","version":"' + V1 + '","data_sha":"' + GOLDEN_MIXED + '"}],'
        '"source_lineage":[{"project":"STUDY_001","table":"mixed","version_sha":"' + GOLDEN_MIXED + '"}],'
        '"table_type":"derived"}'
    )
    assert sha_text(text) == V2
    assert metadata_sha(metadata) == V2
    assert metadata["colnames"] == "x"
    assert metadata["parents"] == [{"source": "STUDY_001", "table": "mixed", "version": V1, "data_sha": GOLDEN_MIXED}]
    assert metadata["source_lineage"] == SELF_LINEAGE


def test_vector_v3():
    metadata = x_metadata(parents=[])
    text = (
        '{"colnames":"x","data_sha":"' + X123 + '","hash_algo":"datom-cv1","ncol":1,"nrow":3,'
        '"parents":[],"source_lineage":[],"table_type":"derived"}'
    )
    assert sha_text(text) == V3
    assert metadata_sha(metadata) == V3


def test_vector_v4():
    metadata = build_metadata(
        data_sha=AB,
        nrow=1,
        ncol=2,
        colnames=["a", "b"],
        column_hashes={"a": "1" * 64, "b": "2" * 64},
        created_at=WHEN,
        datom_version="0.1.1",
        size_bytes=500,
        parquet_sha="f" * 64,
    )
    assert "parents" not in metadata and "source_lineage" not in metadata and "custom" not in metadata
    assert metadata_sha(metadata) == V4


def test_locale_fixture_sorts_by_bytes():
    metadata = {"data_sha": "abc", "Zeta": 1, "alpha": 2, "_leading": 3, "Beta": 4, "beta": 5}
    text = '{"Beta":4,"Zeta":1,"_leading":3,"alpha":2,"beta":5,"data_sha":"abc"}'
    assert sha_text(text) == "14a9706687cd1dc8bac3dc20583fdb8b553cf9bf0a0a6fb939626a4bcc201f26"
    assert metadata_sha(metadata) == "14a9706687cd1dc8bac3dc20583fdb8b553cf9bf0a0a6fb939626a4bcc201f26"


def test_top_level_sort_is_by_utf8_bytes_and_nested_order_kept():
    a = metadata_sha({"é": 1, "z": 2, "custom": {"b": 1, "a": 2}})
    assert a == sha_text('{"custom":{"b":1,"a":2},"z":2,"é":1}')
    assert a != metadata_sha({"é": 1, "z": 2, "custom": {"a": 2, "b": 1}})


VOLATILE_BASE = {
    "data_sha": "abc",
    "hash_algo": "datom-cv1",
    "table_type": "imported",
    "nrow": 3,
    "ncol": 2,
    "original_file_sha": "f00",
}
VOLATILE_BASE_SHA = "19c0c0d7641664b0161be11a24211cbe463810a1c856ca37866298786c79d3e3"


def test_volatile_set_base():
    assert metadata_sha(VOLATILE_BASE) == VOLATILE_BASE_SHA
    assert frozenset({"created_at", "datom_version", "parquet_sha", "column_hashes", "size_bytes"}) == VOLATILE_FIELDS


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("created_at", "2030-01-01T00:00:00Z"),
        ("datom_version", "9.9.9"),
        ("parquet_sha", "deadbeef"),
        ("column_hashes", [{"name": "a", "sha": "1"}]),
        ("size_bytes", 123456789),
        ("size_bytes", 0.5),
        ("created_at", None),  # not even a null volatile value is looked at
    ],
)
def test_volatile_fields_do_not_change_the_sha(field, value):
    assert metadata_sha({**VOLATILE_BASE, field: value}) == VOLATILE_BASE_SHA


@pytest.mark.parametrize(
    "change",
    [
        {"original_file_sha": "f01"},
        {"hash_algo": "datom-cv2"},
        {"nrow": 4},
        {"table_type": "derived"},
        {"parents": []},
        {"source_lineage": []},
        {"unknown_extra": "x"},
    ],
)
def test_semantic_fields_change_the_sha(change):
    assert metadata_sha({**VOLATILE_BASE, **change}) != VOLATILE_BASE_SHA


@pytest.mark.parametrize("dropped", ["original_file_sha", "hash_algo", "data_sha"])
def test_dropping_semantic_fields_changes_the_sha(dropped):
    reduced = {k: v for k, v in VOLATILE_BASE.items() if k != dropped}
    assert metadata_sha(reduced) != VOLATILE_BASE_SHA


def test_metadata_sha_rejects_non_mappings():
    with pytest.raises(InvalidArgumentError):
        metadata_sha(["a", "b"])  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError):
        metadata_sha({1: "a"})  # type: ignore[dict-item]


def test_metadata_sha_hashes_null_as_r_rereads_it():
    # R writes null only for NA in custom metadata and re-hashes a parsed null as {} (section 8 item 14)
    with_null = {"data_sha": "abc", "custom": {"x": None}}
    assert metadata_sha(with_null) == metadata_sha({"data_sha": "abc", "custom": {"x": {}}})
    assert metadata_sha(with_null) != metadata_sha({"data_sha": "abc", "custom": {"x": "NA"}})


ROUND_TRIP_SHA = "43b93952b814e7c1194216fc4ceb4f0fd3a8974c0418c1329d62efaf8e950abe"


def test_json_round_trip_fixture():
    metadata = {
        "data_sha": "abc123",
        "nrow": 10,
        "ncol": 3,
        "colnames": ("a", "b", "c"),
        "table_type": "derived",
        "parents": [{"source": "S1", "table": "dm", "version": "v1"}],
        "size_bytes": 1024,
        "created_at": WHEN,
        "datom_version": "0.1.1",
    }
    assert metadata_sha(metadata) == ROUND_TRIP_SHA
    reread = parse(pretty(metadata) + "\n")
    assert isinstance(reread["colnames"], list)
    assert metadata_sha(reread) == ROUND_TRIP_SHA
    assert metadata_sha(parse(canonical(metadata))) == ROUND_TRIP_SHA


# ---------------------------------------------------------------------------------------------------
# file layouts reproduced byte for byte (1.1.3-1.1.5)


def test_metadata_json_example_text():
    metadata = v1_metadata()
    assert list(metadata) == [
        "data_sha",
        "hash_algo",
        "parquet_sha",
        "table_type",
        "nrow",
        "ncol",
        "colnames",
        "column_hashes",
        "created_at",
        "datom_version",
        "original_file_sha",
        "source_lineage",
        "size_bytes",
    ]
    assert pretty(metadata) + "\n" == METADATA_EXAMPLE
    assert metadata_sha(parse(METADATA_EXAMPLE)) == V1


def test_single_column_colnames_is_a_bare_string_in_the_file():
    text = pretty(x_metadata())
    assert '\n  "colnames": "x",\n' in text
    assert metadata_sha(parse(text)) == metadata_sha(x_metadata())


def test_full_member_order_with_every_field():
    metadata = x_metadata(parents=[v1_parent()], size_bytes=10, custom={"k": 1}, parquet_sha="p" * 64)
    assert list(metadata) == [
        "data_sha",
        "hash_algo",
        "parquet_sha",
        "table_type",
        "nrow",
        "ncol",
        "colnames",
        "column_hashes",
        "created_at",
        "datom_version",
        "parents",
        "source_lineage",
        "size_bytes",
        "custom",
    ]
    assert None not in metadata.values()


def test_history_example_text():
    newer = history_entry(
        version="5d0c…(64 hex)",
        data_sha=GOLDEN_MIXED,
        timestamp="2026-02-15T09:00:00Z",
        author={"email": "jane@example.org", "name": "Jane Doe"},
        commit_message="Sync mixed (changed)",
        parquet_sha="9f10…(64 hex)",
        original_file_sha="77aa…(64 hex)",
    )
    older = history_entry(
        version=V1,
        data_sha=GOLDEN_MIXED,
        timestamp=datetime(2026, 1, 15, 10, 30, tzinfo=UTC),
        author={"name": "Jane Doe", "email": "jane@example.org"},
        commit_message="Sync mixed (new)",
        parquet_sha="9f10…(64 hex)",
        original_file_sha=FILE_SHA,
    )
    history, added = add_history_entry([], older)
    assert added
    history, added = add_history_entry(history, newer)
    assert added
    assert pretty(history) + "\n" == HISTORY_EXAMPLE
    assert parse(HISTORY_EXAMPLE) == history


def test_history_entry_optional_members_and_unknown_author():
    entry = history_entry(version="v", data_sha="d", timestamp=WHEN, author=None, commit_message="Update t")
    assert entry == {
        "version": "v",
        "data_sha": "d",
        "timestamp": WHEN,
        "author": "unknown",
        "commit_message": "Update t",
    }
    assert list(entry) == ["version", "data_sha", "timestamp", "author", "commit_message"]
    with pytest.raises(InvalidArgumentError):
        history_entry(version="v", data_sha="d", timestamp=WHEN, author={"name": "x"}, commit_message="m")
    with pytest.raises(InvalidArgumentError):
        history_entry(version="", data_sha="d", timestamp=WHEN, author=None, commit_message="m")


def test_history_full_dedup_a_b_a():
    def entry(version):
        return history_entry(version=version, data_sha="d" + version, timestamp=WHEN, author=None, commit_message="m")

    history: list = []
    history, added_a = add_history_entry(history, entry("A"))
    history, added_b = add_history_entry(history, entry("B"))
    before = copy.deepcopy(history)
    result, added_a2 = add_history_entry(history, entry("A"))
    assert (added_a, added_b, added_a2) == (True, True, False)
    assert [e["version"] for e in result] == ["B", "A"]
    assert len(result) == 2
    assert history == before  # input untouched
    newer, added_c = add_history_entry(result, entry("C"))
    assert added_c and [e["version"] for e in newer] == ["C", "B", "A"]
    assert [e["version"] for e in result] == ["B", "A"]


# ---------------------------------------------------------------------------------------------------
# manifest (1.1.3, 3.6)


def test_manifest_example_text():
    manifest = new_manifest("STUDY_001", "2026-01-14T08:00:00Z")
    assert manifest == {
        "project_name": "STUDY_001",
        "updated_at": "2026-01-14T08:00:00Z",
        "tables": {},
        "summary": {"total_tables": 0, "total_size_bytes": 0, "total_versions": 0},
    }
    assert pretty(manifest) == (
        '{\n  "project_name": "STUDY_001",\n  "updated_at": "2026-01-14T08:00:00Z",\n  "tables": {},\n'
        '  "summary": {\n    "total_tables": 0,\n    "total_size_bytes": 0,\n    "total_versions": 0\n  }\n}'
    )
    updated = update_manifest(
        manifest,
        project_name="STUDY_001",
        table="mixed",
        metadata=v1_metadata(),
        version_count=1,
        now=datetime(2026, 1, 15, 11, 30, tzinfo=timezone(timedelta(hours=1))),
        original_format="csv",
    )
    assert pretty(updated) + "\n" == MANIFEST_EXAMPLE
    assert manifest["tables"] == {}  # input untouched


def test_manifest_update_replaces_entry_and_recomputes_summary():
    manifest = update_manifest(
        None,
        project_name="P",
        table="a",
        metadata=v1_metadata(),
        version_count=1,
        now=WHEN,
        original_format="csv",
    )
    assert list(manifest) == ["project_name", "tables", "summary", "updated_at"]
    derived = x_metadata(size_bytes=3_000_000_000)
    manifest = update_manifest(manifest, project_name="P", table="b", metadata=derived, version_count=4, now=WHEN)
    manifest = update_manifest(
        manifest,
        project_name="P",
        table="a",
        metadata=x_metadata(),
        version_count=2,
        now="2026-01-16T00:00:00Z",
    )
    assert list(manifest["tables"]) == ["a", "b"]
    entry_a = manifest["tables"]["a"]
    assert entry_a == {
        "current_version": metadata_sha(x_metadata()),
        "current_data_sha": X123,
        "last_updated": "2026-01-16T00:00:00Z",
        "size_bytes": 0,
        "version_count": 2,
    }  # the imported-only members are gone
    assert manifest["summary"] == {"total_tables": 2, "total_size_bytes": 3_000_000_000, "total_versions": 6}
    assert manifest["updated_at"] == "2026-01-16T00:00:00Z"
    assert '"total_size_bytes": 3000000000' in pretty(manifest)


def test_manifest_keeps_existing_project_name():
    manifest = new_manifest("REAL", WHEN)
    updated = update_manifest(
        manifest, project_name="OTHER", table="t", metadata=x_metadata(), version_count=1, now=WHEN
    )
    assert updated["project_name"] == "REAL"


# ---------------------------------------------------------------------------------------------------
# custom metadata (bugs 14, 15)


def test_validate_custom_rounds_doubles_like_the_file():
    custom = validate_custom({"ratio": 0.123456, "three": 3.0, "tiny": -0.00004, "big": 1e15, "tags": ["a", "b"]})
    assert custom == {"ratio": 0.1235, "three": 3, "tiny": 0, "big": 1000000000000000, "tags": ("a", "b")}
    assert isinstance(custom["three"], int)


@pytest.mark.parametrize(
    ("custom", "path"),
    [
        ({"a": None}, 'custom["a"]'),
        ({"a": {"b": [1, None]}}, 'custom["a"]["b"][1]'),
        ({"a": math.nan}, 'custom["a"]'),
        ({"a": math.inf}, 'custom["a"]'),
        ({"a": {1, 2}}, 'custom["a"]'),
        ({"a": datetime(2026, 1, 1)}, 'custom["a"]'),
        ({"a": b"x"}, 'custom["a"]'),
        ({"a": 2**60}, 'custom["a"]'),
        ({"a": "nul\x00"}, 'custom["a"]'),
        ({"a": {3: "x"}}, 'custom["a"]'),
        ({"": 1}, "custom"),
    ],
)
def test_validate_custom_rejects(custom, path):
    with pytest.raises(InvalidArgumentError) as info:
        validate_custom(custom)
    assert path in info.value.message
    assert info.value.hint


def test_validate_custom_requires_a_dict():
    for bad in (["a"], "a", None, 1):
        with pytest.raises(InvalidArgumentError):
            validate_custom(bad)


def test_unvalidated_doubles_would_not_survive_a_round_trip():
    # why validate_custom normalises: R reads "-0" back as integer 0, re-hashed as "0"
    raw = {"data_sha": "abc", "custom": {"tiny": -0.00004}}
    assert canonical(raw) == '{"data_sha":"abc","custom":{"tiny":-0}}'
    assert metadata_sha(parse(pretty(raw))) != metadata_sha(raw)
    fixed = {"data_sha": "abc", "custom": validate_custom(raw["custom"])}
    assert metadata_sha(parse(pretty(fixed))) == metadata_sha(fixed)


def test_custom_round_trip_property_random_floats():
    rng = random.Random(20260115)
    for _ in range(300):
        magnitude = 10 ** rng.uniform(-8, 14)
        values = [rng.choice([-1, 1]) * magnitude * rng.random() for _ in range(5)]
        custom = validate_custom({"v": values, "nested": {"x": values[0], "l": [{"y": values[1]}]}})
        metadata = x_metadata(custom=custom)
        assert metadata_sha(parse(pretty(metadata))) == metadata_sha(metadata), values
        assert metadata_sha(parse(canonical(metadata))) == metadata_sha(metadata), values


def test_round_trip_property_all_builders():
    objects = [
        v1_metadata(),
        x_metadata(parents=[v1_parent()], custom={"d": {"e": [1, "a", True]}, "f": 2.75, "u": "é</"}),
        x_metadata(parents=[]),
        x_metadata(nrow=3_000_000_000),
    ]
    for obj in objects:
        assert metadata_sha(parse(pretty(obj))) == metadata_sha(obj)


# ---------------------------------------------------------------------------------------------------
# parents and lineage (3.2, 4.12)


def test_validate_parents_lean_and_union():
    other = [
        {"project": "B", "table": "ae", "version_sha": "2" * 64, "note": "extra passes"},
        SELF_LINEAGE[0],
    ]
    parents = [
        {**v1_parent(), "extra": "dropped"},
        {"source": "B", "table": "ae", "version": "9" * 64, "data_sha": "8" * 64, "source_lineage": other},
        {"source": "C", "table": "lb", "version": "7" * 64, "data_sha": "6" * 64, "source_lineage": None},
    ]
    lean, lineage = validate_parents(parents)
    assert lean[0] == {"source": "STUDY_001", "table": "mixed", "version": V1, "data_sha": GOLDEN_MIXED}
    assert [list(p) for p in lean] == [["source", "table", "version", "data_sha"]] * 3
    assert lineage == [SELF_LINEAGE[0], other[0]]
    assert lineage[1]["note"] == "extra passes"


@pytest.mark.parametrize(
    ("parents", "message"),
    [
        ([v1_parent(), {"source": "S", "table": "t", "data_sha": "d"}], "parents entry 2: missing 'version'"),
        ([{**v1_parent(), "source": ""}], "parents entry 1: 'source' must be a non-empty string"),
        ([{**v1_parent(), "table": 3}], "parents entry 1: 'table' must be a non-empty string"),
        (["x"], "parents entry 1: must be a dict"),
        ([{**v1_parent(), "source_lineage": [{"project": "P", "table": "t"}]}], "missing 'version_sha'"),
        (v1_parent(), "single dict"),
        ([{**v1_parent(), "source_lineage": 5}], "parents entry 1: source_lineage must be a list"),
        ("abc", "must be a list"),
    ],
)
def test_validate_parents_errors(parents, message):
    with pytest.raises(InvalidArgumentError) as info:
        validate_parents(parents)
    assert message in info.value.message
    assert info.value.hint


def test_lineage_union():
    a = {"project": "P", "table": "t", "version_sha": "1", "x": 1}
    a_again = {"project": "P", "table": "t", "version_sha": "1", "x": 2}
    b = {"project": "P", "table": "u", "version_sha": "1"}
    partial = {"project": "P"}
    partial_again = {"project": "P", "table": ""}
    assert lineage_union([None, [a, b], [a_again, partial], None, [partial_again]]) == [a, b, partial]
    assert lineage_union([]) == []
    assert lineage_union([None]) == []


def test_source_lineage_validation():
    assert validate_source_lineage(SELF_LINEAGE) == SELF_LINEAGE
    with pytest.raises(InvalidArgumentError, match="source_lineage entry 1: missing 'project'"):
        validate_source_lineage([{"table": "t", "version_sha": "v"}])
    with pytest.raises(InvalidArgumentError):
        validate_source_lineage([{**SELF_LINEAGE[0], "extra": None}])


def test_build_metadata_argument_errors():
    with pytest.raises(InvalidArgumentError):
        x_metadata(table_type="raw")
    with pytest.raises(InvalidArgumentError):
        x_metadata(colnames="x")
    with pytest.raises(InvalidArgumentError):
        x_metadata(colnames=["x", "y"])  # ncol is 1
    with pytest.raises(InvalidArgumentError):
        x_metadata(nrow=True)
    with pytest.raises(InvalidArgumentError):
        x_metadata(custom={"a": None})
    with pytest.raises(InvalidArgumentError):
        x_metadata(column_hashes=[{"name": "x"}])


def test_build_metadata_with_precomputed_lean_parents_and_lineage():
    # a caller that validated the parents itself passes the lean parents and the union separately
    lean, lineage = validate_parents([v1_parent()])
    direct = x_metadata(parents=[v1_parent()])
    assert x_metadata(parents=lean)["source_lineage"] == []
    assert x_metadata(parents=lean, source_lineage=lineage) == direct
    assert metadata_sha(direct) == metadata_sha(x_metadata(parents=lean, source_lineage=lineage))


def test_build_metadata_column_hash_forms_agree():
    forms = [[{"name": "x", "sha": "a" * 64}], [("x", "a" * 64)], {"x": "a" * 64}]
    built = [x_metadata(column_hashes=form)["column_hashes"] for form in forms]
    assert built[0] == built[1] == built[2] == [{"name": "x", "sha": "a" * 64}]


def test_build_metadata_created_at_is_utc():
    local = datetime(2026, 1, 15, 12, 30, 59, 999999, tzinfo=timezone(timedelta(hours=2)))
    assert x_metadata(created_at=local)["created_at"] == "2026-01-15T10:30:59Z"


# ---------------------------------------------------------------------------------------------------
# timestamps (bug 11)


def test_utc_timestamp():
    assert utc_timestamp(datetime(2026, 1, 15, 23, 30, tzinfo=timezone(timedelta(hours=-5)))) == "2026-01-16T04:30:00Z"
    assert utc_timestamp(datetime(2026, 1, 15, 10, 30)) == WHEN  # naive means UTC
    assert utc_timestamp("2026-01-15T11:30:00+01:00") == WHEN
    now = utc_timestamp()
    parsed = parse_timestamp(now)
    assert abs((datetime.now(UTC) - parsed).total_seconds()) < 5
    assert now.endswith("Z") and len(now) == 20


def test_parse_timestamp_forms():
    expected = datetime(2026, 1, 15, 10, 30, tzinfo=UTC)
    for text in (
        WHEN,
        "2026-01-15T10:30:00",
        "2026-01-15 10:30:00Z",
        "2026-01-15T12:30:00+02:00",
        "2026-01-15T10:30:00.000Z",
    ):
        parsed = parse_timestamp(text)
        assert parsed == expected and parsed.tzinfo is not None
        assert parsed.utcoffset() == timedelta(0)
    assert parse_timestamp("2026-01-15") == datetime(2026, 1, 15, tzinfo=UTC)
    with pytest.raises(InvalidArgumentError):
        parse_timestamp("yesterday")


# ---------------------------------------------------------------------------------------------------
# project.yaml, .gitignore, README (1.1.2, 1.1.6, 1.1.7)

S3_STORAGE = {"type": "s3", "root": "acme-datom-data", "prefix": None, "region": "us-east-1"}


def test_project_yaml_matches_r_layout():
    text = project_yaml_text(
        project_name="STUDY_001",
        created_date="2026-01-15",
        datom_version="0.1.1",
        storage=S3_STORAGE,
        remote_url="https://github.com/acme/study-001.git",
    )
    r_text = YAML_EXAMPLE.replace("continue_on_error: yes", "continue_on_error: true").replace(
        "renv: no", "renv: false"
    )
    assert text == r_text
    assert parse_project_yaml(text) == parse_project_yaml(YAML_EXAMPLE)


def test_parse_project_yaml_r_example():
    cfg = parse_project_yaml(YAML_EXAMPLE)
    assert cfg["sync"]["continue_on_error"] is True
    assert cfg["renv"] is False
    assert cfg["storage"]["data"]["prefix"] is None
    assert cfg["created_at"] == "2026-01-15"
    assert cfg["storage"]["max_file_size_gb"] == 1000.0
    assert cfg["sync"]["parallel_uploads"] == 4
    assert cfg["datom_version"] == "0.1.1"
    assert cfg["project_description"] == ""
    assert parse_project_yaml(YAML_EXAMPLE.replace("'2026-01-15'", "2026-01-15"))["created_at"] == "2026-01-15"
    with pytest.raises(InvalidArgumentError):
        parse_project_yaml("- a\n- b\n")
    with pytest.raises(InvalidArgumentError):
        parse_project_yaml("a: [\n")


def test_project_yaml_local_store_and_tricky_values():
    storage = {"type": "local", "root": "/abs/path/to/store", "prefix": "proj/", "region": "ignored"}
    text = project_yaml_text(
        project_name="yes",
        created_date=datetime(2026, 1, 15).date(),
        datom_version="1.0",
        storage=storage,
        remote_url="git@host:org/repo.git",
        max_file_size_gb=2.5,
    )
    assert "    type: local\n    root: /abs/path/to/store\n    prefix: proj/\n  max_file_size_gb: 2.5\n" in text
    assert "region" not in text
    cfg = parse_project_yaml(text)
    assert cfg["project_name"] == "yes"  # quoted, not a boolean
    assert cfg["datom_version"] == "1.0"  # quoted, not a float
    assert cfg["repos"]["data"]["remote_url"] == "git@host:org/repo.git"
    assert cfg["storage"]["data"] == {"type": "local", "root": "/abs/path/to/store", "prefix": "proj/"}
    # an empty prefix is written as null
    empty = project_yaml_text(
        project_name="P",
        created_date="2026-01-15",
        datom_version="0.1.0",
        storage={**S3_STORAGE, "prefix": ""},
        remote_url=None,
    )
    assert "    prefix: ~\n" in empty and "    remote_url: ~\n" in empty
    # other fsspec protocols are Python-only stores: recorded as given
    gcs = project_yaml_text(
        project_name="P",
        created_date="2026-01-15",
        datom_version="0",
        storage={"type": "gcs", "root": "x"},
        remote_url=None,
    )
    assert "    type: gcs\n    root: x\n" in gcs
    with pytest.raises(InvalidArgumentError):
        project_yaml_text(
            project_name="P",
            created_date="2026-01-15",
            datom_version="0",
            storage={"type": "", "root": "x"},
            remote_url=None,
        )


def test_project_yaml_is_read_by_a_yaml_1_1_parser_as_written():
    text = project_yaml_text(
        project_name="STUDY 001 (pilot)",
        created_date="2026-01-15",
        datom_version="0.1.0",
        storage={"type": "s3", "root": "b", "prefix": "a: b #c"},
        remote_url="https://x/y.git",
    )
    cfg = yaml.safe_load(text)
    assert cfg["project_name"] == "STUDY 001 (pilot)"
    assert cfg["storage"]["data"] == {"type": "s3", "root": "b", "prefix": "a: b #c", "region": "us-east-1"}


def test_gitignore_text():
    text = gitignore_text()
    assert text.endswith("input_files/\n")
    assert text.splitlines() == list(DEFAULT_GITIGNORE)
    assert len(DEFAULT_GITIGNORE) == 20
    extra = gitignore_text(["*.csv", ".venv/", "input_files/", ".venv/"])
    lines = extra.splitlines()
    assert lines.count("*.csv") == 1 and lines.count(".venv/") == 1 and lines.count("input_files/") == 1
    assert lines[-1] == ".venv/"
    with pytest.raises(InvalidArgumentError):
        gitignore_text(["a\nb"])


def test_readme_text():
    text = readme_text("STUDY_001", S3_STORAGE, "https://github.com/acme/study-001.git", "2026-01-15", "0.1.0")
    assert text.startswith("# STUDY_001\n")
    assert "git clone https://github.com/acme/study-001.git" in text
    assert 'pl.scan_datom("STUDY_001.<table>")' in text
    assert "*(none)*" in text and "`us-east-1`" in text and "2026-01-15" in text
    local = readme_text("P", {"type": "local", "root": "/data", "prefix": "p/"}, None, "2026-01-15", "0.1.0")
    assert "`p/`" in local and "*(n/a)*" in local


# ---------------------------------------------------------------------------------------------------
# ref.json (1.3)


def test_ref_json_builder_and_example():
    built = ref_json(
        {"type": "s3", "root": "acme-datom-data-eu", "prefix": "study-001/", "region": "eu-west-1"},
        [
            {
                "type": "s3",
                "root": "acme-datom-data",
                "prefix": "study-001/",
                "region": "us-east-1",
                "migrated_at": "2026-08-15T10:23:00Z",
                "sunset_at": "2026-11-15T00:00:00Z",
            }
        ],
    )
    assert pretty(built) + "\n" == REF_EXAMPLE
    initial = ref_json({"type": "s3", "root": "r", "prefix": None, "region": None})
    assert initial == {"current": {"type": "s3", "root": "r"}, "previous": []}
    assert ref_json({"root": "r", "prefix": ""}) == {"current": {"root": "r"}, "previous": []}
    with pytest.raises(InvalidArgumentError):
        ref_json({"type": "s3"})


def test_parse_ref_json_example():
    location, previous = parse_ref_json(REF_EXAMPLE)
    assert location == {
        "type": "s3",
        "root": "acme-datom-data-eu",
        "prefix": "study-001/",
        "region": "eu-west-1",
    }
    assert previous[0]["sunset_at"] == "2026-11-15T00:00:00Z"
    assert previous[0]["root"] == "acme-datom-data"


@pytest.mark.parametrize("prefix", [None, {}, [], "", [""]])
def test_parse_ref_json_empty_prefixes(prefix):
    location, previous = parse_ref_json({"current": {"root": "r", "prefix": prefix}})
    assert location == {"root": "r", "prefix": None, "region": "us-east-1"}
    assert previous == []


def test_parse_ref_json_tolerance_and_errors():
    location, previous = parse_ref_json(
        {
            "schema_version": 1,
            "current": {"root": ["r"], "prefix": ["p/"], "extra": 1},
            "previous": [{"until": "x"}],
        }
    )
    assert location == {"root": "r", "prefix": "p/", "region": "us-east-1"}
    assert previous == [{"until": "x"}]
    for bad in (
        {},
        {"current": {}},
        {"current": {"root": ""}},
        "not json",
        {"current": {"root": "r", "prefix": 3}},
    ):
        with pytest.raises(InvalidArgumentError):
            parse_ref_json(bad)


# ---------------------------------------------------------------------------------------------------
# version selection (2.5, 4.1)

HISTORY = [
    {"version": "abcd" + "1" * 60, "data_sha": "d3", "timestamp": "2026-03-01T12:00:00Z"},
    {"version": "abce" + "2" * 60, "data_sha": "d2", "timestamp": "2026-03-01T12:00:00Z"},
    {"version": "9f00" + "3" * 60, "data_sha": "abcd", "timestamp": "2026-02-01T00:00:00Z"},
    {"version": "1234" + "4" * 60, "data_sha": "d0", "timestamp": "2026-01-15T10:30:00Z"},
]


def test_select_by_full_id_and_prefix():
    assert select_version(HISTORY, version=HISTORY[2]["version"])["data_sha"] == "abcd"
    assert select_version(HISTORY, version="9")["data_sha"] == "abcd"
    assert select_version(HISTORY, version="abcd")["data_sha"] == "d3"
    assert select_version(HISTORY, version="1234" + "4" * 4)["data_sha"] == "d0"


def test_select_default_is_newest():
    assert select_version(HISTORY) == HISTORY[0]
    assert select_version(HISTORY) is not HISTORY[0]


def test_select_ambiguous_prefix():
    with pytest.raises(AmbiguousVersionError) as info:
        select_version(HISTORY, version="abc", table="dm")
    message = info.value.message
    assert "abcd1111" in message and "abce2222" in message and '"dm"' in message and "2 versions" in message


def test_select_not_found_lists_newest_versions():
    with pytest.raises(VersionNotFoundError) as info:
        select_version(HISTORY, version="ABCD", table="dm")  # case-sensitive
    assert '"ABCD"' in info.value.message and '"dm"' in info.value.message
    assert "abcd1111 (2026-03-01T12:00:00Z)" in info.value.hint
    assert "12344444 (2026-01-15T10:30:00Z)" in info.value.hint


def test_select_never_searches_data_sha():
    with pytest.raises(VersionNotFoundError):
        select_version(HISTORY, version="d0")


def test_select_as_of():
    assert select_version(HISTORY, as_of="2026-02-15T00:00:00Z")["data_sha"] == "abcd"
    assert select_version(HISTORY, as_of="2026-02-01T00:00:00Z")["data_sha"] == "abcd"  # inclusive
    assert select_version(HISTORY, as_of="2026-01-31T23:59:59Z")["data_sha"] == "d0"
    assert select_version(HISTORY, as_of=datetime(2026, 1, 15, 10, 30))["data_sha"] == "d0"  # naive = UTC
    assert (
        select_version(HISTORY, as_of=datetime(2026, 1, 15, 11, 30, tzinfo=timezone(timedelta(hours=1))))["data_sha"]
        == "d0"
    )
    assert select_version(HISTORY, as_of="2027-01-01T00:00:00+05:00")["data_sha"] == "d3"


def test_select_as_of_same_second_tie_picks_newest():
    assert select_version(HISTORY, as_of="2026-03-01T12:00:00Z")["data_sha"] == "d3"


def test_select_as_of_date_only_is_end_of_day():
    assert select_version(HISTORY, as_of="2026-03-01")["data_sha"] == "d3"
    assert select_version(HISTORY, as_of="2026-02-28")["data_sha"] == "abcd"
    assert select_version(HISTORY, as_of="2026-01-15")["data_sha"] == "d0"


def test_select_as_of_before_first_version():
    with pytest.raises(VersionNotFoundError) as info:
        select_version(HISTORY, as_of="2026-01-15T10:29:59Z", table="dm")
    assert "2026-01-15T10:30:00Z" in info.value.message
    with pytest.raises(VersionNotFoundError) as info:
        select_version(HISTORY, as_of=datetime(2026, 1, 15, 11, 29, tzinfo=timezone(timedelta(hours=1))))
    assert "existed at 2026-01-15T10:29:00Z" in info.value.message
    with pytest.raises(VersionNotFoundError):
        select_version(HISTORY, as_of="2026-01-14")


def test_select_argument_errors():
    with pytest.raises(InvalidArgumentError):
        select_version(HISTORY, version="a", as_of="2026-01-01")
    with pytest.raises(InvalidArgumentError):
        select_version(HISTORY, version="")
    with pytest.raises(InvalidArgumentError):
        select_version(HISTORY, as_of=20260101)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError):
        select_version(HISTORY, as_of="not a date")
    with pytest.raises(InvalidArgumentError):
        select_version({"version": "a"})  # type: ignore[arg-type]
    with pytest.raises(VersionNotFoundError, match="no version history"):
        select_version([], version="a")
    with pytest.raises(VersionNotFoundError, match="no version history"):
        select_version([])


def test_select_on_parsed_history_file():
    history = parse(HISTORY_EXAMPLE)
    assert select_version(history, version="54b29e79")["timestamp"] == WHEN
    assert select_version(history, as_of="2026-02-01")["version"] == V1
    assert select_version(history, as_of="2026-02-15T09:00:00Z")["commit_message"] == "Sync mixed (changed)"


def test_jsonfmt_module_exports():
    assert set(jsonfmt.__all__) >= {"canonical", "format_number", "parse", "pretty", "quote_string"}
