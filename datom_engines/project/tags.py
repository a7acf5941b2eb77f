"""Tags: named, immutable snapshots of the project (a data cut, a database lock, a submission extract).

Creating a tag (:func:`create_tag`) records the current version of every table (or of the ones named)
as an annotated git tag ``refs/tags/<name>`` whose message carries the versions, pushed with
create-only semantics: the remote refuses a second tag of the same name, so of two clones racing for
one name exactly one wins and the other gets :class:`TagExistsError`. The tag is optionally signed with
git's own mechanism (``tag.gpgSign``, ``user.signingKey``, ``gpg.format``). Then its record is written
to the store (``.metadata/tags/<name>.json``, with the raw tag object), so readers without git list tags,
read tagged versions and can check signatures too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from ..core import jsonfmt, keys
from ..core.metadata import utc_timestamp
from ..core.snapshots import (
    SignatureStatus,
    Tag,
    parse_tag_message,
    tag_from_record,
    tag_message,
    validate_tag_name,
)
from ..errors import InvalidArgumentError, NotFoundError, TagExistsError
from ..gitrepo import GitRepo
from ..gitrepo.objects import parse_tag_object
from ..gitrepo.settings import global_config
from ..gitrepo.signing import verify_tag_object
from ..storage.location import StoreLocation
from ..storage.objectstore import ObjectStore
from .hooks import Published, run_publish_hooks
from .reading import parse_tag, read_tag_record, tag_names
from .snapshot_mirror import mirror_tags, record_of, utc_timestamp_of, versions_at
from .writing import align_with_remote, check_not_moved, repair_if_stale

_THREADS = 8


def _git_tables(repo: GitRepo, commit: str) -> list[str]:
    manifest = jsonfmt.parse(repo.objects.read_file(commit, keys.MANIFEST_PATH) or b"{}")
    tables = manifest.get("tables") if isinstance(manifest, dict) else None
    return list(tables) if isinstance(tables, dict) else []


def _exists_error(repo: GitRepo, project: str, name: str, sha: str | None) -> TagExistsError:
    detail = ""
    if sha is not None:
        try:
            info = repo.tags.info(name, sha)
            detail = (
                f": made by {info.tagger.name} <{info.tagger.email}> at {utc_timestamp_of(info.time)} "
                f"on commit {info.commit[:12]}"
            )
        except Exception:  # the winner's object could not be read: the name is still taken
            detail = ""
    return TagExistsError(f"tag {name!r} already exists in project {project!r}{detail}")


def create_tag(
    repo: GitRepo,
    store: ObjectStore,
    project: str,
    name: str,
    *,
    message: str | None = None,
    tables: Sequence[str] | None = None,
    sign: bool | None = None,
    expected_location: StoreLocation | None = None,
) -> Tag:
    """Tag the current version of every table (or of ``tables``) as ``name``; see the module docstring.

    ``sign=None`` signs when git's ``tag.gpgSign`` is set. The versions are those of the remote head
    (a clone behind is brought up to date first; unpushed commits are pushed). A name already used,
    also one differing only in case, is refused with :class:`TagExistsError`; a name that breaks the
    naming rules with :class:`InvalidNameError`.
    """
    validate_tag_name(name)
    if message is not None and not isinstance(message, str):
        raise InvalidArgumentError(f"message must be a string, got {type(message).__name__}")
    if isinstance(tables, str):
        raise InvalidArgumentError("tables must be a list of table names", hint=f'e.g. tables=["{tables}"]')
    head = align_with_remote(repo)
    if head is None:
        raise NotFoundError(f"the data repo of {project!r} has no commits yet", hint="write a table first")
    if expected_location is not None:
        check_not_moved(repo, head, expected_location, project)
    existing = repo.tags.on_remote()
    clash = [t for t in existing if t.lower() == name.lower()]
    if clash:
        raise _exists_error(repo, project, clash[0], existing[clash[0]])
    known = _git_tables(repo, head)
    selected = list(dict.fromkeys(tables)) if tables is not None else known
    if tables is not None and not selected:
        raise InvalidArgumentError("tables names no table", hint="leave it out to tag every table")
    unknown = [t for t in selected if t not in known]
    if unknown:
        raise NotFoundError(
            f"cannot tag table(s) {', '.join(map(repr, unknown))}: not in project {project!r}",
            hint=f"tables in {project}: {', '.join(known) or 'none yet'}",
        )
    if not selected:
        raise InvalidArgumentError(f"project {project!r} has no tables to tag", hint="write a table first")
    # the tagged versions must be readable from the store: repair a lagging mirror (and log) first
    repair_if_stale(repo, store, head, extra=[])
    versions = versions_at(repo, head, selected)
    text = tag_message(message if message is not None else f"Snapshot {name}", project, versions)
    sha = repo.tags.create(name, head, text, sign=sign)
    if not repo.tags.push(name, sha):
        repo.fetch()  # the winner's tag, to say who made it
        raise _exists_error(repo, project, name, repo.tags.on_remote().get(name))
    mirror_tags(repo, store, {name: sha})
    run_publish_hooks(Published(store, project, head, ()))
    return tag_from_record(record_of(repo.tags.info(name, sha)), f"tag {name!r}")


def verify_record(record: Mapping[str, Any], config: Any = None) -> SignatureStatus:
    """The signature status of a tag's store record (its raw git tag object, checked with gpg/ssh-keygen).

    A record whose commit or tables differ from what its tag object says is ``bad`` (the record was
    altered); otherwise the object's signature decides. ``config`` is a git config (default: the
    user's global one).
    """
    name = str(record.get("name") or "?")
    raw = record.get("git_tag")
    if not isinstance(raw, str):
        return SignatureStatus("unverified", detail="the store record holds no git tag object")
    try:
        info = parse_tag_object(name, raw.encode("utf-8"))
        _, _, signed_tables = parse_tag_message(info.message, f"tag {name!r}")
        record_tag = tag_from_record(record, f"tag {name!r}")
    except InvalidArgumentError as exc:
        return SignatureStatus("bad", detail=exc.message)
    matches = info.commit == record_tag.commit and signed_tables == dict(record_tag.tables)
    if info.sha != record.get("tag_object") or not matches:
        return SignatureStatus("bad", detail="the store record does not match its git tag object")
    if not info.signed:
        return SignatureStatus("unsigned")
    return verify_tag_object(info.raw, config if config is not None else global_config())


def get_tag(store: ObjectStore, project: str, name: str, *, verify: bool = False, config: Any = None) -> Tag:
    """Tag ``name`` from the store (with its signature status when ``verify``)."""
    record = read_tag_record(store, project, name)
    tag = parse_tag(record, name)
    if not verify:
        return tag
    return replace(tag, signature=verify_record(record, config))


def list_tags(store: ObjectStore, project: str, *, verify: bool = False, config: Any = None) -> list[Tag]:
    """Every tag of the project (oldest first), from the store; signature statuses when ``verify``."""
    names = tag_names(store)
    if not names:
        return []
    with ThreadPoolExecutor(min(len(names), _THREADS), thread_name_prefix="datom-tags") as pool:
        found = list(pool.map(lambda n: get_tag(store, project, n, verify=verify, config=config), names))
    return sorted(found, key=lambda t: (utc_timestamp(t.created_at) if t.created_at else "", t.name))


def tags_by_version(tags: Sequence[Tag], table: str) -> dict[str, list[str]]:
    """``{version: [tag names]}`` of ``table`` (the versions the tags pin)."""
    out: dict[str, list[str]] = {}
    for tag in tags:
        version = tag.version_of(table)
        if version is not None:
            out.setdefault(version, []).append(tag.name)
    return out
