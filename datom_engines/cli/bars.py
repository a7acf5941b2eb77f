"""Progress bars for the command line, fed by the core's progress events (:mod:`datom_engines.progress`).

Built on tqdm: small, dependency-free, thread-safe enough for the hashing/upload threads that report
progress, and it formats sizes and rates in human units (``12.3MB/s``). Bars go to stderr, appear only
for work that lasts more than a moment, vanish when the work ends, and are not drawn at all when stderr
is not a terminal (pipes, CI logs), so scripted output stays clean.
"""

from __future__ import annotations

import sys
import threading
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:  # tqdm loads when the first bar is drawn
    from tqdm import tqdm

LABELS = {
    "hash": "hashing",
    "write": "writing parquet",
    "upload": "uploading",
    "download": "downloading",
    "verify": "verifying",
    "import": "reading files",
    "sync": "writing tables",
}
SHOW_AFTER_SECONDS = 0.3


class ProgressBars:
    """A ``progress(stage, advance, total)`` callable that draws one bar per running stage."""

    def __init__(
        self,
        enabled: bool | None = None,
        file: IO[str] | None = None,
        delay: float = SHOW_AFTER_SECONDS,
        mininterval: float = 0.1,
    ) -> None:
        self.file = file if file is not None else sys.stderr
        isatty = getattr(self.file, "isatty", None)
        self.enabled = bool(isatty and isatty()) if enabled is None else enabled
        self.delay = delay
        self.mininterval = mininterval
        self._bars: dict[str, tqdm] = {}
        self._lock = threading.Lock()

    def __call__(self, stage: str, advance: int, total: int | None) -> None:
        if not self.enabled:
            return
        with self._lock:
            bar = self._bars.get(stage)
            if advance < 0:
                if bar is not None:
                    bar.close()
                    del self._bars[stage]
            elif bar is None:
                from tqdm import tqdm

                self._bars[stage] = tqdm(
                    total=total,
                    initial=advance,
                    desc=LABELS.get(stage, stage),
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1024,
                    leave=False,
                    file=self.file,
                    position=len(self._bars),
                    dynamic_ncols=True,
                    mininterval=self.mininterval,
                    delay=self.delay,
                )
            elif advance:
                bar.update(advance)

    def close(self) -> None:
        """Remove every bar still drawn (after an error, for example)."""
        with self._lock:
            for bar in self._bars.values():
                bar.close()
            self._bars.clear()
