"""Tests of datom_engines.gitrepo against real bare repositories and real ``git http-backend``.

The ``git`` CLI is used here only to set up situations and to check results independently of dulwich.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dulwich.objects import hex_to_filename
from gitserver import GitHTTPServer, make_bare_repo

from datom_engines.errors import ConflictError, GitError, InvalidArgumentError, NotFoundError
from datom_engines.gitrepo import (
    GitCredentials,
    GitIdentity,
    GitRepo,
    GitStatus,
    PullResult,
    clone_repo,
    init_bare,
    init_repo,
    localremote,
    open_repo,
)

# --------------------------------------------------------------------------------------------------------
# helpers and fixtures
# --------------------------------------------------------------------------------------------------------


def git(cwd: Path, *args: str, check: bool = True) -> str:
    """Run the real git CLI (tests only) and return its stdout."""
    proc = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


def write_global_config(path: Path, text: str) -> None:
    path.write_text(text)


@pytest.fixture(autouse=True)
def isolated_git_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point both dulwich and the git CLI at a private global config with a known identity."""
    cfg = tmp_path / "global.gitconfig"
    write_global_config(cfg, "[user]\n\tname = Global User\n\temail = global@example.com\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(cfg))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in (
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "GIT_DIR",
    ):
        monkeypatch.delenv(var, raising=False)
    return cfg


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    """An empty bare repository (HEAD -> main)."""
    return make_bare_repo(tmp_path / "srv" / "data.git")


@pytest.fixture
def seeded(tmp_path: Path, remote: Path) -> Iterator[tuple[GitRepo, str]]:
    """A clone ``a`` whose first commit (README + manifest) is pushed to ``remote``."""
    repo = init_repo(tmp_path / "a", str(remote))
    first = repo.commit_files(None, {"README.md": b"readme\n", ".datom/manifest.json": b"{}\n"}, "Initialize")
    assert repo.push(first, expected_remote=None) is True
    repo.advance(first)
    yield repo, first
    repo.close()


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[GitHTTPServer]:
    with GitHTTPServer(tmp_path / "srv") as srv:
        yield srv


@pytest.fixture
def auth_server(tmp_path: Path) -> Iterator[GitHTTPServer]:
    with GitHTTPServer(tmp_path / "srv", username="git", password="s3cr3t-token") as srv:
        yield srv


# --------------------------------------------------------------------------------------------------------
# init / clone / open
# --------------------------------------------------------------------------------------------------------


def test_init_first_commit_push_and_clone(tmp_path: Path, remote: Path) -> None:
    work = tmp_path / "a"
    work.mkdir()
    (work / "notes.txt").write_text("pre-existing file\n")
    repo = init_repo(work, str(remote))
    assert repo.branch() == "main"
    assert repo.head() is None and not repo.has_commits()
    assert repo.remote_url == str(remote)
    cfg = git(work, "config", "--local", "--list")
    assert "user.name=Global User" in cfg and "user.email=global@example.com" in cfg
    assert "http.followredirects=true" in cfg
    assert repo.identity() == GitIdentity("Global User", "global@example.com")

    first = repo.commit_files(None, {"README.md": b"hello\n", ".datom/project.yaml": b"a: 1\n"}, "Initialize")
    assert repo.head() is None, "commit_files must not move any ref"
    assert repo.push(first, expected_remote=None) is True
    assert git(remote, "rev-parse", "main").strip() == first
    assert git(remote, "show", "main:.datom/project.yaml") == "a: 1\n"
    assert (
        git(remote, "log", "-1", "--format=%an <%ae>|%s|%cI", "main")
        .strip()
        .startswith("Global User <global@example.com>|Initialize|")
    )
    assert git(remote, "log", "-1", "--format=%cI", "main").strip().endswith("+00:00")
    assert git(work, "rev-parse", "refs/remotes/origin/main").strip() == first

    repo.advance(first)
    assert repo.head() == first
    assert (work / "README.md").read_bytes() == b"hello\n"
    assert (work / "notes.txt").read_text() == "pre-existing file\n"
    assert git(work, "status", "--porcelain").splitlines() == ["?? notes.txt"]

    clone = clone_repo(str(remote), tmp_path / "b")
    assert clone.head() == first and clone.branch() == "main"
    assert (tmp_path / "b" / ".datom" / "project.yaml").read_bytes() == b"a: 1\n"
    assert git(tmp_path / "b", "status", "--porcelain") == ""
    assert "user.name=Global User" in git(tmp_path / "b", "config", "--local", "--list")
    assert git(tmp_path / "b", "rev-parse", "--abbrev-ref", "@{upstream}").strip() == "origin/main"
    assert clone.status() == GitStatus([], [], [], "main")
    repo.close()
    clone.close()


def test_init_branch_and_identity_fallbacks(tmp_path: Path, isolated_git_config: Path) -> None:
    write_global_config(isolated_git_config, "[init]\n\tdefaultBranch = trunk\n")
    repo = init_repo(tmp_path / "x", None)
    assert repo.branch() == "trunk"
    assert repo.remote_url is None
    assert repo.identity() == GitIdentity("datom", "datom@noreply")
    sha = repo.commit_files(None, {"f": b"1"}, "m")
    assert git(tmp_path / "x", "log", "-1", "--format=%an <%ae>", sha).strip() == "datom <datom@noreply>"
    with pytest.raises(GitError, match="no git remote"):
        repo.fetch()
    repo.close()
    with pytest.raises(InvalidArgumentError, match="already a git repository"):
        init_repo(tmp_path / "x", None)


def test_open_and_clone_errors(tmp_path: Path, remote: Path) -> None:
    (tmp_path / "plain").mkdir()
    with pytest.raises(NotFoundError, match="not a git repository") as info:
        open_repo(tmp_path / "plain")
    assert info.value.hint
    with pytest.raises(NotFoundError, match="bare"):
        open_repo(remote)

    full = tmp_path / "full"
    full.mkdir()
    (full / "x").write_text("x")
    with pytest.raises(InvalidArgumentError, match="not an empty directory"):
        clone_repo(str(remote), full)

    with pytest.raises(GitError, match=r"nonexistent\.git") as err:
        clone_repo(str(tmp_path / "nonexistent.git"), tmp_path / "c")
    assert err.value.hint
    assert not (tmp_path / "c").exists(), "a failed clone must leave nothing behind"
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(GitError):
        clone_repo(str(tmp_path / "nonexistent.git"), empty)
    assert empty.is_dir() and not any(empty.iterdir())

    # cloning an empty remote gives an unborn branch; the first push creates the branch
    c = clone_repo(str(remote), tmp_path / "d")
    assert c.head() is None and c.branch() == "main" and c.fetch() is None
    c.close()
    reopened = open_repo(tmp_path / "d")
    assert reopened.remote_url == str(remote)
    reopened.close()


def test_init_bare_and_clone_branch_choice(tmp_path: Path) -> None:
    bare = init_bare(tmp_path / "made.git")
    assert git(bare, "rev-parse", "--is-bare-repository").strip() == "true"
    assert git(bare, "symbolic-ref", "HEAD").strip() == "refs/heads/master"  # as plain git and libgit2 (R)
    with pytest.raises(InvalidArgumentError):
        init_bare(bare)

    # an R-made remote on `master` whose HEAD names it: the clone follows the remote's branch
    r_remote = make_bare_repo(tmp_path / "r.git", branch="master")
    seed = tmp_path / "seed"
    git(tmp_path, "init", "-q", "-b", "master", str(seed))
    (seed / "README.md").write_text("from R\n")
    git(seed, "add", "README.md")
    git(seed, "commit", "-q", "-m", "Initialize datom repository")
    git(seed, "push", "-q", str(r_remote), "master")
    c = clone_repo(str(r_remote), tmp_path / "c")
    assert c.branch() == "master" and (tmp_path / "c" / "README.md").read_text() == "from R\n"
    nxt = c.commit_files(c.head(), {"x": b"1"}, "x")
    assert c.push(nxt, expected_remote=c.head()) is True
    assert git(r_remote, "rev-parse", "master").strip() == nxt
    c.close()

    # a new repo's first push follows the branch an existing local bare remote's HEAD names
    plain = make_bare_repo(tmp_path / "plain.git", branch="master")
    a = init_repo(tmp_path / "a", str(plain))
    first = a.commit_files(None, {"f": b"1"}, "m")
    assert a.branch() == "master" and a.push(first, expected_remote=None)
    assert git(tmp_path, "clone", "-q", str(plain), str(tmp_path / "git-clone")) == ""
    assert (tmp_path / "git-clone" / "f").read_text() == "1"
    a.close()

    # remote HEAD names a branch that does not exist (data pushed to main by someone else): clone copes
    odd = make_bare_repo(tmp_path / "odd.git", branch="master")
    git(seed, "push", "-q", str(odd), "master:main")
    d = clone_repo(str(odd), tmp_path / "d")
    assert d.branch() == "main" and (tmp_path / "d" / "README.md").read_text() == "from R\n"
    d.close()


def test_network_failure_names_the_remote(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "a", "http://127.0.0.1:9/data.git")
    with pytest.raises(GitError, match=r"http://127\.0\.0\.1:9/data\.git"):
        repo.fetch()
    sha = repo.commit_files(None, {"f": b"1"}, "m")
    with pytest.raises(GitError, match=r"push to http://127\.0\.0\.1:9/data\.git"):
        repo.push(sha, expected_remote=None)
    repo.close()


# --------------------------------------------------------------------------------------------------------
# building commits and reading trees
# --------------------------------------------------------------------------------------------------------


def test_commit_files_nested_paths_and_deletion(seeded: tuple[GitRepo, str]) -> None:
    repo, first = seeded
    work = repo.path
    c1 = repo.commit_files(
        first,
        {"t1/metadata.json": b'{"v": 1}', "t1/deep/er/x.json": b"x", "t2/version_history.json": b"[]"},
        "Update t1",
    )
    assert repo.head() == first, "no ref may move"
    assert not (work / "t1").exists(), "the working tree must not be touched"
    assert git(work, "status", "--porcelain") == ""
    assert git(work, "cat-file", "-p", c1).splitlines()[1] == f"parent {first}"
    listing = git(work, "ls-tree", "-r", c1).splitlines()
    modes = {line.split("\t")[1]: line.split()[0] for line in listing}
    assert modes == {
        ".datom/manifest.json": "100644",
        "README.md": "100644",
        "t1/deep/er/x.json": "100644",
        "t1/metadata.json": "100644",
        "t2/version_history.json": "100644",
    }
    assert repo.objects.read_file(c1, "t1/deep/er/x.json") == b"x"
    assert repo.objects.read_file(c1, "t1/missing.json") is None
    assert repo.objects.read_file(c1, "t1") is None
    assert repo.objects.read_file(None, "README.md") is None
    assert repo.objects.list_tree(c1) == [(".datom", True), ("README.md", False), ("t1", True), ("t2", True)]
    assert repo.objects.list_tree(c1, "t1") == [("deep", True), ("metadata.json", False)]
    assert repo.objects.list_tree(c1, "nope") == []

    # deleting the last file of a directory drops the directory; a file may replace a deleted directory
    c2 = repo.commit_files(c1, {"t1/deep/er/x.json": None, "t2/version_history.json": None, "t2": b"f"}, "del")
    assert git(work, "ls-tree", "-r", "--name-only", c2).split() == [
        ".datom/manifest.json",
        "README.md",
        "t1/metadata.json",
        "t2",
    ]
    assert repo.objects.changed_paths(c1, c2) == ["t1/deep/er/x.json", "t2", "t2/version_history.json"]
    assert repo.objects.changed_paths(None, first) == [".datom/manifest.json", "README.md"]

    # nothing changes -> no new commit (idempotent re-run)
    assert repo.commit_files(c2, {"t2": b"f"}, "same") == c2
    # explicit author
    c3 = repo.commit_files(c2, {"z": b"1"}, "by someone", author=GitIdentity("Ann", "ann@x.org"))
    assert git(work, "log", "-1", "--format=%an <%ae>%n%cn <%ce>", c3).split("\n")[:2] == [
        "Ann <ann@x.org>",
        "Ann <ann@x.org>",
    ]
    with pytest.raises(InvalidArgumentError):
        repo.commit_files(c2, {"t1/metadata.json/x": b"1"}, "file used as dir")
    for bad in ("/abs", "a/../b", "a//b", ".git/config", ""):
        with pytest.raises(InvalidArgumentError):
            repo.commit_files(c2, {bad: b"1"}, "bad path")
    assert "error" not in git(work, "fsck", "--strict").lower()


def test_history_helpers(seeded: tuple[GitRepo, str]) -> None:
    repo, first = seeded
    a1 = repo.commit_files(first, {"a": b"1"}, "a1")
    a2 = repo.commit_files(a1, {"a": b"2"}, "a2")
    b1 = repo.commit_files(first, {"b": b"1"}, "b1")
    assert repo.objects.is_ancestor(first, a2) and repo.objects.is_ancestor(a2, a2)
    assert not repo.objects.is_ancestor(a2, first) and not repo.objects.is_ancestor(b1, a2)
    assert repo.objects.ahead_behind(a2, first) == (2, 0)
    assert repo.objects.ahead_behind(first, a2) == (0, 2)
    assert repo.objects.ahead_behind(a2, b1) == (2, 1)
    assert repo.objects.ahead_behind(a2, None) == (3, 0)


# --------------------------------------------------------------------------------------------------------
# push: the concurrency primitive
# --------------------------------------------------------------------------------------------------------


def test_push_race_exactly_one_wins_and_loser_recovers(
    tmp_path: Path, remote: Path, seeded: tuple[GitRepo, str]
) -> None:
    a, first = seeded
    b = clone_repo(str(remote), tmp_path / "b")
    assert b.fetch() == first
    ca = a.commit_files(first, {"ta/metadata.json": b"A"}, "Update ta")
    cb = b.commit_files(first, {"tb/metadata.json": b"B"}, "Update tb")
    results = [a.push(ca, expected_remote=first), b.push(cb, expected_remote=first)]
    assert results == [True, False]
    assert git(remote, "rev-parse", "main").strip() == ca
    # the loser re-pushing the same stale commit keeps failing and changes nothing
    assert b.push(cb, expected_remote=first) is False
    # a commit that does not descend from expected_remote is refused too
    assert b.push(cb, expected_remote=ca) is False
    assert git(remote, "rev-parse", "main").strip() == ca

    new_head = b.fetch()
    assert new_head == ca
    assert b.remote_head() == ca
    cb2 = b.commit_files(new_head, {"tb/metadata.json": b"B"}, "Update tb")
    assert b.push(cb2, expected_remote=new_head) is True
    assert git(remote, "ls-tree", "-r", "--name-only", "main").split() == [
        ".datom/manifest.json",
        "README.md",
        "ta/metadata.json",
        "tb/metadata.json",
    ]
    assert git(remote, "rev-list", "--count", "main").strip() == "3"
    # pushing what the remote already has is a success (no-op)
    assert b.push(cb2, expected_remote=new_head) is True
    a.close()
    b.close()


def _race_inside_push(
    loser: GitRepo, winner: GitRepo, winner_commit: str, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Make ``winner`` push between ``loser``'s ref advertisement (or, for a remote on this machine, its
    own check of the ref) and its ref update."""
    store = loser._repo.object_store
    original = store.generate_pack_data
    original_copy = localremote.copy_objects
    fired: list[bool] = []

    def fire() -> None:
        if not fired:
            fired.append(True)
            assert winner.push(winner_commit, expected_remote=expected) is True

    def generate_pack_data(*args, **kwargs):  # type: ignore[no-untyped-def]
        fire()
        return original(*args, **kwargs)

    def copy_objects(src, dest, roots):  # type: ignore[no-untyped-def]
        if src is store or getattr(src, "store", None) is store:  # the loser's objects (or its object cache)
            fire()
        return original_copy(src, dest, roots)

    store.generate_pack_data = generate_pack_data  # type: ignore[method-assign]
    monkeypatch.setattr(localremote, "copy_objects", copy_objects)


@pytest.mark.parametrize("transport", ["local", "http"])
def test_push_race_detected_by_the_server(
    tmp_path: Path, transport: str, http_server: GitHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The remote itself refuses a stale update (compare-and-swap), not only our pre-check."""
    bare = make_bare_repo(tmp_path / "srv" / "race.git")
    url = str(bare) if transport == "local" else http_server.url("race.git")
    a = init_repo(tmp_path / "a", url)
    base = a.commit_files(None, {"f": b"0"}, "base")
    assert a.push(base, expected_remote=None)
    b = clone_repo(url, tmp_path / "b")
    ca = a.commit_files(base, {"a": b"A"}, "A")
    cb = b.commit_files(base, {"b": b"B"}, "B")
    _race_inside_push(b, a, ca, base, monkeypatch)
    assert b.push(cb, expected_remote=base) is False
    assert git(bare, "rev-parse", "main").strip() == ca
    a.close()
    b.close()


def _stress_worker(url: str, path: str, wid: int, rounds: int, creds, barrier, queue) -> None:  # type: ignore[no-untyped-def]
    """One writer: ``rounds`` times fetch, build a commit on the remote head and push; retry lost races."""
    repo = clone_repo(url, path, credentials=creds)
    retries = 0
    try:
        barrier.wait(timeout=30)
        for rnd in range(rounds):
            for _attempt in range(500):
                head = repo.fetch()
                manifest = json.loads(repo.objects.read_file(head, "manifest.json") or b"[]")
                manifest.append(f"w{wid}-r{rnd}")
                commit = repo.commit_files(
                    head,
                    {
                        f"w{wid}/r{rnd}.json": json.dumps({"w": wid, "r": rnd}).encode(),
                        "manifest.json": json.dumps(manifest).encode(),
                    },
                    f"Update w{wid} r{rnd}",
                )
                if repo.push(commit, expected_remote=head):
                    break
                retries += 1
            else:
                raise AssertionError("gave up after 500 lost races")
        queue.put((wid, retries, None))
    except BaseException as exc:  # report, do not hang the parent
        queue.put((wid, retries, repr(exc)))
    finally:
        repo.close()


def _run_stress(tmp_path: Path, bare: Path, url: str, creds: GitCredentials | None) -> None:
    seed = init_repo(tmp_path / "seed", url, credentials=creds)
    base = seed.commit_files(None, {"manifest.json": b"[]"}, "Initialize")
    assert seed.push(base, expected_remote=None)
    seed.close()
    workers, rounds = 3, 10
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(workers)
    queue = ctx.Queue()
    procs = [
        ctx.Process(target=_stress_worker, args=(url, str(tmp_path / f"w{i}"), i, rounds, creds, barrier, queue))
        for i in range(workers)
    ]
    for p in procs:
        p.start()
    results = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    assert [r[2] for r in results] == [None] * workers, results
    print(f"stress over {url}: lost races (retries) per writer = {sorted(r[1] for r in results)}")
    expected = sorted(f"w{w}-r{r}" for w in range(workers) for r in range(rounds))
    manifest = json.loads(git(bare, "show", "main:manifest.json"))
    assert sorted(manifest) == expected, "a lost update: some writer's manifest entry disappeared"
    files = set(git(bare, "ls-tree", "-r", "--name-only", "main").split())
    assert {f"w{w}/r{r}.json" for w in range(workers) for r in range(rounds)} <= files
    assert git(bare, "rev-list", "--count", "main").strip() == str(1 + workers * rounds)
    assert git(bare, "rev-list", "--merges", "main").strip() == ""
    assert "error" not in git(bare, "fsck", "--strict").lower()


@pytest.mark.slow
def test_stress_concurrent_writers_local_bare(tmp_path: Path, remote: Path) -> None:
    _run_stress(tmp_path, remote, str(remote), None)


@pytest.mark.slow
def test_stress_concurrent_writers_http(tmp_path: Path, auth_server: GitHTTPServer) -> None:
    bare = make_bare_repo(tmp_path / "srv" / "stress.git")
    _run_stress(tmp_path, bare, auth_server.url("stress.git"), GitCredentials("git", "s3cr3t-token"))


# --------------------------------------------------------------------------------------------------------
# HTTP and credentials
# --------------------------------------------------------------------------------------------------------


def test_http_basic_auth_success(tmp_path: Path, auth_server: GitHTTPServer) -> None:
    bare = make_bare_repo(tmp_path / "srv" / "auth.git")
    url = auth_server.url("auth.git")
    repo = init_repo(tmp_path / "a", url, credentials=GitCredentials.from_token("s3cr3t-token"))
    c = repo.commit_files(None, {"README.md": b"r"}, "Initialize")
    assert repo.push(c, expected_remote=None) is True
    assert git(bare, "rev-parse", "main").strip() == c
    assert repo.fetch() == c
    assert "s3cr3t" not in repr(repo.credentials)

    # credentials embedded in the URL work too, and are never written to .git/config
    embedded = url.replace("http://", "http://git:s3cr3t-token@")
    clone = clone_repo(embedded, tmp_path / "b")
    assert clone.head() == c and clone.remote_url == url
    c2 = clone.commit_files(c, {"x": b"1"}, "x")
    assert clone.push(c2, expected_remote=c) is True
    init_embedded = init_repo(tmp_path / "c", embedded)
    assert init_embedded.fetch() == c2
    for work in ("a", "b", "c"):
        text = (tmp_path / work / ".git" / "config").read_text()
        assert "s3cr3t" not in text and "git:" not in text
        assert f"url = {url}" in text
    for r in (repo, clone, init_embedded):
        r.close()


def test_http_auth_failure_is_a_clear_git_error(tmp_path: Path, auth_server: GitHTTPServer) -> None:
    bare = make_bare_repo(tmp_path / "srv" / "auth.git")
    url = auth_server.url("auth.git")
    for creds in (None, GitCredentials("git", "wrong")):
        repo = init_repo(tmp_path / f"a{creds is None}", url, credentials=creds)
        with pytest.raises(GitError) as err:
            repo.fetch()
        assert "401" in str(err.value) and url in str(err.value)
        assert "check credentials" in str(err.value)
        c = repo.commit_files(None, {"f": b"1"}, "m")
        with pytest.raises(GitError, match="401"):
            repo.push(c, expected_remote=None)
        repo.close()
    assert git(bare, "for-each-ref").strip() == ""
    assert any(not ok for _, _, ok in auth_server.requests)
    with pytest.raises(GitError, match="check credentials"):
        clone_repo(url, tmp_path / "c", credentials=GitCredentials("git", "nope"))
    assert not (tmp_path / "c").exists()


def test_push_refused_by_the_server_is_an_error_not_a_lost_race(tmp_path: Path, http_server: GitHTTPServer) -> None:
    bare = make_bare_repo(tmp_path / "srv" / "hooked.git")
    hook = bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'protected branch' >&2\nexit 1\n")
    hook.chmod(0o755)
    repo = init_repo(tmp_path / "a", http_server.url("hooked.git"))
    c = repo.commit_files(None, {"f": b"1"}, "m")
    with pytest.raises(GitError, match="rejected") as err:
        repo.push(c, expected_remote=None)
    assert "hooked.git" in str(err.value)
    assert git(bare, "for-each-ref").strip() == ""
    repo.close()


def test_http_commit_push_is_fast(tmp_path: Path, http_server: GitHTTPServer) -> None:
    make_bare_repo(tmp_path / "srv" / "fast.git")
    repo = init_repo(tmp_path / "a", http_server.url("fast.git"))
    head = repo.commit_files(None, {".datom/manifest.json": b"{}"}, "init")
    assert repo.push(head, expected_remote=None)
    n = 10
    t0 = time.perf_counter()
    for i in range(n):
        c = repo.commit_files(head, {".datom/manifest.json": json.dumps({"i": i}).encode()}, f"u{i}")
        assert repo.push(c, expected_remote=head)
        head = c
    per_push = (time.perf_counter() - t0) / n
    assert per_push < 0.25, f"commit+push over HTTP took {per_push * 1000:.0f} ms"
    repo.close()


# --------------------------------------------------------------------------------------------------------
# advance and the working tree
# --------------------------------------------------------------------------------------------------------


def test_advance_touches_only_changed_paths(seeded: tuple[GitRepo, str]) -> None:
    repo, first = seeded
    work = repo.path
    (work / ".gitignore").write_text("*.log\n")
    (work / "debug.log").write_text("ignored\n")
    (work / "scratch.txt").write_text("untracked\n")
    (work / "README.md").write_text("local edit, not part of the update\n")
    manifest_stat = (work / ".datom" / "manifest.json").stat()

    c1 = repo.commit_files(first, {"t/metadata.json": b"1", "t/sub/a.json": b"a"}, "add t")
    repo.advance(c1)
    assert repo.head() == c1
    assert (work / "t" / "sub" / "a.json").read_bytes() == b"a"
    assert (work / "README.md").read_text() == "local edit, not part of the update\n"
    assert (work / "debug.log").read_text() == "ignored\n"
    assert (work / "scratch.txt").read_text() == "untracked\n"
    after = (work / ".datom" / "manifest.json").stat()
    assert (after.st_ino, after.st_mtime_ns) == (manifest_stat.st_ino, manifest_stat.st_mtime_ns)
    assert sorted(git(work, "status", "--porcelain").splitlines()) == [
        " M README.md",
        "?? .gitignore",
        "?? scratch.txt",
    ]
    st = repo.status()
    assert st.unstaged == ["README.md"] and st.staged == []
    assert st.untracked == [".gitignore", "scratch.txt"]

    c2 = repo.commit_files(c1, {"t/sub/a.json": None, "t/metadata.json": b"2"}, "del")
    repo.advance(c2)
    assert not (work / "t" / "sub").exists(), "emptied directories are removed"
    assert (work / "t" / "metadata.json").read_bytes() == b"2"
    assert git(work, "diff", "--cached", "--name-only") == ""

    # a commit that does not descend from HEAD is refused
    other = repo.commit_files(first, {"o": b"o"}, "other")
    with pytest.raises(ConflictError):
        repo.advance(other)
    assert repo.head() == c2


def test_advance_refuses_conflicting_local_edits(seeded: tuple[GitRepo, str]) -> None:
    repo, first = seeded
    work = repo.path
    c1 = repo.commit_files(first, {".datom/manifest.json": b'{"new": 1}', "t/metadata.json": b"m"}, "up")
    (work / ".datom" / "manifest.json").write_text("my local edit\n")
    with pytest.raises(ConflictError, match=r"\.datom/manifest\.json") as err:
        repo.advance(c1)
    assert "t/metadata.json" not in str(err.value)
    assert repo.head() == first
    assert (work / ".datom" / "manifest.json").read_text() == "my local edit\n"
    assert not (work / "t").exists(), "nothing may be written when refusing"

    # an untracked file in the way with other content also conflicts
    (work / ".datom" / "manifest.json").write_bytes(b"{}\n")
    (work / "t").mkdir()
    (work / "t" / "metadata.json").write_text("untracked but different")
    with pytest.raises(ConflictError, match=r"t/metadata\.json"):
        repo.advance(c1)
    # staged-only changes conflict as well
    (work / "t" / "metadata.json").unlink()
    (work / ".datom" / "manifest.json").write_text("staged edit\n")
    git(work, "add", ".datom/manifest.json")
    (work / ".datom" / "manifest.json").write_bytes(b"{}\n")
    with pytest.raises(ConflictError, match="manifest"):
        repo.advance(c1)
    git(work, "reset", "-q")

    # a local edit equal to the incoming content is fine
    (work / ".datom" / "manifest.json").write_bytes(b'{"new": 1}')
    repo.advance(c1)
    assert repo.head() == c1 and git(work, "status", "--porcelain") == ""


def test_advance_keeps_the_index_usable_by_git(seeded: tuple[GitRepo, str]) -> None:
    """After git itself wrote a cached tree into the index, advance must not leave it stale."""
    repo, _ = seeded
    work = repo.path
    (work / "t").mkdir()
    (work / "t" / "metadata.json").write_text("v1")
    git(work, "add", "t/metadata.json")
    git(work, "commit", "-q", "-m", "by git")
    head = git(work, "rev-parse", "HEAD").strip()
    c = repo.commit_files(head, {"t/metadata.json": b"v2", "t/version_history.json": b"[]"}, "by datom")
    repo.advance(c)
    (work / "other.txt").write_text("o")
    git(work, "add", "other.txt")
    git(work, "commit", "-q", "-m", "by git again")
    assert git(work, "show", "HEAD:t/metadata.json") == "v2"
    assert git(work, "ls-tree", "-r", "--name-only", "HEAD", "t").split() == [
        "t/metadata.json",
        "t/version_history.json",
    ]


# --------------------------------------------------------------------------------------------------------
# pull
# --------------------------------------------------------------------------------------------------------


def test_pull_fast_forward_and_noop(tmp_path: Path, remote: Path, seeded: tuple[GitRepo, str]) -> None:
    a, first = seeded
    b = clone_repo(str(remote), tmp_path / "b")
    assert b.pull() == PullResult(0, "main", first)
    h = first
    for i in range(2):
        c = a.commit_files(h, {f"t{i}/metadata.json": b"x"}, f"u{i}")
        assert a.push(c, expected_remote=h)
        h = c
    result = b.pull()
    assert result == PullResult(2, "main", h)
    assert (tmp_path / "b" / "t1" / "metadata.json").read_bytes() == b"x"
    assert git(tmp_path / "b", "status", "--porcelain") == ""
    # ahead only: nothing to do
    local = b.commit_files(h, {"l": b"l"}, "local")
    b.advance(local)
    assert b.pull() == PullResult(0, "main", local)
    a.close()
    b.close()


def test_pull_diverged_merges_or_conflicts(tmp_path: Path, remote: Path, seeded: tuple[GitRepo, str]) -> None:
    a, first = seeded
    b = clone_repo(str(remote), tmp_path / "b")
    ca = a.commit_files(first, {"ta/metadata.json": b"A"}, "A")
    assert a.push(ca, expected_remote=first)
    cb = b.commit_files(first, {"tb/metadata.json": b"B"}, "B")
    b.advance(cb)

    result = b.pull()
    assert result.commits_pulled == 1 and result.branch == "main"
    merge = result.head
    assert merge is not None and b.head() == merge
    parents = git(tmp_path / "b", "log", "-1", "--format=%P", merge).split()
    assert parents == [cb, ca]
    assert (tmp_path / "b" / "ta" / "metadata.json").read_bytes() == b"A"
    assert (tmp_path / "b" / "tb" / "metadata.json").read_bytes() == b"B"
    assert git(tmp_path / "b", "status", "--porcelain") == ""
    assert b.push(merge, expected_remote=ca) is True
    assert git(remote, "rev-parse", "main").strip() == merge

    # both sides change the same file differently -> ConflictError, repository untouched
    assert a.pull() == PullResult(3, "main", merge)  # a never advanced past `first`: ca, cb and the merge
    ca2 = a.commit_files(merge, {".datom/manifest.json": b'{"by": "a"}'}, "A2")
    assert a.push(ca2, expected_remote=merge)
    cb2 = b.commit_files(merge, {".datom/manifest.json": b'{"by": "b"}'}, "B2")
    b.advance(cb2)
    before = git(tmp_path / "b", "status", "--porcelain")
    with pytest.raises(ConflictError, match=r"\.datom/manifest\.json"):
        b.pull()
    assert b.head() == cb2
    assert (tmp_path / "b" / ".datom" / "manifest.json").read_bytes() == b'{"by": "b"}'
    assert git(tmp_path / "b", "status", "--porcelain") == before
    assert not (tmp_path / "b" / ".git" / "MERGE_HEAD").exists()
    a.close()
    b.close()


def test_pull_without_remote_branch_only_fetches(tmp_path: Path, remote: Path) -> None:
    repo = init_repo(tmp_path / "a", str(remote))
    assert repo.pull() == PullResult(0, "main", None)
    c = repo.commit_files(None, {"f": b"1"}, "m")
    repo.advance(c)
    assert repo.pull() == PullResult(0, "main", c)
    repo.close()


# --------------------------------------------------------------------------------------------------------
# detached HEAD
# --------------------------------------------------------------------------------------------------------


def test_detached_head_is_an_error(seeded: tuple[GitRepo, str]) -> None:
    repo, first = seeded
    git(repo.path, "checkout", "-q", "--detach")
    assert repo.head() == first
    with pytest.raises(GitError, match="detached"):
        repo.branch()
    c = repo.commit_files(first, {"x": b"1"}, "x")
    with pytest.raises(GitError, match="detached"):
        repo.push(c, expected_remote=first)
    with pytest.raises(GitError, match="detached"):
        repo.pull()
    assert repo.status().branch is None


# --------------------------------------------------------------------------------------------------------
# pushes to a local remote copy only what changed; the config is re-read when it changes
# --------------------------------------------------------------------------------------------------------


def test_local_push_copies_every_missing_object_and_links_loose_ones(
    seeded: tuple[GitRepo, str], remote: Path, tmp_path: Path
) -> None:
    """Each push copies what the remote lacks (the tree compared with the remote's parent, path by path):
    after changes of every shape the remote is complete (``git fsck``), and a real git clone of it reads
    every file; loose objects are hard-linked, not rewritten."""
    repo, head = seeded
    steps: list[dict[str, bytes | None]] = [
        {"t/a/metadata.json": b"1", "t/a/version_history.json": b"[1]", "u/x": b"x"},
        {"t/a/metadata.json": b"2", "t/b/metadata.json": b"1"},  # a changed file beside a new subtree
        {"u/x": None, "u": b"now a file"},  # a directory replaced by a file
        {"u": None, "u/y/z": b"a directory again"},
        {"t/a/metadata.json": b"1"},  # back to a blob the remote already has
        {"v/a/metadata.json": b"1", "v/a/version_history.json": b"[1]"},  # a subtree equal to an old one
    ]
    for i, files in enumerate(steps):
        new = repo.commit_files(head, files, f"step {i}")
        assert repo.push(new, expected_remote=head) is True
        head = new
        assert git(remote, "fsck", "--full", "--strict").strip() == ""
    clone = tmp_path / "by-git"
    subprocess.run(["git", "clone", "-q", str(remote), str(clone)], check=True)
    assert (clone / "u" / "y" / "z").read_bytes() == b"a directory again"
    assert (clone / "v" / "a" / "version_history.json").read_bytes() == b"[1]"
    assert (clone / "t" / "a" / "metadata.json").read_bytes() == b"1"
    commit_file = Path(hex_to_filename(str(remote / "objects"), head))
    # the clone's loose object, linked into the remote (the git clone above links it too)
    assert Path(hex_to_filename(str(repo.path / ".git" / "objects"), head)).samefile(commit_file)


def test_config_is_read_again_when_it_changes(
    seeded: tuple[GitRepo, str], tmp_path: Path, isolated_git_config: Path
) -> None:
    repo, head = seeded
    config = repo.path / ".git" / "config"
    old = time.time() - 30
    for path in (config, isolated_git_config):
        os.utime(path, (old, old))  # settled: the parsed config is kept
    assert repo.identity() == GitIdentity("Global User", "global@example.com")
    assert repo.config() is repo.config()
    git(repo.path, "config", "user.name", "Renamed User")  # git rewrites the file
    assert repo.identity() == GitIdentity("Renamed User", "global@example.com")
    # an included file is not watched: a config with includes is parsed on every read
    included = tmp_path / "included.gitconfig"
    included.write_text("[user]\n\temail = included@example.com\n")
    git(repo.path, "config", "include.path", str(included))
    os.utime(config, (old, old))
    assert repo.identity() == GitIdentity("Renamed User", "included@example.com")
    included.write_text("[user]\n\temail = changed@example.com\n")
    assert repo.identity() == GitIdentity("Renamed User", "changed@example.com")
    c = repo.commit_files(head, {"f": b"1"}, "by the included identity")
    assert "changed@example.com" in git(repo.path, "log", "-1", "--format=%ae", c)
