"""The annotated tags of a clone: listing, making (signed when asked), create-only pushes and verification."""

from __future__ import annotations

from dulwich.repo import Repo

from ..core.snapshots import SignatureStatus
from ..errors import NotFoundError
from . import building, signing
from .objects import Objects
from .remote import Remote
from .settings import RepoConfig, author_of
from .values import TagInfo, hex_sha

_PREFIX = b"refs/tags/"


class GitTags:
    """The tags of one repository and its remote (reached as :attr:`GitRepo.tags`). Names are without
    ``refs/tags/``; ids are the hex ids of the tag objects."""

    def __init__(self, repo: Repo, objects: Objects, remote: Remote, config: RepoConfig) -> None:
        self._repo = repo
        self._objects = objects
        self._remote = remote
        self._config = config

    def local(self) -> dict[str, str]:
        """Local tags, ``name -> tag object id``: the remote's as of the last fetch, plus local-only ones."""
        return {
            name.decode("utf-8", "replace"): sha.decode("ascii")
            for name, sha in self._repo.refs.as_dict(_PREFIX).items()
        }

    def on_remote(self) -> dict[str, str]:
        """The remote's tags as of the last fetch (``name -> tag object id``)."""
        prefix = len(_PREFIX)
        return {n[prefix:].decode("utf-8", "replace"): s.decode("ascii") for n, s in self._remote.last_tags.items()}

    def info(self, name: str, sha: str | None = None) -> TagInfo:
        """The annotated tag ``name`` (its local ref, or the object ``sha``)."""
        if sha is None:
            sha = self.local().get(name)
            if sha is None:
                raise NotFoundError(f"no tag {name!r} in {self._repo.path}", hint="check the tag name")
        return self._objects.tag(name, sha)

    def signing_wanted(self) -> bool:
        """``tag.gpgSign`` of the repository's config stack."""
        return signing.signing_wanted(self._config.stack())

    def create(self, name: str, commit: str, message: str, *, sign: bool | None = None) -> str:
        """Store an annotated tag object ``name`` -> ``commit`` by the repository identity; return its id.

        ``sign=None`` signs when ``tag.gpgSign`` is set; signing uses ``user.signingKey`` and
        ``gpg.format`` as git does. No ref is set: :meth:`push` publishes it.
        """
        config = self._config.stack()
        wanted = signing.signing_wanted(config) if sign is None else sign
        signer = (lambda payload: signing.sign(payload, config)) if wanted else None
        return building.make_tag(self._objects, name, commit, message, author_of(config), signer)

    def push(self, name: str, sha: str) -> bool:
        """Create ``refs/tags/<name>`` on the remote, only if no tag of that name exists there.

        True when the remote tag now is ``sha`` (the local ref is then set too); False when the name is
        taken (by another clone that got there first). Other failures raise :class:`GitError`.
        """
        ref = _PREFIX + name.encode()
        if not self._remote.swap_ref(ref, hex_sha(sha), None):
            return False
        self._repo.refs.set_if_equals(ref, None, hex_sha(sha))
        self._remote.last_tags[ref] = hex_sha(sha)
        return True

    def verify(self, raw: bytes) -> SignatureStatus:
        """The signature status of a raw tag object, checked with this repository's git config."""
        return signing.verify_tag_object(raw, self._config.stack())
