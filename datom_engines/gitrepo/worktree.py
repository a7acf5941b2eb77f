"""The working tree and index of a clone: moving them to a new commit, and their status."""

from __future__ import annotations

import contextlib
import os
import stat
from typing import Any

from dulwich.index import Index, TreeExtension, UntrackedExtension, index_entry_from_stat
from dulwich.objects import ZERO_SHA, Blob
from dulwich.repo import Repo

from ..errors import ConflictError
from .objects import Objects, TreeDiff
from .settings import RepoConfig
from .values import EXEC_MODE, FILE_MODE, GITLINK_MODE, LINK_MODE, Entry, hex_sha


class Worktree:
    """Files of a clone's working tree and its index, kept in step with the branch."""

    def __init__(self, repo: Repo, objects: Objects, config: RepoConfig | None = None) -> None:
        self._repo = repo
        self._objects = objects
        self._config = config or RepoConfig(repo)
        self._root = os.fsencode(repo.path)

    def _entry(self, rel: bytes) -> Entry | str | None:
        """The (mode, blob sha) of the working file at ``rel``; None if absent; ``"dir"`` if a directory."""
        full = os.path.join(self._root, rel)
        try:
            st = os.lstat(full)
        except (FileNotFoundError, NotADirectoryError):
            return None
        if stat.S_ISLNK(st.st_mode):
            return LINK_MODE, Blob.from_string(os.readlink(full)).id
        if stat.S_ISDIR(st.st_mode):
            return "dir"
        with open(full, "rb") as fh:
            data = fh.read()
        mode = EXEC_MODE if st.st_mode & 0o111 else FILE_MODE
        return mode, Blob.from_string(data).id

    def _conflicts(self, changes: TreeDiff, index: Index) -> list[str]:
        """Changed paths whose local state (index or file) matches neither side."""
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
            work = self._entry(rel)
            if work == "dir" or (work is not None and work[1] not in sides) or (work is None and None not in sides):
                conflicts.append(rel.decode("utf-8", "replace"))
                continue
            if new_e is not None:  # every parent directory must be a directory (or absent)
                parent = os.path.dirname(rel)
                while parent:
                    full = os.path.join(self._root, parent)
                    if os.path.lexists(full) and (os.path.islink(full) or not os.path.isdir(full)):
                        if parent not in changes:
                            conflicts.append(rel.decode("utf-8", "replace"))
                        break
                    parent = os.path.dirname(parent)
        return conflicts

    def _delete(self, rel: bytes, index: Index) -> None:
        full = os.path.join(self._root, rel)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(full)
        with contextlib.suppress(KeyError):
            del index[rel]
        parent = os.path.dirname(full)
        while parent != self._root:
            try:
                os.rmdir(parent)
            except OSError:
                break
            parent = os.path.dirname(parent)

    def _write(self, rel: bytes, entry: Entry, index: Index) -> None:
        mode, sha = entry
        if mode == GITLINK_MODE:
            return
        full = os.path.join(self._root, rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        blob = self._objects.blob(sha)
        tmp = full + b".datom-tmp~"
        if mode == LINK_MODE:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            os.symlink(blob.data, tmp)
        else:
            with open(tmp, "wb") as fh:
                fh.write(blob.data)
            os.chmod(tmp, 0o755 if mode == EXEC_MODE else 0o644)
        # the old file goes first, as git's checkout does: renaming onto an existing file makes ext4 write
        # the new one out at once (auto_da_alloc), the slowest step of a small write on such a disk
        with contextlib.suppress(FileNotFoundError):
            if not os.path.isdir(full):
                os.unlink(full)
        os.replace(tmp, full)
        index[rel] = index_entry_from_stat(os.lstat(full), sha, mode=mode)

    def advance(self, branch_ref: bytes, old: str | None, commit: str) -> None:
        """Move ``branch_ref`` from ``old`` to ``commit`` (a descendant) and update the changed paths.

        Only the files that differ between ``old`` and ``commit`` are written or deleted; every other file
        is left alone. If one of those paths has local changes (staged or not) that match neither side,
        :class:`ConflictError` names them and nothing is changed.
        """
        new = hex_sha(commit)
        diff = self._objects.diff(self._objects.tree_id(old), self._objects.commit(new).tree)
        changes = {p: (a, b) for p, (a, b) in diff.items() if a != b}
        index = self._repo.open_index(self._config.stack())
        conflicts = self._conflicts(changes, index)
        if conflicts:
            raise ConflictError(
                f"local changes in {self._repo.path} would be overwritten: {', '.join(conflicts)}",
                hint="commit, move or discard your edits to these files (or `git stash`), then pull again",
            )
        # Deletions first (a deleted file may make room for a directory), then writes.
        for rel, (_old_e, new_e) in sorted(changes.items()):
            if new_e is None:
                self._delete(rel, index)
        for rel, (_old_e, new_e) in sorted(changes.items()):
            if new_e is not None:
                self._write(rel, new_e, index)
        # The cached-tree and untracked-cache extensions would now be stale: drop them (git rebuilds them).
        exts = getattr(index, "_extensions", None)
        if isinstance(exts, list):
            exts[:] = [e for e in exts if not isinstance(e, TreeExtension | UntrackedExtension)]
        index.write()
        old_b = hex_sha(old) if old is not None else ZERO_SHA
        if not self._repo.refs.set_if_equals(branch_ref, old_b, new):
            raise ConflictError(f"{branch_ref.decode()} moved while advancing it", hint="retry")

    def status(self) -> tuple[list[str], list[str], list[str]]:
        """``(staged, unstaged, untracked)`` paths, ignored files excluded."""
        from dulwich import porcelain  # importing porcelain costs ~80 ms: only status needs it

        st = porcelain.status(self._repo, untracked_files="all", optional_locks=False)

        def norm(paths: Any) -> list[str]:
            return sorted({os.fsdecode(p).replace(os.sep, "/") for p in paths})

        staged: set[str] = set()
        for paths in st.staged.values():
            staged.update(norm(paths))
        return sorted(staged), norm(st.unstaged), norm(st.untracked)
