"""The :class:`GitRepo` handle: one working clone with one remote, over the plumbing modules of this package."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import weakref
from collections.abc import Iterator, Mapping
from pathlib import Path

from dulwich.config import StackedConfig
from dulwich.errors import NotGitRepository
from dulwich.graph import find_merge_base
from dulwich.repo import Repo

from ..core.snapshots import SignatureStatus
from ..errors import ConflictError, DatomError, GitError, InvalidArgumentError, NotFoundError
from . import building, signing
from .objects import Objects
from .remote import Remote
from .settings import RepoConfig, config_get, default_branch, global_identity, identity_for
from .urls import is_url, local_remote_branch, normalize_remote, redact, split_credentials
from .values import (
    DEFAULT_IDENTITY_EMAIL,
    DEFAULT_IDENTITY_NAME,
    REMOTE_NAME,
    CommitInfo,
    GitCredentials,
    GitIdentity,
    GitStatus,
    PullResult,
    TagInfo,
    hex_sha,
    str_sha,
)
from .worktree import Worktree

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


class GitRepo:
    """A git working clone with one remote (``origin``), driven through dulwich plumbing.

    Create one with :meth:`init`, :meth:`clone` or :meth:`open`. Commits are hex strings. Repository paths are
    ``/``-separated and relative to the repository root. Reading objects, building commits, the remote and the
    working tree each live in their own module; this class ties them to one repository and its branch.
    """

    def __init__(self, repo: Repo, *, credentials: GitCredentials | None = None) -> None:
        """Wrap an open dulwich :class:`Repo` (use :meth:`init`, :meth:`clone` or :meth:`open` instead)."""
        self._repo = repo
        self._config = RepoConfig(repo)
        self.objects = Objects(repo)
        self.remote = Remote(repo, credentials, self.objects.cache, self._config)
        self.worktree = Worktree(repo, self.objects, self._config)
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

        The branch is ``init.defaultBranch`` from the git config, else ``master``, or the branch the remote's
        HEAD names. The remote ``origin`` is set to ``remote_url`` with any embedded credentials stripped
        (they are kept in memory instead). A local identity (the global one, else ``datom <datom@noreply>``)
        and ``http.followRedirects = true`` are written.
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
            clean_url, url_creds = split_credentials(remote_url)
            clean_url = normalize_remote(clean_url)
        repo = Repo.init(str(root), default_branch=default_branch().encode())
        self = cls(repo, credentials=credentials or url_creds)
        self._write_initial_config(clean_url)
        self._follow_remote_head()
        return self

    def _follow_remote_head(self) -> None:
        """On a repo without commits, use the branch the remote's HEAD names (a bare repo made by plain git
        names ``master``, a server may name ``main``), so clones of the remote check out what we push."""
        if self.remote_url is None or self.head() is not None:
            return
        branch = local_remote_branch(self.remote_url)
        if branch is None and is_url(self.remote_url):
            target = self.remote.head_target()
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
        clean_url, url_creds = split_credentials(remote_url)
        clean_url = normalize_remote(clean_url)
        root.mkdir(parents=True, exist_ok=True)
        self: GitRepo | None = None
        try:
            repo = Repo.init(str(root), default_branch=default_branch().encode())
            self = cls(repo, credentials=credentials or url_creds)
            self._write_initial_config(clean_url)
            fetched, symrefs = self.remote.fetch_refs(context="clone")
            refs = {name: sha for name, sha in fetched.items() if name.startswith(b"refs/heads/")}
            branch = _pick_clone_branch(refs, symrefs.get(b"HEAD"), self._branch_ref())
            repo.refs.set_symbolic_ref(b"HEAD", branch)
            sha = refs.get(branch)
            if sha is not None:
                self.advance(sha.decode("ascii"))
                self._set_upstream_if_missing()
        except BaseException as exc:
            if self is not None:
                self.close()
            _remove_created(root, existed)
            if isinstance(exc, DatomError) or not isinstance(exc, Exception):
                raise
            raise GitError(
                f"git clone of {redact(clean_url)} failed: {redact(str(exc)) or type(exc).__name__}",
                hint="check that the remote URL exists and is reachable, and your git credentials",
            ) from exc
        return self

    @staticmethod
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
        self.remote.close()
        self._repo.close()

    def __enter__(self) -> GitRepo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"GitRepo({self.path!s}, remote={self.remote_url!r})"

    def _write_initial_config(self, remote_url: str | None) -> None:
        cfg = self._repo.get_config()
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

    # ---- basic properties --------------------------------------------------------------------------

    @property
    def path(self) -> Path:
        """The working-tree root."""
        return Path(self._repo.path)

    @property
    def remote_url(self) -> str | None:
        """The URL of the first configured remote (credentials never included), or None."""
        return self.remote.url

    @property
    def credentials(self) -> GitCredentials | None:
        """The in-memory credentials used for HTTP(S) remotes."""
        return self.remote.credentials

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
        return str_sha(sha)

    def has_commits(self) -> bool:
        """True when HEAD points to a commit."""
        return self.head() is not None

    def remote_head(self) -> str | None:
        """The last fetched remote head (``refs/remotes/origin/<branch>``), without contacting the remote."""
        try:
            return str_sha(self._repo.refs[self._tracking_ref()])
        except KeyError:
            return None

    def config(self) -> StackedConfig:
        """The repository's git configuration stack (local, then the user's and the system's), for reading."""
        return self._config.stack()

    def identity(self) -> GitIdentity | None:
        """The author identity as git finds it: ``GIT_AUTHOR_NAME`` / ``GIT_AUTHOR_EMAIL``, else
        ``author.*``, else ``user.*`` from the repository config stack (local, then global)."""
        return identity_for(self._config.stack(), "author")

    def committer_identity(self) -> GitIdentity | None:
        """The committer identity: ``GIT_COMMITTER_NAME`` / ``GIT_COMMITTER_EMAIL``, else ``committer.*``,
        else ``user.*`` (as git does)."""
        return identity_for(self._config.stack(), "committer")

    # ---- reading objects (see objects.py) ---------------------------------------------------------

    def read_file(self, commit: str | None, path: str) -> bytes | None:
        """The bytes of ``path`` in ``commit`` (None if absent, a directory, or ``commit`` is None)."""
        return self.objects.read_file(commit, path)

    def list_tree(self, commit: str | None, dir: str = "") -> list[tuple[str, bool]]:
        """``(name, is_dir)`` for each entry of directory ``dir`` in ``commit``, sorted by name."""
        return self.objects.list_tree(commit, dir)

    def changed_paths(self, a: str | None, b: str | None) -> list[str]:
        """Sorted paths of the files that differ between commits ``a`` and ``b`` (None = empty tree)."""
        return self.objects.changed_paths(a, b)

    def file_versions(self, commit: str, path: str) -> Iterator[bytes]:
        """Each distinct content ``path`` had in the history of ``commit``, newest first."""
        return self.objects.file_versions(commit, path)

    def commit_info(self, sha: str) -> CommitInfo:
        """Parents (first parent first), author, time and message of a commit."""
        return self.objects.commit_info(sha)

    def has_commit(self, sha: str) -> bool:
        """True when ``sha`` is an object of this repository (a commit fetched or made here)."""
        return self.objects.has_object(sha)

    def is_ancestor(self, a: str, b: str) -> bool:
        """True when commit ``a`` is reachable from commit ``b`` (a commit is its own ancestor)."""
        return self.objects.is_ancestor(a, b)

    def ahead_behind(self, local: str | None, remote: str | None) -> tuple[int, int]:
        """``(ahead, behind)``: commits only in ``local``'s history, and only in ``remote``'s."""
        return self.objects.ahead_behind(local, remote)

    # ---- building commits (see building.py) -------------------------------------------------------

    def _committer(self, author: GitIdentity | None) -> GitIdentity:
        """``GIT_COMMITTER_*`` when set; else an explicit author other than this repo's commits as themselves;
        else the committer identity git would use."""
        env_set = any(os.environ.get(f"GIT_COMMITTER_{part}") for part in ("NAME", "EMAIL"))
        if not env_set and author is not None and author != self.identity():
            return author
        return self.committer_identity() or self._ident(author)

    def _ident(self, author: GitIdentity | None) -> GitIdentity:
        return author or self.identity() or GitIdentity(DEFAULT_IDENTITY_NAME, DEFAULT_IDENTITY_EMAIL)

    def commit_files(
        self,
        parent: str | None,
        files: Mapping[str, bytes | None],
        message: str,
        author: GitIdentity | None = None,
    ) -> str:
        """Build a commit whose tree is ``parent``'s tree with ``files`` replaced (None deletes a path).

        Files get mode 100644; intermediate directories are created and emptied ones dropped. The author
        is ``author``, else the repository identity (:meth:`identity`), else ``datom <datom@noreply>``; the
        committer is ``GIT_COMMITTER_NAME``/``_EMAIL`` when set, else an explicit ``author`` other than the
        repository's own, else :meth:`committer_identity`; dated now in UTC.
        No ref, index or working-tree file is touched: publish the commit with :meth:`push` and
        :meth:`advance`. If the resulting tree equals ``parent``'s, nothing is committed and ``parent`` is
        returned.
        """
        return building.commit_files(self.objects, parent, files, message, self._ident(author), self._committer(author))

    # ---- remote operations (see remote.py) --------------------------------------------------------

    def fetch(self) -> str | None:
        """Fetch ``origin``; update ``refs/remotes/origin/*``; return the remote head of the current branch.

        Returns None when the remote has no such branch (for example an empty remote).
        """
        branch_ref = self._branch_ref()
        refs, _ = self.remote.fetch_refs()
        return str_sha(refs.get(branch_ref))

    def remote_moved_from(self, commit: str) -> bool:
        """True unless the remote branch is known to still be at ``commit`` without fetching: a remote on
        this machine is read directly (cheap); for others this is always True (fetch to find out)."""
        known, sha = self.remote.local_ref(self._branch_ref())
        return not known or str_sha(sha) != commit

    def push(self, commit: str, *, expected_remote: str | None) -> bool:
        """Push ``commit`` to the remote branch ``refs/heads/<current branch>`` as a compare-and-swap.

        ``expected_remote`` is the remote head the commit was built on (None: the branch must not exist yet).
        Returns True when the remote branch now points to ``commit``; False when the push lost a race (the
        remote branch is no longer at ``expected_remote``, or ``commit`` does not descend from it): fetch,
        rebuild on the new head and push again. Any other failure raises :class:`GitError`.
        """
        branch = self.branch()
        new = hex_sha(commit)
        self.objects.commit(new)
        if expected_remote is not None and not self.is_ancestor(expected_remote, commit):
            return False
        expected = None if expected_remote is None else hex_sha(expected_remote)
        if not self.remote.swap_ref(f"refs/heads/{branch}".encode(), new, expected):
            return False
        self._repo.refs.set_if_equals(self._tracking_ref(branch), None, new)
        self._set_upstream_if_missing(branch)
        return True

    def _set_upstream_if_missing(self, branch: str | None = None) -> None:
        branch = branch or self.branch()
        section = (b"branch", branch.encode())
        if config_get(self._config.local(), section, b"remote") is None:
            cfg = self._repo.get_config()
            cfg.set(section, b"remote", REMOTE_NAME.encode())
            cfg.set(section, b"merge", f"refs/heads/{branch}".encode())
            cfg.write_to_path()

    # ---- tags (objects.tag, building.make_tag, remote.swap_ref, signing.py) ------------------------

    def tags(self) -> dict[str, str]:
        """Local tags, ``name -> tag object id``: the remote's as of the last fetch, plus local-only ones."""
        return {
            name.decode("utf-8", "replace"): sha.decode("ascii")
            for name, sha in self._repo.refs.as_dict(b"refs/tags").items()
        }

    def remote_tags(self) -> dict[str, str]:
        """The remote's tags as of the last :meth:`fetch` (``name -> tag object id``)."""
        prefix = len(b"refs/tags/")
        return {n[prefix:].decode("utf-8", "replace"): s.decode("ascii") for n, s in self.remote.last_tags.items()}

    def tag_info(self, name: str, sha: str | None = None) -> TagInfo:
        """The annotated tag ``name`` (its local ref, or the object ``sha``)."""
        if sha is None:
            sha = self.tags().get(name)
            if sha is None:
                raise NotFoundError(f"no tag {name!r} in {self.path}", hint="check the tag name")
        return self.objects.tag(name, sha)

    def signing_wanted(self) -> bool:
        """``tag.gpgSign`` of the repository's config stack."""
        return signing.signing_wanted(self._config.stack())

    def create_tag(self, name: str, commit: str, message: str, *, sign: bool | None = None) -> str:
        """Store an annotated tag object ``name`` -> ``commit`` by the repository identity; return its id.

        ``sign=None`` signs when ``tag.gpgSign`` is set; signing uses ``user.signingKey`` and
        ``gpg.format`` as git does. No ref is set: :meth:`push_tag` publishes it.
        """
        config = self._config.stack()
        wanted = signing.signing_wanted(config) if sign is None else sign
        signer = (lambda payload: signing.sign(payload, config)) if wanted else None
        return building.make_tag(self.objects, name, commit, message, self._ident(None), signer)

    def push_tag(self, name: str, sha: str) -> bool:
        """Create ``refs/tags/<name>`` on the remote, only if no tag of that name exists there.

        True when the remote tag now is ``sha`` (the local ref is then set too); False when the name is
        taken (by another clone that got there first). Other failures raise :class:`GitError`.
        """
        ref = f"refs/tags/{name}".encode()
        if not self.remote.swap_ref(ref, hex_sha(sha), None):
            return False
        self._repo.refs.set_if_equals(ref, None, hex_sha(sha))
        self.remote.last_tags[ref] = hex_sha(sha)
        return True

    def verify_tag(self, raw: bytes) -> SignatureStatus:
        """The signature status of a raw tag object, checked with this repository's git config."""
        return signing.verify_tag_object(raw, self._config.stack())

    # ---- working tree (see worktree.py) -----------------------------------------------------------

    def advance(self, commit: str) -> None:
        """Move the current branch to ``commit`` and update the changed paths of the working tree and index.

        ``commit`` must descend from HEAD (or HEAD must be unborn). Only the files that differ between the old
        HEAD and ``commit`` are written or deleted; every other file (tracked, untracked or ignored) is left
        alone. If one of those paths has local changes (staged or not) that match neither side,
        :class:`ConflictError` names them and nothing is changed.
        """
        self.objects.commit(commit)
        branch_ref = self._branch_ref()
        old = self.head()
        if old == commit:
            return
        if old is not None and not self.is_ancestor(old, commit):
            raise ConflictError(
                f"cannot advance {self.branch()} to {commit[:12]}: it does not descend from HEAD {old[:12]}",
                hint="pull() to merge the remote changes first",
            )
        self.worktree.advance(branch_ref, old, commit)

    def status(self) -> GitStatus:
        """Staged, unstaged and untracked paths (ignored files excluded), and the current branch."""
        staged, unstaged, untracked = self.worktree.status()
        try:
            branch: str | None = self.branch()
        except GitError:
            branch = None
        return GitStatus(staged=staged, unstaged=unstaged, untracked=untracked, branch=branch)

    # ---- pull --------------------------------------------------------------------------------------

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
            return PullResult(len(self.objects.ancestors(hex_sha(remote))), branch, remote)
        ahead, behind = self.ahead_behind(local, remote)
        if behind == 0:
            return PullResult(0, branch, local)
        if ahead == 0:
            self.advance(remote)
            return PullResult(behind, branch, remote)
        bases = find_merge_base(self._repo, [hex_sha(local), hex_sha(remote)])
        base_tree = self.objects.tree_id(bases[0]) if bases else None
        tree_id, conflicts = building.merge_trees(
            self.objects, base_tree, self.objects.commit(local).tree, self.objects.commit(remote).tree
        )
        if conflicts:
            raise ConflictError(
                f"merge conflict pulling {REMOTE_NAME}/{branch} into {branch}: both sides changed "
                f"{', '.join(conflicts)}; manual resolution required",
                hint="nothing was changed locally; resolve with git (merge or rebase onto the remote), then retry",
            )
        merge = building.make_commit(
            tree_id,
            [hex_sha(local), hex_sha(remote)],
            f"Merge remote-tracking branch '{REMOTE_NAME}/{branch}'",
            self._ident(None),
            self._committer(None),
        )
        building.store_objects(self.objects, [merge])
        self.advance(merge.id.decode("ascii"))
        return PullResult(behind, branch, merge.id.decode("ascii"))
