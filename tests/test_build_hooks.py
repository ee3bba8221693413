"""pipseal.build.hooks: real PEP 517 backends (setuptools, hatchling, flit-core, poetry-core, a
legacy setup.py, an in-tree backend) run in throwaway build environments; failures told in one
line with the backend's output."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import textwrap
import time
import zipfile
from pathlib import Path

import pytest

from pipseal.build import (
    BuildFailed,
    BuildSettings,
    SourceTree,
    build_wheel,
    open_build,
    prepare_metadata,
)
from pipseal.errors import PipsealError
from tests.support.backends import PipFill, backend_wheels
from tests.support.projects import write_project

PYTHON = Path(sys.executable)


@pytest.fixture(scope="module")
def wheels() -> Path:
    return backend_wheels()


def _names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as zf:
        return set(zf.namelist())


def _metadata_of(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        return zf.read(name).decode()


@pytest.mark.parametrize(
    ("backend", "requires"),
    [
        ("setuptools", "setuptools>=61"),
        ("hatchling", "hatchling"),
        ("flit-core", "flit_core>=3.4"),
        ("poetry-core", "poetry-core>=2.0"),
        ("legacy", "setuptools>=40.8.0"),
    ],
)
def test_builds_a_wheel_with_each_backend(
    tmp_path: Path, wheels: Path, backend: str, requires: str
) -> None:
    project = write_project(
        tmp_path, f"demo-{backend}", "1.2", backend=backend, dependencies=["six>=1"]
    )
    fill = PipFill(wheels)
    wheel = build_wheel(SourceTree(project, None), PYTHON, fill, BuildSettings(), tmp_path / "out")
    mod = f"demo_{backend.replace('-', '_')}"
    assert wheel.name == f"{mod}-1.2-py3-none-any.whl"
    assert f"{mod}/__init__.py" in _names(wheel)
    metadata = _metadata_of(wheel)
    assert "Requires-Dist: six" in metadata
    # The build environment was filled with [build-system].requires (pip's default for legacy).
    assert fill.calls[0].requirements == (requires,)
    assert fill.calls[0].reason == f"build-system.requires of {project.name}"


def test_prepare_metadata_without_building(tmp_path: Path, wheels: Path) -> None:
    project = write_project(tmp_path, "meta", "3.0", backend="hatchling", dependencies=["attrs"])
    raw = prepare_metadata(SourceTree(project, None), PYTHON, PipFill(wheels), BuildSettings())
    assert b"Name: meta\n" in raw
    assert b"Version: 3.0\n" in raw
    assert b"Requires-Dist: attrs\n" in raw
    assert not (project / "dist").exists()


def test_in_tree_backend_path_is_honoured_and_counted(tmp_path: Path) -> None:
    counter = tmp_path / "count"
    project = write_project(tmp_path, "intree", backend="in-tree", counter=counter)
    fill = PipFill(backend_wheels())
    raw = prepare_metadata(SourceTree(project, "intree"), PYTHON, fill, BuildSettings())
    assert raw.startswith(b"Metadata-Version: 2.1\nName: intree\n")
    settings = BuildSettings({"flag": "1", "many": ["a", "b"]})
    wheel = build_wheel(SourceTree(project, "intree"), PYTHON, fill, settings, tmp_path / "out")
    assert wheel.name == "intree-1.0-py3-none-any.whl"
    assert counter.read_text().splitlines() == [
        "prepare_metadata_for_build_wheel",
        "build_wheel",
        "config_settings [('flag', '1'), ('many', ['a', 'b'])]",
    ]
    assert fill.calls == []  # nothing required, nothing filled


def test_editable_builds_use_the_editable_hooks(tmp_path: Path, wheels: Path) -> None:
    counter = tmp_path / "count"
    project = write_project(tmp_path, "edit", backend="in-tree", counter=counter)
    tree = SourceTree(project, None)
    prepare_metadata(tree, PYTHON, PipFill(wheels), BuildSettings(), editable=True)
    wheel = build_wheel(
        tree, PYTHON, PipFill(wheels), BuildSettings(), tmp_path / "o", editable=True
    )
    assert "_edit_editable.pth" in _names(wheel)
    assert counter.read_text().split() == ["prepare_metadata_for_build_editable", "build_editable"]


def test_hatchling_editable_fills_what_get_requires_asks(tmp_path: Path, wheels: Path) -> None:
    project = write_project(tmp_path, "hedit", backend="hatchling")
    fill = PipFill(wheels)
    wheel = build_wheel(
        SourceTree(project, None), PYTHON, fill, BuildSettings(), tmp_path / "o", editable=True
    )
    assert any(n.endswith(".pth") for n in _names(wheel))
    assert fill.calls[0].reason == "build-system.requires of hedit"


def test_not_isolated_runs_in_the_target_interpreter(tmp_path: Path) -> None:
    counter = tmp_path / "count"
    project = write_project(tmp_path, "plain", backend="in-tree", counter=counter)
    fill = PipFill(backend_wheels())
    settings = BuildSettings(isolated=False)
    wheel = build_wheel(SourceTree(project, None), PYTHON, fill, settings, tmp_path / "out")
    assert wheel.is_file()
    assert fill.calls == []


def test_a_failing_backend_is_one_error_with_the_tail_of_its_output(tmp_path: Path) -> None:
    project = write_project(tmp_path, "broken", backend="in-tree", fail="it went wrong")
    tree = SourceTree(project, "broken")
    with pytest.raises(BuildFailed) as caught:
        build_wheel(tree, PYTHON, PipFill(backend_wheels()), BuildSettings(), tmp_path / "out")
    message = caught.value.message
    assert message.splitlines()[0] == "Failed to build 'broken' (build_wheel): error: it went wrong"
    assert "noise line 39" in message
    assert "noise line 10" not in message  # only the last 25 lines
    assert "-v shows all" in message
    assert caught.value.exit_code == 1
    with pytest.raises(BuildFailed) as verbose:
        build_wheel(
            tree, PYTHON, PipFill(backend_wheels()), BuildSettings(verbose=True), tmp_path / "o"
        )
    assert "noise line 0\n" in verbose.value.message


def test_a_missing_python_h_is_said_in_those_words(tmp_path: Path) -> None:
    project = write_project(
        tmp_path,
        "needs-headers",
        backend="in-tree",
        fail="src/x.c:1:10: fatal error: Python.h: No such file or directory",
    )
    with pytest.raises(BuildFailed) as caught:
        prepare_metadata(
            SourceTree(project, None), PYTHON, PipFill(backend_wheels()), BuildSettings()
        )
    assert "(prepare_metadata_for_build_wheel)" in caught.value.message
    assert caught.value.hint is not None
    assert caught.value.hint.startswith("missing Python.h")


def test_a_backend_that_cannot_be_imported(tmp_path: Path) -> None:
    project = tmp_path / "nobackend"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "no_such_backend"\n'
    )
    with pytest.raises(
        BuildFailed, match="cannot import the build backend 'no_such_backend'"
    ) as caught:
        build_wheel(
            SourceTree(project, None),
            PYTHON,
            PipFill(backend_wheels()),
            BuildSettings(),
            tmp_path / "o",
        )
    assert "ModuleNotFoundError: No module named 'no_such_backend'" in caught.value.message


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("[build-system\n", "invalid pyproject.toml"),
        ("[build-system]\nbuild-backend = 'x'\n", "missing the mandatory `requires` key"),
        ("[build-system]\nrequires = 'setuptools'\n", "is not a list of strings"),
    ],
)
def test_a_broken_pyproject_is_one_line(tmp_path: Path, text: str, error: str) -> None:
    (tmp_path / "pyproject.toml").write_text(text)
    with pytest.raises(PipsealError, match=error):
        build_wheel(
            SourceTree(tmp_path, "p"),
            PYTHON,
            PipFill(backend_wheels()),
            BuildSettings(),
            tmp_path / "o",
        )


def test_not_a_project_at_all(tmp_path: Path) -> None:
    with pytest.raises(PipsealError, match=r"neither 'setup\.py' nor 'pyproject\.toml' found"):
        prepare_metadata(
            SourceTree(tmp_path, None), PYTHON, PipFill(backend_wheels()), BuildSettings()
        )


def _have_compiler() -> bool:
    include = sysconfig.get_paths()["include"]
    return shutil.which("gcc") is not None and (Path(include) / "Python.h").is_file()


@pytest.mark.skipif(not _have_compiler(), reason="needs gcc and Python.h")
def test_builds_a_c_extension(tmp_path: Path, wheels: Path) -> None:
    project = write_project(tmp_path, "speedy", backend="setuptools", c_extension=True)
    wheel = build_wheel(
        SourceTree(project, None), PYTHON, PipFill(wheels), BuildSettings(), tmp_path / "out"
    )
    assert "-cp3" in wheel.name and "none-any" not in wheel.name
    target = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(target)
    done = subprocess.run(
        [sys.executable, "-c", "from speedy._speed import add; print(add(2, 40))"],
        env={"PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "42"


def test_one_session_fills_once_for_metadata_and_wheel(tmp_path: Path, wheels: Path) -> None:
    project = write_project(tmp_path, "session", backend="flit-core")
    fill = PipFill(wheels)
    with open_build(SourceTree(project, None), PYTHON, fill, BuildSettings()) as build:
        assert b"Name: session\n" in build.metadata()
        wheel = build.wheel(tmp_path / "out")
    assert wheel.name == "session-1.0-py3-none-any.whl"
    assert [c.reason for c in fill.calls] == ["build-system.requires of session"]


_HANGING_BACKEND = """
import os, subprocess, time

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    child = subprocess.Popen(["sleep", "300"])
    with open(os.environ["PIDS_FILE"], "w") as f:
        f.write(f"{os.getpid()} {child.pid}")
    time.sleep(300)
"""

_DRIVER = """
import sys
from pathlib import Path
from pipseal.build import BuildSettings, SourceTree, build_wheel
from tests.support.backends import PipFill
try:
    build_wheel(SourceTree(Path(sys.argv[1]), None), Path(sys.executable),
                PipFill(Path(sys.argv[2])), BuildSettings(), Path(sys.argv[3]))
except KeyboardInterrupt:
    sys.exit(130)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (not yet reaped by its parent, e.g. init) counts as gone.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_ctrl_c_kills_the_backend_and_its_children(tmp_path: Path) -> None:
    project = tmp_path / "hang"
    (project / "_backend").mkdir(parents=True)
    (project / "_backend" / "hanging.py").write_text(textwrap.dedent(_HANGING_BACKEND))
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "hanging"\nbackend-path = ["_backend"]\n'
    )
    pids_file = tmp_path / "pids"
    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PIDS_FILE": str(pids_file), "PYTHONPATH": f"{repo / 'src'}:{repo}"}
    driver = subprocess.Popen(
        [sys.executable, "-c", _DRIVER, str(project), str(tmp_path), str(tmp_path / "out")],
        env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
    )
    try:
        deadline = time.monotonic() + 60
        while not pids_file.exists() or not pids_file.read_text().strip():
            assert time.monotonic() < deadline, "the backend never started"
            assert driver.poll() is None
            time.sleep(0.05)
        backend, child = (int(p) for p in pids_file.read_text().split())
        assert _alive(backend) and _alive(child)
        driver.send_signal(signal.SIGINT)
        assert driver.wait(timeout=30) == 130
        deadline = time.monotonic() + 10
        while (_alive(backend) or _alive(child)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(backend)
        assert not _alive(child)
    finally:
        driver.kill()
        driver.wait()


def test_backends_repacked_from_the_test_venv_build_too(tmp_path: Path) -> None:
    # What CI without this machine's local index uses (tests/support/backends.py).
    from tests.support.backends import repack_installed

    wheels = tmp_path / "wheels"
    wheels.mkdir()
    repacked = repack_installed("flit-core", wheels)
    assert repacked.name.startswith("flit_core-") and repacked.name.endswith("-py3-none-any.whl")
    project = write_project(tmp_path, "repacked", backend="flit-core")
    fill = PipFill(wheels, reuse=False)
    wheel = build_wheel(SourceTree(project, None), PYTHON, fill, BuildSettings(), tmp_path / "o")
    assert wheel.name == "repacked-1.0-py3-none-any.whl"


def test_builds_for_another_interpreter_binary(tmp_path: Path) -> None:
    # A venv with a copied interpreter is not pipseal's binary: its own `-m venv` makes the
    # build environment (the in-process shortcut is for pipseal's interpreter only).
    target = tmp_path / "target"
    subprocess.run(
        [sys.executable, "-m", "venv", "--copies", "--without-pip", str(target)], check=True
    )
    python = target / "bin" / "python"
    project = write_project(tmp_path, "other", backend="in-tree", counter=tmp_path / "count")
    wheel = build_wheel(
        SourceTree(project, None),
        python,
        PipFill(backend_wheels()),
        BuildSettings(),
        tmp_path / "o",
    )
    assert wheel.name == "other-1.0-py3-none-any.whl"


_WARNING_BACKEND = """\
import os, time, warnings

def _wait(path):
    for _ in range(1200):
        if os.path.exists(path):
            return
        time.sleep(0.05)
    raise SystemExit("waited too long for " + path)

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    config = config_settings or {}
    for path in config.get("touch", "").split():
        open(path, "w").close()
    if config.get("wait"):
        _wait(config["wait"])
    warnings.warn("a warning from build " + config["tag"], UserWarning)
    name = "w" + config["tag"].lower() + "-1.0-py3-none-any.whl"
    open(os.path.join(wheel_directory, name), "wb").close()
    return name
"""


def test_two_builds_at_once_each_keep_their_own_backend_warnings(tmp_path: Path) -> None:
    # pyproject-hooks re-raises a backend's warnings in pipseal's process on the thread of its
    # build: build A's arrive while build B is running; each must stay with its own build
    # (a process-wide warnings.catch_warnings gave A's to B and printed B's).
    import threading

    project = tmp_path / "warner"
    (project / "_backend").mkdir(parents=True)
    (project / "_backend" / "warnbackend.py").write_text(_WARNING_BACKEND)
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "warnbackend"\n'
        'backend-path = ["_backend"]\n'
    )
    flags = tmp_path / "flags"
    flags.mkdir()
    a_started, b_started, a_done = (flags / n for n in ("a-started", "b-started", "a-done"))
    output: dict[str, list[str]] = {"A": [], "B": []}
    errors: list[BaseException] = []

    def build(tag: str, config: dict[str, str]) -> None:
        try:
            settings = BuildSettings({"tag": tag, **config}, isolated=False)
            build_wheel(SourceTree(project, tag), PYTHON, PipFill(backend_wheels()), settings,
                        tmp_path / tag, output=output[tag].append)  # fmt: skip
        except BaseException as exc:  # handed to the test's thread
            errors.append(exc)

    a = threading.Thread(
        target=build, args=("A", {"touch": str(a_started), "wait": str(b_started)})
    )
    b = threading.Thread(target=build, args=("B", {"touch": str(b_started), "wait": str(a_done)}))
    a.start()
    for _ in range(1200):  # B starts once A's backend runs
        if a_started.exists():
            break
        time.sleep(0.05)
    b.start()
    a.join(120)
    a_done.touch()  # B's backend warns only after A's build has returned
    b.join(120)

    assert not errors, errors
    a_text, b_text = "\n".join(output["A"]), "\n".join(output["B"])
    assert "BuildBackendWarning: a warning from build A" in a_text
    assert "a warning from build B" not in a_text
    assert "BuildBackendWarning: a warning from build B" in b_text
    assert "a warning from build A" not in b_text
