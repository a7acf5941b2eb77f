"""Reading a repository's objects: files of a commit, tree diffs, and commit ancestry."""

from __future__ import annotations

import stat
import threading
from collections import OrderedDict
from collections.abc import Iterator

from dulwich.diff_tree import tree_changes
from dulwich.object_store import BaseObjectStore
from dulwich.objects import Blob, Commit, ShaFile, Tag, Tree
from dulwich.repo import Repo

from ..errors import InvalidArgumentError, NotFoundError
from .urls import redact
from .values import DIR_MODE, GITLINK_MODE, CommitInfo, Entry, GitIdentity, TagInfo, hex_sha

TreeDiff = dict[bytes, tuple[Entry | None, Entry | None]]
"""Per-file changes between two trees: path -> (old entry, new entry)."""


def split_path(path: str) -> tuple[bytes, ...]:
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


def tag_from_object(name: str, obj: Tag, commit: bytes | None = None) -> TagInfo:
    """A :class:`TagInfo` of an annotated tag object (``commit``: its peeled target, default its object)."""
    return TagInfo(
        name=name,
        sha=obj.id.decode("ascii"),
        commit=(commit or obj.object[1]).decode("ascii"),
        tagger=GitIdentity.from_bytes(obj.tagger or b""),
        time=int(obj.tag_time or 0),
        message=(obj.message or b"").decode("utf-8", "replace"),
        signed=obj.signature is not None,
        raw=obj.as_raw_string(),
    )


def parse_tag_object(name: str, raw: bytes) -> TagInfo:
    """Parse a raw annotated tag object (as mirrored to a store) without a repository."""
    try:
        obj = Tag.from_string(raw)
    except Exception as exc:  # dulwich raises several parse errors
        raise InvalidArgumentError(f"tag {name!r}: not a git tag object ({exc})") from None
    return tag_from_object(name, obj)


class ObjectCache:
    """Parsed git objects by id, the most recently used kept in memory, over a dulwich object store.

    A git object never changes (its id is the hash of its bytes), so a parsed commit, tree or blob can be
    served from memory for as long as the process likes; a write reads the same few trees and files
    several times (staging, the commit, the push, the working tree, the mirror), each a loose object
    file to open, inflate and parse otherwise. Large blobs are not kept. Objects must not be modified
    (nothing here does: new trees and commits are built as new objects). ``cache[sha]`` reads,
    :meth:`add` writes through to the store.
    """

    def __init__(self, store: BaseObjectStore, max_entries: int = 4096, max_blob: int = 2**20) -> None:
        self.store = store
        self._max_entries = max_entries
        self._max_blob = max_blob
        self._objects: OrderedDict[bytes, ShaFile] = OrderedDict()
        self._lock = threading.Lock()

    def __getitem__(self, sha: bytes) -> ShaFile:
        with self._lock:
            obj = self._objects.get(sha)
            if obj is not None:
                self._objects.move_to_end(sha)
                return obj
        obj = self.store[sha]
        self._keep(obj)
        return obj

    def __contains__(self, sha: bytes) -> bool:
        with self._lock:
            if sha in self._objects:
                return True
        return sha in self.store

    def add(self, obj: ShaFile) -> None:
        """Add ``obj`` to the store (dulwich freshens an object it has as a loose file), and keep it."""
        with self._lock:
            known = obj.id in self._objects
        if not known:
            self.store.add_object(obj)
        self._keep(obj)

    def _keep(self, obj: ShaFile) -> None:
        if isinstance(obj, Blob) and len(obj.data) > self._max_blob:
            return
        with self._lock:
            self._objects[obj.id] = obj
            self._objects.move_to_end(obj.id)
            while len(self._objects) > self._max_entries:
                self._objects.popitem(last=False)


class Objects:
    """Read-only access to the commits, trees and blobs of one repository (through an :class:`ObjectCache`)."""

    def __init__(self, repo: Repo) -> None:
        self._repo = repo
        self.store = repo.object_store
        self.cache = ObjectCache(self.store)

    def _get(self, sha: str | bytes, what: str) -> ShaFile:
        try:
            return self.cache[hex_sha(sha)]
        except (KeyError, ValueError) as exc:
            raise NotFoundError(f"{what} not found in {self._repo.path}") from exc

    def commit(self, sha: str | bytes) -> Commit:
        """The commit object ``sha``; :class:`NotFoundError` if it is not in the repository."""
        obj = self._get(sha, f"commit {redact(str(sha))}")
        if not isinstance(obj, Commit):
            raise InvalidArgumentError(f"{sha!s} is not a commit")
        return obj

    def commit_info(self, sha: str | bytes) -> CommitInfo:
        """Parents, author, time and message of commit ``sha``."""
        obj = self.commit(sha)
        return CommitInfo(
            sha=obj.id.decode("ascii"),
            parents=tuple(p.decode("ascii") for p in obj.parents),
            author=GitIdentity.from_bytes(obj.author or b""),
            time=int(obj.commit_time or 0),
            message=(obj.message or b"").decode("utf-8", "replace"),
        )

    def has_object(self, sha: str | bytes) -> bool:
        """True when the object ``sha`` is in this repository."""
        try:
            return hex_sha(sha) in self.cache
        except ValueError:
            return False

    def tag(self, name: str, sha: str | bytes) -> TagInfo:
        """The annotated tag object ``sha`` (named ``name``); :class:`NotFoundError` if it is not one."""
        obj = self._get(sha, f"tag {name!r} ({redact(str(sha))})")
        if not isinstance(obj, Tag):
            raise InvalidArgumentError(f"tag {name!r} is a lightweight tag, not an annotated one")
        target = obj.object[1]
        while isinstance(peeled := self.cache[target], Tag):  # a tag of a tag: follow it to the commit
            target = peeled.object[1]
        return tag_from_object(name, obj, target)

    def tree_id(self, commit: str | bytes | None) -> bytes | None:
        """The root tree of ``commit`` (None for None)."""
        return None if commit is None else self.commit(commit).tree

    def tree(self, tree_id: bytes) -> Tree:
        """The tree object ``tree_id``."""
        tree = self.cache[tree_id]
        assert isinstance(tree, Tree)
        return tree

    def blob(self, sha: bytes) -> Blob:
        """The blob object ``sha``."""
        blob = self.cache[sha]
        assert isinstance(blob, Blob)
        return blob

    def lookup(self, tree_id: bytes | None, parts: tuple[bytes, ...]) -> Entry | None:
        """The (mode, sha) at ``parts`` below ``tree_id``; None if absent."""
        if tree_id is None:
            return None
        mode, sha = DIR_MODE, tree_id
        for part in parts:
            if not stat.S_ISDIR(mode):
                return None
            try:
                mode, sha = self.tree(sha)[part]
            except KeyError:
                return None
        return mode, sha

    def read_file(self, commit: str | None, path: str) -> bytes | None:
        """The bytes of ``path`` in ``commit`` (None if absent, a directory, or ``commit`` is None)."""
        entry = self.lookup(self.tree_id(commit), split_path(path))
        if entry is None or stat.S_ISDIR(entry[0]) or entry[0] == GITLINK_MODE:
            return None
        return self.blob(entry[1]).data

    def list_tree(self, commit: str | None, dir: str = "") -> list[tuple[str, bool]]:
        """``(name, is_dir)`` for each entry of directory ``dir`` in ``commit``, sorted by name."""
        tree_id = self.tree_id(commit)
        entry = (DIR_MODE, tree_id) if not dir.strip("/") else self.lookup(tree_id, split_path(dir.strip("/")))
        if entry is None or entry[1] is None or not stat.S_ISDIR(entry[0]):
            return []
        return sorted((item.path.decode("utf-8"), stat.S_ISDIR(item.mode)) for item in self.tree(entry[1]).iteritems())

    def diff(self, tree_a: bytes | None, tree_b: bytes | None) -> TreeDiff:
        """Per-file changes between two trees."""
        out: TreeDiff = {}
        for change in tree_changes(self.cache, tree_a, tree_b):  # type: ignore[arg-type]
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
        diff = self.diff(self.tree_id(a), self.tree_id(b))
        return sorted(p.decode("utf-8") for p, (old, new) in diff.items() if old != new)

    def file_versions(self, commit: str, path: str) -> Iterator[bytes]:
        """Each distinct content ``path`` had in the history of ``commit``, newest first."""
        parts = split_path(path)
        seen: set[bytes] = set()
        for entry in self._repo.get_walker(include=[hex_sha(commit)], paths=[path.encode("utf-8")]):
            found = self.lookup(entry.commit.tree, parts)
            if found is None or stat.S_ISDIR(found[0]) or found[1] in seen:
                continue
            seen.add(found[1])
            yield self.blob(found[1]).data

    def ancestors(self, sha: bytes) -> set[bytes]:
        """Every commit reachable from ``sha``, itself included."""
        seen: set[bytes] = set()
        stack = [sha]
        while stack:
            cur = stack.pop()
            if cur in seen:
                continue
            seen.add(cur)
            obj = self.cache[cur]
            assert isinstance(obj, Commit)
            stack.extend(obj.parents)
        return seen

    def is_ancestor(self, a: str, b: str) -> bool:
        """True when commit ``a`` is reachable from commit ``b`` (a commit is its own ancestor)."""
        target, start = hex_sha(a), hex_sha(b)
        if target == start:
            return True
        self.commit(start)
        if target not in self.cache:  # every ancestor of a local commit is local (no shallow clones here)
            return False
        seen: set[bytes] = set()
        queue = [start]
        while queue:  # breadth-first: the usual case (a is a near parent) ends immediately
            nxt: list[bytes] = []
            for cur in queue:
                if cur in seen:
                    continue
                seen.add(cur)
                obj = self.cache[cur]
                assert isinstance(obj, Commit)
                if target in obj.parents:
                    return True
                nxt.extend(obj.parents)
            queue = nxt
        return False

    def ahead_behind(self, local: str | None, remote: str | None) -> tuple[int, int]:
        """``(ahead, behind)``: commits only in ``local``'s history, and only in ``remote``'s."""
        left = self.ancestors(hex_sha(local)) if local else set()
        right = self.ancestors(hex_sha(remote)) if remote else set()
        return len(left - right), len(right - left)
