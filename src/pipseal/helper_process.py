"""A helper process of pipseal's own: a fresh interpreter running one module's ``serve()``.

The page workers (:mod:`pipseal.pages.serving`) and the cache's record writer
(:mod:`pipseal.cache.writing`) run this way: ``python -S`` (no site: a few milliseconds, and no
``.pth`` file runs), this process's import path handed over as JSON, their input and output
pipes to this process, their errors discarded, and a session of their own so that a ^C at the
terminal reaches this process only (which closes their input; they finish and leave).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence

_BOOT = "import json, sys; sys.path[:] = json.loads(sys.argv[1]); from {} import serve; serve()"


def start(
    module: str, args: Sequence[str] = (), pass_fds: Sequence[int] = ()
) -> subprocess.Popen[bytes]:
    """Start ``module.serve()`` in a helper process; OSError when it cannot be started.
    ``args`` follow the import path in its ``sys.argv`` (from ``sys.argv[2]``); ``pass_fds``
    stay open in it (the locks they hold with them)."""
    return subprocess.Popen(
        [sys.executable, "-S", "-c", _BOOT.format(module), json.dumps(sys.path), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        pass_fds=tuple(pass_fds),
    )
