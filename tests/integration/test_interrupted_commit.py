"""kill -9 or Ctrl-C during a commit, then recovery: the environment is as before or complete.

A real process commits a wheel of 1200 modules (an upgrade: 1200 files set aside, 1200 placed)
and is killed with SIGKILL as soon as its journal appears, and a few milliseconds later. Then
recovery runs (in-process, and through ``pipseal uninstall``), and the venv must equal its
snapshot from before, or hold the whole new version, with ``pipseal verify`` passing. The same
upgrade through ``pipseal install`` is also sent SIGINT again and again from several points of
its commit: the process must itself leave the venv as before or complete.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pipseal.install.transaction import STAGING_PREFIX
from tests.conftest import RunPipseal
from tests.integration.helpers import tree_snapshot
from tests.support.venvs import SRC, Venv, clone_venv, interruptible, scrubbed_env
from tests.support.wheels import BuiltDist, build_wheel

MODULES = 1200

COMMIT_SCRIPT = """
import sys
from pathlib import Path
from pipseal.environment import inspect_interpreter, installed_distributions
from pipseal.install import install_wheels
env = inspect_interpreter(sys.argv[1])
replace = {k: v for k, v in installed_distributions(env).items() if k == "big"}
install_wheels([Path(sys.argv[2])], env, replace=replace, requested=["big"])
"""


def big_wheel(directory: Path, version: str) -> BuiltDist:
    modules: dict[str, str | bytes] = {"big/__init__.py": f"VERSION = {version!r}\n"}
    for i in range(MODULES):
        modules[f"big/m{i:04d}.py"] = f"N = {i}  # {version}\n"
    return build_wheel(directory, "big", version, modules=modules)


def commit_in_process(venv: Venv, wheel: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", COMMIT_SCRIPT, str(venv.python), str(wheel)],
        env=scrubbed_env({"PYTHONPATH": str(SRC)}),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def journal_of(venv: Venv) -> Path | None:
    for entry in os.scandir(venv.path):
        if entry.name.startswith(STAGING_PREFIX):
            journal = Path(entry.path, "journal.json")
            if journal.exists():
                return journal
    return None


def await_journal(venv: Venv, process: subprocess.Popen[Any], deadline: float) -> bool:
    """Wait until ``process`` has written its journal into ``venv`` (True) or ended (False).

    Until its staging directory exists the process is still starting (interpreter, imports,
    hashing: hundreds of milliseconds), so the test sleeps; from then on it looks without
    pause, to act within microseconds of the journal's writing (a commit of whole directories
    lasts a few milliseconds), yielding the core to any other process that is ready to run.
    """
    while not any(e.name.startswith(STAGING_PREFIX) for e in os.scandir(venv.path)):
        if process.poll() is not None:
            return False
        assert time.monotonic() < deadline, "the commit never made its staging directory"
        time.sleep(0.001)
    while journal_of(venv) is None:
        if process.poll() is not None:
            return False
        assert time.monotonic() < deadline, "the commit never wrote its journal"
        os.sched_yield()  # the core goes to whoever else is ready (the commit, other tests)
    return True


def kill_during_commit(venv: Venv, wheel: Path, delay: float) -> bool:
    """Run the commit, SIGKILL it ``delay`` seconds after its journal appears; return whether
    it was killed before it finished."""
    process = commit_in_process(venv, wheel)
    deadline = time.monotonic() + 30
    try:
        if not await_journal(venv, process, deadline):
            return False
        if delay:
            time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        return process.wait(10) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def assert_before_or_complete(
    venv: Venv,
    before: dict[str, bytes | None],
    new: BuiltDist,
    run_pipseal: RunPipseal,
    module: str = "big",
) -> str:
    """The venv is its ``before`` snapshot, or has all of ``new``: say which."""
    after = tree_snapshot(venv.path)
    verified = run_pipseal("verify", "--python", venv.python)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    if after == before:
        return "before"
    assert venv.installed() == {new.name: new.version}
    version = venv.run(f"import {module}; print({module}.VERSION)").strip()
    assert version == new.version
    assert verified.stdout.startswith("Checked 1 distribution, ")
    assert int(verified.stdout.split()[3]) > MODULES
    return "complete"


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> tuple[BuiltDist, BuiltDist]:
    directory = tmp_path_factory.mktemp("big-wheels")
    return big_wheel(directory, "1.0"), big_wheel(directory, "2.0")


@pytest.fixture(scope="module")
def with_old(
    big: tuple[BuiltDist, BuiltDist],
    venv_template: Venv,
    tmp_path_factory: pytest.TempPathFactory,
) -> Venv:
    """A venv with big 1.0 installed, cloned for each trial."""
    from pipseal.environment import inspect_interpreter
    from pipseal.install import install_wheels

    venv = clone_venv(venv_template, tmp_path_factory.mktemp("with-old") / "venv")
    install_wheels([big[0].path], inspect_interpreter(str(venv.python)))
    return venv


def test_kill_9_during_an_upgrade_then_recover(
    big: tuple[BuiltDist, BuiltDist], with_old: Venv, tmp_path: Path, run_pipseal: RunPipseal
) -> None:
    from pipseal.environment import inspect_interpreter
    from pipseal.install.recovery import recover

    outcomes: list[tuple[float, bool, str]] = []
    for trial, delay in enumerate((0.0, 0.004, 0.02)):
        venv = clone_venv(with_old, tmp_path / f"t{trial}")  # big has no scripts
        before = tree_snapshot(venv.path)

        interrupted = kill_during_commit(venv, big[1].path, delay)
        if interrupted:
            # The interrupted commit is visible to verify until something recovers it.
            found = run_pipseal("verify", "--python", venv.python)
            assert found.returncode == 1
            assert "interrupted install: " in found.stdout
        if trial % 2:
            result = recover(inspect_interpreter(str(venv.python)))
            assert len(result.recovered) == (1 if interrupted else 0)
        else:
            # uninstall recovers first (and here has nothing else to do).
            cleaned = run_pipseal("uninstall", "-y", "--python", venv.python, "not-installed")
            assert cleaned.returncode == 0, cleaned.stderr
        assert not list(venv.path.glob(".pipseal-staging-*"))
        outcomes.append(
            (delay, interrupted, assert_before_or_complete(venv, before, big[1], run_pipseal))
        )

    # The test means something only if some kill landed in the middle of the moves.
    assert any(interrupted for _, interrupted, _ in outcomes), outcomes
    assert "before" in {o for _, _, o in outcomes}, outcomes


def test_kill_9_during_a_fresh_install_then_install_again(
    big: tuple[BuiltDist, BuiltDist],
    venv_template: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    from pipseal.environment import inspect_interpreter
    from pipseal.install.recovery import recover

    # Retried (in a fresh venv) in case a loaded machine let the commit finish first, or killed
    # it before its first move: a commit of whole directories lasts a few milliseconds.
    for attempt, delay in enumerate(
        (0.002, 0.0, 0.001, 0.0, 0.003, 0.0005, 0.0, 0.0015, 0.001, 0.0)
    ):
        venv = clone_venv(venv_template, tmp_path / f"attempt{attempt}")
        before = tree_snapshot(venv.path)
        if kill_during_commit(venv, big[1].path, delay) and list(venv.purelib.glob("big/m*.py")):
            break
    else:
        pytest.fail("no kill landed after the first file was placed")

    # The next pipseal run on that environment undoes the half-made commit first, then installs.
    install = run_pipseal(
        "install", "--python", venv.python, "--no-index", "-f", big[1].path.parent, "big==2.0"
    )
    assert install.returncode == 0, install.stderr
    # New directories move in with one rename each, so the kill may land before, between or
    # after them: whichever, the next run leaves no half-made commit behind.
    assert recover(inspect_interpreter(str(venv.python))).recovered == ()
    assert assert_before_or_complete(venv, before, big[1], run_pipseal) == "complete"


def test_a_staging_dir_without_journal_is_discarded(venv: Venv) -> None:
    from pipseal.environment import inspect_interpreter
    from pipseal.install.recovery import recover
    from pipseal.install.transaction import Transaction

    before = tree_snapshot(venv.path)
    env = inspect_interpreter(str(venv.python))
    live = Transaction(env)
    try:
        # A running transaction (its lock held) is never touched.
        assert recover(env).recovered == ()
        assert live.staging_root.exists()
    finally:
        live.abort()
    # A transaction killed while staging: its lock released, no journal written.
    crashed = Transaction(env)
    (crashed.staging_root / "lib").mkdir()
    os.close(crashed._lock)
    crashed._closed = True

    result = recover(env)

    assert [r.action for r in result.recovered] == ["discarded"]
    assert tree_snapshot(venv.path) == before


def interrupt_during_commit(
    venv: Venv, command: list[str], env: dict[str, str], delay: float
) -> subprocess.CompletedProcess[str]:
    """Run ``command``; from ``delay`` seconds after its journal appears, send it SIGINT every
    half millisecond (a user hammering Ctrl-C) until it ends."""
    # Ctrl-C reaches a foreground process, whose SIGINT is not ignored, whatever this run of
    # the tests inherited (a background job of a script ignores SIGINT, and its children too).
    with interruptible():
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    deadline = time.monotonic() + 60
    try:
        await_journal(venv, process, deadline)
        if delay:
            time.sleep(delay)
        while process.poll() is None and time.monotonic() < deadline:
            process.send_signal(signal.SIGINT)
            time.sleep(0.0005)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


@pytest.fixture(scope="module")
def flat_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[BuiltDist, BuiltDist]:
    directory = tmp_path_factory.mktemp("flat-wheels")
    return flat_wheel(directory, "1.0"), flat_wheel(directory, "2.0")


@pytest.fixture(scope="module")
def with_old_flat(
    flat_pair: tuple[BuiltDist, BuiltDist],
    venv_template: Venv,
    tmp_path_factory: pytest.TempPathFactory,
) -> Venv:
    """A venv with flat 1.0 installed, cloned for each trial. Its upgrade sets aside and moves
    in each of 1,200 top-level modules, one journal step each: a commit long enough to be seen
    and interrupted on an idle machine too (``big``'s package directory moves in a few steps,
    which a quiet machine finishes before the test sees the journal)."""
    from pipseal.environment import inspect_interpreter
    from pipseal.install import install_wheels

    venv = clone_venv(venv_template, tmp_path_factory.mktemp("with-old-flat") / "venv")
    install_wheels([flat_pair[0].path], inspect_interpreter(str(venv.python)))
    return venv


def test_ctrl_c_during_an_upgrade_never_splits_a_step(
    flat_pair: tuple[BuiltDist, BuiltDist],
    with_old_flat: Venv,
    tmp_path: Path,
    cache_dir: Path,
    run_pipseal: RunPipseal,
) -> None:
    """Real SIGINTs at many points of a real ``pipseal install`` commit: each trial leaves the
    venv as before or complete, with ``verify`` clean, and nothing left to recover."""
    from tests.support.venvs import pipseal_env

    env = pipseal_env(tmp_path / "home", cache_dir)
    outcomes: list[tuple[float, int, str]] = []
    for trial, delay in enumerate((0.0, 0.002, 0.008, 0.03)):
        venv = clone_venv(with_old_flat, tmp_path / f"t{trial}")
        before = tree_snapshot(venv.path)
        command = [sys.executable, "-m", "pipseal", "install", "--python", str(venv.python)]
        command += ["--no-index", "-f", str(flat_pair[1].path.parent), "flat==2.0"]

        result = interrupt_during_commit(venv, command, env, delay)

        assert result.returncode in (0, 130), result.stderr
        assert "Traceback" not in result.stderr
        # The interrupted process itself undid its moves and removed its staging directory.
        assert not list(venv.path.glob(".pipseal-staging-*")), result.stderr
        outcome = assert_before_or_complete(venv, before, flat_pair[1], run_pipseal, "flat0000")
        outcomes.append((delay, result.returncode, outcome))

    # Meaningful only if some interrupts landed in the middle of the moves.
    assert (130, "before") in {(code, o) for _, code, o in outcomes}, outcomes


def flat_wheel(directory: Path, version: str = "1.0") -> BuiltDist:
    """1200 top-level modules: in an existing directory each is a move of its own, so the
    commit lasts long enough for a kill to land in it."""
    modules: dict[str, str | bytes] = {
        f"flat{i:04d}.py": f"N = {i}\nVERSION = {version!r}\n" for i in range(MODULES)
    }
    return build_wheel(directory, "flat", version, modules=modules)


@pytest.mark.parametrize("option", ["--target", "--prefix"])
def test_kill_9_during_a_target_or_prefix_install_then_install_again(
    option: str,
    venv_template: Venv,
    wheel_dir: Path,
    tmp_path: Path,
    cache_dir: Path,
    run_pipseal: RunPipseal,
) -> None:
    from pipseal.commands.verify import verify_environment
    from pipseal.environment import inspect_interpreter
    from tests.support.venvs import pipseal_env

    flat_wheel(wheel_dir)
    env = pipseal_env(tmp_path / "home", cache_dir)
    for attempt, delay in enumerate((0.002, 0.0, 0.004, 0.001, 0.0, 0.003, 0.0, 0.006)):
        directory = tmp_path / f"attempt{attempt}"
        # The modules' directory exists, so that each module is a move of its own.
        site = (
            directory
            if option == "--target"
            else directory / venv_template.purelib.relative_to(venv_template.path)
        )
        site.mkdir(parents=True)
        command = [sys.executable, "-m", "pipseal", "install", option, str(directory)]
        command += ["--python", str(venv_template.python), "--no-index", "-f", str(wheel_dir)]
        process = subprocess.Popen(
            [*command, "flat"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        staging = None
        deadline = time.monotonic() + 60
        try:
            while process.poll() is None and time.monotonic() < deadline:
                staging = next(directory.glob(".pipseal-staging-*/journal.json"), None)
                if staging is not None:
                    break
            if delay:
                time.sleep(delay)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        finally:
            process.wait(10)
        if process.returncode == -signal.SIGKILL and staging is not None and staging.exists():
            # The .dist-info moves in last: never visible before every module is in place.
            if (site / "flat-1.0.dist-info").exists():
                # Every move was made: the kill came too late for a rollback (recovery
                # completes such a commit). Another attempt, killed sooner.
                assert len(list(site.glob("flat*.py"))) == MODULES
                continue
            break
    else:
        pytest.fail("no kill landed during a commit's moves")

    again = subprocess.run([*command, "flat"], env=env, capture_output=True, text=True, check=False)

    assert again.returncode == 0, again.stderr
    # The half-made commit was undone (and its staging directory, as big as the install,
    # removed) before the install ran again.
    assert "An interrupted install or uninstall was rolled back" in again.stderr
    assert not list(directory.glob(".pipseal-staging-*"))
    target, prefix = (str(directory), None) if option == "--target" else (None, str(directory))
    checked = verify_environment(
        inspect_interpreter(str(venv_template.python), target=target, prefix=prefix)
    )
    assert checked.ok and checked.distributions == 1, checked
    assert checked.files > MODULES
