"""The content-addressed cache: its buckets declared once (``buckets``), the store that reads
and writes them (``store``: verified reads, atomic writes, quarantine, the lock), and what
``cache list/remove/purge`` do over it (``manage``).

Light on purpose: ``buckets`` is imported at start-up, before the rest of the install.
"""

from __future__ import annotations

import os
import sys

#: The store's layout version (``<root>/v1``) and the interpreters bucket's directory, declared
#: here in the package's light module and used by ``buckets``: the environment commands find a
#: remembered interpreter answer with them without importing the buckets' declaration
#: (pathlib, dataclasses and enum: about 30 ms of a 50 ms ``pipseal list``).
STORE_VERSION = "v1"
INTERPRETERS_DIR = "interpreters"


def default_cache_dir() -> str:
    """platformdirs' ``user_cache_dir("pipseal")``: on Linux and the BSDs its XDG rule, computed
    here, because importing platformdirs costs ``pipseal list`` about 17 ms (it imports
    tempfile, shutil and random); elsewhere platformdirs itself. Tested equal to platformdirs."""
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        base = os.environ.get("XDG_CACHE_HOME", "")
        if not os.path.isabs(base):  # the XDG rule: a relative (or empty) value is ignored
            base = os.path.expanduser("~/.cache")
        return os.path.join(base, "pipseal")
    from platformdirs import user_cache_dir

    return str(user_cache_dir("pipseal", appauthor=False))
