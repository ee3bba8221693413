"""Small source projects for the build tests, one per backend, as a directory, an sdist or a
git repository.

``write_project(root, name, backend=...)`` writes ``root/<name>/`` and returns it. Backends:

- ``setuptools``: pyproject.toml ``[project]`` (+ ``setup.py`` with an extension when
  ``c_extension``: module ``<mod>._speed`` with ``add(a, b)``);
- ``legacy``: ``setup.py`` only, no pyproject.toml (pip's ``__legacy__`` backend);
- ``hatchling``, ``flit-core``, ``poetry-core``: each its own ``[build-system]``;
- ``in-tree``: a backend in the project (``backend-path = ["_backend"]``, no requirements)
  that writes wheels by hand and appends one line per hook call to ``counter`` (``"build_wheel"``,
  ``"build_editable"``, ``"prepare_metadata_for_build_wheel"``...), so a test sees whether a
  build ran; ``fail`` makes its build hooks print ``fail`` (and some noise) and exit non-zero.

Every project's package is ``src/<mod>/__init__.py`` (``mod`` = the name with ``_``) defining
``NAME``, ``VERSION`` and ``hello()``. ``make_sdist(project, dest)`` tars a project by hand
with a PKG-INFO (``Metadata-Version: 2.2``; ``dynamic`` fields listed as ``Dynamic:``).
``make_git_repo(project)`` commits it (``git init``) and returns the commit id.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import tarfile
import textwrap
from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "BACKENDS",
    "git_commit",
    "make_git_repo",
    "make_sdist",
    "module_name",
    "write_project",
]

BACKENDS = ("setuptools", "legacy", "hatchling", "flit-core", "poetry-core", "in-tree")

_BUILD_SYSTEM = {
    "setuptools": ('["setuptools>=61"]', "setuptools.build_meta"),
    "hatchling": ('["hatchling"]', "hatchling.build"),
    "flit-core": ('["flit_core>=3.4"]', "flit_core.buildapi"),
    "poetry-core": ('["poetry-core>=2.0"]', "poetry.core.masonry.api"),
    "in-tree": ("[]", "countbackend"),
}


def module_name(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _toml_list(items: Sequence[str]) -> str:
    return "[" + ", ".join(f'"{i}"' for i in items) + "]"


def write_project(
    root: Path,
    name: str,
    version: str = "1.0",
    *,
    backend: str = "setuptools",
    dependencies: Sequence[str] = (),
    c_extension: bool = False,
    counter: Path | None = None,
    fail: str | None = None,
) -> Path:
    """Write a project for ``backend`` at ``root/<name>`` and return that directory."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}")
    mod = module_name(name)
    project = root / name
    package = project / "src" / mod
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text(
        f'"""The {name} test project."""\n\n'
        f"NAME = {name!r}\nVERSION = {version!r}\n__version__ = VERSION\n\n\n"
        f"def hello() -> str:\n    return NAME + ' ' + VERSION\n",
        encoding="utf-8",
    )
    deps = _toml_list(dependencies)
    project_table = textwrap.dedent(
        f"""\
        [project]
        name = "{name}"
        version = "{version}"
        description = "The {name} test project"
        requires-python = ">=3.8"
        dependencies = {deps}
        """
    )
    if backend == "legacy":
        (project / "setup.py").write_text(
            textwrap.dedent(
                f"""\
                from setuptools import setup

                setup(
                    name={name!r},
                    version={version!r},
                    package_dir={{"": "src"}},
                    packages=[{mod!r}],
                    install_requires={list(dependencies)!r},
                )
                """
            ),
            encoding="utf-8",
        )
        return project
    requires, api = _BUILD_SYSTEM[backend]
    text = f'[build-system]\nrequires = {requires}\nbuild-backend = "{api}"\n'
    if backend == "in-tree":
        text += 'backend-path = ["_backend"]\n'
        _write_in_tree_backend(project, name, version, counter or project / "builds.log", fail)
    text += "\n" + project_table
    if backend == "hatchling":
        text += f'\n[tool.hatch.build.targets.wheel]\npackages = ["src/{mod}"]\n'
    elif backend == "flit-core":
        text += f'\n[tool.flit.module]\nname = "{mod}"\n'
    elif backend == "poetry-core":
        text += f'\n[tool.poetry]\npackages = [{{ include = "{mod}", from = "src" }}]\n'
    elif backend == "setuptools":
        text += '\n[tool.setuptools.packages.find]\nwhere = ["src"]\n'
    (project / "pyproject.toml").write_text(text, encoding="utf-8")
    if c_extension:
        if backend != "setuptools":
            raise ValueError("a C extension is written for the setuptools backend only")
        (package / "_speed.c").write_text(_C_SOURCE.replace("MODNAME", "_speed"), encoding="utf-8")
        (project / "setup.py").write_text(
            "from setuptools import Extension, setup\n\n"
            f"setup(ext_modules=[Extension({mod + '._speed'!r}, [{f'src/{mod}/_speed.c'!r}])])\n",
            encoding="utf-8",
        )
    return project


_C_SOURCE = """\
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *add(PyObject *self, PyObject *args) {
    long a, b;
    if (!PyArg_ParseTuple(args, "ll", &a, &b)) return NULL;
    return PyLong_FromLong(a + b);
}

static PyMethodDef methods[] = {{"add", add, METH_VARARGS, "a + b"}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "MODNAME", NULL, -1, methods};
PyMODINIT_FUNC PyInit_MODNAME(void) { return PyModule_Create(&module); }
"""

_IN_TREE_BACKEND = '''\
"""A PEP 517 backend that writes wheels by hand and counts its hook calls in COUNTER."""

import base64
import hashlib
import os
import sys
import zipfile

NAME = {name!r}
VERSION = {version!r}
MOD = {mod!r}
COUNTER = {counter!r}
FAIL = {fail!r}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIST_INFO = MOD + "-" + VERSION + ".dist-info"
METADATA = "Metadata-Version: 2.1\\nName: " + NAME + "\\nVersion: " + VERSION + "\\n"


def _count(hook):
    with open(COUNTER, "a") as f:
        f.write(hook + "\\n")


def _fail(hook):
    if FAIL:
        for i in range(40):
            print("noise line", i)
        print("error:", FAIL, file=sys.stderr)
        sys.exit(1)


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def _write_dist_info(directory):
    path = os.path.join(directory, DIST_INFO)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "METADATA"), "w") as f:
        f.write(METADATA)
    return DIST_INFO


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    _count("prepare_metadata_for_build_wheel")
    _fail("prepare_metadata_for_build_wheel")
    return _write_dist_info(metadata_directory)


def prepare_metadata_for_build_editable(metadata_directory, config_settings=None):
    _count("prepare_metadata_for_build_editable")
    return _write_dist_info(metadata_directory)


def _wheel(directory, files):
    name = MOD + "-" + VERSION + "-py3-none-any.whl"
    files = dict(files)
    files[DIST_INFO + "/METADATA"] = METADATA.encode()
    files[DIST_INFO + "/WHEEL"] = (
        b"Wheel-Version: 1.0\\nGenerator: countbackend\\nRoot-Is-Purelib: true\\n"
        b"Tag: py3-none-any\\n"
    )
    record = []
    with zipfile.ZipFile(os.path.join(directory, name), "w") as zf:
        for arcname, data in sorted(files.items()):
            zf.writestr(arcname, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record.append(arcname + ",sha256=" + digest.decode() + "," + str(len(data)))
        record.append(DIST_INFO + "/RECORD,,")
        zf.writestr(DIST_INFO + "/RECORD", "\\n".join(record) + "\\n")
    return name


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    _count("build_wheel")
    _fail("build_wheel")
    import warnings

    # pyproject-hooks carries a backend's warnings back into the frontend's process.
    warnings.warn("countbackend: a warning from build_wheel", UserWarning)
    if config_settings:
        with open(COUNTER, "a") as f:
            f.write("config_settings " + repr(sorted(config_settings.items())) + "\\n")
    src = os.path.join(ROOT, "src", MOD)
    files = {{}}
    for here, _dirs, names in os.walk(src):
        for n in names:
            if n.endswith(".pyc"):
                continue
            full = os.path.join(here, n)
            with open(full, "rb") as f:
                files[MOD + "/" + os.path.relpath(full, src).replace(os.sep, "/")] = f.read()
    return _wheel(wheel_directory, files)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    _count("build_editable")
    _fail("build_editable")
    pth = (os.path.join(ROOT, "src") + "\\n").encode()
    return _wheel(wheel_directory, {{"_" + MOD + "_editable.pth": pth}})


def build_sdist(sdist_directory, config_settings=None):
    raise NotImplementedError("this backend builds no sdists")
'''


def _write_in_tree_backend(
    project: Path, name: str, version: str, counter: Path, fail: str | None
) -> None:
    backend = project / "_backend"
    backend.mkdir(parents=True, exist_ok=True)
    (backend / "countbackend.py").write_text(
        _IN_TREE_BACKEND.format(
            name=name, version=version, mod=module_name(name), counter=str(counter), fail=fail
        ),
        encoding="utf-8",
    )


def pkg_info(
    name: str,
    version: str,
    dependencies: Sequence[str] = (),
    dynamic: Sequence[str] = (),
    metadata_version: str = "2.2",
) -> bytes:
    """A PKG-INFO as an sdist carries it."""
    lines = [f"Metadata-Version: {metadata_version}", f"Name: {name}", f"Version: {version}"]
    lines += [f"Dynamic: {d}" for d in dynamic]
    lines += ["Requires-Python: >=3.8"]
    lines += [f"Requires-Dist: {d}" for d in dependencies]
    return ("\n".join(lines) + "\n\n").encode()


def make_sdist(
    project: Path,
    dest: Path,
    *,
    name: str | None = None,
    version: str | None = None,
    dependencies: Sequence[str] = (),
    dynamic: Sequence[str] = (),
    fmt: str = "tar.gz",
    metadata_version: str = "2.2",
) -> Path:
    """Tar (or zip, ``fmt="zip"``) ``project`` by hand as ``<name>-<version>.tar.gz`` in
    ``dest``, with a top directory ``<name>-<version>/`` and a PKG-INFO. The name and version
    default to the directory's name and ``1.0``; byte-for-byte reproducible."""
    name = name or project.name
    version = version or "1.0"
    base = f"{module_name(name)}-{version}"
    dest.mkdir(parents=True, exist_ok=True)
    files: dict[str, bytes] = {
        "PKG-INFO": pkg_info(name, version, dependencies, dynamic, metadata_version)
    }
    for here, dirs, names in os.walk(project):
        dirs[:] = sorted(d for d in dirs if d not in {".git", "__pycache__", "build"})
        for n in sorted(names):
            full = Path(here) / n
            files[full.relative_to(project).as_posix()] = full.read_bytes()
    if fmt == "zip":
        import zipfile

        out = dest / f"{base}.zip"
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for rel, data in sorted(files.items()):
                zf.writestr(zipfile.ZipInfo(f"{base}/{rel}", (1980, 1, 1, 0, 0, 0)), data)
        return out
    out = dest / f"{base}.tar.gz"
    with tarfile.open(out, "w:gz", format=tarfile.PAX_FORMAT) as tf:
        for rel, data in sorted(files.items()):
            info = tarfile.TarInfo(f"{base}/{rel}")
            info.size = len(data)
            info.mtime = 315532800
            info.mode = 0o644
            tf.addfile(info, io.BytesIO(data))
    return out


def _git(project: Path, *args: str) -> str:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(project),
    }
    done = subprocess.run(
        ["git", *args], cwd=project, env=env, capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout.strip()


def git_commit(project: Path, message: str = "change", *, tag: str | None = None) -> str:
    """Commit everything in ``project`` (a repository already); returns the commit id."""
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "--allow-empty", "-m", message)
    if tag:
        _git(project, "tag", tag)
    return _git(project, "rev-parse", "HEAD")


def make_git_repo(project: Path, *, tag: str | None = None) -> str:
    """``git init`` ``project`` (branch ``main``), commit it all; returns the commit id. Use it
    as ``git+file://<project>@<commit>``."""
    _git(project, "init", "-q", "-b", "main")
    return git_commit(project, "initial", tag=tag)
