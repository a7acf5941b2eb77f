"""Shared fixtures: real git remotes (bare repos), and stores on a local directory, fsspec memory and a
real S3 endpoint (moto's ThreadedMotoServer on 127.0.0.1, started once per test session)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from gitserver import make_bare_repo

FIXTURES = Path(__file__).parent / "fixtures"

S3_KEY = "test-access-key"
S3_SECRET = "test-secret-key"


def load_json(name: str) -> Any:
    """A JSON fixture from tests/fixtures."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


TEST_IDENTITY = ("Test Writer", "writer@example.org")


@pytest.fixture(scope="session", autouse=True)
def _git_identity(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Isolate git config from the machine: a known global identity, no system config."""
    cfg = tmp_path_factory.mktemp("gitconfig") / "global.gitconfig"
    cfg.write_text(f"[user]\n\tname = {TEST_IDENTITY[0]}\n\temail = {TEST_IDENTITY[1]}\n")
    mp = pytest.MonkeyPatch()
    mp.setenv("GIT_CONFIG_GLOBAL", str(cfg))
    mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
    yield
    mp.undo()


@pytest.fixture
def bare_remote(tmp_path: Path) -> str:
    """A fresh bare repository (made by real git) to act as the shared remote."""
    return str(make_bare_repo(tmp_path / "remote.git"))


# ----- S3 (moto) ---------------------------------------------------------------------------------
@dataclass
class S3Server:
    """A running moto S3 endpoint."""

    endpoint: str
    server: Any
    buckets: list[str] = field(default_factory=list)

    def storage_options(self, key: str = S3_KEY, secret: str = S3_SECRET) -> dict[str, Any]:
        """Polars-style storage options for this endpoint."""
        return {
            "aws_access_key_id": key,
            "aws_secret_access_key": secret,
            "aws_endpoint_url": self.endpoint,
            "aws_region": "us-east-1",
            "aws_allow_http": "true",
        }

    def client(self) -> Any:
        """A boto3 client (test set-up only)."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=S3_KEY,
            aws_secret_access_key=S3_SECRET,
            region_name="us-east-1",
        )

    def new_bucket(self) -> str:
        """Create a bucket with a unique name."""
        name = f"datom-test-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        self.buckets.append(name)
        return name


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """One real S3 endpoint on 127.0.0.1 for the whole session."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield S3Server(f"http://{host}:{port}", server)
    finally:
        server.stop()


# ----- stores ------------------------------------------------------------------------------------
@dataclass
class StoreSpec:
    """A store for a test: the URL or path to pass as ``store=`` and its storage options."""

    kind: str
    url: str
    storage_options: dict[str, Any]
    s3: S3Server | None = None


STORE_KINDS = ["local", "memory", "s3"]


@pytest.fixture
def make_store(tmp_path: Path, request: pytest.FixtureRequest) -> Callable[[str], StoreSpec]:
    """Factory: ``make_store(kind)`` gives a fresh, empty store of that kind."""

    def make(kind: str) -> StoreSpec:
        if kind == "local":
            path = tmp_path / f"store-{uuid.uuid4().hex[:6]}"
            path.mkdir()
            return StoreSpec(kind, str(path), {})
        if kind == "memory":
            return StoreSpec(kind, f"memory://datom-{uuid.uuid4().hex[:12]}/proj", {})
        if kind == "s3":
            server: S3Server = request.getfixturevalue("s3_server")
            bucket = server.new_bucket()
            return StoreSpec(kind, f"s3://{bucket}/proj", server.storage_options(), server)
        raise ValueError(kind)

    return make


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, make_store: Callable[[str], StoreSpec]) -> StoreSpec:
    """A fresh store, once per kind (local directory, fsspec memory, S3 on moto)."""
    return make_store(request.param)


@pytest.fixture
def local_store(make_store: Callable[[str], StoreSpec]) -> StoreSpec:
    """A fresh local-directory store."""
    return make_store("local")


@pytest.fixture(autouse=True)
def read_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Each test gets its own empty read cache (never the user's ~/.cache) and no verdicts or copies from others."""
    from datom_engines.storage import cache, verify

    path = tmp_path / "read-cache"
    monkeypatch.setenv(cache.ENV_DIR, str(path))
    monkeypatch.delenv(cache.ENV_MAX_BYTES, raising=False)
    cache.reset_cache_configuration()
    verify.forget_process_verdicts()
    verify.forget_registered_copies()
    yield path
    cache.reset_cache_configuration()
    verify.forget_process_verdicts()
    verify.forget_registered_copies()


@pytest.fixture(autouse=True)
def _clean_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with no projects registered in the process and no governance store in use."""
    from datom_engines.project import governance, registry

    monkeypatch.delenv(governance.ENV_GOVERNANCE, raising=False)
    yield
    for name in registry.registered():
        registry.unregister(name)
    governance.use_governance(None)
    governance._env_cache.clear()


# ----- writers racing in processes -------------------------------------------------------------------
def git_env() -> dict[str, str]:
    """The git configuration of the test session, for child processes."""
    import os

    return {k: v for k, v in os.environ.items() if k.startswith("GIT_CONFIG")}


def race_writers(
    tmp_path: Path, store: StoreSpec, remote: str, worker: Callable[..., Any], rounds: int, project: str = "RACE"
) -> tuple[Any, list[Any]]:
    """Create a project, clone it twice, and run ``worker(clone, i, rounds, storage_options, env)`` in two
    processes at once; returns the first clone (pulled) and each worker's result."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import datom_engines as dt

    origin = dt.init(
        tmp_path / "origin", project, store=store.url, remote=remote, storage_options=store.storage_options
    )
    clones = [dt.clone(remote, tmp_path / f"w{i}", storage_options=store.storage_options) for i in range(2)]
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
        futures = [
            pool.submit(worker, str(c.path), i, rounds, store.storage_options, git_env()) for i, c in enumerate(clones)
        ]
        results = [f.result(timeout=600) for f in futures]
    origin.pull()
    return origin, results


# ----- engines: one local Spark session and one local Dask cluster per test session -----------------
@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A ``local[2]`` SparkSession for the whole test session (started on first use): loopback only,
    no UI, quiet logs, two shuffle partitions; its Python workers get a read cache of their own."""
    from datom_engines.spark import local_session

    worker_cache = tmp_path_factory.mktemp("spark-worker-cache")
    session = local_session(
        "local[2]",
        conf={
            "spark.default.parallelism": "2",
            "spark.executorEnv.DATOM_CACHE_DIR": str(worker_cache),
            "spark.sql.warehouse.dir": str(tmp_path_factory.mktemp("spark-warehouse")),
            "spark.driver.memory": "1g",
        },
        app_name="datom-tests",
    )
    try:
        yield session
    finally:
        session.stop()


@pytest.fixture(scope="session")
def dask_client() -> Iterator[Any]:
    """A ``distributed.LocalCluster`` of two worker processes on 127.0.0.1 (no dashboard), and its client."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None, memory_limit="2GiB"
    )
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


# ----- the command line ----------------------------------------------------------------------------
@dataclass
class Result:
    """Exit code and output of one command line run."""

    code: int
    out: str
    err: str

    def json(self) -> object:
        return json.loads(self.out)


@pytest.fixture
def datom(capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run the ``datom`` command line in this process: ``datom("tables", "--json")`` -> :class:`Result`."""

    from datom_engines.cli import main

    def run(*args: str) -> Result:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The keys of the stored objects hashed by verification, counted (the real hashing still runs)."""
    calls: list[str] = []
    from datom_engines.storage import verify

    real = verify.sha256_object

    def counting(store: Any, key: str, progress: Any = None) -> str:
        calls.append(key)
        return real(store, key, progress)

    monkeypatch.setattr(verify, "sha256_object", counting)
    return calls


def next_second() -> None:
    """Sleep into the next wall-clock second (version timestamps have one-second resolution)."""
    time.sleep(1.05 - time.time() % 1)
