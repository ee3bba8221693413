"""A target interpreter's wheel tags, computed in pipseal's own process from what it reports.

The target is asked only for facts its standard library knows (``sysconfig`` variables, the
platform, the C library's version, the path of its binary), so that the probe runs on every
Python pipseal installs into (3.8 onwards) whatever ``packaging`` pipseal itself carries: a
probe importing our ``packaging`` failed on any interpreter older than that release supports.
The tags are then what ``packaging.tags.sys_tags()`` would give inside the target: the same
rules, driven through packaging's public functions with explicit ABIs and platforms. Facts that
need the binary itself (its ELF class and machine, the musl loader it names) are read here from
the path it reported.
"""

from __future__ import annotations

import re
import struct
import subprocess
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from packaging.tags import Tag

__all__ = ["TagFacts", "target_tags"]

_INTERPRETER_SHORT_NAMES = {"python": "py", "cpython": "cp", "pypy": "pp", "ironpython": "ip",
                            "jython": "jy"}  # fmt: skip
#: packaging's manylinux architectures that need no check of the binary.
_MANYLINUX_ARCHS = {"x86_64", "aarch64", "ppc64", "ppc64le", "s390x", "loongarch64", "riscv64"}
_LEGACY_MANYLINUX = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}
_ELF_MACHINE_I386, _ELF_MACHINE_ARM = 3, 40
_EF_ARM_ABIMASK, _EF_ARM_ABI_VER5, _EF_ARM_ABI_FLOAT_HARD = 0xFF000000, 0x05000000, 0x00000400


class TagFacts(NamedTuple):
    """What the probe reports (``facts`` of its answer) for tags; see ``from_answer``."""

    implementation: str
    version: tuple[int, int]
    py_version_nodot: str
    system: str
    platform: str
    is_32bit: bool
    executable: str
    config: Mapping[str, Any]
    has_refcount: bool
    debug_extensions: bool
    glibc: str | None
    mac_version: str | None
    mac_arch: str | None

    @classmethod
    def from_answer(cls, version: tuple[int, int], facts: Mapping[str, Any]) -> TagFacts:
        """The facts of a probe answer (KeyError or TypeError if one is missing or malformed)."""

        def optional(key: str) -> str | None:
            value = facts.get(key)
            return None if value is None else str(value)

        config = facts["config"]
        if not isinstance(config, dict):
            raise TypeError("config is not an object")
        return cls(
            implementation=str(facts["implementation"]),
            version=version,
            py_version_nodot=str(facts.get("py_version_nodot") or f"{version[0]}{version[1]}"),
            system=str(facts["system"]),
            platform=str(facts["platform"]),
            is_32bit=bool(facts["is_32bit"]),
            executable=str(facts["executable"]),
            config=config,
            has_refcount=bool(facts.get("has_refcount")),
            debug_extensions=bool(facts.get("debug_extensions")),
            glibc=optional("glibc"),
            mac_version=optional("mac_version"),
            mac_arch=optional("mac_arch"),
        )


def target_tags(facts: TagFacts) -> list[Tag]:
    """The tags the target supports, most preferred first, as its ``sys_tags()`` orders them."""
    from packaging import tags

    name = _INTERPRETER_SHORT_NAMES.get(facts.implementation, facts.implementation)
    platforms = list(_platforms(facts))
    if name == "cp":
        result = list(tags.cpython_tags(facts.version, _cpython_abis(facts), platforms))
        interpreter: str | None = f"cp{facts.py_version_nodot}"
    else:
        result = list(
            tags.generic_tags(
                f"{name}{facts.py_version_nodot}", list(_generic_abis(facts)), platforms
            )
        )
        interpreter = "pp3" if name == "pp" else None
    result += tags.compatible_tags(facts.version, interpreter, platforms)
    return result


def _normalize(text: str) -> str:
    return text.replace(".", "_").replace("-", "_").replace(" ", "_")


def _cpython_abis(facts: TagFacts) -> list[str]:
    version = f"{facts.version[0]}{facts.version[1]}"
    with_debug = facts.config.get("Py_DEBUG")
    debug = threading = pymalloc = ""
    if with_debug or (with_debug is None and (facts.has_refcount or facts.debug_extensions)):
        debug = "d"
    if facts.version >= (3, 13) and facts.config.get("Py_GIL_DISABLED"):
        threading = "t"
    if facts.version < (3, 8):
        with_pymalloc = facts.config.get("WITH_PYMALLOC")
        if with_pymalloc or with_pymalloc is None:
            pymalloc = "m"
    abis = [f"cp{version}{threading}{debug}{pymalloc}"]
    if facts.version >= (3, 8) and debug:
        # A debug build also loads the normal extension modules.
        abis.append(f"cp{version}{threading}")
    return abis


def _generic_abis(facts: TagFacts) -> Iterator[str]:
    suffix = facts.config.get("EXT_SUFFIX")
    if not isinstance(suffix, str) or not suffix.startswith("."):
        return
    parts = suffix.split(".")
    if len(parts) < 3:
        return
    soabi = parts[1]
    if soabi.startswith("cpython"):
        pieces = soabi.split("-")
        if len(pieces) >= 2 and pieces[1]:
            yield _normalize("cp" + pieces[1])
    elif soabi.startswith("cp"):
        yield _normalize(soabi.split("-")[0])
    elif soabi.startswith("pypy"):
        yield _normalize("-".join(soabi.split("-")[:2]))
    elif soabi.startswith("graalpy"):
        yield _normalize("-".join(soabi.split("-")[:3]))
    elif soabi:
        yield _normalize(soabi)


def _platforms(facts: TagFacts) -> Iterator[str]:
    from packaging import tags

    if facts.system == "Darwin" and facts.mac_version and facts.mac_arch:
        numbers = [int(part) for part in facts.mac_version.split(".")[:2]]
        numbers += [0] * (2 - len(numbers))
        arch = facts.mac_arch
        if facts.is_32bit:
            arch = "ppc" if arch.startswith("ppc") else "i386"
        yield from tags.mac_platforms((numbers[0], numbers[1]), arch)
    elif facts.system == "Linux":
        yield from _linux_platforms(facts)
    else:
        emscripten = facts.config.get("PYEMSCRIPTEN_PLATFORM_VERSION")
        if facts.system == "Emscripten" and emscripten:
            yield f"pyemscripten_{emscripten}_wasm32"
        yield _normalize(facts.platform)


def _linux_platforms(facts: TagFacts) -> Iterator[str]:
    linux = _normalize(facts.platform)
    if not linux.startswith("linux_"):
        yield linux
        return
    if facts.is_32bit:
        linux = {"linux_x86_64": "linux_i686", "linux_aarch64": "linux_armv8l"}.get(linux, linux)
    arch = linux.split("_", 1)[1]
    archs = {"armv8l": ["armv8l", "armv7l"]}.get(arch, [arch])
    # packaging 26.3 onwards prefers the native tag to manylinux and musllinux (its issue 160).
    for one in archs:
        yield f"linux_{one}"
    elf = _Elf.read(facts.executable)
    yield from _manylinux(facts.glibc, archs, elf)
    yield from _musllinux(archs, elf)


def _manylinux(glibc: str | None, archs: list[str], elf: _Elf | None) -> Iterator[str]:
    match = re.match(r"(?:glibc\s+)?([0-9]+)\.([0-9]+)", glibc or "")
    if match is None:
        return
    if "armv7l" in archs:
        compatible = elf is not None and elf.is_armhf()
    elif "i686" in archs:
        compatible = elf is not None and elf.is_i686()
    else:
        compatible = any(arch in _MANYLINUX_ARCHS for arch in archs)
    if not compatible:
        return
    current = (int(match.group(1)), int(match.group(2)))
    too_old = (2, 4) if set(archs) & {"x86_64", "i686"} else (2, 16)
    maxima = [current] + [(major, 50) for major in range(current[0] - 1, 1, -1)]
    for arch in archs:
        for major, top in maxima:
            lowest = too_old[1] if major == too_old[0] else -1
            for minor in range(top, lowest, -1):
                yield f"manylinux_{major}_{minor}_{arch}"
                legacy = _LEGACY_MANYLINUX.get((major, minor))
                if legacy:
                    yield f"{legacy}_{arch}"


def _musllinux(archs: list[str], elf: _Elf | None) -> Iterator[str]:
    loader = elf.interpreter if elf is not None else None
    if loader is None or "musl" not in loader:
        return
    try:
        # The musl loader run without arguments prints its version.
        answer = subprocess.run(
            [loader], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True, timeout=10, check=False,
        ).stderr  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return
    lines = [line.strip() for line in answer.splitlines() if line.strip()]
    found = re.match(r"Version (\d+)\.(\d+)", lines[1]) if len(lines) >= 2 else None
    if not lines or not lines[0].startswith("musl") or found is None:
        return
    major, top = int(found.group(1)), int(found.group(2))
    for arch in archs:
        for minor in range(top, -1, -1):
            yield f"musllinux_{major}_{minor}_{arch}"


class _Elf(NamedTuple):
    """The few fields of an ELF binary's header that decide its wheel platforms."""

    capacity: int  # 1: 32-bit, 2: 64-bit
    little_endian: bool
    machine: int
    flags: int
    interpreter: str | None

    def is_armhf(self) -> bool:
        return (
            self.capacity == 1
            and self.little_endian
            and self.machine == _ELF_MACHINE_ARM
            and self.flags & _EF_ARM_ABIMASK == _EF_ARM_ABI_VER5
            and self.flags & _EF_ARM_ABI_FLOAT_HARD == _EF_ARM_ABI_FLOAT_HARD
        )

    def is_i686(self) -> bool:
        return self.capacity == 1 and self.little_endian and self.machine == _ELF_MACHINE_I386

    @classmethod
    def read(cls, path: str) -> _Elf | None:
        """The header of the binary at ``path``; None if it is not a readable ELF file."""
        try:
            with open(path, "rb") as f:
                ident = f.read(16)
                if len(ident) < 16 or ident[:4] != b"\x7fELF" or ident[4] not in (1, 2):
                    return None
                capacity, endian = ident[4], "<" if ident[5] == 1 else ">"
                header = endian + ("HHIIIIIHHHHHH" if capacity == 1 else "HHIQQQIHHHHHH")
                fields = struct.unpack(header, f.read(struct.calcsize(header)))
                machine, phoff, flags, phentsize, phnum = (
                    fields[1], fields[4], fields[6], fields[8], fields[9],
                )  # fmt: skip
                program = endian + ("IIIII" if capacity == 1 else "IIQQQQ")
                interpreter = None
                for number in range(min(phnum, 256)):
                    f.seek(phoff + phentsize * number)
                    entry = struct.unpack(program, f.read(struct.calcsize(program)))
                    offset, size = (entry[1], entry[4]) if capacity == 1 else (entry[2], entry[5])
                    if entry[0] == 3 and size < 4096:  # PT_INTERP: the loader's path
                        f.seek(offset)
                        interpreter = f.read(size).rstrip(b"\0").decode("utf-8", "replace")
                        break
        except (OSError, struct.error, ValueError):
            return None
        return cls(capacity, endian == "<", machine, flags, interpreter)
