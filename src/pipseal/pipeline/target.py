"""The interpreter an install is for, asked early: the question (a subprocess of the target
Python, some 40 ms) is put before the install's own modules are imported, so the two overlap."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipseal.environment import Inspection
    from pipseal.pipeline.options import InstallOptions


def start_target(options: InstallOptions) -> Inspection:
    """Find the target interpreter and start asking it about itself (``result()`` waits)."""
    from pipseal.cache.buckets import Bucket, store_base
    from pipseal.environment import find_target_python, start_inspection

    if options.target is not None or options.prefix is not None:
        python = find_target_python(options.python) if options.python else sys.executable
    else:
        python = find_target_python(options.python)
    cache_dir = options.common.cache_dir
    return start_inspection(
        python,
        target=options.target,
        prefix=options.prefix,
        memo_dir=Bucket.INTERPRETERS.path(store_base(cache_dir)) if cache_dir is not None else None,
    )
