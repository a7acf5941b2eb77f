"""Progress reporting hooks for long work (hashing, uploading, downloading, verifying).

Operations accept ``progress``: any callable ``progress(stage, advance, total)``. It is called once with
``advance=0`` when a stage starts (``total`` in bytes, or None when unknown), then with the number of
bytes done since the last call, and finally with ``advance=-1`` when the stage ends. Stages used:
``hash``, ``write``, ``upload``, ``download``, ``verify``, and for a sync ``import`` (reading the source
files) and ``sync`` (writing them), which advance by each file's size and enclose the per-file stages.
The command line turns these into progress bars; library users can log them or ignore them (the default
is no reporting at all).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol


class Progress(Protocol):
    """Receives progress events: ``(stage, advance, total)``; see the module docstring."""

    def __call__(self, stage: str, advance: int, total: int | None) -> None: ...


ByteCallback = Callable[[int], None]


@contextmanager
def stage(progress: Progress | None, name: str, total: int | None) -> Iterator[ByteCallback | None]:
    """Report one stage: yields a per-chunk byte callback (None when nobody listens)."""
    if progress is None:
        yield None
        return
    progress(name, 0, total)
    try:
        yield lambda n: progress(name, n, total)
    finally:
        progress(name, -1, total)
