"""Progress bars for downloads (rich), only on a terminal and never in CI logs."""

from __future__ import annotations

import os
import sys
import threading
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress


def wanted(verbosity: int) -> bool:
    """Bars only for a person watching: a terminal, not quiet, not CI, not a dumb terminal."""
    return (
        verbosity >= 0
        and sys.stderr.isatty()
        and not os.environ.get("CI")
        and os.environ.get("TERM") != "dumb"
    )


class RichDownloads:
    """``fetch.DownloadProgress`` drawn with rich: bytes, rate and time left per file."""

    def __init__(self) -> None:
        # rich is imported when the first download starts: a run that downloads nothing
        # (a warm install, a dry run) never loads it.
        self._progress: Progress | None = None
        self._lock = threading.Lock()

    @staticmethod
    def _made() -> Progress:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        console = Console(stderr=True, no_color=bool(os.environ.get("NO_COLOR")))
        progress = Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        progress.start()
        return progress

    def start(self, filename: str, total: int | None) -> int:
        with self._lock:
            if self._progress is None:
                self._progress = self._made()
            parts = filename.split("-")
            label = " ".join(parts[:2]) if len(parts) > 2 else filename
            return int(self._progress.add_task(label, total=total))

    def advance(self, token: int, size: int) -> None:
        assert self._progress is not None  # started by ``start``
        self._progress.advance(token, size)  # type: ignore[arg-type]

    def finish(self, token: int) -> None:
        assert self._progress is not None
        self._progress.remove_task(token)  # type: ignore[arg-type]

    def __enter__(self) -> RichDownloads:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
