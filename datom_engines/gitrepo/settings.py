"""Git configuration lookups: identities (of new commits too) and the default branch."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from dulwich.config import ConfigFile, StackedConfig, get_xdg_config_home_path
from dulwich.repo import Repo

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


def author_of(config: Any, author: GitIdentity | None = None) -> GitIdentity:
    """The author of a new commit or tag: ``author``, else the repository's (:func:`identity_for`), else
    ``datom <datom@noreply>``."""
    return author or identity_for(config, "author") or GitIdentity(DEFAULT_IDENTITY_NAME, DEFAULT_IDENTITY_EMAIL)


def committer_of(config: Any, author: GitIdentity | None = None) -> GitIdentity:
    """The committer of a new commit: ``GIT_COMMITTER_*`` when set; else an explicit ``author`` other than the
    repository's commits as themselves; else the committer identity git would use (else :func:`author_of`)."""
    env_set = any(os.environ.get(f"GIT_COMMITTER_{part}") for part in ("NAME", "EMAIL"))
    if not env_set and author is not None and author != identity_for(config, "author"):
        return author
    return identity_for(config, "committer") or author_of(config, author)


def global_identity() -> GitIdentity:
    """The global identity, else ``datom <datom@noreply>`` (what init and clone write locally)."""
    return config_identity(global_config()) or GitIdentity(DEFAULT_IDENTITY_NAME, DEFAULT_IDENTITY_EMAIL)


def default_branch() -> str:
    """``init.defaultBranch``, else ``master``."""
    return config_get(global_config(), (b"init",), b"defaultBranch") or DEFAULT_BRANCH


#: a config file modified less recently than this may still change within its timestamp tick: not kept
_SETTLE_NS = 1_000_000_000
_Stamp = tuple[tuple[str, tuple[int, int, int, int] | None], ...]


def _user_config_paths() -> list[str]:
    """The global and system config files git reads (whether they exist or not), as dulwich finds them
    (``StackedConfig.default_backends``)."""
    paths = []
    if "GIT_CONFIG_GLOBAL" in os.environ:
        paths.append(os.environ["GIT_CONFIG_GLOBAL"])
    else:
        paths += [os.path.expanduser("~/.gitconfig"), get_xdg_config_home_path("git", "config")]
    if "GIT_CONFIG_SYSTEM" in os.environ:
        paths.append(os.environ["GIT_CONFIG_SYSTEM"])
    elif "GIT_CONFIG_NOSYSTEM" not in os.environ:
        paths.append("/etc/gitconfig")
    return paths


def _stamp(paths: list[str]) -> tuple[_Stamp, bool]:
    """``(identities of the files, all settled)``: a missing file is part of the stamp too."""
    out = []
    settled = True
    recent = time.time_ns() - _SETTLE_NS
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            out.append((path, None))
            continue
        out.append((path, (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)))
        settled = settled and st.st_mtime_ns < recent
    return tuple(out), settled


def _has_includes(config: Any) -> bool:
    backends = getattr(config, "backends", [config])
    return any(section and section[0] in (b"include", b"includeIf") for cf in backends for section in cf.sections())


class RepoConfig:
    """A repository's git configuration for reading, parsed again only when one of its files changed.

    A write reads the identity, the remote URL and the upstream a dozen times; each read of the config
    stack parses ``.git/config``, ``~/.gitconfig`` and ``/etc/gitconfig`` (about 0.2 ms). The parsed
    config is kept while every file it came from (and every file git would read that did not exist)
    keeps its identity, the files are settled (not modified within the last second) and none of them
    uses ``include`` (included files are not watched). Callers must not modify what they get: to change
    the config, modify and write ``repo.get_config()``.
    """

    def __init__(self, repo: Repo) -> None:
        self._repo = repo
        self._local_path = os.path.join(repo.commondir(), "config")
        self._lock = threading.Lock()
        self._local: tuple[_Stamp, ConfigFile] | None = None
        self._stack: tuple[_Stamp, StackedConfig] | None = None

    def local(self) -> ConfigFile:
        """``.git/config``."""
        stamp, settled = _stamp([self._local_path])
        with self._lock:
            if self._local is not None and self._local[0] == stamp:
                return self._local[1]
        config = self._repo.get_config()
        if settled and not _has_includes(config):
            with self._lock:
                self._local = (stamp, config)
        return config

    def stack(self) -> StackedConfig:
        """The config stack (``.git/config``, then the user's and the system's)."""
        env = tuple(os.environ.get(k) for k in ("GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM", "GIT_CONFIG_NOSYSTEM"))
        stamp, settled = _stamp([self._local_path, *_user_config_paths()])
        key = (*stamp, ("env", env))  # type: ignore[arg-type]
        with self._lock:
            if self._stack is not None and self._stack[0] == key:
                return self._stack[1]
        config = self._repo.get_config_stack()
        worktree = config.backends[0].get_boolean((b"extensions",), b"worktreeconfig", False)  # another file
        if settled and not worktree and not _has_includes(config):
            with self._lock:
                self._stack = (key, config)  # type: ignore[assignment]
        return config
