"""The wheel factory: real, deterministic wheels and sdists for tests.

``build_wheel`` writes a wheel that follows the binary distribution format (PEP 427/491):
``<name>-<version>[-<build>]-<tag>.whl`` holding the modules, an optional ``.data`` directory
and a ``.dist-info`` directory with METADATA, WHEEL, entry_points.txt and RECORD.  The same
arguments always give the same bytes (fixed timestamps and permissions, fixed member order),
hence the same sha256.  Keyword arguments can also make a hostile or broken wheel (members
outside RECORD, a wrong RECORD, tampered members, a mismatched .dist-info name) for
robustness tests.

``build_sdist`` writes a real ``.tar.gz`` source distribution with PKG-INFO and a
pyproject.toml that setuptools can build.
"""

from __future__ import annotations

import base64
import csv
import gzip
import hashlib
import io
import re
import tarfile
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BuiltDist", "build_sdist", "build_wheel", "normalize", "sha256_file"]

#: Every zip member gets this timestamp, so that output is deterministic.
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
#: Every tar member (and the gzip header) gets this mtime.
TAR_MTIME = 315532800  # 1980-01-01

DATA_SCHEMES = frozenset({"data", "scripts", "headers", "purelib", "platlib"})


@dataclass(frozen=True)
class BuiltDist:
    """A distribution file written by the factory.

    ``metadata`` is the core metadata file's bytes as stored in the archive (METADATA for a
    wheel, PKG-INFO for an sdist): what an index serves as the PEP 658 ``.metadata`` file.
    """

    path: Path
    filename: str
    name: str
    version: str
    sha256: str
    metadata: bytes


def normalize(name: str) -> str:
    """The file-name form of a project name: runs of ``-_.`` become ``_``, lower case."""
    return re.sub(r"[-_.]+", "_", name).lower()


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _record_hash(data: bytes) -> str:
    raw = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _as_bytes(content: str | bytes) -> bytes:
    return content.encode("utf-8") if isinstance(content, str) else content


def _core_metadata(
    name: str,
    version: str,
    requires: Sequence[str],
    extras: Sequence[str],
    requires_python: str | None,
    fields: Sequence[tuple[str, str]] = (),
    description: str = "",
) -> bytes:
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    lines.append(f"Summary: {name}, built by the pipseal test wheel factory")
    lines.extend(f"{key}: {value}" for key, value in fields)
    if requires_python is not None:
        lines.append(f"Requires-Python: {requires_python}")
    lines.extend(f"Provides-Extra: {extra}" for extra in extras)
    lines.extend(f"Requires-Dist: {req}" for req in requires)
    return ("\n".join(lines) + "\n\n" + description).encode("utf-8")


def _expand_tag(tag: str) -> list[str]:
    """``py2.py3-none-any`` -> the individual tags, in a stable order."""
    try:
        interpreters, abis, platforms = tag.split("-")
    except ValueError:
        raise ValueError(f"not a wheel tag (want python-abi-platform): {tag!r}") from None
    return [
        f"{i}-{a}-{p}"
        for i in interpreters.split(".")
        for a in abis.split(".")
        for p in platforms.split(".")
    ]


def _entry_points(
    console_scripts: Mapping[str, str] | None, gui_scripts: Mapping[str, str] | None
) -> bytes | None:
    sections: list[str] = []
    for section, scripts in (("console_scripts", console_scripts), ("gui_scripts", gui_scripts)):
        if scripts:
            body = "".join(f"{script} = {target}\n" for script, target in scripts.items())
            sections.append(f"[{section}]\n{body}")
    return "\n".join(sections).encode("utf-8") if sections else None


def _zip_info(arcname: str, executable: bool = False) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(arcname, date_time=ZIP_DATE_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = ((0o100755 if executable else 0o100644) & 0xFFFF) << 16
    info.create_system = 3  # unix, so the permission bits are honoured
    return info


def build_wheel(
    directory: Path,
    name: str,
    version: str,
    *,
    requires: Sequence[str] = (),
    extras: Sequence[str] = (),
    requires_python: str | None = None,
    tag: str = "py3-none-any",
    modules: Mapping[str, str | bytes] | None = None,
    console_scripts: Mapping[str, str] | None = None,
    gui_scripts: Mapping[str, str] | None = None,
    data: Mapping[str, str | bytes] | None = None,
    root_is_purelib: bool = True,
    build: str | None = None,
    extra_members: Mapping[str, bytes] | None = None,
    record_override: bytes | None = None,
    tamper: Mapping[str, bytes] | None = None,
    dist_info_name: str | None = None,
    metadata: bytes | None = None,
    dist_info_members: Mapping[str, bytes] | None = None,
    metadata_fields: Sequence[tuple[str, str]] = (),
    description: str = "",
) -> BuiltDist:
    """Write a wheel into ``directory`` and describe it.

    ``modules`` maps paths at the wheel root (purelib, or platlib when ``root_is_purelib`` is
    false) to contents; by default one package ``<import_name>/__init__.py`` holding
    ``__version__``.  ``data`` maps ``"<scheme>/<path>"`` to contents under
    ``<dist>.data/``; members under ``scripts/`` are executable.
    ``metadata_fields`` are more METADATA headers (``("Author", "A. N. Other")``) and
    ``description`` its body.

    The hostile knobs: ``extra_members`` are written verbatim (any name, even ``../x`` or
    ``/x``) and are not listed in RECORD; ``record_override`` replaces RECORD's bytes;
    ``tamper`` replaces members' bytes after RECORD was computed (naming a member that does
    not exist adds it, unlisted); ``dist_info_name`` renames the ``.dist-info`` directory
    (with or without the ``.dist-info`` suffix). ``metadata`` replaces METADATA's bytes
    before RECORD is computed (a valid wheel with unusual metadata, e.g. no blank line);
    ``dist_info_members`` replaces or adds ``.dist-info`` members (``"WHEEL"``,
    ``"entry_points.txt"``...) the same way, listed in RECORD.

    Deterministic: the same arguments give the same bytes. An existing file is overwritten.
    """
    norm = normalize(name)
    file_version = version.replace("-", "_")
    build_part = f"-{build}" if build else ""
    filename = f"{norm}-{file_version}{build_part}-{tag}.whl"
    dist_info = dist_info_name or f"{norm}-{file_version}.dist-info"
    if not dist_info.endswith(".dist-info"):
        dist_info += ".dist-info"
    data_dir = f"{norm}-{file_version}.data"

    if modules is None:
        modules = {f"{norm}/__init__.py": f"__version__ = {version!r}\n"}

    # (arcname, bytes, executable) in archive order; RECORD comes last.
    members: list[tuple[str, bytes, bool]] = []
    members.extend((path, _as_bytes(content), False) for path, content in modules.items())
    for key, content in (data or {}).items():
        scheme, _, rest = key.partition("/")
        if scheme not in DATA_SCHEMES or not rest:
            raise ValueError(
                f"data key must be '<scheme>/<path>' with scheme in {sorted(DATA_SCHEMES)}: {key!r}"
            )
        members.append((f"{data_dir}/{key}", _as_bytes(content), scheme == "scripts"))

    if metadata is None:
        metadata = _core_metadata(
            name, version, requires, extras, requires_python, metadata_fields, description
        )
    tag_lines = "".join(f"Tag: {t}\n" for t in _expand_tag(tag))
    build_line = f"Build: {build}\n" if build else ""
    wheel_file = (
        "Wheel-Version: 1.0\n"
        "Generator: pipseal-tests (wheel factory)\n"
        f"Root-Is-Purelib: {'true' if root_is_purelib else 'false'}\n"
        f"{tag_lines}{build_line}"
    ).encode()
    members.append((f"{dist_info}/METADATA", metadata, False))
    members.append((f"{dist_info}/WHEEL", wheel_file, False))
    entry_points = _entry_points(console_scripts, gui_scripts)
    if entry_points is not None:
        members.append((f"{dist_info}/entry_points.txt", entry_points, False))

    for member, content in (dist_info_members or {}).items():
        arcname = f"{dist_info}/{member}"
        members = [m for m in members if m[0] != arcname] + [(arcname, content, False)]

    record_path = f"{dist_info}/RECORD"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for arcname, content, _ in members:
        writer.writerow([arcname, _record_hash(content), str(len(content))])
    writer.writerow([record_path, "", ""])
    record = buffer.getvalue().encode("utf-8") if record_override is None else record_override

    if tamper:
        remaining = dict(tamper)
        members = [(a, remaining.pop(a, c), x) for a, c, x in members]
        if record_path in remaining:
            record = remaining.pop(record_path)
        members.extend((a, c, False) for a, c in remaining.items())
    members.append((record_path, record, False))
    members.extend((a, c, False) for a, c in (extra_members or {}).items())

    metadata_bytes = next((c for a, c, _ in members if a == f"{dist_info}/METADATA"), metadata)

    directory.mkdir(parents=True, exist_ok=True)
    path = directory / filename
    with zipfile.ZipFile(path, "w") as zf:
        for arcname, content, executable in members:
            zf.writestr(_zip_info(arcname, executable), content, compresslevel=6)
    return BuiltDist(path, filename, name, version, sha256_file(path), metadata_bytes)


def _tar_add(tf: tarfile.TarFile, arcname: str, content: bytes) -> None:
    info = tarfile.TarInfo(arcname)
    info.size = len(content)
    info.mtime = TAR_MTIME
    info.mode = 0o644
    info.uname = info.gname = ""
    tf.addfile(info, io.BytesIO(content))


def build_sdist(
    directory: Path, name: str, version: str, *, requires: Sequence[str] = ()
) -> BuiltDist:
    """Write ``<name>-<version>.tar.gz`` (name normalized) into ``directory``.

    It holds ``<name>-<version>/PKG-INFO``, a ``pyproject.toml`` declaring the project for
    setuptools (with ``requires`` as dependencies) and a one-module package, so a frontend can
    really build it. Deterministic like ``build_wheel``.
    """
    norm = normalize(name)
    root = f"{norm}-{version}"
    pkg_info = _core_metadata(name, version, requires, (), None)
    deps = ", ".join(f'"{r}"' for r in (x.replace('"', "'") for x in requires))
    pyproject = (
        "[build-system]\n"
        'requires = ["setuptools>=61"]\n'
        'build-backend = "setuptools.build_meta"\n\n'
        "[project]\n"
        f'name = "{name}"\n'
        f'version = "{version}"\n'
        f"dependencies = [{deps}]\n\n"
        "[tool.setuptools]\n"
        f'packages = ["{norm}"]\n'
    ).encode()
    module = f"__version__ = {version!r}\n".encode()

    directory.mkdir(parents=True, exist_ok=True)
    filename = f"{root}.tar.gz"
    path = directory / filename
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tf,
    ):
        _tar_add(tf, f"{root}/PKG-INFO", pkg_info)
        _tar_add(tf, f"{root}/pyproject.toml", pyproject)
        _tar_add(tf, f"{root}/{norm}/__init__.py", module)
    return BuiltDist(path, filename, name, version, sha256_file(path), pkg_info)
