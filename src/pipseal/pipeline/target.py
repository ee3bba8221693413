"""The target a command is for. An install's interpreter is asked early: the question (a
subprocess of the target Python, some 40 ms) is put before the install's own modules are
imported, so the two overlap. A download's may stand in for another machine."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from pipseal.environment import Inspection, TargetEnvironment
    from pipseal.pipeline.options import DownloadOptions, InstallOptions, Reporter
    from pipseal.pipeline.session import Machinery


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


def read_ahead(
    options: InstallOptions, reporter: Reporter, inspection: Inspection
) -> Machinery | None:
    """The install's machinery, already reading the pages of the names on the command line and
    in its requirements files (``session.start_pages``), or None. Not when a requirements or
    constraints file holds more than plain requirements (``session.file_names``): its options
    may name other indexes, and a name is never sent to an index the install would not ask."""
    from pipseal.pipeline.session import file_names, requested_names, start_pages

    request = options.request
    names = requested_names(request.requirements)
    if request.requirement_files or request.constraint_files:
        listed = file_names(request.requirement_files)
        # A constraint file's names are asked for only if something requires them; it is
        # read to know that it holds no option.
        if listed is None or file_names(request.constraint_files) is None:
            return None
        names += listed
    if not names:
        return None

    skip = None
    if options.target is None and not (options.upgrade or options.force_reinstall):
        # Installed already: the install may well need no page at all (pip asks the index
        # nothing for ``install six`` with six installed).
        skip = _installed(inspection, guess=options.prefix is None)
    return start_pages(options.common, reporter, list(dict.fromkeys(names)), skip)


def _installed(inspection: Inspection, *, guess: bool = True) -> Callable[[str], bool]:
    """Whether a project has a ``.dist-info``/``.egg-info`` in the target's site directories
    (read once, when first asked, by the first thread asking). A virtual environment's are
    known from its layout (``_venv_site_dirs``, with ``guess``: not under ``--prefix``);
    otherwise it waits for the interpreter's answer unless that was remembered (a cold run's
    first page waited ~30 ms for it). A target that cannot be inspected has nothing to read
    ahead for: the install stops with that error."""
    import os
    import threading

    from pipseal.errors import UsageError
    from pipseal.names import canonicalize_name

    names: set[str] = set()
    lock = threading.Lock()
    read = broken = False

    def installed(name: str) -> bool:
        nonlocal read, broken
        with lock:
            if not read:
                read = True
                known = inspection.known()
                site_dirs = (
                    known.site_dirs()
                    if known is not None
                    else (_venv_site_dirs(inspection.python) if guess else None)
                )
                if site_dirs is None:
                    try:
                        site_dirs = inspection.result().site_dirs()
                    except UsageError:
                        broken, site_dirs = True, ()
                for directory in site_dirs:
                    try:
                        entries = os.listdir(directory)
                    except OSError:
                        continue
                    for entry in entries:
                        if entry.endswith((".dist-info", ".egg-info")):
                            names.add(canonicalize_name(entry.split("-", 1)[0].split(".egg")[0]))
        return broken or canonicalize_name(name) in names

    return installed


def _venv_site_dirs(python: str) -> tuple[str, ...] | None:
    """The site directories of the virtual environment ``python`` runs in, from its layout
    alone (``<venv>/pyvenv.cfg`` without system site packages, one
    ``lib/pythonX.Y/site-packages``), or None when that is not certain."""
    import glob
    import os

    root = os.path.dirname(os.path.dirname(python))
    try:
        with open(os.path.join(root, "pyvenv.cfg"), encoding="utf-8") as cfg:
            settings = cfg.read(64 * 1024)
    except (OSError, UnicodeDecodeError):
        return None
    for line in settings.splitlines():
        key, sep, value = line.partition("=")
        system_site = sep and key.strip().lower() == "include-system-site-packages"
        if system_site and value.strip().lower() != "false":
            return None
    found = {
        os.path.realpath(path)
        for lib in ("lib", "lib64")
        for path in glob.glob(os.path.join(root, lib, "python3.*", "site-packages"))
    }
    versions = {os.path.basename(os.path.dirname(path)) for path in found}
    if len(versions) != 1:
        return None
    return tuple(sorted(found))


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
