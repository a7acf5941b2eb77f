"""Git configuration lookups: identities and the default branch."""

from __future__ import annotations

import os
from typing import Any

from dulwich.config import StackedConfig

from .values import DEFAULT_BRANCH, DEFAULT_IDENTITY_EMAIL, DEFAULT_IDENTITY_NAME, GitIdentity


def config_get(config: Any, section: bytes | tuple[bytes, ...], name: bytes) -> str | None:
    """A config value as text (None when unset)."""
    try:
        value = config.get(section, name)
    except KeyError:
        return None
    if value is None:
        return None
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def global_config() -> StackedConfig:
    """The user's and the system's git configuration (no repository)."""
    return StackedConfig(StackedConfig.default_backends())


def config_identity(config: Any) -> GitIdentity | None:
    """``user.name`` / ``user.email`` of a config (stack), or None when neither is set."""
    name = config_get(config, (b"user",), b"name")
    email = config_get(config, (b"user",), b"email")
    if not name and not email:
        return None
    return GitIdentity(name or DEFAULT_IDENTITY_NAME, email or DEFAULT_IDENTITY_EMAIL)


def identity_for(config: Any, role: str) -> GitIdentity | None:
    """The ``author`` or ``committer`` identity of a commit, found as git finds it.

    Name: ``GIT_<ROLE>_NAME``, else ``<role>.name``, else ``user.name``. Email: ``GIT_<ROLE>_EMAIL``, else
    ``<role>.email``, else ``user.email``, else ``EMAIL``. None when neither a name nor an email is found.
    """
    section = (role.encode(),)
    name = (
        os.environ.get(f"GIT_{role.upper()}_NAME")
        or config_get(config, section, b"name")
        or config_get(config, (b"user",), b"name")
    )
    email = (
        os.environ.get(f"GIT_{role.upper()}_EMAIL")
        or config_get(config, section, b"email")
        or config_get(config, (b"user",), b"email")
        or os.environ.get("EMAIL")
    )
    if not name and not email:
        return None
    return GitIdentity(name or DEFAULT_IDENTITY_NAME, email or DEFAULT_IDENTITY_EMAIL)


def global_identity() -> GitIdentity:
    """The global identity, else ``datom <datom@noreply>`` (what init and clone write locally)."""
    return config_identity(global_config()) or GitIdentity(DEFAULT_IDENTITY_NAME, DEFAULT_IDENTITY_EMAIL)


def default_branch() -> str:
    """``init.defaultBranch``, else ``master``."""
    return config_get(global_config(), (b"init",), b"defaultBranch") or DEFAULT_BRANCH
