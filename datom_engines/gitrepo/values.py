"""Value types and constants of the git layer."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_BRANCH = "master"  # what plain `git init --bare` and libgit2 (R datom) use
DEFAULT_IDENTITY_NAME = "datom"
DEFAULT_IDENTITY_EMAIL = "datom@noreply"
REMOTE_NAME = "origin"

FILE_MODE = 0o100644
EXEC_MODE = 0o100755
DIR_MODE = 0o040000
LINK_MODE = 0o120000
GITLINK_MODE = 0o160000

Entry = tuple[int, bytes]
"""A tree entry: (mode, hex sha)."""


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

    @classmethod
    def from_bytes(cls, raw: bytes) -> GitIdentity:
        """Parse ``Name <email>`` as git writes it (an identity without ``<email>`` gets an empty email)."""
        text = raw.decode("utf-8", "replace").strip()
        name, sep, rest = text.partition("<")
        if not sep:
            return cls(text, "")
        return cls(name.strip(), rest.split(">", 1)[0].strip())


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
class CommitInfo:
    """A commit's parents (first parent first), author, time (unix seconds) and message."""

    sha: str
    parents: tuple[str, ...]
    author: GitIdentity
    time: int
    message: str


@dataclass(frozen=True)
class TagInfo:
    """An annotated tag of the repository.

    ``sha`` is the tag object, ``commit`` the commit it points at; ``message`` is the tag message
    without any signature; ``raw`` the whole object as stored (what a signature covers, plus the
    signature), for mirrors and verification.
    """

    name: str
    sha: str
    commit: str
    tagger: GitIdentity
    time: int
    message: str
    signed: bool
    raw: bytes


@dataclass(frozen=True)
class PullResult:
    """What :meth:`GitRepo.pull` did."""

    commits_pulled: int
    branch: str
    head: str | None


def hex_sha(sha: str | bytes) -> bytes:
    """A commit/object id as the bytes dulwich uses."""
    if isinstance(sha, str):
        sha = sha.encode("ascii")
    return sha


def str_sha(sha: bytes | None) -> str | None:
    """A dulwich id as a hex string (None stays None)."""
    return None if sha is None else sha.decode("ascii")
