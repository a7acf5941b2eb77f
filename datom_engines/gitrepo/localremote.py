"""A remote that is a repository on this machine (a bare repo path or ``file://``): objects copied directly.

dulwich's local transport turns every push into a new pack file in the remote and reopens the remote
(loading every pack index) for each fetch and push, so a project's writes grow slower with every write
(measured: 26 ms for the first small write, 180 ms after 350). This transport keeps the remote open,
copies only the objects the other side lacks as loose objects (what ``git receive-pack`` does for small
pushes: nothing accumulates), and moves the branch with the same compare-and-swap under git's
``<ref>.lock`` that git and dulwich use, so concurrent writers (and plain git) stay safe. Objects are
always written before the ref that makes them reachable.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from dulwich.file import FileLocked
from dulwich.object_store import BaseObjectStore
from dulwich.objects import ZERO_SHA, Commit, ShaFile, Tag, Tree
from dulwich.repo import Repo

from .values import GITLINK_MODE

SHARED = (b"refs/heads/", b"refs/tags/")


class ObjectSource(Protocol):
    """Where objects are read from: a dulwich object store, or an :class:`~.objects.ObjectCache` over one."""

    def __getitem__(self, sha: bytes) -> ShaFile: ...


def missing_objects(src: ObjectSource, dest: BaseObjectStore, roots: Iterable[bytes]) -> list[ShaFile]:
    """The objects reachable from ``roots`` in ``src`` that ``dest`` lacks.

    The walk stops at every object ``dest`` already has (its history and unchanged subtrees are complete
    there: no repository here is shallow). The ref that makes them reachable is moved only after all
    of them are written, so their order does not matter.
    """
    order: list[ShaFile] = []
    seen: set[bytes] = set()
    stack = [sha for sha in roots if sha not in dest]
    while stack:
        sha = stack.pop()
        if sha in seen:
            continue
        seen.add(sha)
        obj = src[sha]
        order.append(obj)
        if isinstance(obj, Commit):
            stack.extend(p for p in obj.parents if p not in seen and p not in dest)
            if obj.tree not in seen and obj.tree not in dest:
                stack.append(obj.tree)
        elif isinstance(obj, Tree):
            for entry in obj.iteritems():
                if entry.mode != GITLINK_MODE and entry.sha not in seen and entry.sha not in dest:
                    stack.append(entry.sha)
        elif isinstance(obj, Tag):
            target = obj.object[1]
            if target not in seen and target not in dest:
                stack.append(target)
    return order


def copy_objects(src: ObjectSource, dest: BaseObjectStore, roots: Iterable[bytes]) -> int:
    """Write into ``dest`` (as loose objects) what it lacks of ``roots``; returns the number written."""
    objects = missing_objects(src, dest, roots)
    for obj in objects:
        dest.add_object(obj)
    return len(objects)


class LocalRemote:
    """One open repository on this machine, used as a clone's remote."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.repo = Repo(path)

    def close(self) -> None:
        """Release the remote's open files."""
        self.repo.close()

    def shared_refs(self) -> dict[bytes, bytes]:
        """``refs/heads/*`` and ``refs/tags/*`` -> object (symbolic refs followed)."""
        out = {}
        for base in SHARED:
            for name, sha in self.repo.refs.as_dict(base).items():
                if sha and sha != ZERO_SHA:
                    out[base + name] = sha
        return out

    def symrefs(self) -> dict[bytes, bytes]:
        """``{b"HEAD": b"refs/heads/<branch>"}`` when the remote's HEAD is symbolic."""
        raw = self.repo.refs.read_ref(b"HEAD")
        if raw is not None and raw.startswith(b"ref: "):
            return {b"HEAD": raw[5:].strip()}
        return {}

    def fetch_into(self, dest: Repo, wants: Iterable[bytes]) -> None:
        """Copy the objects of ``wants`` the local repository lacks."""
        copy_objects(self.repo.object_store, dest.object_store, wants)

    def swap_ref(self, src: ObjectSource, ref: bytes, new: bytes, expected: bytes | None) -> bool:
        """Copy ``new``'s missing objects (read from ``src``), then set ``ref`` to ``new`` if it is still
        ``expected`` (None: absent). True when the ref now is ``new``; False when another writer moved it
        (or holds its lock)."""
        refs = self.repo.refs
        if refs.read_ref(ref) == new:
            return True
        copy_objects(src, self.repo.object_store, [new])
        try:
            if expected is None:
                return bool(refs.add_if_new(ref, new)) or refs.read_ref(ref) == new
            return bool(refs.set_if_equals(ref, expected, new))
        except FileLocked:
            return False
