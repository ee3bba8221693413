"""Stage a wheel from its unpacked tree (``unpacked.py``): link each file into the staging tree
and write RECORD from the tree's manifest. This is the one way a wheel is staged: a tree in the
cache, or with the cache off a scratch tree of the install (``wheel.unpack_wheel``).

The result is what pypa/installer's ``installer.install`` makes of the archive, file for file
and byte for byte in RECORD (installer's layout: entry-point scripts, every member in its
scheme, the generated ``.dist-info`` files, then RECORD sorted by path, other schemes' paths
relative to the root scheme; tests/test_linking.py holds installer's output as the reference),
but a plain member costs one ``link`` (or copy) and no object: a warm install links thousands
of files. Scripts (``.data/scripts`` and entry points) are written as installer writes them
(``scripts.py``; on Windows by installer itself, whose launchers are executables).

The files an install adds to a ``.dist-info`` (INSTALLER, REQUESTED, ``provenance_url.json``,
``direct_url.json``) are written here and only here (``staged.generated_files``).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from pipseal.environment import SCHEME_KEYS, TargetEnvironment
from pipseal.errors import InstallError, TreeDrifted
from pipseal.hashes import record_digest
from pipseal.install import scripts
from pipseal.install.staged import StagedDistribution, generated_files, mirrored_scheme
from pipseal.install.unpacked import (
    EXECUTABLE,
    HASH,
    MTIME_NS,
    SIZE,
    Entry,
    LinkMode,
    UnpackedTree,
    place,
)
from pipseal.provenance import Provenance

if TYPE_CHECKING:
    from installer.destinations import SchemeDictionaryDestination

__all__ = ["stage_tree"]

#: RECORD rows: (scheme, path within the scheme, "algorithm=digest" or "", size or "").
_Row = tuple[str, str, str, str]


def stage_tree(
    tree: UnpackedTree,
    env: TargetEnvironment,
    staging_root: Path,
    *,
    link_mode: LinkMode,
    requested: bool = True,
    extra_metadata: Mapping[str, bytes] = MappingProxyType({}),
    installer_name: str = "pipseal",
    provenance: Provenance | None = None,
) -> StagedDistribution:
    """Link ``tree`` into ``staging_root`` (which mirrors ``env``) and write its RECORD.

    ``requested``, ``installer_name`` and ``provenance`` make the ``.dist-info`` files an install
    adds (``staged.generated_files``); ``extra_metadata`` are more, by name (``direct_url.json``).
    Raises InstallError when a file is already staged by another distribution or cannot be
    written; then nothing of this wheel is left in the staging tree.
    """
    if not tree.wheel_version.startswith("1."):
        raise InstallError(
            f"{tree.filename}: incompatible Wheel-Version {tree.wheel_version}, only version 1.x "
            "wheels are supported"
        )
    stager = _Stager(tree, env, staging_root, link_mode)
    metadata = generated_files(installer_name, requested, provenance)
    metadata.update(extra_metadata)
    try:
        stager.run(metadata)
    except FileExistsError as exc:
        stager.discard()
        raise InstallError(
            f"{tree.filename} would overwrite {exc.filename or exc}, which another "
            "distribution of this install also provides"
        ) from exc
    except InstallError:
        stager.discard()
        raise
    except OSError as exc:
        stager.discard()
        raise InstallError(f"cannot stage {tree.filename}: {exc.strerror or exc}") from exc
    except Exception as exc:  # installer's errors (scripts), raised as InstallerError/ValueError
        stager.discard()
        raise InstallError(f"{tree.filename} cannot be installed: {exc}") from exc
    except BaseException:
        stager.discard()
        raise
    from packaging.utils import canonicalize_name

    cut = len(os.path.join(str(staging_root), ""))
    files = [p[cut:] for p in stager.written]
    if os.sep != "/":
        files = [p.replace(os.sep, "/") for p in files]
    root_dir = stager.scheme_dirs[stager.root_scheme][cut:].replace(os.sep, "/")
    return StagedDistribution(
        name=tree.name,
        version=tree.version,
        canonical_name=canonicalize_name(tree.name),
        files=tuple(sorted(files)),
        # (--target: the root scheme directory is the staging root itself.)
        dist_info=f"{root_dir}/{tree.dist_info}" if root_dir else tree.dist_info,
    )


def _check(path: str, entry: Entry, sha256: str) -> None:
    """The stat check of the cache (DESIGN.md): a file edited through a hard link in some
    environment has another size or mtime than when its tree was built (TreeDrifted)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise TreeDrifted(sha256) from None
    if st.st_size != entry[SIZE] or st.st_mtime_ns != entry[MTIME_NS]:
        raise TreeDrifted(sha256)


class _Stager:
    def __init__(
        self, tree: UnpackedTree, env: TargetEnvironment, staging_root: Path, mode: LinkMode
    ) -> None:
        self.tree = tree
        self.env = env
        self.mode = mode
        self.real = {key: env.scheme[key] for key in SCHEME_KEYS}
        self.real["headers"] = os.path.join(self.real["headers"], tree.name)
        self.scheme_dirs = mirrored_scheme(env, staging_root, tree.name)
        self.root_scheme = "purelib" if tree.root_is_purelib else "platlib"
        #: Every path written into the staging tree, as a string.
        self.written: list[str] = []
        self._made: set[str] = set()
        self._installer: SchemeDictionaryDestination | None = None
        self._umask: int | None = None

    def run(self, metadata: dict[str, bytes]) -> None:
        tree = self.tree
        rows: list[_Row] = []
        if f"{tree.dist_info}/entry_points.txt" in tree.files:
            self._entry_point_scripts(rows)
        data_prefix = tree.dist_info[: -len(".dist-info")] + ".data/"
        record_member = f"{tree.dist_info}/RECORD"
        source_base = os.path.join(str(tree.root), "")
        root_scheme = self.root_scheme
        base = os.path.join(self.scheme_dirs[root_scheme], "")
        made = self._made
        written = self.written
        append = rows.append
        hardlink = self.mode == "hardlink"
        # A tree built by this install was measured as it was written: no stat check.
        check = not tree.fresh
        for member, entry in tree.files.items():
            # Bytecode in a wheel is never installed (installer's rule, .data members included).
            if "__pycache__/" in member and "__pycache__" in member.split("/")[:-1]:
                continue
            if member == record_member or member.startswith(data_prefix):
                if member != record_member:
                    self._data_member(member, entry, rows)
                continue
            if check:
                _check(source_base + member, entry, tree.sha256)
            target = base + member
            parent = target[: target.rfind("/")]
            if parent not in made:
                os.makedirs(parent, exist_ok=True)
                made.add(parent)
            if hardlink:
                try:
                    os.link(source_base + member, target)
                except FileExistsError:
                    raise
                except FileNotFoundError:
                    if not os.path.exists(source_base + member):  # gone since it was built
                        raise TreeDrifted(tree.sha256) from None
                    raise
                except OSError:
                    # No hard links here after all (another file system, a link limit): copy
                    # this file and the rest.
                    self.mode = "copy"
                    hardlink = False
                    self._place(source_base + member, target)
            else:
                self._place(source_base + member, target)
            written.append(target)
            append((root_scheme, member, entry[HASH], str(entry[SIZE])))
        for filename, contents in metadata.items():
            path = f"{tree.dist_info}/{filename}"
            self._write(base + path, contents)
            digest = record_digest(hashlib.sha256(contents).digest())
            rows.append((root_scheme, path, f"sha256={digest}", str(len(contents))))
        rows.append((root_scheme, record_member, "", ""))
        self._write(base + record_member, self._record(rows))

    def _place(self, source: str, target: str) -> None:
        place(source, target, self.mode)

    def _data_member(self, member: str, entry: Entry, rows: list[_Row]) -> None:
        """A member under ``<name>.data/<scheme>/``: into that scheme's directory."""
        record_hash, size, executable = entry[HASH], entry[SIZE], entry[EXECUTABLE]
        if not self.tree.fresh:
            _check(os.path.join(self.tree.root, member), entry, self.tree.sha256)
        data_prefix = self.tree.dist_info[: -len(".dist-info")] + ".data/"
        scheme, _, path = member[len(data_prefix) :].partition("/")
        if scheme not in SCHEME_KEYS or not path:
            raise InstallError(
                f"{self.tree.filename}: {member} is in an unknown .data scheme {scheme!r}"
            )
        if scheme == "scripts":
            # A ``#!python`` shebang names the target's interpreter instead.
            if os.name == "nt":  # pragma: no cover - Windows
                from installer.utils import Scheme

                with open(self.tree.root / member, "rb") as stream:
                    done = self._destination().write_file(Scheme(scheme), path, stream, executable)
                rows.append((scheme, done.path, str(done.hash_ or ""), str(done.size)))
                return
            data = (self.tree.root / member).read_bytes()
            data = scripts.rewrite_shebang(data, self.env.python)
            rows.append(self._script(path, data, launcher=False, executable=executable))
            return
        base = os.path.abspath(self.scheme_dirs[scheme])
        target = os.path.normpath(os.path.join(base, path))
        if not target.startswith(base + os.sep):
            raise InstallError(f"{self.tree.filename}: {member} would be written outside {scheme}")
        self._make_parent(target)
        self._place(str(self.tree.root / member), target)
        self.written.append(target)
        rows.append((scheme, path, record_hash, str(size)))

    def _entry_point_scripts(self, rows: list[_Row]) -> None:
        text = (self.tree.root / self.tree.dist_info / "entry_points.txt").read_text("utf-8")
        if os.name == "nt":  # pragma: no cover - Windows: launchers are installer's executables
            from installer.utils import parse_entrypoints

            destination = self._destination()
            for name, module, attr, section in parse_entrypoints(text):
                done = destination.write_script(
                    name=name, module=module, attr=attr, section=section
                )
                rows.append(("scripts", done.path, str(done.hash_ or ""), str(done.size)))
            return
        for name, module, attr in scripts.entry_points(text):
            data = scripts.launcher(self.env.python, module, attr)
            rows.append(self._script(name, data, launcher=True, executable=True))

    def _script(self, path: str, data: bytes, *, launcher: bool, executable: bool) -> _Row:
        """Write a script into the scripts scheme as installer would; its RECORD row."""
        target = os.path.join(self.scheme_dirs["scripts"], path)
        self._write(target, data)
        if executable:
            if self._umask is None:
                self._umask = scripts.current_umask()
            os.chmod(target, scripts.executable_mode(self._umask, launcher))
        digest = record_digest(hashlib.sha256(data).digest())
        return ("scripts", path, f"sha256={digest}", str(len(data)))

    def _destination(self) -> SchemeDictionaryDestination:  # pragma: no cover - Windows
        """installer's destination for Windows scripts; what it writes is added to
        ``written``."""
        if self._installer is None:
            from installer.destinations import SchemeDictionaryDestination
            from installer.utils import get_launcher_kind

            written = self.written

            class Recording(SchemeDictionaryDestination):
                def write_to_fs(self, scheme, path, stream, is_executable):  # type: ignore[no-untyped-def]
                    entry = super().write_to_fs(scheme, path, stream, is_executable)
                    written.append(str(self._path_with_destdir(scheme, path)))
                    return entry

            self._installer = Recording(
                scheme_dict=self.scheme_dirs,
                interpreter=self.env.python,
                script_kind=get_launcher_kind(),
            )
        return self._installer

    def _make_parent(self, target: str) -> None:
        """The directory of ``target``, made once (the loop of ``run`` does this inline)."""
        parent = os.path.dirname(target)
        if parent not in self._made:
            os.makedirs(parent, exist_ok=True)
            self._made.add(parent)

    def _write(self, target: str, contents: bytes) -> None:
        self._make_parent(target)
        with open(target, "xb") as f:
            f.write(contents)
        self.written.append(target)

    def _record(self, rows: list[_Row]) -> bytes:
        """RECORD as installer writes it: sorted by path within the scheme, other schemes'
        paths prefixed with their directory relative to the root scheme's."""
        prefixes: dict[str, str] = {self.root_scheme: ""}
        for scheme in {r[0] for r in rows} - {self.root_scheme}:
            if os.name == "nt":
                prefixes[scheme] = str(Path(self.real[scheme]).absolute()) + "/"
            else:
                relative = os.path.relpath(self.real[scheme], self.real[self.root_scheme])
                prefixes[scheme] = relative + "/"
        rows.sort(key=lambda r: r[1])
        out = io.StringIO(newline="")
        csv.writer(out, delimiter=",", quotechar='"', lineterminator="\n").writerows(
            (prefixes[scheme] + path, digest, size) for scheme, path, digest, size in rows
        )
        return out.getvalue().encode("utf-8")

    def discard(self) -> None:
        for target in self.written:
            with contextlib.suppress(OSError):
                os.unlink(target)
