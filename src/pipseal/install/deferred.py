"""Ctrl-C and SIGTERM held back while a commit moves files, taken between its steps.

Python raises ``KeyboardInterrupt`` wherever the main thread happens to be when the signal is
handled: between a ``rename`` and the line that counts it done, or half-way through undoing the
moves. Either splits a step of the journal, and the undo then misses a file that was moved
(which the staging directory's removal deletes). Inside ``DeferredSignals`` a signal only
notes that it came; ``check`` turns it into ``KeyboardInterrupt`` at a point the caller chose
(between two whole steps), and leaving the block delivers it as it would have been: SIGINT as
``KeyboardInterrupt``, SIGTERM to its previous handler (by default, the process ends).
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType

__all__ = ["DeferredSignals"]

_DEFERRED = (signal.SIGINT, signal.SIGTERM)


class DeferredSignals:
    """Hold SIGINT and SIGTERM back inside ``with``; ``check()`` between steps.

    Only the main thread receives signals in Python; elsewhere this does nothing. Signals whose
    handler is ``SIG_IGN`` stay ignored.
    """

    def __init__(self) -> None:
        self.pending: int | None = None
        self._previous: dict[int, signal._HANDLER] = {}

    def __enter__(self) -> DeferredSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in _DEFERRED:
                previous = signal.getsignal(signum)
                if previous is not signal.SIG_IGN:
                    self._previous[signum] = signal.signal(signum, self._note)
        return self

    def _note(self, signum: int, frame: FrameType | None) -> None:
        if self.pending is None:
            self.pending = signum

    def check(self) -> None:
        """Raise KeyboardInterrupt if a signal came since the block began."""
        if self.pending is not None:
            raise KeyboardInterrupt

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
        pending, self.pending = self.pending, None
        if pending is None:
            return
        if pending == signal.SIGINT:
            if not isinstance(exc, KeyboardInterrupt):
                # Came after the last step: the work is whole, and the user still asked to stop.
                raise KeyboardInterrupt
            return
        # SIGTERM: its own handler decides (by default the process ends here, after the
        # commit was finished or undone and the staging directory removed).
        signal.raise_signal(pending)
