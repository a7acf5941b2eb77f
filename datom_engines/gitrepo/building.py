"""Building trees and commits straight into the object store (no ref, index or working tree is touched)."""

from __future__ import annotations

import stat
import time
from collections.abc import Callable, Mapping

from dulwich.objects import Blob, Commit, ShaFile, Tag, Tree

from ..errors import InvalidArgumentError
from .objects import Objects, TreeDiff, split_path
from .values import DIR_MODE, FILE_MODE, Entry, GitIdentity, hex_sha

EMPTY_TREE = Tree()

Changes = Mapping[tuple[bytes, ...], Entry | None]
"""Path components -> new entry (None deletes the path)."""


class PathConflict(Exception):
    """A path is a file on one side and a directory on the other."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(path)


def build_tree(
    objects: Objects, tree_id: bytes | None, changes: Changes, new_objects: list[ShaFile], prefix: str = ""
) -> bytes | None:
    """Apply ``changes`` below ``tree_id``, collecting new trees in ``new_objects``; None if it ends empty."""
    entries: dict[bytes, Entry] = {}
    if tree_id is not None:
        for item in objects.tree(tree_id).iteritems():
            entries[item.path] = (item.mode, item.sha)
    original = dict(entries)
    leaves: dict[bytes, Entry | None] = {}
    subdirs: dict[bytes, dict[tuple[bytes, ...], Entry | None]] = {}
    for parts, value in changes.items():
        if len(parts) == 1:
            leaves[parts[0]] = value
        else:
            subdirs.setdefault(parts[0], {})[parts[1:]] = value

    def conflict(name: bytes) -> PathConflict:
        return PathConflict(prefix + name.decode("utf-8"))

    # 1. deletions, 2. subdirectories, 3. file writes: a file may replace a directory emptied in step 2
    for name, value in leaves.items():
        if value is None:
            old = entries.get(name)
            if old is not None and stat.S_ISDIR(old[0]):
                raise conflict(name)
            entries.pop(name, None)
    for name, sub in subdirs.items():
        old = entries.get(name)
        if old is not None and not stat.S_ISDIR(old[0]):
            raise conflict(name)
        sub_prefix = prefix + name.decode("utf-8") + "/"
        new_id = build_tree(objects, None if old is None else old[1], sub, new_objects, sub_prefix)
        if new_id is None:
            entries.pop(name, None)
        else:
            entries[name] = (DIR_MODE, new_id)
    for name, value in leaves.items():
        if value is not None:
            old = entries.get(name)
            if old is not None and stat.S_ISDIR(old[0]):
                raise conflict(name)
            entries[name] = value
    if not entries:
        return None
    if tree_id is not None and entries == original:
        return tree_id
    tree = Tree()
    for name, (mode, sha) in entries.items():
        tree.add(name, mode, sha)
    new_objects.append(tree)
    return tree.id


def store_objects(objects: Objects, new_objects: list[ShaFile]) -> None:
    """Add the objects that are not in the store yet."""
    for obj in new_objects:
        objects.cache.add(obj)


def make_commit(
    tree_id: bytes, parents: list[bytes], message: str, ident: GitIdentity, committer: GitIdentity | None = None
) -> Commit:
    """A commit object by ``ident`` (the author; also the committer unless given), dated now in UTC."""
    now = int(time.time())
    commit = Commit()
    commit.tree = tree_id
    commit.parents = parents
    commit.author = ident.to_bytes()
    commit.committer = (committer or ident).to_bytes()
    commit.author_time = commit.commit_time = now
    commit.author_timezone = commit.commit_timezone = 0
    commit.encoding = None
    commit.message = (message if message.endswith("\n") else message + "\n").encode("utf-8")
    return commit


def make_tag(
    objects: Objects,
    name: str,
    commit: str,
    message: str,
    ident: GitIdentity,
    signer: Callable[[bytes], bytes] | None = None,
) -> str:
    """Store an annotated tag object ``name`` -> ``commit`` by ``ident``, dated now in UTC; return its id.

    ``signer`` turns the tag's bytes into an armored detached signature (git's ``tag -s``). No ref is
    set: publish the tag with a create-only push.
    """
    objects.commit(commit)
    tag = Tag()
    tag.name = name.encode("utf-8")
    tag.object = (Commit, hex_sha(commit))
    tag.tagger = ident.to_bytes()
    tag.tag_time = int(time.time())
    tag.tag_timezone = 0
    tag.message = (message if message.endswith("\n") else message + "\n").encode("utf-8")
    if signer is not None:
        tag.signature = signer(tag.as_raw_string())
    store_objects(objects, [tag])
    return tag.id.decode("ascii")


def _tree_or_empty(tree_id: bytes | None, new_objects: list[ShaFile]) -> bytes:
    if tree_id is not None:
        return tree_id
    new_objects.append(EMPTY_TREE)
    return EMPTY_TREE.id


def commit_files(
    objects: Objects,
    parent: str | None,
    files: Mapping[str, bytes | None],
    message: str,
    ident: GitIdentity,
    committer: GitIdentity | None = None,
) -> str:
    """A commit whose tree is ``parent``'s with ``files`` replaced (None deletes); ``parent`` if nothing changed."""
    parent_tree = objects.tree_id(parent)
    new_objects: list[ShaFile] = []
    changes: dict[tuple[bytes, ...], Entry | None] = {}
    for path, data in files.items():
        parts = split_path(path)
        if data is None:
            changes[parts] = None
        else:
            if not isinstance(data, bytes | bytearray | memoryview):
                raise InvalidArgumentError(f"content of {path!r} must be bytes or None, not {type(data)!r}")
            blob = Blob.from_string(bytes(data))
            new_objects.append(blob)
            changes[parts] = (FILE_MODE, blob.id)
    try:
        tree_id = _tree_or_empty(build_tree(objects, parent_tree, changes, new_objects), new_objects)
    except PathConflict as exc:
        raise InvalidArgumentError(
            f"path {exc.path!r} is a file on one side and a directory on the other",
            hint="delete the file (or every file of the directory) explicitly in the same commit",
        ) from exc
    if parent is not None and tree_id == parent_tree:
        return parent
    commit = make_commit(tree_id, [] if parent is None else [hex_sha(parent)], message, ident, committer)
    new_objects.append(commit)
    store_objects(objects, new_objects)
    return commit.id.decode("ascii")


def _changes(diff: TreeDiff) -> dict[bytes, Entry | None]:
    return {p: new for p, (old, new) in diff.items() if old != new}


def merge_trees(objects: Objects, base: bytes | None, ours: bytes, theirs: bytes) -> tuple[bytes, list[str]]:
    """File-level three-way merge of trees: (merged tree, conflicting paths)."""
    ours_changes = _changes(objects.diff(base, ours))
    theirs_changes = _changes(objects.diff(base, theirs))
    both = [p for p, entry in theirs_changes.items() if p in ours_changes and ours_changes[p] != entry]
    conflicts = sorted(p.decode("utf-8", "replace") for p in both)
    if conflicts:
        return ours, conflicts
    apply = {tuple(p.split(b"/")): e for p, e in theirs_changes.items() if p not in ours_changes}
    new_objects: list[ShaFile] = []
    try:
        tree_id = _tree_or_empty(build_tree(objects, ours, apply, new_objects), new_objects)
    except PathConflict as exc:
        return ours, [exc.path]
    store_objects(objects, new_objects)
    return tree_id, []
