"""Hooks run after a writer has published new metadata to the store (the static site registers one).

The write path cannot import the layers above it, so they register here instead (the package root
registers the static site's hook, which loads the site code only when it runs): after a commit is
pushed and its store mirror published (and after a tag record is written), :func:`run_publish_hooks`
calls every registered hook with a :class:`Published` event. A hook must not raise for a problem of its
own (the write has already happened): it reports it as a warning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Published:
    """What was just published: the project's store, the pushed commit and the tables it changed.

    ``site`` is what the writer asked for the static site: True (update it), False (leave it) or None
    (follow the project's setting, stored with the site).
    """

    store: Any  # the project's ObjectStore
    project: str
    commit: str | None
    tables: tuple[str, ...]
    site: bool | None = None


PublishHook = Callable[[Published], None]

_HOOKS: dict[str, PublishHook] = {}


def add_publish_hook(name: str, hook: PublishHook) -> None:
    """Register ``hook`` under ``name`` (replacing a hook of that name)."""
    _HOOKS[name] = hook


def remove_publish_hook(name: str) -> None:
    """Unregister the hook called ``name`` (nothing happens when there is none)."""
    _HOOKS.pop(name, None)


def run_publish_hooks(event: Published) -> None:
    """Call every registered hook with ``event``, in registration order."""
    for hook in list(_HOOKS.values()):
        hook(event)
