"""The :class:`GitRepo` handle: one working clone with one remote, over the plumbing modules of this package."""

from __future__ import annotations

import atexit
import contextlib
import weakref
from collections.abc import Mapping
from pathlib import Path

from dulwich.config import StackedConfig
from dulwich.graph import find_merge_base
from dulwich.repo import Repo

from ..errors import ConflictError, GitError
from . import building
from .objects import Objects
from .remote import Remote
from .settings import RepoConfig, author_of, committer_of, identity_for
from .tags import GitTags
from .values import REMOTE_NAME, GitCredentials, GitIdentity, GitStatus, PullResult, hex_sha, str_sha
from .worktree import Worktree

_OPEN_REPOS: weakref.WeakSet[GitRepo] = weakref.WeakSet()


@atexit.register
def _close_open_repos() -> None:
    """Close repositories still open at exit (dulwich's finalizers complain during interpreter teardown)."""
    for repo in list(_OPEN_REPOS):
        with contextlib.suppress(Exception):
            repo.close()


class GitRepo:
    """A git working clone with one remote (``origin``), driven through dulwich plumbing.

    Make one with :func:`~.create.init_repo`, :func:`~.create.clone_repo` or :func:`~.create.open_repo`.
    Commits are hex strings. Repository paths are ``/``-separated and relative to the repository root.
    This class is the porcelain of one clone and its branch: building commits, fetch / push / pull and moving
    the branch. Its parts are attributes: :attr:`objects` reads history (files, trees, commits, ancestry),
    :attr:`tags` the annotated tags, :attr:`remote` the transport and :attr:`worktree` the working tree.
    """

    def __init__(self, repo: Repo, *, credentials: GitCredentials | None = None) -> None:
        """Wrap an open dulwich :class:`Repo` (use the functions of :mod:`.create` instead)."""
        self._repo = repo
        self._config = RepoConfig(repo)
        #: reading history: ``read_file``, ``list_tree``, ``changed_paths``, ``file_versions``,
        #: ``commit_info``, ``has_object``, ``is_ancestor``, ``ahead_behind``
        self.objects = Objects(repo)
        self.remote = Remote(repo, credentials, self.objects.cache, self._config)
        self.worktree = Worktree(repo, self.objects, self._config)
        self.tags = GitTags(repo, self.objects, self.remote, self._config)
        _OPEN_REPOS.add(self)

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

    # ---- building commits (see building.py) -------------------------------------------------------

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
        repository's own, else the committer identity git would use; dated now in UTC.
        No ref, index or working-tree file is touched: publish the commit with :meth:`push` and
        :meth:`advance`. If the resulting tree equals ``parent``'s, nothing is committed and ``parent`` is
        returned.
        """
        config = self._config.stack()
        return building.commit_files(
            self.objects, parent, files, message, author_of(config, author), committer_of(config, author)
        )

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
        if expected_remote is not None and not self.objects.is_ancestor(expected_remote, commit):
            return False
        expected = None if expected_remote is None else hex_sha(expected_remote)
        if not self.remote.swap_ref(f"refs/heads/{branch}".encode(), new, expected):
            return False
        self._repo.refs.set_if_equals(self._tracking_ref(branch), None, new)
        self.remote.track(branch)
        return True

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
        if old is not None and not self.objects.is_ancestor(old, commit):
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
        ahead, behind = self.objects.ahead_behind(local, remote)
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
            author_of(self._config.stack()),
            committer_of(self._config.stack()),
        )
        building.store_objects(self.objects, [merge])
        self.advance(merge.id.decode("ascii"))
        return PullResult(behind, branch, merge.id.decode("ascii"))
