"""Project and table names, ``"project.table"`` references and hash-string checks (reference section 5.1).

Pure functions, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import InvalidArgumentError, InvalidNameError

MAX_NAME_LENGTH = 128
RESERVED_NAMES = frozenset({".metadata", ".datom", "input_files", "datom", ".git", ".gitignore", "renv"})

_NAME_CHARS = re.compile(r"[A-Za-z0-9_ ()\-]*")
_HEX_SHA = re.compile(r"[0-9a-f]{6,64}")


def validate_name(name: object, what: str = "table name") -> str:
    """Return ``name`` unchanged if it is a valid datom name, else raise :class:`InvalidNameError`.

    A valid name is a non-empty string of at most 128 characters that starts with an ASCII letter,
    contains only ASCII letters, digits, ``_``, space, ``(``, ``)`` and ``-``, and is not reserved.
    """
    if not isinstance(name, str):
        raise InvalidNameError(f"{what} must be a string, got {type(name).__name__}")
    if name == "":
        raise InvalidNameError(f"{what} is empty")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidNameError(f"{what} {name[:20]!r}... is {len(name)} characters long; the limit is 128")
    if not ("A" <= name[0] <= "Z" or "a" <= name[0] <= "z"):
        raise InvalidNameError(f"{what} {name!r} must start with an ASCII letter")
    if not _NAME_CHARS.fullmatch(name):
        bad = sorted({c for c in name if not _NAME_CHARS.fullmatch(c)})
        shown = ", ".join(repr(c) for c in bad)
        raise InvalidNameError(f"{what} {name!r} contains characters that are not allowed: {shown}")
    if name.lower() in RESERVED_NAMES:
        raise InvalidNameError(
            f"{what} {name!r} is a reserved name",
            hint=f"pick another name; reserved: {sorted(RESERVED_NAMES)}",
        )
    return name


@dataclass(frozen=True, slots=True)
class TableRef:
    """A table in a project, written ``"project.table"``."""

    project: str
    table: str

    def __str__(self) -> str:
        return f"{self.project}.{self.table}"

    @classmethod
    def parse(cls, ref: str | TableRef) -> TableRef:
        """Split ``"project.table"`` at its dot; both parts must be valid names."""
        if isinstance(ref, TableRef):
            return ref
        if not isinstance(ref, str):
            raise InvalidNameError(f"a table reference must be a string like 'proj.table', got {type(ref).__name__}")
        if "." not in ref:
            raise InvalidNameError(
                f"table reference {ref!r} has no project part",
                hint=f'write it as "<project>.{ref}" (names cannot contain dots, so the dot separates them)',
            )
        project, table = ref.split(".", 1)
        validate_name(project, "project name")
        validate_name(table, "table name")
        return cls(project, table)


def is_hex_sha(value: object) -> bool:
    """True for 6 to 64 lowercase hex characters (the guard for hashes spliced into storage keys)."""
    return isinstance(value, str) and _HEX_SHA.fullmatch(value) is not None


def check_hex_sha(value: object, what: str = "hash") -> str:
    """Return ``value`` if :func:`is_hex_sha`, else raise :class:`InvalidArgumentError`."""
    if not is_hex_sha(value):
        raise InvalidArgumentError(
            f"{what} {value!r} must be 6-64 lowercase hex characters",
            hint="copy the id from history(); ids are lowercase hexadecimal",
        )
    return value  # type: ignore[return-value]


def short_sha(value: str, length: int = 8) -> str:
    """The display abbreviation of a hash (first 8 characters by default)."""
    return value[:length]
