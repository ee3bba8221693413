"""Progress bars for downloads (rich), only on a terminal and never in CI logs."""

from __future__ import annotations

import os
import sys
import threading
from types import TracebackType


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
        self._progress = Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self._lock = threading.Lock()
        self._started = False

    def start(self, filename: str, total: int | None) -> int:
        with self._lock:
            if not self._started:
                self._progress.start()
                self._started = True
            parts = filename.split("-")
            label = " ".join(parts[:2]) if len(parts) > 2 else filename
            return int(self._progress.add_task(label, total=total))

    def advance(self, token: int, size: int) -> None:
        self._progress.advance(token, size)  # type: ignore[arg-type]

    def finish(self, token: int) -> None:
        self._progress.remove_task(token)  # type: ignore[arg-type]

    def __enter__(self) -> RichDownloads:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._started:
            self._progress.stop()
