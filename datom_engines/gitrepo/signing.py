"""Signing and verifying tags with git's own mechanisms, configured as git configures them.

Signing reads git's settings: ``tag.gpgSign`` (sign by default), ``user.signingKey``, ``gpg.format``
(``openpgp``, ``ssh`` or ``x509``) and ``gpg.program`` / ``gpg.ssh.program``; dulwich's signature
vendors run the tools (``gpg``, ``ssh-keygen``). Verification runs the same tools the way ``git tag -v``
does, reading their status output so that a bad signature (the tag was altered) is told apart from one
that cannot be checked on this machine (public key unknown, no ``gpg.ssh.allowedSignersFile``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from typing import Any

from dulwich.objects import Tag

from ..core.snapshots import SignatureStatus
from ..errors import GitError
from .settings import config_get

_PGP = b"-----BEGIN PGP SIGNATURE-----"
_SSH = b"-----BEGIN SSH SIGNATURE-----"


def _flag(config: Any, section: tuple[bytes, ...], name: bytes) -> bool:
    value = (config_get(config, section, name) or "").strip().lower()
    return value in ("true", "yes", "on", "1")


def signing_wanted(config: Any) -> bool:
    """``tag.gpgSign``: whether tags are signed when the caller does not say."""
    return _flag(config, (b"tag",), b"gpgsign")


def signature_format(config: Any) -> str:
    """``gpg.format`` (``openpgp`` by default)."""
    return (config_get(config, (b"gpg",), b"format") or "openpgp").strip().lower()


def sign(payload: bytes, config: Any) -> bytes:
    """An armored detached signature of ``payload`` made with the user's configured key.

    Raises :class:`GitError` when signing is not set up (no tool, no key) or the tool fails.
    """
    from dulwich.signature import get_signature_vendor  # only signing needs the vendors

    fmt = signature_format(config)
    key = config_get(config, (b"user",), b"signingkey")
    if fmt == "ssh" and not key:
        raise GitError(
            "cannot sign the tag: gpg.format is ssh but user.signingKey names no SSH key",
            hint="set user.signingKey to your SSH key file (git config user.signingKey ~/.ssh/id_ed25519)",
        )
    try:
        vendor = get_signature_vendor(config=config)
    except ValueError as exc:
        raise GitError(
            f"cannot sign the tag: {exc}", hint="install gpg (or ssh-keygen when gpg.format is ssh), or do not sign"
        ) from exc
    try:
        return vendor.sign(payload, keyid=key)
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        raise GitError(
            f"signing the tag failed: {detail[-1] if detail else exc}",
            hint="check user.signingKey and that the key is usable (gpg --list-secret-keys), or do not sign",
        ) from exc


def verify_tag_object(raw: bytes, config: Any) -> SignatureStatus:
    """Check the signature of a raw tag object (``git tag -v``), without raising on a bad one."""
    tag = Tag.from_string(raw)
    payload, signature = tag.raw_without_sig(), tag.signature
    if not signature:
        return SignatureStatus("unsigned")
    if signature.startswith(_SSH):
        return _verify_ssh(payload, signature, config, _email(tag.tagger))
    if signature.startswith(_PGP):
        return _verify_gpg(payload, signature, config)
    return SignatureStatus("unverified", format="unknown", detail="unknown signature format")


def _email(raw: bytes | None) -> str | None:
    """The ``email`` of a raw ``Name <email>``."""
    found = re.search(rb"<([^>]*)>", raw or b"")
    return found.group(1).decode("utf-8", "replace") if found else None


def _run(args: list[str], data: bytes | None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(args, input=data, capture_output=True, check=False)


def _verify_gpg(payload: bytes, signature: bytes, config: Any) -> SignatureStatus:
    program = config_get(config, (b"gpg",), b"program") or "gpg"
    if shutil.which(program) is None:
        return SignatureStatus("unverified", format="openpgp", detail=f"{program} not found on this machine")
    with tempfile.TemporaryDirectory(prefix="datom-sig-") as tmp:
        sig_path = os.path.join(tmp, "tag.sig")
        with open(sig_path, "wb") as fh:
            fh.write(signature)
        result = _run([program, "--status-fd=1", "--verify", sig_path, "-"], payload)
    status = result.stdout.decode("utf-8", "replace")
    fields = {line.split()[1]: line.split()[2:] for line in status.splitlines() if line.startswith("[GNUPG:] ")}
    key = (fields.get("VALIDSIG") or [None])[0]
    for good in ("GOODSIG", "EXPSIG", "EXPKEYSIG"):
        if good in fields:
            signer = " ".join(fields[good][1:]) or None
            detail = None if good == "GOODSIG" else "the signing key has expired"
            return SignatureStatus("good", signer, key or fields[good][0], "openpgp", detail)
    if "BADSIG" in fields or "REVKEYSIG" in fields:
        parts = fields.get("BADSIG") or fields.get("REVKEYSIG") or []
        signer = " ".join(parts[1:]) or None
        why = "the signature does not match the tag" if "BADSIG" in fields else "the signing key was revoked"
        return SignatureStatus("bad", signer, parts[0] if parts else None, "openpgp", why)
    if "ERRSIG" in fields or "NO_PUBKEY" in fields:
        keyid = (fields.get("NO_PUBKEY") or fields.get("ERRSIG") or [None])[0]
        return SignatureStatus(
            "unverified", None, keyid, "openpgp", "the signer's public key is not in this machine's keyring"
        )
    text = result.stderr.decode("utf-8", "replace").strip().splitlines()
    return SignatureStatus("bad", format="openpgp", detail=text[-1] if text else "gpg could not verify the signature")


def _verify_ssh(payload: bytes, signature: bytes, config: Any, email: str | None) -> SignatureStatus:
    program = config_get(config, (b"gpg", b"ssh"), b"program") or "ssh-keygen"
    if shutil.which(program) is None:
        return SignatureStatus("unverified", format="ssh", detail=f"{program} not found on this machine")
    allowed = config_get(config, (b"gpg", b"ssh"), b"allowedsignersfile")
    with tempfile.TemporaryDirectory(prefix="datom-sig-") as tmp:
        sig_path = os.path.join(tmp, "tag.sig")
        with open(sig_path, "wb") as fh:
            fh.write(signature)
        principals: list[str] = []
        if allowed:
            allowed = os.path.expanduser(allowed)
            found = _run([program, "-Y", "find-principals", "-f", allowed, "-s", sig_path], None)
            if found.returncode == 0:
                principals = found.stdout.decode("utf-8", "replace").split()
        for principal in principals:
            args = [program, "-Y", "verify", "-f", str(allowed), "-I", principal, "-n", "git", "-s", sig_path]
            result = _run(args, payload)
            if result.returncode == 0:
                return SignatureStatus("good", principal, _ssh_key(result), "ssh")
        check = _run([program, "-Y", "check-novalidate", "-n", "git", "-s", sig_path], payload)
    if check.returncode != 0:
        return SignatureStatus("bad", email, None, "ssh", "the signature does not match the tag")
    why = (
        "the signing key is not in gpg.ssh.allowedSignersFile"
        if allowed
        else "gpg.ssh.allowedSignersFile is not set, so SSH signatures cannot be trusted"
    )
    return SignatureStatus("unverified", email, _ssh_key(check), "ssh", why)


def _ssh_key(result: subprocess.CompletedProcess[bytes]) -> str | None:
    text = (result.stdout + result.stderr).decode("utf-8", "replace")
    found = re.search(r"(SHA256:[A-Za-z0-9+/=]+)", text)
    return found.group(1) if found else None
