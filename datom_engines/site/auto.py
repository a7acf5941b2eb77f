"""The site's publish hook: after a write, update the store's site when the writer or the site asks.

``write(..., site=True)`` always updates (and creates the site if there is none), ``site=False`` never
does, and the default updates only a site built with ``auto=True`` (a setting kept in the site's own
state in the store, so every writer of the project follows it). The write has already been pushed
and published when this runs: a failure here is a :class:`~datom_engines.errors.SiteUpdateWarning`,
never an error, and the next build catches up (it compares the manifest with the site's state).
"""

from __future__ import annotations

import warnings

from ..errors import DatomError, SiteUpdateWarning
from ..project.hooks import Published
from .build import build_into
from .state import auto_enabled
from .target import StoreTarget


def after_publish(event: Published) -> None:
    """Update the in-store site of ``event.project`` if asked (see the module docstring)."""
    if event.site is False:
        return
    target = StoreTarget(event.store)
    if event.site is None:
        try:
            if not auto_enabled(target):
                return
        except DatomError:
            # nobody asked: a store that refuses the read (S3 answers 403 for a missing key when the
            # credentials lack s3:ListBucket) or cannot be reached now says nothing; the next build catches up
            return
    try:
        build_into(event.store, event.project, target)
    except Exception as exc:  # the data is published; the site only lags until the next build
        warnings.warn(
            SiteUpdateWarning(
                f"the static site of {event.project} was not updated after the write: {exc}; "
                "rebuild it with `datom site`"
            ),
            stacklevel=2,
        )
