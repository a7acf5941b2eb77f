"""The one remote (``origin``) of a clone: fetching its branches and compare-and-swap pushes of one ref."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from typing import Any

from dulwich.client import GitClient, HTTPUnauthorized, LocalGitClient, get_transport_and_path
from dulwich.config import ConfigFile
from dulwich.errors import GitProtocolError, HangupException, NotGitRepository
from dulwich.file import FileLocked
from dulwich.objects import ZERO_SHA
from dulwich.repo import Repo

from ..errors import DatomError, GitError
from .localremote import LocalRemote, ObjectSource
from .settings import RepoConfig, config_get
from .urls import is_url, redact, split_credentials
from .values import REMOTE_NAME, GitCredentials

TRACKING_PREFIX = f"refs/remotes/{REMOTE_NAME}/".encode()
HEADS = b"refs/heads/"
TAGS = b"refs/tags/"
_FETCHED = (HEADS, TAGS)


def configured_remote(cfg: ConfigFile) -> tuple[str, str] | None:
    """``(name, url)`` of the first remote in a repository's config, or None."""
    for section in cfg.sections():
        if len(section) == 2 and section[0] == b"remote":
            url = config_get(cfg, section, b"url")
            if url:
                return section[1].decode("utf-8", "replace"), url
    return None


def _auth_status(exc: BaseException) -> int | None:
    if isinstance(exc, HTTPUnauthorized):
        return 401
    match = re.search(r"\b(401|403)\b", str(exc))
    if isinstance(exc, GitProtocolError) and match:
        return int(match.group(1))
    return None


class Remote:
    """Transport to the configured remote, with credentials held in memory only."""

    def __init__(
        self,
        repo: Repo,
        credentials: GitCredentials | None,
        source: ObjectSource | None = None,
        config: RepoConfig | None = None,
    ) -> None:
        self._repo = repo
        self._config = config or RepoConfig(repo)
        #: where pushed objects are read from (the repository's object store, or a cache over it)
        self._source: ObjectSource = source if source is not None else repo.object_store
        self.credentials = credentials
        self._client: GitClient | None = None
        self._client_path = ""
        self._client_key: tuple[str, GitCredentials | None] | None = None
        #: the remote's tags (``refs/tags/<name>`` -> tag object) as of the last fetch
        self.last_tags: dict[bytes, bytes] = {}
        self._local: LocalRemote | None = None

    @property
    def url(self) -> str | None:
        """The configured remote URL (credentials never included), or None."""
        remote = configured_remote(self._config.local())
        return None if remote is None else remote[1]

    def close(self) -> None:
        """Close the transport's connections (and the remote repository when it is local)."""
        if self._local is not None:
            with contextlib.suppress(Exception):
                self._local.close()
            self._local = None
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None

    def track(self, branch: str) -> None:
        """Make ``origin/<branch>`` the upstream of ``branch`` (``branch.<name>.remote`` / ``.merge`` in
        ``.git/config``) unless the branch already has one."""
        section = (b"branch", branch.encode())
        if config_get(self._config.local(), section, b"remote") is None:
            cfg = self._repo.get_config()
            cfg.set(section, b"remote", REMOTE_NAME.encode())
            cfg.set(section, b"merge", f"refs/heads/{branch}".encode())
            cfg.write_to_path()

    def client(self) -> tuple[GitClient, str, str]:
        """``(client, remote path, url)``, reusing the client while the URL and credentials stay the same."""
        url = self.url
        if url is None:
            raise GitError(f"{self._repo.path} has no git remote", hint="add a remote (init with a remote_url) first")
        key = (url, self.credentials)
        if self._client is None or self._client_key != key:
            self.close()
            location, url_creds = split_credentials(url)
            creds = self.credentials or url_creds
            kwargs: dict[str, Any] = {}
            if creds is not None and is_url(location) and location.split(":", 1)[0] in ("http", "https"):
                kwargs = {"username": creds.username, "password": creds.password}
            client, remote_path = get_transport_and_path(location, config=self._config.stack(), **kwargs)
            self._client, self._client_path, self._client_key = client, remote_path, key
        return self._client, self._client_path, url

    def local(self) -> LocalRemote | None:
        """The remote repository itself when it is on this machine (kept open), else None."""
        client, path, _ = self.client()
        if not isinstance(client, LocalGitClient):
            return None
        if self._local is None or self._local.path != path:
            if self._local is not None:
                self._local.close()
            self._local = LocalRemote(path)
        return self._local

    @contextlib.contextmanager
    def errors(self, action: str, url: str) -> Iterator[None]:
        """Turn transport failures into :class:`GitError` (secrets redacted)."""
        shown = redact(url)
        try:
            yield
        except DatomError:
            raise
        except Exception as exc:
            status = _auth_status(exc)
            if status is not None:
                raise GitError(
                    f"git {action} {shown} failed: authentication refused (HTTP {status})",
                    hint="check credentials: pass GitCredentials(username, token) (R uses username 'git' "
                    "and a personal access token) and that the token may read and write the repository",
                ) from exc
            if isinstance(exc, NotGitRepository):
                raise GitError(
                    f"git {action} {shown} failed: no git repository there",
                    hint="check the remote URL (it must name an existing bare repository or git server path)",
                ) from exc
            detail = redact(str(exc)) or type(exc).__name__
            if isinstance(exc, HangupException | GitProtocolError | OSError):
                raise GitError(f"git {action} {shown} failed: {detail}") from exc
            raise GitError(f"git {action} {shown} failed: {type(exc).__name__}: {detail}") from exc

    def head_target(self) -> bytes:
        """The ref the remote's HEAD names (``b""`` when unknown or unreachable)."""
        try:
            client, path, _ = self.client()
            return client.get_refs(path).symrefs.get(b"HEAD", b"")
        except Exception:  # offline now: the push will report the remote's state
            return b""

    def fetch_refs(self, context: str = "fetch") -> tuple[dict[bytes, bytes], dict[bytes, bytes]]:
        """Fetch every remote branch and tag; update ``refs/remotes/origin/*`` and ``refs/tags/*``.

        Returns ``(refs, symrefs)``: ``refs`` maps each remote ``refs/heads/*`` and ``refs/tags/*`` name
        to its object. A remote tag replaces a local one of the same name (tags are the remote's);
        local-only tags are kept. :attr:`last_tags` keeps the remote's tags of this fetch.
        """
        client, remote_path, url = self.client()
        store = self._repo.object_store
        seen: dict[bytes, bytes] = {}

        def determine_wants(refs: Mapping[bytes, bytes], depth: int | None = None) -> list[bytes]:
            # Keep this snapshot: the local client re-reads refs after the transfer, which may have moved.
            for name, sha in refs.items():
                if name.startswith(_FETCHED) and not name.endswith(b"^{}") and sha and sha != ZERO_SHA:
                    seen[name] = sha
            return sorted({sha for sha in seen.values() if sha not in store})

        with self.errors(f"{context} from", url):
            local = self.local()
            if local is not None:
                determine_wants(local.shared_refs())
                symrefs = local.symrefs()
                local.fetch_into(self._repo, seen.values())
            else:
                result = client.fetch(remote_path, self._repo, determine_wants=determine_wants)
                symrefs = dict(getattr(result, "symrefs", None) or {})
        missing = [name for name, sha in seen.items() if sha not in store]
        if missing:
            raise GitError(f"git {context} from {redact(url)} did not deliver {missing[0].decode()}")
        refs = self._repo.refs
        branches = {n[len(HEADS) :]: sha for n, sha in seen.items() if n.startswith(HEADS)}
        for name, sha in branches.items():
            if refs.read_ref(TRACKING_PREFIX + name) != sha:  # (an unchanged ref is not rewritten)
                refs.set_if_equals(TRACKING_PREFIX + name, None, sha)
        for name in list(refs.keys(base=TRACKING_PREFIX)):
            if name not in branches and name != b"HEAD":
                refs.remove_if_equals(TRACKING_PREFIX + name, None)
        self.last_tags = {n: sha for n, sha in seen.items() if n.startswith(TAGS)}
        for name, sha in self.last_tags.items():
            if refs.read_ref(name) != sha:
                refs.set_if_equals(name, None, sha)
        return seen, symrefs

    def local_ref(self, ref: bytes) -> tuple[bool, bytes | None]:
        """``(True, object)`` of the remote's ``ref`` read straight from a remote on this machine (None when
        absent); ``(False, None)`` for other remotes, where finding out costs a round trip (fetch instead)."""
        with self.errors("read refs of", self.url or ""):
            local = self.local()
            if local is None:
                return False, None
            sha = local.repo.refs.read_ref(ref)
        return True, None if sha in (None, ZERO_SHA) or sha.startswith(b"ref: ") else sha

    def remote_ref(self, ref: bytes) -> bytes | None:
        """The object the remote's ``ref`` points to now (one ls-remote), or None."""
        client, remote_path, url = self.client()
        with self.errors("list refs of", url):
            return self._branch_sha(client, remote_path, ref)

    def _branch_sha(self, client: GitClient, remote_path: str, branch_ref: bytes) -> bytes | None:
        result = client.get_refs(remote_path)
        refs = getattr(result, "refs", result)
        sha = refs.get(branch_ref)
        return None if sha in (None, ZERO_SHA) else sha

    def swap_ref(self, branch_ref: bytes, new: bytes, expected: bytes | None) -> bool:
        """Set the remote ref ``branch_ref`` to ``new`` if it is still at ``expected`` (None: absent).

        True when the remote ref now is ``new``; False when the push lost a race. Other failures raise
        :class:`GitError`. With ``expected=None`` this creates a ref only if it does not exist (both a
        local remote's ref lock and git's receive-pack refuse a create over an existing ref), which is
        how a tag name gets exactly one winner.
        """
        client, remote_path, url = self.client()
        state: dict[str, Any] = {"moved": False, "noop": False}

        def update_refs(refs: dict[bytes, bytes]) -> dict[bytes, bytes]:
            current = refs.get(branch_ref)
            current = None if current == ZERO_SHA else current
            if current == new:
                state["noop"] = True
                return {}
            if current != expected:
                state["moved"] = True
                return {}  # abort: nothing is sent
            return {branch_ref: new}

        def generate_pack_data(have: Any, want: Any, *, ofs_delta: bool = False, progress: Any = None) -> Any:
            return self._repo.object_store.generate_pack_data(have, want, ofs_delta=ofs_delta, progress=progress)

        with self.errors("push to", url):
            local = self.local()
            if local is not None:
                return local.swap_ref(self._source, branch_ref, new, expected)
            try:
                result = client.send_pack(remote_path, update_refs, generate_pack_data)
            except FileLocked:
                return False  # a concurrent push to the same (local) remote holds the ref lock
            except Exception as exc:
                # dulwich.porcelain.DivergedBranches (matched by name: importing porcelain costs ~80 ms);
                # send_pack does not raise it today, porcelain.push does.
                if type(exc).__name__ == "DivergedBranches":
                    return False
                raise
        if state["moved"]:
            return False
        if state["noop"]:
            return True
        status = dict(getattr(result, "ref_status", None) or {})
        errors = {name: msg for name, msg in status.items() if msg is not None}
        if not errors:
            return True
        msg = "; ".join(f"{name.decode()}: {m}" for name, m in errors.items())
        with self.errors("push to", url):
            now = self._branch_sha(client, remote_path, branch_ref)
        if now == new:
            return True
        # The remote refused the update. It moved under us (the server-side compare-and-swap on the old
        # value failed), or a ref lock was busy: a lost race. Otherwise it is an error.
        if now != expected or re.search(r"lock|non-fast-forward|fetch first|stale", msg):
            return False
        raise GitError(
            f"git push to {redact(url)} was rejected: {redact(msg)}",
            hint="check that the remote accepts pushes to this branch (hooks, protections)",
        )
