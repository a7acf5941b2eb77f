"""A small typed git layer over dulwich ("porcelain over plumbing").

datom keeps its JSON metadata in a *data repo*: an ordinary git working clone whose shared remote is a bare
repository (a local path) or an HTTP(S) git server. Writers coordinate only through git: every write builds a
commit on top of the remote head it last saw and pushes it with a compare-and-swap on the remote branch
(:meth:`GitRepo.push` returns ``False`` when another writer won the race). Nothing here shells out to ``git``.

Modules, lowest first: ``values`` (types, constants), ``settings`` (config and identity), ``urls``,
``objects`` (reading commits and trees), ``building`` (new trees and commits), ``remote`` (fetch and
compare-and-swap push), ``worktree`` (working tree and index), ``tags`` (:class:`GitTags`), ``repo``
(:class:`GitRepo`, tying them to one clone) and ``create`` (:func:`init_repo`, :func:`clone_repo`,
:func:`open_repo`, :func:`init_bare`).

A :class:`GitRepo` is the porcelain of one clone (commit, fetch, push, pull, advance, status); its parts are
reached as attributes: ``repo.objects`` reads history (``read_file``, ``list_tree``, ``changed_paths``,
``commit_info``, ``is_ancestor``, ``ahead_behind``, ...), ``repo.tags`` lists, makes and pushes tags.

Design rules:

* :meth:`GitRepo.commit_files` builds commits straight into the object store; it never moves a ref and never
  touches the working tree or the index.
* :meth:`GitRepo.advance` is the only method that writes working-tree files; it touches exactly the paths that
  differ between the old and the new commit and refuses (:class:`ConflictError`) to overwrite local edits.
* Credentials are kept in memory only; the remote URL written to ``.git/config`` never contains them.
"""

from .create import clone_repo, init_bare, init_repo, open_repo
from .repo import GitRepo
from .tags import GitTags
from .values import GitCredentials, GitIdentity, GitStatus, PullResult

__all__ = [
    "GitCredentials",
    "GitIdentity",
    "GitRepo",
    "GitStatus",
    "GitTags",
    "PullResult",
    "clone_repo",
    "init_bare",
    "init_repo",
    "open_repo",
]
