"""Making and opening repositories: :func:`init_repo`, :func:`clone_repo`, :func:`open_repo` and
:func:`init_bare` (a shared remote). The first three return a :class:`GitRepo`."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from dulwich.errors import NotGitRepository
from dulwich.repo import Repo

from ..errors import DatomError, GitError, InvalidArgumentError, NotFoundError
from .repo import GitRepo
from .settings import default_branch, global_identity
from .urls import is_url, local_remote_branch, normalize_remote, redact, split_credentials
from .values import REMOTE_NAME, GitCredentials


def init_repo(
    path: str | os.PathLike[str],
    remote_url: str | None,
    *,
    credentials: GitCredentials | None = None,
) -> GitRepo:
    """Create a new repository at ``path`` (which may exist, but must not already be a git repository).

    The branch is ``init.defaultBranch`` from the git config, else ``master``, or the branch the remote's
    HEAD names. The remote ``origin`` is set to ``remote_url`` with any embedded credentials stripped
    (they are kept in memory instead). A local identity (the global one, else ``datom <datom@noreply>``)
    and ``http.followRedirects = true`` are written.
    """
    root = Path(path)
    if (root / ".git").exists():
        raise InvalidArgumentError(
            f"{root} is already a git repository", hint="open it with open_repo() or pick another path"
        )
    if root.exists() and not root.is_dir():
        raise InvalidArgumentError(f"{root} exists and is not a directory", hint="pick another path")
    root.mkdir(parents=True, exist_ok=True)
    clean_url: str | None = None
    url_creds: GitCredentials | None = None
    if remote_url is not None:
        clean_url, url_creds = split_credentials(remote_url)
        clean_url = normalize_remote(clean_url)
    dulwich_repo = Repo.init(str(root), default_branch=default_branch().encode())
    repo = GitRepo(dulwich_repo, credentials=credentials or url_creds)
    _write_initial_config(dulwich_repo, clean_url)
    _follow_remote_head(repo, dulwich_repo)
    return repo


def clone_repo(remote_url: str, path: str | os.PathLike[str], *, credentials: GitCredentials | None = None) -> GitRepo:
    """Clone ``remote_url`` into ``path`` (absent or an empty directory) and check out its default branch.

    Sets the same local identity and config as :func:`init_repo`. Cloning an empty remote gives a repository
    on an unborn branch. Failures raise :class:`GitError` and leave nothing behind.
    """
    root = Path(path)
    existed = root.exists()
    if existed and (not root.is_dir() or any(root.iterdir())):
        raise InvalidArgumentError(
            f"cannot clone into {root}: it exists and is not an empty directory",
            hint="clone into a new path or an empty directory",
        )
    clean_url, url_creds = split_credentials(remote_url)
    clean_url = normalize_remote(clean_url)
    root.mkdir(parents=True, exist_ok=True)
    repo: GitRepo | None = None
    try:
        dulwich_repo = Repo.init(str(root), default_branch=default_branch().encode())
        repo = GitRepo(dulwich_repo, credentials=credentials or url_creds)
        _write_initial_config(dulwich_repo, clean_url)
        fetched, symrefs = repo.remote.fetch_refs(context="clone")
        refs = {name: sha for name, sha in fetched.items() if name.startswith(b"refs/heads/")}
        branch = _pick_clone_branch(refs, symrefs.get(b"HEAD"), f"refs/heads/{repo.branch()}".encode())
        dulwich_repo.refs.set_symbolic_ref(b"HEAD", branch)
        sha = refs.get(branch)
        if sha is not None:
            repo.advance(sha.decode("ascii"))
            repo.remote.track(repo.branch())
    except BaseException as exc:
        if repo is not None:
            repo.close()
        _remove_created(root, existed)
        if isinstance(exc, DatomError) or not isinstance(exc, Exception):
            raise
        raise GitError(
            f"git clone of {redact(clean_url)} failed: {redact(str(exc)) or type(exc).__name__}",
            hint="check that the remote URL exists and is reachable, and your git credentials",
        ) from exc
    return repo


def open_repo(path: str | os.PathLike[str], *, credentials: GitCredentials | None = None) -> GitRepo:
    """Open the git working clone at ``path`` (its root directory)."""
    try:
        dulwich_repo = Repo(str(path))
    except (NotGitRepository, FileNotFoundError, NotADirectoryError) as exc:
        raise NotFoundError(
            f"{path} is not a git repository",
            hint="pass the root of a datom data clone, or create one with clone()/init()",
        ) from exc
    if dulwich_repo.bare:
        dulwich_repo.close()
        raise NotFoundError(
            f"{path} is a bare git repository, not a working clone",
            hint="clone it with clone_repo(remote, path) and work in the clone",
        )
    return GitRepo(dulwich_repo, credentials=credentials)


def init_bare(path: str | os.PathLike[str], *, branch: str | None = None) -> Path:
    """Create an empty bare repository at ``path`` (a local shared remote); HEAD names ``branch``.

    ``branch`` defaults to ``init.defaultBranch`` from the git config, else ``master``. ``path`` may be an
    empty directory. Returns the absolute path.
    """
    root = Path(path).absolute()
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise InvalidArgumentError(
            f"cannot create a bare repository at {root}: it exists and is not an empty directory",
            hint="pick a new path for the remote",
        )
    root.mkdir(parents=True, exist_ok=True)
    Repo.init_bare(str(root), default_branch=(branch or default_branch()).encode()).close()
    return root


def _write_initial_config(dulwich_repo: Repo, remote_url: str | None) -> None:
    """The local identity (the global one, else datom's), ``http.followRedirects`` and the remote ``origin``."""
    cfg = dulwich_repo.get_config()
    ident = global_identity()
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


def _follow_remote_head(repo: GitRepo, dulwich_repo: Repo) -> None:
    """On a repo without commits, use the branch the remote's HEAD names (a bare repo made by plain git
    names ``master``, a server may name ``main``), so clones of the remote check out what we push."""
    if repo.remote_url is None or repo.head() is not None:
        return
    branch = local_remote_branch(repo.remote_url)
    if branch is None and is_url(repo.remote_url):
        target = repo.remote.head_target()
        if target.startswith(b"refs/heads/"):
            branch = target[len(b"refs/heads/") :].decode("utf-8")
    if branch and branch != repo.branch():
        dulwich_repo.refs.set_symbolic_ref(b"HEAD", b"refs/heads/" + branch.encode("utf-8"))


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


def _remove_created(root: Path, existed: bool) -> None:
    """Undo a failed clone: empty ``root`` again if it existed (empty), else remove it."""
    if not existed:
        shutil.rmtree(root, ignore_errors=True)
        return
    for child in root.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink()
