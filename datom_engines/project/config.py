"""The project's own settings as committed in ``.datom/project.yaml`` (reference section 1.1.2)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ..core import keys
from ..core.codecs import Compression, normalize_compression
from ..core.metadata import parse_project_yaml
from ..errors import InvalidArgumentError, NotFoundError
from ..gitrepo import GitRepo
from ..storage.location import StoreLocation

_parsed: dict[bytes, dict[str, Any]] = {}  # project.yaml bytes -> parsed (writes re-read it every time)


def read_config(repo: GitRepo, commit: str | None) -> dict[str, Any]:
    """``project.yaml`` at ``commit``, parsed; :class:`NotFoundError` when the repo has none."""
    text = repo.objects.read_file(commit, keys.PROJECT_YAML_PATH) if commit else None
    if text is None:
        raise NotFoundError(
            f"{repo.path} is not a datom repository (no {keys.PROJECT_YAML_PATH})",
            hint="check the path or remote URL",
        )
    config = _parsed.get(text)
    if config is None:
        config = parse_project_yaml(text.decode("utf-8"))
        if len(_parsed) > 64:
            _parsed.clear()
        _parsed[text] = config
    config = copy.deepcopy(config)
    if not config.get("project_name"):
        raise InvalidArgumentError(f"{keys.PROJECT_YAML_PATH} in {repo.path} has no project_name")
    return config


def recorded_location(
    config: Mapping[str, Any], storage_options: Mapping[str, Any] | None = None
) -> StoreLocation | None:
    """The data store recorded under ``storage.data`` (R's legacy layout: the ``storage`` block itself)."""
    storage = config.get("storage") or {}
    data = storage.get("data") if isinstance(storage.get("data"), Mapping) else storage
    return StoreLocation.from_project_yaml(data, storage_options) if data else None


def configured_compression(config: Mapping[str, Any]) -> str:
    """The project's default parquet ``compression`` (``parquet.compression`` in project.yaml; ``"auto"``
    when unset)."""
    block = config.get("parquet")
    value: Compression = block.get("compression") if isinstance(block, Mapping) else None
    try:
        setting = normalize_compression(value)
        if isinstance(setting, dict):
            raise InvalidArgumentError("it must be one codec name, not a mapping of columns")
        return setting
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(
            f"{keys.PROJECT_YAML_PATH}: parquet.compression: {exc.message}",
            hint="fix it with Project.set_compression(...) (or `datom compression CODEC`)",
        ) from None
