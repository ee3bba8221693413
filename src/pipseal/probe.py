"""The probe: the script run inside a target interpreter, and its answer read within bounds.

A ``--python`` may be anything executable; one that prints forever must cost a bounded amount
of memory and time, not grow until the machine gives out (issue 16: 24 GB), so its output is
read in pieces and the process killed as soon as it says more than any honest answer could.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    import subprocess

# subprocess, signal, threading and contextlib are imported where a probe runs: the commands that
# read an environment import this module for INSPECT_SCRIPT alone (the remembered answer's key).

__all__ = ["INSPECT_OUTPUT_LIMIT", "INSPECT_SCRIPT", "ProbeFailed", "kill_group", "read_bounded"]

#: The most a probe may print on each of stdout and stderr; an honest answer is a few KiB.
INSPECT_OUTPUT_LIMIT = 1 << 20

# Runs inside the target interpreter, so it must stay valid for every Python pipseal installs
# into (3.8 onwards) and import nothing but the standard library: tags and markers are computed
# from its facts in our process (target_tags.py). argv: --target and --prefix directories ("" for
# none). It prints one JSON object.
INSPECT_SCRIPT = r"""
import json, os, platform, site, struct, sys, sysconfig
target, prefix = sys.argv[1], sys.argv[2]
short = "%d.%d" % sys.version_info[:2]
in_venv = sys.prefix != getattr(sys, "base_prefix", sys.prefix) or hasattr(sys, "real_prefix")
if target:
    scheme = {
        "purelib": target, "platlib": target, "data": target,
        "scripts": os.path.join(target, "Scripts" if os.name == "nt" else "bin"),
        "headers": os.path.join(target, "include", "python"),
    }
    where = target
elif prefix:
    base = {"base": prefix, "platbase": prefix, "installed_base": prefix,
            "installed_platbase": prefix}
    paths = sysconfig.get_paths("nt" if os.name == "nt" else "posix_prefix", vars=base)
    scheme = {key: paths[key] for key in ("purelib", "platlib", "scripts", "data")}
    scheme["headers"] = paths["include"]
    where = prefix
else:
    paths = sysconfig.get_paths()
    scheme = {key: paths[key] for key in ("purelib", "platlib", "scripts", "data")}
    if in_venv:
        # sysconfig's include of a venv is the base interpreter's; pip puts headers here.
        scheme["headers"] = os.path.join(sys.prefix, "include", "site", "python" + short)
    else:
        scheme["headers"] = paths["include"]
    where = sys.prefix
def full_version(info):
    text = "%d.%d.%d" % (info.major, info.minor, info.micro)
    return text if info.releaselevel == "final" else text + info.releaselevel[0] + str(info.serial)
def glibc():
    try:
        return os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, OSError, ValueError):
        pass
    try:
        import ctypes
        function = ctypes.CDLL(None).gnu_get_libc_version
        function.restype = ctypes.c_char_p
        return function().decode("ascii")
    except Exception:
        return None
system = platform.system()
mac = platform.mac_ver() if system == "Darwin" else ("", "", "")
config = {}
for name in ("Py_DEBUG", "Py_GIL_DISABLED", "WITH_PYMALLOC", "EXT_SUFFIX",
             "PYEMSCRIPTEN_PLATFORM_VERSION"):
    value = sysconfig.get_config_var(name)
    config[name] = value if isinstance(value, (int, str)) or value is None else str(value)
# What pip's list, freeze and inspect read besides the scheme: the site directories (with a
# venv's include-system-site-packages, the base's too) and the user site, with pip's rules for
# --local and --user (-I hides the user site from this process: it is decided as site.py would).
try:
    site_packages = [os.path.abspath(p) for p in site.getsitepackages()]
except AttributeError:
    site_packages = []
own = os.path.abspath(sys.prefix) + os.sep
system_site = not in_venv or any(not p.startswith(own) for p in site_packages)
try:
    user_site = os.path.abspath(site.getusersitepackages())
except AttributeError:
    user_site = None
user_enabled = bool(
    user_site and (not in_venv or system_site) and not os.environ.get("PYTHONNOUSERSITE")
    and (not hasattr(os, "getuid") or os.getuid() == os.geteuid())
)
try:
    from importlib.machinery import EXTENSION_SUFFIXES
except ImportError:
    EXTENSION_SUFFIXES = []
json.dump({
    "version": list(sys.version_info[:3]),
    "implementation": sys.implementation.name,
    "facts": {
        "implementation": sys.implementation.name,
        "py_version_nodot": sysconfig.get_config_var("py_version_nodot"),
        "system": system,
        "platform": sysconfig.get_platform(),
        "is_32bit": struct.calcsize("P") == 4,
        "executable": sys.executable,
        "config": config,
        "has_refcount": hasattr(sys, "gettotalrefcount"),
        "debug_extensions": "_d.pyd" in EXTENSION_SUFFIXES,
        "glibc": glibc() if system == "Linux" else None,
        "mac_version": mac[0] or None,
        "mac_arch": mac[2] or None,
    },
    "markers": {
        "implementation_name": sys.implementation.name,
        "implementation_version": full_version(sys.implementation.version),
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": system,
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    },
    "scheme": dict((k, os.path.abspath(v)) for k, v in scheme.items()),
    "prefix": os.path.abspath(where),
    "is_virtualenv": in_venv,
    "listing": {
        "site_packages": site_packages,
        "user_site": user_site,
        "user_site_enabled": user_enabled,
        "real_prefix": os.path.normcase(os.path.realpath(sys.prefix)),
    },
}, sys.stdout)
"""


class ProbeFailed(Exception):
    """The probe printed too much or answered too late; ``str`` says which, for the user."""


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """Kill ``process`` and whatever it started (it leads its own session: ``start_new_session``):
    a shell script's child holding the pipes open must not outlive it."""
    import contextlib
    import signal

    if os.name == "posix":
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        process.kill()


def read_bounded(
    process: subprocess.Popen[bytes], *, timeout: float, limit: int = INSPECT_OUTPUT_LIMIT
) -> tuple[bytes, bytes]:
    """``process``'s stdout and stderr once it exits, each at most ``limit`` bytes.

    Kills (and reaps) it and raises ProbeFailed when either stream passes ``limit`` or it has
    not exited after ``timeout`` seconds. ``process`` must lead its own session, so that what
    it started is killed with it.
    """
    import subprocess
    import threading

    assert process.stdout is not None and process.stderr is not None
    overflow = threading.Event()
    streams = (process.stdout, process.stderr)
    chunks: list[list[bytes]] = [[], []]

    def drain(number: int) -> None:
        stream, kept, size = streams[number], chunks[number], 0
        while piece := os.read(stream.fileno(), 65536):
            size += len(piece)
            if size > limit:
                overflow.set()
                kill_group(process)
                return
            kept.append(piece)

    readers = [threading.Thread(target=drain, args=(n,), daemon=True) for n in (0, 1)]
    for reader in readers:
        reader.start()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        if not overflow.is_set():
            kill_group(process)
            process.wait()
            for reader in readers:
                reader.join()
            raise ProbeFailed(f"no answer after {timeout:.0f} seconds") from None
    process.wait()
    kill_group(process)  # anything it left behind still holding the pipes
    for reader in readers:
        reader.join()
    for stream in streams:
        stream.close()
    if overflow.is_set():
        raise ProbeFailed(f"it printed more than {limit >> 20} MiB instead of answering")
    return b"".join(chunks[0]), b"".join(chunks[1])
