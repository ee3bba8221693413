"""A backend's warnings, kept with the build that raised them, whichever thread runs it.

pyproject-hooks re-raises the warnings a hook's backend gave as ``BuildBackendWarning`` in the
calling process, on the calling thread, just before the hook returns. They are the backend's
output (shown with -v, kept for a failure's tail), never pipseal's own lines. Builds may run
on several threads at once (the resolver asks for sdists' metadata ahead), and
``warnings.catch_warnings`` swaps process-wide state: two builds inside it at once take each
other's warnings, or print them. So ``warnings.showwarning`` is replaced once by a router that
sends a ``BuildBackendWarning`` to the sink its thread registered (:func:`routed_to`), and hands
everything else to what was there before.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

__all__ = ["routed_to"]

#: Called with each warning, formatted as Python prints it.
WarningSink = Callable[[str], None]

_local = threading.local()
_lock = threading.Lock()
#: What ``warnings.showwarning`` was before the router took its place.
_previous: dict[str, Any] = {}


def _category() -> type[Warning]:
    from pyproject_hooks import BuildBackendWarning

    return BuildBackendWarning


def _route(  # noqa: PLR0917 - the signature of warnings.showwarning
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    sink: WarningSink | None = getattr(_local, "sink", None)
    if sink is not None and issubclass(category, _category()):
        sink(warnings.formatwarning(message, category, filename, lineno, line))
        return
    _previous["show"](message, category, filename, lineno, file, line)


def _install() -> None:
    """The router in place, and backend warnings always shown (never turned into errors or
    dropped as repeats by a filter someone set): done again if a ``catch_warnings`` elsewhere
    restored the state from before."""
    category = _category()
    with _lock:
        if warnings.showwarning is not _route:
            _previous["show"] = warnings.showwarning
            warnings.showwarning = _route
        first = warnings.filters[0] if warnings.filters else None
        if first is None or first[0] != "always" or first[2] is not category:
            warnings.filterwarnings("always", category=category)


@contextmanager
def routed_to(sink: WarningSink) -> Iterator[None]:
    """Within the block, this thread's ``BuildBackendWarning``s go to ``sink`` only."""
    _install()
    outer = getattr(_local, "sink", None)
    _local.sink = sink
    try:
        yield
    finally:
        _local.sink = outer
