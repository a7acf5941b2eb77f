"""The exceptions datom_engines raises.

Every error is a :class:`DatomError`. Each carries a ``hint``: one sentence telling the user what to
do next. ``str(error)`` shows the message followed by the hint, so a traceback is self-explaining.
"""

from __future__ import annotations


class DatomError(Exception):
    """Base class of every error raised by datom_engines."""

    default_hint = ""

    def __init__(self, message: str, hint: str | None = None) -> None:
        self.message = message
        self.hint = self.default_hint if hint is None else hint
        super().__init__(message)

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class InvalidNameError(DatomError, ValueError):
    """A project or table name (or a ``"project.table"`` reference) breaks the naming rules."""

    default_hint = (
        "names start with an ASCII letter and contain only letters, digits, '_', '-', ' ', '(' and ')' "
        '(at most 128 characters); refer to a table as "project.table"'
    )


class InvalidArgumentError(DatomError, ValueError):
    """An argument has the wrong type or value (bad version string, malformed parents, bad custom...)."""


class NotFoundError(DatomError, LookupError):
    """A project, table, version or stored object does not exist."""


class VersionNotFoundError(NotFoundError):
    """No version of the table matches the requested id, prefix or time."""

    default_hint = "list the versions with history() (or `datom history`) and pass one of them"


class AmbiguousVersionError(NotFoundError):
    """A version prefix matches more than one version."""

    default_hint = "use a longer prefix (the full 64-character version id is always unique)"


class TagNotFoundError(NotFoundError):
    """No tag (named snapshot) of that name exists in the project."""

    default_hint = "list the tags with tags() (or `datom tags`)"


class IntegrityError(DatomError):
    """Stored bytes do not match the hash recorded for them; no data is returned."""

    default_hint = (
        "restore the object from a verified copy with validate(deep=True, repair=True) "
        "(or `datom validate --deep --fix`) in a clone, with a backup store as a source if there is one, "
        "or write the same data again from a clone (that re-uploads the object); then read again"
    )


class ConflictError(DatomError):
    """The git remote moved in a way the write could not reconcile, or the local clone diverged."""

    default_hint = "run pull() (or `datom pull`) and retry; if the clone has local edits, commit or discard them"


class TagExistsError(ConflictError):
    """A tag of that name already exists (tags are immutable: a name is never re-used)."""

    default_hint = "tags are immutable: pick another name; list the existing ones with tags() (or `datom tags`)"


class UnsupportedDataError(DatomError, TypeError):
    """The data cannot be hashed or written (unsupported column types, zero rows or columns...)."""


class StoreError(DatomError, OSError):
    """The object store could not be reached, read or written."""

    default_hint = "check the store URL, that it exists, and the credentials in storage_options"


class StoreUnreachableError(StoreError):
    """The object store is missing, offline or refuses the credentials."""


class StoreAccessDeniedError(StoreUnreachableError):
    """The object store answered 403: wrong credentials, missing permission, or (S3 without
    ``s3:ListBucket``) an object that does not exist."""

    default_hint = (
        "check aws_access_key_id / aws_secret_access_key in storage_options and that they grant "
        "s3:GetObject (readers) and s3:PutObject (writers) on the bucket"
    )


class GitError(DatomError):
    """A git operation (clone, fetch, push) failed."""

    default_hint = "check the remote URL, your network and git credentials, then retry"


class ReadOnlyError(DatomError, PermissionError):
    """A write was attempted through a reader (a project opened from its store, without a git clone)."""

    default_hint = "writes need a git clone: use datom_engines.clone(remote_url, path) and write through it"


class EngineUnavailableError(DatomError):
    """An engine an adapter needs cannot run here: Spark without Java, a missing optional package..."""

    default_hint = "install what the message names (pip install 'datom_engines[spark]' or '[dask]'), then retry"


class ProjectMovedWarning(UserWarning):
    """A project's data was migrated: ``ref.json`` lists a previous location that will be retired."""


class SiteUpdateWarning(UserWarning):
    """A write succeeded but the project's static site could not be updated after it (run ``datom site``)."""


__all__ = [
    "AmbiguousVersionError",
    "ConflictError",
    "DatomError",
    "EngineUnavailableError",
    "GitError",
    "IntegrityError",
    "InvalidArgumentError",
    "InvalidNameError",
    "NotFoundError",
    "ProjectMovedWarning",
    "ReadOnlyError",
    "SiteUpdateWarning",
    "StoreAccessDeniedError",
    "StoreError",
    "StoreUnreachableError",
    "TagExistsError",
    "TagNotFoundError",
    "UnsupportedDataError",
    "VersionNotFoundError",
]
