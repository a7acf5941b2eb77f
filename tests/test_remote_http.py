"""A project whose git remote is served over HTTP (real git http-backend) with basic auth."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from conftest import StoreSpec
from gitserver import GitHTTPServer, make_bare_repo

import datom_engines as dt


def test_project_over_authenticated_http(tmp_path: Path, local_store: StoreSpec) -> None:
    make_bare_repo(tmp_path / "srv" / "study.git")
    token = dt.GitCredentials.from_token("s3cret-token")
    with GitHTTPServer(tmp_path / "srv", username="git", password="s3cret-token") as server:
        url = server.url("study.git")
        proj = dt.init(tmp_path / "a", "HTTP1", store=local_store.url, remote=url, credentials=token)
        first = proj.write(pl.DataFrame({"x": [1, 2, 3]}), "t")
        other = dt.clone(url, tmp_path / "b", credentials=token)
        assert other.history("t")[0].id == first.version
        second = other.write(pl.DataFrame({"x": [4, 5]}), "t")
        assert proj.pull().commits_pulled == 1
        assert [v.id for v in proj.history("t")] == [second.version, first.version]
        for clone in (tmp_path / "a", tmp_path / "b"):
            assert "s3cret-token" not in (clone / ".git" / "config").read_text()

        with pytest.raises(dt.GitError, match="credentials"):
            dt.clone(url, tmp_path / "c", credentials=dt.GitCredentials.from_token("wrong"))
        assert not (tmp_path / "c").exists() or not any((tmp_path / "c").iterdir())
        # credentials embedded in the URL work too, and are not stored either
        host = url.split("//", 1)[1]
        embedded = dt.clone(f"http://git:s3cret-token@{host}", tmp_path / "d")
        assert embedded.name == "HTTP1"
        assert "s3cret-token" not in (tmp_path / "d" / ".git" / "config").read_text()
        # ... nor in any committed file when a project is created from such a URL
        make_bare_repo(tmp_path / "srv" / "second.git")
        second = dt.init(tmp_path / "e", "HTTP2", store=tmp_path / "store2",
                         remote=f"http://git:s3cret-token@{host.replace('study.git', 'second.git')}")  # fmt: skip
        second.write(pl.DataFrame({"x": [1]}), "t")
        committed = [p for p in (tmp_path / "e").rglob("*") if p.is_file() and ".git" not in p.parts]
        assert committed and all(b"s3cret-token" not in p.read_bytes() for p in committed)
        assert "127.0.0.1" in (tmp_path / "e" / ".datom" / "project.yaml").read_text()
