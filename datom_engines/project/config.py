"""The project's own settings as committed in ``.datom/project.yaml`` (reference section 1.1.2)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core import keys
from ..core.metadata import parse_project_yaml
from ..errors import InvalidArgumentError, NotFoundError
from ..gitrepo import GitRepo
from ..storage.location import StoreLocation


def read_config(repo: GitRepo, commit: str | None) -> dict[str, Any]:
    """``project.yaml`` at ``commit``, parsed; :class:`NotFoundError` when the repo has none."""
    text = repo.read_file(commit, keys.PROJECT_YAML_PATH) if commit else None
    if text is None:
        raise NotFoundError(
            f"{repo.path} is not a datom repository (no {keys.PROJECT_YAML_PATH})",
            hint="check the path or remote URL",
        )
    config = parse_project_yaml(text.decode("utf-8"))
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
