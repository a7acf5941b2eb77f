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
