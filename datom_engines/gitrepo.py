"""A small typed git layer over dulwich ("porcelain over plumbing").

datom keeps its JSON metadata in a *data repo*: an ordinary git working clone whose shared remote is a bare
repository (a local path) or an HTTP(S) git server. Writers coordinate only through git: every write builds a
commit on top of the remote head it last saw and pushes it with a compare-and-swap on the remote branch
(:meth:`GitRepo.push` returns ``False`` when another writer won the race). Nothing here shells out to ``git``.

Design rules:

* :meth:`GitRepo.commit_files` builds commits straight into the object store; it never moves a ref and never
  touches the working tree or the index.
* :meth:`GitRepo.advance` is the only method that writes working-tree files; it touches exactly the paths that
  differ between the old and the new commit and refuses (:class:`ConflictError`) to overwrite local edits.
* Credentials are kept in memory only; the remote URL written to ``.git/config`` never contains them.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import stat
import time
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from dulwich.client import GitClient, HTTPUnauthorized, get_transport_and_path
from dulwich.config import StackedConfig
from dulwich.diff_tree import tree_changes
from dulwich.errors import GitProtocolError, HangupException, NotGitRepository
from dulwich.file import FileLocked
from dulwich.graph import find_merge_base
from dulwich.index import Index, TreeExtension, UntrackedExtension, index_entry_from_stat
from dulwich.objects import ZERO_SHA, Blob, Commit, ShaFile, Tree
from dulwich.repo import Repo

from .errors import ConflictError, DatomError, GitError, InvalidArgumentError, NotFoundError

__all__ = [
    "GitCredentials",
    "GitIdentity",
    "GitRepo",
    "GitStatus",
    "PullResult",
]

DEFAULT_BRANCH = "master"  # what plain `git init --bare` and libgit2 (R datom) use
DEFAULT_IDENTITY_NAME = "datom"
DEFAULT_IDENTITY_EMAIL = "datom@noreply"
REMOTE_NAME = "origin"

_FILE_MODE = 0o100644
_EXEC_MODE = 0o100755
_DIR_MODE = 0o040000
_LINK_MODE = 0o120000
_GITLINK_MODE = 0o160000

_EMPTY_TREE = Tree()
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")


# ----------------------------------------------------------------------------------------------------
# Value types
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class GitCredentials:
    """HTTP(S) credentials for a git remote (kept in memory, never written to ``.git/config``).

    R datom authenticates with username ``git`` and a personal access token as the password; use
    :meth:`from_token` for that.
    """

    username: str
    password: str | None = None

    @classmethod
    def from_token(cls, token: str, username: str = "git") -> GitCredentials:
        """Credentials for a personal access token (username ``git`` by default, as R datom uses)."""
        return cls(username=username, password=token)

    def __repr__(self) -> str:
        return f"GitCredentials(username={self.username!r}, password={'***' if self.password else None})"


@dataclass(frozen=True)
class GitIdentity:
    """An author / committer identity."""

    name: str
    email: str

    def to_bytes(self) -> bytes:
        """The identity as git writes it: ``Name <email>``."""
        return f"{self.name} <{self.email}>".encode()


@dataclass(frozen=True)
class GitStatus:
    """Working-tree status relative to HEAD (paths are ``/``-separated, relative to the repo root)."""

    staged: list[str] = field(default_factory=list)
    unstaged: list[str] = field(default_factory=list)
    untracked: list[str] = field(default_factory=list)
    branch: str | None = None

    @property
    def clean(self) -> bool:
        """True when nothing is staged, modified or untracked."""
        return not (self.staged or self.unstaged or self.untracked)


@dataclass(frozen=True)
class PullResult:
    """What :meth:`GitRepo.pull` did."""

    commits_pulled: int
    branch: str
    head: str | None


class _PathConflict(Exception):
    """A path is a file on one side and a directory on the other (internal)."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(path)


# ----------------------------------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------------------------------

_Entry = tuple[int, bytes]  # (mode, hex sha)


def _is_url(location: str) -> bool:
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", location))


def _split_credentials(url: str) -> tuple[str, GitCredentials | None]:
    """Split ``https://user:tok@host/x.git`` into the clean URL and the credentials."""
    if not _is_url(url):
        return url, None
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    netloc = parts.hostname or ""
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    creds = GitCredentials(
        username=unquote(parts.username or ""),
        password=unquote(parts.password) if parts.password is not None else None,
    )
    return clean, creds


def _normalize_remote(url: str) -> str:
    """Absolute local paths (git would resolve relative ones against the cwd of the moment)."""
    if _is_url(url) or re.match(r"^[^/\s]+@[^/\s:]+:", url):  # URL or scp-like ssh
        return url
    return os.path.abspath(os.path.expanduser(url))


def _redact(text: str) -> str:
    return _URL_USERINFO.sub(r"\g<scheme>***@", text)


def _hex(sha: str | bytes) -> bytes:
    if isinstance(sha, str):
        sha = sha.encode("ascii")
    return sha


def _str(sha: bytes | None) -> str | None:
    return None if sha is None else sha.decode("ascii")


def _split_path(path: str) -> tuple[bytes, ...]:
    """Validate a repo-relative path and split it into components."""
    if not isinstance(path, str) or not path:
        raise InvalidArgumentError(f"invalid repository path {path!r}", hint="use a non-empty relative path")
    parts = path.split("/")
    for part in parts:
        if part in ("", ".", "..") or part.lower() == ".git" or "\0" in part or "\\" in part:
            raise InvalidArgumentError(
                f"invalid repository path {path!r}",
                hint="use a relative '/'-separated path without '.', '..', '.git' or empty components",
            )
    return tuple(p.encode("utf-8") for p in parts)


def _config_get(config: Any, section: bytes | tuple[bytes, ...], name: bytes) -> str | None:
    try:
        value = config.get(section, name)
    except KeyError:
        return None
    if value is None:
        return None
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _global_config() -> StackedConfig:
    return StackedConfig(StackedConfig.default_backends())


def _global_identity() -> GitIdentity:
    cfg = _global_config()
    name = _config_get(cfg, (b"user",), b"name")
    email = _config_get(cfg, (b"user",), b"email")
    return GitIdentity(name or DEFAULT_IDENTITY_NAME, email or DEFAULT_IDENTITY_EMAIL)


def _default_branch() -> str:
    return _config_get(_global_config(), (b"init",), b"defaultBranch") or DEFAULT_BRANCH


def _local_remote_branch(url: str) -> str | None:
    """The branch an existing local bare remote's HEAD names (so a first push matches what clones check out)."""
    if _is_url(url):
        return None
    head = Path(url) / "HEAD"
    try:
        text = head.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    prefix = "ref: refs/heads/"
    return text[len(prefix) :] if text.startswith(prefix) else None


def _auth_status(exc: BaseException) -> int | None:
    if isinstance(exc, HTTPUnauthorized):
        return 401
    match = re.search(r"\b(401|403)\b", str(exc))
    if isinstance(exc, GitProtocolError) and match:
        return int(match.group(1))
    return None


_OPEN_REPOS: weakref.WeakSet[GitRepo] = weakref.WeakSet()


@atexit.register
def _close_open_repos() -> None:
    """Close repositories still open at exit (dulwich's finalizers complain during interpreter teardown)."""
    for repo in list(_OPEN_REPOS):
        with contextlib.suppress(Exception):
            repo.close()


def _pick_clone_branch(refs: Mapping[bytes, bytes], remote_head: bytes | None, default: bytes) -> bytes:
    """The branch a clone checks out: the remote HEAD's branch if it exists, else the local default,
    ``main``, ``master`` or the first branch; on an empty remote, the remote HEAD's (unborn) branch."""
    candidates = [remote_head, default, b"refs/heads/main", b"refs/heads/master", *sorted(refs)]
    for name in candidates:
        if name is not None and name in refs:
            return name
    if remote_head is not None and remote_head.startswith(b"refs/heads/"):
        return remote_head
    return default


# ----------------------------------------------------------------------------------------------------
# GitRepo
# ----------------------------------------------------------------------------------------------------


class GitRepo:
    """A git working clone with one remote (``origin``), driven through dulwich plumbing.

    Create one with :meth:`init`, :meth:`clone` or :meth:`open`. Commits are hex strings. Repository paths are
    ``/``-separated and relative to the repository root.
    """

    def __init__(self, repo: Repo, *, credentials: GitCredentials | None = None) -> None:
        """Wrap an open dulwich :class:`Repo` (use :meth:`init`, :meth:`clone` or :meth:`open` instead)."""
        self._repo = repo
        self._credentials = credentials
        self._client: GitClient | None = None
        self._client_key: tuple[str, GitCredentials | None] | None = None
        _OPEN_REPOS.add(self)

    # ---- construction ------------------------------------------------------------------------------

    @classmethod
    def init(
        cls,
        path: str | os.PathLike[str],
        remote_url: str | None,
        *,
        credentials: GitCredentials | None = None,
    ) -> GitRepo:
        """Create a new repository at ``path`` (which may exist, but must not already be a git repository).

        The branch is ``init.defaultBranch`` from the git config, else ``main``. The remote ``origin`` is
        set to ``remote_url`` with any embedded credentials stripped (they are kept in memory instead). A
        local identity (the global one, else ``datom <datom@noreply>``) and ``http.followRedirects = true``
        are written.
        """
        root = Path(path)
        if (root / ".git").exists():
            raise InvalidArgumentError(
                f"{root} is already a git repository", hint="open it with GitRepo.open() or pick another path"
            )
        if root.exists() and not root.is_dir():
            raise InvalidArgumentError(f"{root} exists and is not a directory", hint="pick another path")
        root.mkdir(parents=True, exist_ok=True)
        clean_url: str | None = None
        url_creds: GitCredentials | None = None
        if remote_url is not None:
            clean_url, url_creds = _split_credentials(remote_url)
            clean_url = _normalize_remote(clean_url)
        repo = Repo.init(str(root), default_branch=_default_branch().encode())
        self = cls(repo, credentials=credentials or url_creds)
        self._write_initial_config(clean_url)
        self._follow_remote_head()
        return self

    def _follow_remote_head(self) -> None:
        """On a repo without commits, use the branch the remote's HEAD names (a bare repo made by plain git
        names ``master``, a server may name ``main``), so clones of the remote check out what we push."""
        if self.remote_url is None or self.head() is not None:
            return
        branch = _local_remote_branch(self.remote_url)
        if branch is None and _is_url(self.remote_url):
            try:
                client, path, _ = self._get_client()
                target = client.get_refs(path).symrefs.get(b"HEAD", b"")
            except Exception:  # offline now: the push will report the remote's state
                target = b""
            if target.startswith(b"refs/heads/"):
                branch = target[len(b"refs/heads/") :].decode("utf-8")
        if branch and branch != self.branch():
            self._repo.refs.set_symbolic_ref(b"HEAD", b"refs/heads/" + branch.encode("utf-8"))

    @classmethod
    def clone(
        cls, remote_url: str, path: str | os.PathLike[str], *, credentials: GitCredentials | None = None
    ) -> GitRepo:
        """Clone ``remote_url`` into ``path`` (absent or an empty directory) and check out its default branch.

        Sets the same local identity and config as :meth:`init`. Cloning an empty remote gives a repository
        on an unborn branch. Failures raise :class:`GitError` and leave nothing behind.
        """
        root = Path(path)
        existed = root.exists()
        if existed and (not root.is_dir() or any(root.iterdir())):
            raise InvalidArgumentError(
                f"cannot clone into {root}: it exists and is not an empty directory",
                hint="clone into a new path or an empty directory",
            )
        clean_url, url_creds = _split_credentials(remote_url)
        clean_url = _normalize_remote(clean_url)
        root.mkdir(parents=True, exist_ok=True)
        self: GitRepo | None = None
        try:
            repo = Repo.init(str(root), default_branch=_default_branch().encode())
            self = cls(repo, credentials=credentials or url_creds)
            self._write_initial_config(clean_url)
            refs, symrefs = self._fetch_refs(context="clone")
            branch = _pick_clone_branch(refs, symrefs.get(b"HEAD"), self._branch_ref())
            repo.refs.set_symbolic_ref(b"HEAD", branch)
            sha = refs.get(branch)
            if sha is not None:
                self.advance(sha.decode("ascii"))
                self._set_upstream_if_missing()
        except BaseException as exc:
            if self is not None:
                self.close()
            if existed:  # it was empty: remove what we created inside
                for child in root.iterdir():
                    if child.is_dir() and not child.is_symlink():
                        shutil.rmtree(child, ignore_errors=True)
                    else:
                        child.unlink()
            else:
                shutil.rmtree(root, ignore_errors=True)
            if isinstance(exc, DatomError) or not isinstance(exc, Exception):
                raise
            raise GitError(
                f"git clone of {_redact(clean_url)} failed: {_redact(str(exc)) or type(exc).__name__}",
                hint="check that the remote URL exists and is reachable, and your git credentials",
            ) from exc
        return self

    @staticmethod
    def init_bare(path: str | os.PathLike[str], *, branch: str | None = None) -> Path:
        """Create an empty bare repository at ``path`` (a local shared remote); HEAD names ``branch``.

        ``branch`` defaults to ``init.defaultBranch`` from the git config, else ``main``. ``path`` may be an
        empty directory. Returns the absolute path.
        """
        root = Path(path).absolute()
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise InvalidArgumentError(
                f"cannot create a bare repository at {root}: it exists and is not an empty directory",
                hint="pick a new path for the remote",
            )
        root.mkdir(parents=True, exist_ok=True)
        Repo.init_bare(str(root), default_branch=(branch or _default_branch()).encode()).close()
        return root

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, credentials: GitCredentials | None = None) -> GitRepo:
        """Open the git working clone at ``path`` (its root directory)."""
        try:
            repo = Repo(str(path))
        except (NotGitRepository, FileNotFoundError, NotADirectoryError) as exc:
            raise NotFoundError(
                f"{path} is not a git repository",
                hint="pass the root of a datom data clone, or create one with clone()/init()",
            ) from exc
        if repo.bare:
            repo.close()
            raise NotFoundError(
                f"{path} is a bare git repository, not a working clone",
                hint="clone it with GitRepo.clone(remote, path) and work in the clone",
            )
        return cls(repo, credentials=credentials)

    def close(self) -> None:
        """Release open files and HTTP connections."""
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None
        self._repo.close()

    def __enter__(self) -> GitRepo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"GitRepo({self.path!s}, remote={self.remote_url!r})"

    def _write_initial_config(self, remote_url: str | None) -> None:
        cfg = self._repo.get_config()
        ident = _global_identity()
        cfg.set((b"user",), b"name", ident.name.encode())
        cfg.set((b"user",), b"email", ident.email.encode())
        cfg.set((b"http",), b"followRedirects", b"true")
        if remote_url is not None:
            cfg.set((b"remote", REMOTE_NAME.encode()), b"url", remote_url.encode())
            cfg.set(
                (b"remote", REMOTE_NAME.encode()),
                b"fetch",
                f"+refs/heads/*:refs/remotes/{REMOTE_NAME}/*".encode(),
            )
        cfg.write_to_path()

    # ---- basic properties --------------------------------------------------------------------------

    @property
    def path(self) -> Path:
        """The working-tree root."""
        return Path(self._repo.path)

    @property
    def remote_url(self) -> str | None:
        """The URL of the first configured remote (credentials never included), or None."""
        remote = self._remote()
        return None if remote is None else remote[1]

    @property
    def credentials(self) -> GitCredentials | None:
        """The in-memory credentials used for HTTP(S) remotes."""
        return self._credentials

    def _remote(self) -> tuple[str, str] | None:
        cfg = self._repo.get_config()
        for section in cfg.sections():
            if len(section) == 2 and section[0] == b"remote":
                url = _config_get(cfg, section, b"url")
                if url:
                    return section[1].decode("utf-8", "replace"), url
        return None

    def branch(self) -> str:
        """The current branch name; :class:`GitError` on a detached HEAD."""
        raw = self._repo.refs.read_ref(b"HEAD")
        if raw is not None and raw.startswith(b"ref: refs/heads/"):
            return raw[len(b"ref: refs/heads/") :].strip().decode("utf-8")
        if raw is None:
            raise GitError(f"{self.path}: HEAD is missing", hint="the clone is broken; clone it again")
        raise GitError(
            f"{self.path}: HEAD is detached (not on a branch)",
            hint="check out the data branch (for example `git switch main`) before writing or pulling",
        )

    def _branch_ref(self) -> bytes:
        return f"refs/heads/{self.branch()}".encode()

    def _tracking_ref(self, branch: str | None = None) -> bytes:
        return f"refs/remotes/{REMOTE_NAME}/{branch or self.branch()}".encode()

    def head(self) -> str | None:
        """The commit HEAD points to (hex), or None on an unborn branch."""
        _, sha = self._repo.refs.follow(b"HEAD")
        return _str(sha)

    def has_commits(self) -> bool:
        """True when HEAD points to a commit."""
        return self.head() is not None

    def remote_head(self) -> str | None:
        """The last fetched remote head (``refs/remotes/origin/<branch>``), without contacting the remote."""
        try:
            return _str(self._repo.refs[self._tracking_ref()])
        except KeyError:
            return None

    def identity(self) -> GitIdentity | None:
        """``user.name`` / ``user.email`` from the repository config stack (local, then global)."""
        cfg = self._repo.get_config_stack()
        name = _config_get(cfg, (b"user",), b"name")
        email = _config_get(cfg, (b"user",), b"email")
        if not name and not email:
            return None
        return GitIdentity(name or DEFAULT_IDENTITY_NAME, email or DEFAULT_IDENTITY_EMAIL)

    # ---- reading objects ---------------------------------------------------------------------------

    def _commit(self, sha: str | bytes) -> Commit:
        try:
            obj = self._repo.object_store[_hex(sha)]
        except (KeyError, ValueError) as exc:
            raise NotFoundError(f"commit {_redact(str(sha))} not found in {self.path}") from exc
        if not isinstance(obj, Commit):
            raise InvalidArgumentError(f"{sha!s} is not a commit")
        return obj

    def _tree_id(self, commit: str | bytes | None) -> bytes | None:
        return None if commit is None else self._commit(commit).tree

    def _lookup(self, tree_id: bytes | None, parts: tuple[bytes, ...]) -> _Entry | None:
        """The (mode, sha) at ``parts`` below ``tree_id``; None if absent."""
        if tree_id is None:
            return None
        mode, sha = _DIR_MODE, tree_id
        store = self._repo.object_store
        for part in parts:
            if not stat.S_ISDIR(mode):
                return None
            tree = store[sha]
            assert isinstance(tree, Tree)
            try:
                mode, sha = tree[part]
            except KeyError:
                return None
        return mode, sha

    def read_file(self, commit: str | None, path: str) -> bytes | None:
        """The bytes of ``path`` in ``commit`` (None if absent, a directory, or ``commit`` is None)."""
        entry = self._lookup(self._tree_id(commit), _split_path(path))
        if entry is None or stat.S_ISDIR(entry[0]) or entry[0] == _GITLINK_MODE:
            return None
        blob = self._repo.object_store[entry[1]]
        assert isinstance(blob, Blob)
        return blob.data

    def list_tree(self, commit: str | None, dir: str = "") -> list[tuple[str, bool]]:
        """``(name, is_dir)`` for each entry of directory ``dir`` in ``commit``, sorted by name."""
        tree_id = self._tree_id(commit)
        entry = (_DIR_MODE, tree_id) if not dir.strip("/") else self._lookup(tree_id, _split_path(dir.strip("/")))
        if entry is None or entry[1] is None or not stat.S_ISDIR(entry[0]):
            return []
        tree = self._repo.object_store[entry[1]]
        assert isinstance(tree, Tree)
        return sorted((item.path.decode("utf-8"), stat.S_ISDIR(item.mode)) for item in tree.iteritems())

    def _flatten(self, tree_id: bytes | None, prefix: bytes = b"") -> dict[bytes, _Entry]:
        out: dict[bytes, _Entry] = {}
        if tree_id is None:
            return out
        tree = self._repo.object_store[tree_id]
        assert isinstance(tree, Tree)
        for item in tree.iteritems():
            p = prefix + item.path
            if stat.S_ISDIR(item.mode):
                out.update(self._flatten(item.sha, p + b"/"))
            else:
                out[p] = (item.mode, item.sha)
        return out

    def _diff(self, tree_a: bytes | None, tree_b: bytes | None) -> dict[bytes, tuple[_Entry | None, _Entry | None]]:
        """Per-file changes between two trees: path -> (old entry, new entry)."""
        out: dict[bytes, tuple[_Entry | None, _Entry | None]] = {}
        for change in tree_changes(self._repo.object_store, tree_a, tree_b):
            old, new = change.old, change.new
            if old is not None and old.path is not None:
                prev = out.get(old.path, (None, None))
                out[old.path] = ((old.mode, old.sha), prev[1])  # type: ignore[assignment]
            if new is not None and new.path is not None:
                prev = out.get(new.path, (None, None))
                out[new.path] = (prev[0], (new.mode, new.sha))  # type: ignore[assignment]
        return out

    def changed_paths(self, a: str | None, b: str | None) -> list[str]:
        """Sorted paths of the files that differ between commits ``a`` and ``b`` (None = empty tree)."""
        diff = self._diff(self._tree_id(a), self._tree_id(b))
        return sorted(p.decode("utf-8") for p, (old, new) in diff.items() if old != new)

    # ---- history -----------------------------------------------------------------------------------

    def file_versions(self, commit: str, path: str) -> Iterator[bytes]:
        """Each distinct content ``path`` had in the history of ``commit``, newest first."""
        parts = _split_path(path)
        seen: set[bytes] = set()
        for entry in self._repo.get_walker(include=[_hex(commit)], paths=[path.encode("utf-8")]):
            found = self._lookup(entry.commit.tree, parts)
            if found is None or stat.S_ISDIR(found[0]) or found[1] in seen:
                continue
            seen.add(found[1])
            blob = self._repo.object_store[found[1]]
            assert isinstance(blob, Blob)
            yield blob.data

    def _ancestors(self, sha: bytes) -> set[bytes]:
        seen: set[bytes] = set()
        stack = [sha]
        store = self._repo.object_store
        while stack:
            cur = stack.pop()
            if cur in seen:
                continue
            seen.add(cur)
            obj = store[cur]
            assert isinstance(obj, Commit)
            stack.extend(obj.parents)
        return seen

    def is_ancestor(self, a: str, b: str) -> bool:
        """True when commit ``a`` is reachable from commit ``b`` (a commit is its own ancestor)."""
        target, start = _hex(a), _hex(b)
        if target == start:
            return True
        self._commit(start)
        store = self._repo.object_store
        if target not in store:  # every ancestor of a local commit is local (no shallow clones here)
            return False
        seen: set[bytes] = set()
        queue = [start]
        while queue:  # breadth-first: the usual case (a is a near parent) ends immediately
            nxt: list[bytes] = []
            for cur in queue:
                if cur in seen:
                    continue
                seen.add(cur)
                obj = store[cur]
                assert isinstance(obj, Commit)
                if target in obj.parents:
                    return True
                nxt.extend(obj.parents)
            queue = nxt
        return False

    def ahead_behind(self, local: str | None, remote: str | None) -> tuple[int, int]:
        """``(ahead, behind)``: commits only in ``local``'s history, and only in ``remote``'s."""
        left = self._ancestors(_hex(local)) if local else set()
        right = self._ancestors(_hex(remote)) if remote else set()
        return len(left - right), len(right - left)

    # ---- building commits --------------------------------------------------------------------------

    def _build_tree(
        self,
        tree_id: bytes | None,
        changes: Mapping[tuple[bytes, ...], _Entry | None],
        new_objects: list[ShaFile],
        prefix: str = "",
    ) -> bytes | None:
        """Apply ``changes`` (parts -> entry, None deletes) below ``tree_id``; None if it ends empty."""
        entries: dict[bytes, _Entry] = {}
        if tree_id is not None:
            tree = self._repo.object_store[tree_id]
            assert isinstance(tree, Tree)
            for item in tree.iteritems():
                entries[item.path] = (item.mode, item.sha)
        leaves: dict[bytes, _Entry | None] = {}
        subdirs: dict[bytes, dict[tuple[bytes, ...], _Entry | None]] = {}
        for parts, value in changes.items():
            if len(parts) == 1:
                leaves[parts[0]] = value
            else:
                subdirs.setdefault(parts[0], {})[parts[1:]] = value
        # 1. deletions, 2. subdirectories, 3. file writes: a file may replace a directory emptied in step 2
        for name, value in leaves.items():
            if value is None:
                old = entries.get(name)
                if old is not None and stat.S_ISDIR(old[0]):
                    raise _PathConflict(prefix + name.decode("utf-8"))
                entries.pop(name, None)
        for name, sub in subdirs.items():
            old = entries.get(name)
            if old is not None and not stat.S_ISDIR(old[0]):
                raise _PathConflict(prefix + name.decode("utf-8"))
            new_id = self._build_tree(
                None if old is None else old[1], sub, new_objects, prefix + name.decode("utf-8") + "/"
            )
            if new_id is None:
                entries.pop(name, None)
            else:
                entries[name] = (_DIR_MODE, new_id)
        for name, value in leaves.items():
            if value is not None:
                old = entries.get(name)
                if old is not None and stat.S_ISDIR(old[0]):
                    raise _PathConflict(prefix + name.decode("utf-8"))
                entries[name] = value
        if not entries:
            return None
        if tree_id is not None:
            old_tree = self._repo.object_store[tree_id]
            assert isinstance(old_tree, Tree)
            if {i.path: (i.mode, i.sha) for i in old_tree.iteritems()} == entries:
                return tree_id
        tree = Tree()
        for name, (mode, sha) in entries.items():
            tree.add(name, mode, sha)
        new_objects.append(tree)
        return tree.id

    def _make_commit(self, tree_id: bytes, parents: list[bytes], message: str, author: GitIdentity | None) -> Commit:
        ident = author or self.identity() or GitIdentity(DEFAULT_IDENTITY_NAME, DEFAULT_IDENTITY_EMAIL)
        now = int(time.time())
        commit = Commit()
        commit.tree = tree_id
        commit.parents = parents
        commit.author = commit.committer = ident.to_bytes()
        commit.author_time = commit.commit_time = now
        commit.author_timezone = commit.commit_timezone = 0
        commit.encoding = None
        commit.message = (message if message.endswith("\n") else message + "\n").encode("utf-8")
        return commit

    def _store_objects(self, objects: list[ShaFile]) -> None:
        store = self._repo.object_store
        for obj in objects:
            if obj.id not in store:
                store.add_object(obj)

    def commit_files(
        self,
        parent: str | None,
        files: Mapping[str, bytes | None],
        message: str,
        author: GitIdentity | None = None,
    ) -> str:
        """Build a commit whose tree is ``parent``'s tree with ``files`` replaced (None deletes a path).

        Files get mode 100644; intermediate directories are created and emptied ones dropped. The author
        and committer are ``author``, else the repository identity, else ``datom <datom@noreply>``, in UTC.
        No ref, index or working-tree file is touched: publish the commit with :meth:`push` and
        :meth:`advance`. If the resulting tree equals ``parent``'s, nothing is committed and ``parent`` is
        returned.
        """
        parent_tree = self._tree_id(parent)
        new_objects: list[ShaFile] = []
        changes: dict[tuple[bytes, ...], _Entry | None] = {}
        for path, data in files.items():
            parts = _split_path(path)
            if data is None:
                changes[parts] = None
            else:
                if not isinstance(data, bytes | bytearray | memoryview):
                    raise InvalidArgumentError(f"content of {path!r} must be bytes or None, not {type(data)!r}")
                blob = Blob.from_string(bytes(data))
                new_objects.append(blob)
                changes[parts] = (_FILE_MODE, blob.id)
        try:
            tree_id = self._build_tree(parent_tree, changes, new_objects)
        except _PathConflict as exc:
            raise InvalidArgumentError(
                f"path {exc.path!r} is a file on one side and a directory on the other",
                hint="delete the file (or every file of the directory) explicitly in the same commit",
            ) from exc
        if tree_id is None:
            new_objects.append(_EMPTY_TREE)
            tree_id = _EMPTY_TREE.id
        if parent is not None and tree_id == parent_tree:
            return parent
        commit = self._make_commit(tree_id, [] if parent is None else [_hex(parent)], message, author)
        new_objects.append(commit)
        self._store_objects(new_objects)
        return commit.id.decode("ascii")

    # ---- remote operations -------------------------------------------------------------------------

    def _require_remote(self) -> str:
        remote = self._remote()
        if remote is None:
            raise GitError(f"{self.path} has no git remote", hint="add a remote (init with a remote_url) first")
        return remote[1]

    def _get_client(self) -> tuple[GitClient, str, str]:
        url = self._require_remote()
        key = (url, self._credentials)
        if self._client is None or self._client_key != key:
            if self._client is not None:
                with contextlib.suppress(Exception):
                    self._client.close()
            location, url_creds = _split_credentials(url)
            creds = self._credentials or url_creds
            kwargs: dict[str, Any] = {}
            if creds is not None and _is_url(location) and location.split(":", 1)[0] in ("http", "https"):
                kwargs = {"username": creds.username, "password": creds.password}
            client, remote_path = get_transport_and_path(location, config=self._repo.get_config_stack(), **kwargs)
            self._client, self._client_path, self._client_key = client, remote_path, key
        return self._client, self._client_path, url

    @contextlib.contextmanager
    def _remote_errors(self, action: str, url: str) -> Iterator[None]:
        shown = _redact(url)
        try:
            yield
        except DatomError:
            raise
        except Exception as exc:
            status = _auth_status(exc)
            if status is not None:
                raise GitError(
                    f"git {action} {shown} failed: authentication refused (HTTP {status})",
                    hint="check credentials: pass GitCredentials(username, token) (R uses username 'git' "
                    "and a personal access token) and that the token may read and write the repository",
                ) from exc
            if isinstance(exc, NotGitRepository):
                raise GitError(
                    f"git {action} {shown} failed: no git repository there",
                    hint="check the remote URL (it must name an existing bare repository or git server path)",
                ) from exc
            detail = _redact(str(exc)) or type(exc).__name__
            if isinstance(exc, HangupException | GitProtocolError | OSError):
                raise GitError(f"git {action} {shown} failed: {detail}") from exc
            raise GitError(f"git {action} {shown} failed: {type(exc).__name__}: {detail}") from exc

    def _fetch_refs(self, context: str = "fetch") -> tuple[dict[bytes, bytes], dict[bytes, bytes]]:
        """Fetch every remote branch; update ``refs/remotes/origin/*``; return (branch refs, symrefs)."""
        client, remote_path, url = self._get_client()
        store = self._repo.object_store
        seen: dict[bytes, bytes] = {}

        def determine_wants(refs: Mapping[bytes, bytes], depth: int | None = None) -> list[bytes]:
            # Keep this snapshot: the local client re-reads refs after the transfer, which may have moved.
            for name, sha in refs.items():
                if name.startswith(b"refs/heads/") and not name.endswith(b"^{}") and sha and sha != ZERO_SHA:
                    seen[name] = sha
            return sorted({sha for sha in seen.values() if sha not in store})

        with self._remote_errors(f"{context} from", url):
            result = client.fetch(remote_path, self._repo, determine_wants=determine_wants)
        symrefs = dict(getattr(result, "symrefs", None) or {})
        missing = [name for name, sha in seen.items() if sha not in store]
        if missing:
            raise GitError(f"git {context} from {_redact(url)} did not deliver {missing[0].decode()}")
        prefix = f"refs/remotes/{REMOTE_NAME}/".encode()
        refs = self._repo.refs
        for name, sha in seen.items():
            refs.set_if_equals(prefix + name[len(b"refs/heads/") :], None, sha)
        for name in list(refs.keys(base=prefix)):
            if b"refs/heads/" + name not in seen and name != b"HEAD":
                refs.remove_if_equals(prefix + name, None)
        return seen, symrefs

    def fetch(self) -> str | None:
        """Fetch ``origin``; update ``refs/remotes/origin/*``; return the remote head of the current branch.

        Returns None when the remote has no such branch (for example an empty remote).
        """
        branch_ref = self._branch_ref()
        refs, _ = self._fetch_refs()
        return _str(refs.get(branch_ref))

    def _remote_branch_sha(self, client: GitClient, remote_path: str, branch_ref: bytes) -> bytes | None:
        result = client.get_refs(remote_path)
        refs = getattr(result, "refs", result)
        sha = refs.get(branch_ref)
        return None if sha in (None, ZERO_SHA) else sha

    def push(self, commit: str, *, expected_remote: str | None) -> bool:
        """Push ``commit`` to the remote branch ``refs/heads/<current branch>`` as a compare-and-swap.

        ``expected_remote`` is the remote head the commit was built on (None: the branch must not exist yet).
        Returns True when the remote branch now points to ``commit``; False when the push lost a race (the
        remote branch is no longer at ``expected_remote``, or ``commit`` does not descend from it): fetch,
        rebuild on the new head and push again. Any other failure raises :class:`GitError`.
        """
        branch = self.branch()
        branch_ref = f"refs/heads/{branch}".encode()
        new = _hex(commit)
        self._commit(new)
        expected = None if expected_remote is None else _hex(expected_remote)
        if expected is not None and not self.is_ancestor(expected.decode(), commit):
            return False
        client, remote_path, url = self._get_client()
        state: dict[str, Any] = {"moved": False, "noop": False}

        def update_refs(refs: dict[bytes, bytes]) -> dict[bytes, bytes]:
            current = refs.get(branch_ref)
            current = None if current == ZERO_SHA else current
            if current == new:
                state["noop"] = True
                return {}
            if current != expected:
                state["moved"] = True
                return {}  # abort: nothing is sent
            return {branch_ref: new}

        def generate_pack_data(have: Any, want: Any, *, ofs_delta: bool = False, progress: Any = None) -> Any:
            return self._repo.object_store.generate_pack_data(have, want, ofs_delta=ofs_delta, progress=progress)

        with self._remote_errors("push to", url):
            try:
                result = client.send_pack(remote_path, update_refs, generate_pack_data)
            except FileLocked:
                return False  # a concurrent push to the same (local) remote holds the ref lock
            except Exception as exc:
                # dulwich.porcelain.DivergedBranches (matched by name: importing porcelain costs ~80 ms);
                # send_pack does not raise it today, porcelain.push does.
                if type(exc).__name__ == "DivergedBranches":
                    return False
                raise
        if state["moved"]:
            return False
        if not state["noop"]:
            status = dict(getattr(result, "ref_status", None) or {})
            errors = {name: msg for name, msg in status.items() if msg is not None}
            if errors:
                msg = "; ".join(f"{name.decode()}: {m}" for name, m in errors.items())
                with self._remote_errors("push to", url):
                    now = self._remote_branch_sha(client, remote_path, branch_ref)
                if now != new:
                    # The remote refused the update. It moved under us (the server-side compare-and-swap on
                    # the old value failed), or a ref lock was busy: a lost race. Otherwise it is an error.
                    if now != expected or re.search(r"lock|non-fast-forward|fetch first|stale", msg):
                        return False
                    raise GitError(
                        f"git push to {_redact(url)} was rejected: {_redact(msg)}",
                        hint="check that the remote accepts pushes to this branch (hooks, protections)",
                    )
        self._repo.refs.set_if_equals(self._tracking_ref(branch), None, new)
        self._set_upstream_if_missing(branch)
        return True

    def _set_upstream_if_missing(self, branch: str | None = None) -> None:
        branch = branch or self.branch()
        cfg = self._repo.get_config()
        section = (b"branch", branch.encode())
        if _config_get(cfg, section, b"remote") is None:
            cfg.set(section, b"remote", REMOTE_NAME.encode())
            cfg.set(section, b"merge", f"refs/heads/{branch}".encode())
            cfg.write_to_path()

    # ---- working tree ------------------------------------------------------------------------------

    def _open_index(self) -> Index:
        return self._repo.open_index()

    def _worktree_entry(self, rel: bytes) -> _Entry | str | None:
        """The (mode, blob sha) of the working file at ``rel``; None if absent; ``"dir"`` if a directory."""
        full = os.path.join(os.fsencode(self._repo.path), rel)
        try:
            st = os.lstat(full)
        except (FileNotFoundError, NotADirectoryError):
            return None
        if stat.S_ISLNK(st.st_mode):
            return _LINK_MODE, Blob.from_string(os.readlink(full)).id
        if stat.S_ISDIR(st.st_mode):
            return "dir"
        with open(full, "rb") as fh:
            data = fh.read()
        mode = _EXEC_MODE if st.st_mode & 0o111 else _FILE_MODE
        return mode, Blob.from_string(data).id

    def advance(self, commit: str) -> None:
        """Move the current branch to ``commit`` and update the changed paths of the working tree and index.

        ``commit`` must descend from HEAD (or HEAD must be unborn). Only the files that differ between the old
        HEAD and ``commit`` are written or deleted; every other file (tracked, untracked or ignored) is left
        alone. If one of those paths has local changes (staged or not) that match neither side,
        :class:`ConflictError` names them and nothing is changed.
        """
        new = _hex(commit)
        new_commit = self._commit(new)
        branch_ref = self._branch_ref()
        old = self.head()
        old_b = None if old is None else _hex(old)
        if old_b == new:
            return
        if old is not None and not self.is_ancestor(old, commit):
            raise ConflictError(
                f"cannot advance {self.branch()} to {commit[:12]}: it does not descend from HEAD {old[:12]}",
                hint="pull() to merge the remote changes first",
            )
        diff = self._diff(self._tree_id(old), new_commit.tree)
        changes = {p: (a, b) for p, (a, b) in diff.items() if a != b}
        index = self._open_index()
        conflicts: list[str] = []
        for rel, (old_e, new_e) in sorted(changes.items()):
            sides = {None if e is None else e[1] for e in (old_e, new_e)}
            try:
                staged = index[rel]
                staged_sha: bytes | None = getattr(staged, "sha", b"<conflicted>")
            except KeyError:
                staged_sha = None
            if staged_sha not in sides:
                conflicts.append(rel.decode("utf-8", "replace"))
                continue
            work = self._worktree_entry(rel)
            if work == "dir" or (work is not None and work[1] not in sides) or (work is None and None not in sides):
                conflicts.append(rel.decode("utf-8", "replace"))
                continue
            if new_e is not None:  # every parent directory must be a directory (or absent)
                parent = os.path.dirname(rel)
                while parent:
                    full = os.path.join(os.fsencode(self._repo.path), parent)
                    if os.path.lexists(full) and (os.path.islink(full) or not os.path.isdir(full)):
                        if parent not in changes:
                            conflicts.append(rel.decode("utf-8", "replace"))
                        break
                    parent = os.path.dirname(parent)
        if conflicts:
            raise ConflictError(
                f"local changes in {self.path} would be overwritten: {', '.join(conflicts)}",
                hint="commit, move or discard your edits to these files (or `git stash`), then pull again",
            )
        root = os.fsencode(self._repo.path)
        # Deletions first (a deleted file may make room for a directory), then writes.
        for rel, (_old_e, new_e) in sorted(changes.items()):
            if new_e is None:
                full = os.path.join(root, rel)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(full)
                with contextlib.suppress(KeyError):
                    del index[rel]
                parent = os.path.dirname(full)
                while parent != root:
                    try:
                        os.rmdir(parent)
                    except OSError:
                        break
                    parent = os.path.dirname(parent)
        store = self._repo.object_store
        for rel, (_old_e, new_e) in sorted(changes.items()):
            if new_e is None:
                continue
            mode, sha = new_e
            if mode == _GITLINK_MODE:
                continue
            full = os.path.join(root, rel)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            blob = store[sha]
            assert isinstance(blob, Blob)
            tmp = full + b".datom-tmp~"
            if mode == _LINK_MODE:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
                os.symlink(blob.data, tmp)
            else:
                with open(tmp, "wb") as fh:
                    fh.write(blob.data)
                os.chmod(tmp, 0o755 if mode == _EXEC_MODE else 0o644)
            os.replace(tmp, full)
            index[rel] = index_entry_from_stat(os.lstat(full), sha, mode=mode)
        # The cached-tree and untracked-cache extensions would now be stale: drop them (git rebuilds them).
        exts = getattr(index, "_extensions", None)
        if isinstance(exts, list):
            exts[:] = [e for e in exts if not isinstance(e, TreeExtension | UntrackedExtension)]
        index.write()
        if not self._repo.refs.set_if_equals(branch_ref, old_b if old_b is not None else ZERO_SHA, new):
            raise ConflictError(f"{branch_ref.decode()} moved while advancing it", hint="retry")

    def status(self) -> GitStatus:
        """Staged, unstaged and untracked paths (ignored files excluded), and the current branch."""
        from dulwich import porcelain

        st = porcelain.status(self._repo, untracked_files="all", optional_locks=False)

        def norm(paths: Any) -> list[str]:
            return sorted({os.fsdecode(p).replace(os.sep, "/") for p in paths})

        staged: set[str] = set()
        for paths in st.staged.values():
            staged.update(norm(paths))
        try:
            branch: str | None = self.branch()
        except GitError:
            branch = None
        return GitStatus(staged=sorted(staged), unstaged=norm(st.unstaged), untracked=norm(st.untracked), branch=branch)

    # ---- pull --------------------------------------------------------------------------------------

    def _merge_trees(self, base: bytes | None, ours: bytes, theirs: bytes) -> tuple[bytes, list[str]]:
        """File-level three-way merge of trees: (merged tree, conflicting paths)."""
        ours_changes = {p: new for p, (old, new) in self._diff(base, ours).items() if old != new}
        theirs_changes = {p: new for p, (old, new) in self._diff(base, theirs).items() if old != new}
        conflicts = sorted(
            p.decode("utf-8", "replace")
            for p, entry in theirs_changes.items()
            if p in ours_changes and ours_changes[p] != entry
        )
        if conflicts:
            return ours, conflicts
        apply = {tuple(p.split(b"/")): e for p, e in theirs_changes.items() if p not in ours_changes}
        new_objects: list[ShaFile] = []
        try:
            tree_id = self._build_tree(ours, apply, new_objects)
        except _PathConflict as exc:
            return ours, [exc.path]
        if tree_id is None:
            new_objects.append(_EMPTY_TREE)
            tree_id = _EMPTY_TREE.id
        self._store_objects(new_objects)
        return tree_id, []

    def pull(self) -> PullResult:
        """Fetch and integrate the remote branch: fast-forward, or a merge commit when both sides moved.

        A merge is file-level: it fails with :class:`ConflictError` (leaving the repository as it was) when
        both sides changed the same file differently, or a local edit would be overwritten. With no remote
        branch this only fetches.
        """
        branch = self.branch()
        remote = self.fetch()
        local = self.head()
        if remote is None or remote == local:
            return PullResult(0, branch, local)
        if local is None:
            self.advance(remote)
            return PullResult(len(self._ancestors(_hex(remote))), branch, remote)
        ahead, behind = self.ahead_behind(local, remote)
        if behind == 0:
            return PullResult(0, branch, local)
        if ahead == 0:
            self.advance(remote)
            return PullResult(behind, branch, remote)
        bases = find_merge_base(self._repo, [_hex(local), _hex(remote)])
        base_tree = self._tree_id(bases[0]) if bases else None
        tree_id, conflicts = self._merge_trees(base_tree, self._commit(local).tree, self._commit(remote).tree)
        if conflicts:
            raise ConflictError(
                f"merge conflict pulling {REMOTE_NAME}/{branch} into {branch}: both sides changed "
                f"{', '.join(conflicts)}; manual resolution required",
                hint="nothing was changed locally; resolve with git (merge or rebase onto the remote), then retry",
            )
        merge = self._make_commit(
            tree_id,
            [_hex(local), _hex(remote)],
            f"Merge remote-tracking branch '{REMOTE_NAME}/{branch}'",
            None,
        )
        self._store_objects([merge])
        self.advance(merge.id.decode("ascii"))
        return PullResult(behind, branch, merge.id.decode("ascii"))
