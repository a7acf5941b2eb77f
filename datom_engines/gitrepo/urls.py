"""Remote URLs: credentials kept out of them, local paths made absolute, secrets redacted from messages."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from .values import GitCredentials

_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")


def is_url(location: str) -> bool:
    """True for ``scheme://...`` (not for a local path or scp-like ssh)."""
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", location))


def split_credentials(url: str) -> tuple[str, GitCredentials | None]:
    """Split ``https://user:tok@host/x.git`` into the clean URL and the credentials."""
    if not is_url(url):
        return url, None
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    netloc = parts.hostname or ""
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    creds = GitCredentials(
        username=unquote(parts.username or ""),
        password=unquote(parts.password) if parts.password is not None else None,
    )
    return clean, creds


def normalize_remote(url: str) -> str:
    """Absolute local paths (git would resolve relative ones against the cwd of the moment)."""
    if is_url(url) or re.match(r"^[^/\s]+@[^/\s:]+:", url):  # URL or scp-like ssh
        return url
    return os.path.abspath(os.path.expanduser(url))


def redact(text: str) -> str:
    """``text`` with any ``user:secret@`` of a URL replaced by ``***@``."""
    return _URL_USERINFO.sub(r"\g<scheme>***@", text)


def local_remote_branch(url: str) -> str | None:
    """The branch an existing local bare remote's HEAD names (so a first push matches what clones check out)."""
    if is_url(url):
        return None
    head = Path(url) / "HEAD"
    try:
        text = head.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    prefix = "ref: refs/heads/"
    return text[len(prefix) :] if text.startswith(prefix) else None
