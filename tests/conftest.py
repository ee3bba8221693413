"""Fixtures shared by every test: wheels, index servers, venvs and running pipseal.

- ``wheel_dir``: an empty directory for ``build_wheel``/``build_sdist`` output.
- ``index_server``: a running ``IndexServer`` (tests/support/indexserver.py), stopped after.
- ``pypiserver_index``: ``start(directory) -> PypiServer`` (a ``str``, the simple URL);
  every server started is killed after the test.
- ``venv``: a fresh, empty venv (a copy of a session-wide template).
- ``venv_target``: ``venv``'s ``TargetEnvironment`` (the template's, inspected once per session,
  re-rooted at the copy: no interpreter subprocess per test).
- ``cache_dir``: the ``PIPSEAL_CACHE_DIR`` that ``run_pipseal`` uses.
- ``run_pipseal(*args, env=None, cwd=None, input=None, timeout=120)``: runs
  ``python -m pipseal`` hermetically (see ``tests.support.venvs.pipseal_env``).

Tests marked ``network`` run only with ``PIPSEAL_NETWORK_TESTS=1``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import pytest

from tests.support import oldtemp
from tests.support.indexserver import IndexServer
from tests.support.pypiserver import PypiServer, start_pypiserver
from tests.support.venvs import (
    SRC,
    Venv,
    clone_venv,
    make_venv,
    pipseal_env,
    relocated_target,
)

if TYPE_CHECKING:
    from pipseal.environment import TargetEnvironment

if str(SRC) not in sys.path:  # so tests import pipseal without PYTHONPATH=src too
    sys.path.insert(0, str(SRC))


def pytest_sessionstart(session: pytest.Session) -> None:
    """Delete earlier sessions' temporary trees while the tests run (tests/support/oldtemp.py)."""
    oldtemp.start(session.config)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Wait for that deletion before pytest's own end-of-session cleanup."""
    oldtemp.finish()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tests marked ``network`` unless PIPSEAL_NETWORK_TESTS=1."""
    if os.environ.get("PIPSEAL_NETWORK_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="reaches the real PyPI; set PIPSEAL_NETWORK_TESTS=1")
    for item in items:
        if "network" in item.keywords:
            item.add_marker(skip)


#: Test files run whole by one xdist worker: each builds something read-only once per process
#: (a module fixture, or ``PipFill``'s template venvs) that costs seconds, which two workers
#: would each build. Every other test is scheduled on its own, as ``--dist load`` does.
ONE_WORKER_FILES = frozenset(
    {
        "tests/integration/test_env_commands.py",  # the ``mixed`` venv: pipseal and pip installs
        "tests/integration/test_freeze_vcs.py",  # ``vcs_venv``: git repositories, a pip install
        "tests/integration/test_interrupted_commit.py",  # four wheels of 1200 modules, installed
        "tests/test_build_hooks.py",  # a pip-filled template venv per backend
    }
)


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """With ``-n`` and xdist's default ``--dist load``: the tests of ``ONE_WORKER_FILES`` go to
    one worker as a unit (the largest units first), every other test on its own. (xdist's
    ``loadgroup`` would say this with marks, but its marks are lost under pytest 9.)"""
    if config.getoption("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

    class OneWorkerFiles(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return path if path in ONE_WORKER_FILES else nodeid

    return OneWorkerFiles(config, log)


class RunPipseal(Protocol):
    """The type of the ``run_pipseal`` fixture."""

    def __call__(
        self,
        *args: str | os.PathLike[str],
        env: Mapping[str, str | None] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        input: str | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]: ...


@pytest.fixture
def wheel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty directory for built distributions."""
    return tmp_path_factory.mktemp("wheels")


@pytest.fixture
def index_server() -> Iterator[IndexServer]:
    """A running index on 127.0.0.1 serving nothing yet; ``add`` files to it."""
    with IndexServer() as server:
        yield server


@pytest.fixture
def pypiserver_index() -> Iterator[Callable[[Path], PypiServer]]:
    """``start(directory)`` runs pypiserver over ``directory`` and returns its simple URL."""
    started: list[PypiServer] = []

    def start(directory: Path) -> PypiServer:
        server = start_pypiserver(directory)
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill()


@pytest.fixture(scope="session")
def venv_template(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """One empty venv per session (per xdist worker), copied by ``venv``."""
    return make_venv(tmp_path_factory.mktemp("venv-template") / "venv")


@pytest.fixture
def venv(venv_template: Venv, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """A fresh, empty venv (no pip) for this test.

    Copying the template takes about 1 ms, creating a venv about 30 ms, so it is copied.
    """
    return clone_venv(venv_template, tmp_path_factory.mktemp("venv") / "venv")


@pytest.fixture(scope="session")
def template_target(venv_template: Venv) -> TargetEnvironment:
    """The template venv's target, inspected once per session (per xdist worker)."""
    from pipseal.environment import inspect_interpreter

    return inspect_interpreter(str(venv_template.python))


@pytest.fixture
def venv_target(
    venv: Venv, venv_template: Venv, template_target: TargetEnvironment
) -> TargetEnvironment:
    """``venv``'s target: the template's, re-rooted at the copy (no subprocess per test)."""
    return relocated_target(template_target, venv_template, venv)


@pytest.fixture
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pipseal cache directory ``run_pipseal`` uses (not created in advance)."""
    return tmp_path_factory.mktemp("pipseal-cache") / "cache"


@pytest.fixture
def run_pipseal(cache_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> RunPipseal:
    """Run ``python -m pipseal`` hermetically; see ``RunPipseal`` and ``pipseal_env``."""
    home = tmp_path_factory.mktemp("home")

    def run(
        *args: str | os.PathLike[str],
        env: Mapping[str, str | None] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        input: str | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pipseal", *(os.fspath(a) for a in args)],
            env=pipseal_env(home, cache_dir, env),
            cwd=cwd,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    return run


# -- the fault report (README: "What was tried, and nothing was lost") ---------------------------
#: Test files whose every case is a robustness trial, by the kind of trial.
ROBUSTNESS_FILES = {
    "test_faults.py": "network faults (reset, cut, corrupted, 429/503, stalled, dead server)",
    "test_hostile_input.py": "hostile wheels and bad input",
    "test_concurrency.py": "8 concurrent processes on one cache; killed and Ctrl-C'd downloads",
    "test_full_disk.py": "a full disk under the cache or under the environment",
    "test_interrupted_commit.py": "installs killed (SIGKILL) or interrupted (SIGINT) mid-commit",
    "test_planted_journal.py": "staging directories and journals pipseal did not make",
    "test_environment_lock.py": "concurrent installs and uninstalls into one environment",
    "test_diagnosis.py": "hash mismatches diagnosed (one per identifier)",
    "test_uninstall_verify.py": "uninstall and tamper checks",
    "test_install.py": "hostile wheels and rollbacks at the staging layer",
    "test_parallel_linking.py": "parallel linking: conflicts between wheels, drifted cache trees",
    "test_processes.py": "worker processes: errors carried back, workers killed and reaped",
    "test_worker_pool.py": "unpacking workers: an item's error kept to it, close kills and reaps",
    "test_foreign_input.py": "what pipseal did not write: installed metadata, damaged cache "
    "records, hostile requirements files, secrets",
    "test_parsers_fuzz.py": "parsers of what pipseal did not write fed arbitrary bytes "
    "(property tests, each example bounded in time)",
}
_trials: dict[str, list[tuple[str, str]]] = {}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fault-report",
        metavar="PATH",
        help="write the robustness summary (Markdown) to PATH",
    )


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call" and not (report.when == "setup" and report.outcome != "passed"):
        return
    filename = report.nodeid.split("::", 1)[0].rsplit("/", 1)[-1]
    kind = ROBUSTNESS_FILES.get(filename)
    if kind is not None:
        _trials.setdefault(kind, []).append((report.nodeid, report.outcome))


def _fault_summary() -> list[str]:
    lines = ["| kind of trial | tried | nothing lost (passed) |", "| --- | --- | --- |"]
    for kind in ROBUSTNESS_FILES.values():
        results = _trials.get(kind, [])
        if results:
            passed = sum(1 for _, outcome in results if outcome == "passed")
            lines.append(f"| {kind} | {len(results)} | {passed} |")
    return lines


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    if not _trials:
        return
    lines = _fault_summary()
    terminalreporter.write_sep("-", "robustness trials")
    for line in lines:
        terminalreporter.write_line(line)
    target = config.getoption("--fault-report")
    if target:
        Path(target).write_text(
            "# Fault report\n\nWritten by `pytest --fault-report docs/FAULT-REPORT.md`: every "
            "robustness test of the suite, by kind, each against real processes, real files "
            "and real servers on 127.0.0.1. A trial passes only when the environment and the "
            "cache are left intact (as before, or complete), which each test asserts.\n\n"
            + "\n".join(lines)
            + "\n",
            encoding="utf-8",
        )
