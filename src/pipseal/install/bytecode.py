"""``--compile``: byte-compile what was just installed, with the target's own interpreter.

Off by default (as uv; pip compiles by default): it is most of pip's install time. When asked,
the target interpreter compiles the new ``.py`` files with ``compileall``, on every core.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from pipseal.environment import TargetEnvironment
from pipseal.errors import InstallError
from pipseal.install.staged import StagedDistribution, scheme_root

SCRIPT = (
    "import compileall, sys\n"
    "paths = sys.stdin.read().splitlines()\n"
    "ok = True\n"
    "from concurrent.futures import ProcessPoolExecutor\n"
    "import os\n"
    "def one(p):\n"
    "    return compileall.compile_file(p, quiet=2)\n"
    "workers = os.cpu_count() or 1\n"
    "if len(paths) > 50 and workers > 1:\n"
    "    with ProcessPoolExecutor(workers) as pool:\n"
    "        ok = all(pool.map(one, paths, chunksize=64))\n"
    "else:\n"
    "    ok = all(map(one, paths))\n"
    "sys.exit(0 if ok else 1)\n"
)


def compile_installed(env: TargetEnvironment, staged: Sequence[StagedDistribution]) -> int:
    """Compile the installed ``.py`` files; returns how many. A file that does not compile is
    not an error (pip warns and goes on); a target that cannot run is."""
    root = scheme_root(env)
    paths = [str(root / f) for d in staged for f in d.files if f.endswith(".py")]
    if not paths:
        return 0
    try:
        subprocess.run(
            [env.python, "-c", SCRIPT],
            input="\n".join(paths),
            text=True,
            capture_output=True,
            check=False,
            timeout=3600,
        )
    except OSError as exc:
        raise InstallError(f"cannot run {env.python} to compile bytecode: {exc}") from exc
    return len(paths)
