"""The target a command is for. An install's interpreter is asked early: the question (a
subprocess of the target Python, some 40 ms) is put before the install's own modules are
imported, so the two overlap. A download's may stand in for another machine."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipseal.environment import Inspection, TargetEnvironment
    from pipseal.pipeline.options import DownloadOptions, InstallOptions


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


def download_target(options: DownloadOptions) -> TargetEnvironment:
    """The interpreter files are downloaded for (this one, or ``--python``), or another machine
    it stands in for (pip's ``--platform``/``--python-version``/``--implementation``/``--abi``)."""
    from pipseal.environment import find_target_python, inspect_interpreter, synthetic_target

    python = find_target_python(options.python) if options.python else sys.executable
    target = inspect_interpreter(python)
    if options.platforms or options.python_version or options.implementation or options.abis:
        target = synthetic_target(
            target,
            platforms=options.platforms,
            python_version=options.python_version,
            implementation=options.implementation,
            abis=options.abis,
        )
    return target
