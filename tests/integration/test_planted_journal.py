"""Staging directories that pipseal did not make: recovery refuses them and touches nothing.

An environment's root is writable by every wheel installed into it (``X.data/data/``), so a
``.pipseal-staging-*/{lock,journal.json}`` found there may be an attacker's: "rolling it back"
would move and delete files at any path its journal names. Each test puts a victim file outside
the environment (or a distribution inside it) and checks it is exactly as before after pipseal
ran on that environment.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.conftest import RunPipseal
from tests.integration.helpers import tree_snapshot
from tests.support.venvs import Venv
from tests.support.wheels import BuiltDist, build_wheel

PLANTED = ".pipseal-staging-planted"


def hostile_journal(victim: Path, staging: str = f"/somewhere/{PLANTED}") -> str:
    """A journal whose undo moves ``victim`` into the staging directory (deleted after)."""
    return json.dumps(
        {
            "version": 1,
            "state": "committing",
            "root": "/somewhere",
            "moves": [{"op": "place", "src": f"{staging}/tree/stolen", "dst": str(victim)}],
        }
    )


def plant(venv: Venv, journal: str) -> Path:
    """What a wheel installed by pip (or anyone able to write into the venv) could leave."""
    staging = venv.path / PLANTED
    (staging / "tree").mkdir(parents=True)
    (staging / "lock").write_text("")
    (staging / "journal.json").write_text(journal)
    old = os.stat(staging).st_mtime - 3600
    os.utime(staging, (old, old))
    return staging


def victim_file(tmp_path: Path) -> Path:
    victim = tmp_path / "outside" / "precious.txt"
    victim.parent.mkdir()
    victim.write_text("keep me\n")
    return victim


def test_a_wheel_shipping_a_staging_directory_is_refused(
    venv: Venv, wheel_dir: Path, tmp_path: Path, run_pipseal: RunPipseal
) -> None:
    victim = victim_file(tmp_path)
    evil = build_wheel(
        wheel_dir,
        "evil",
        "1.0",
        data={
            f"data/{PLANTED}/lock": "",
            f"data/{PLANTED}/journal.json": hostile_journal(victim),
        },
    )
    before = tree_snapshot(venv.path)

    result = run_pipseal("install", "--python", venv.python, "--no-index", evil.path)

    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.splitlines()[0] == (
        f"ERROR: {evil.path.name} has a member with an unsafe path (named like pipseal's own "
        f"files): 'evil-1.0.data/data/{PLANTED}/lock'"
    )
    assert "Traceback" not in result.stderr
    assert tree_snapshot(venv.path) == before
    # And the uninstall that would have "rolled it back" has nothing to act on.
    assert run_pipseal("uninstall", "-y", "--python", venv.python, "evil").returncode == 0
    assert victim.read_text() == "keep me\n"


def test_a_planted_journal_is_refused_and_nothing_is_touched(
    venv: Venv, wheel_dir: Path, tmp_path: Path, run_pipseal: RunPipseal
) -> None:
    victim = victim_file(tmp_path)
    staging = plant(venv, hostile_journal(victim))
    planted = tree_snapshot(staging)
    beta = build_wheel(wheel_dir, "beta", "2.0")

    removed = run_pipseal("uninstall", "-y", "--python", venv.python, "beta")
    installed = run_pipseal("install", "--python", venv.python, "--no-index", beta.path)

    for result in (removed, installed):
        assert result.returncode == 0, result.stderr
        assert f"WARNING: Left {staging} untouched: pipseal cannot prove" in result.stderr
        assert "Traceback" not in result.stderr
    assert victim.read_text() == "keep me\n"
    assert tree_snapshot(staging) == planted
    assert venv.installed() == {"beta": "2.0"}
    # verify still shows it, for what it is: for the user to look at.
    verified = run_pipseal("verify", "--python", venv.python)
    assert verified.returncode == 1
    assert verified.stdout.splitlines()[0] == (
        f"staging directory pipseal cannot prove it made: {staging} (left untouched by "
        "pipseal; inspect it, then delete it)"
    )


def test_a_planted_journal_inside_the_environment_is_refused_too(
    venv: Venv, wheel_dir: Path, run_pipseal: RunPipseal
) -> None:
    """A journal naming only the environment's own files still has no proof of origin: it
    must not move a distribution's files away."""
    alpha = build_wheel(wheel_dir, "alpha", "1.0")
    assert run_pipseal("install", "--python", venv.python, "--no-index", alpha.path).returncode == 0
    module = venv.purelib / "alpha" / "__init__.py"
    staging = plant(venv, hostile_journal(module, str(venv.path / PLANTED)))

    result = run_pipseal("uninstall", "-y", "--python", venv.python, "not-installed")

    assert result.returncode == 0, result.stderr
    assert f"WARNING: Left {staging} untouched" in result.stderr
    assert module.exists()
    verified = run_pipseal("verify", "--python", venv.python)
    assert "Checked 1 distribution" in verified.stdout
    assert "missing" not in verified.stdout


def test_a_proven_staging_directory_whose_journal_leaves_the_environment_is_refused(
    venv: Venv, wheel_dir: Path, tmp_path: Path, run_pipseal: RunPipseal
) -> None:
    """Proof of origin is not enough: every move must stay inside the environment."""
    from pipseal.environment import inspect_interpreter
    from pipseal.install.transaction import Transaction

    victim = victim_file(tmp_path)
    transaction = Transaction(inspect_interpreter(str(venv.python)))
    staging = transaction.staging_root.parent
    (staging / "journal.json").write_text(hostile_journal(victim, str(staging)))
    # As if the process had been killed: its lock released, its directory left.
    os.close(transaction._lock)
    transaction._closed = True

    result = run_pipseal("uninstall", "-y", "--python", venv.python, "not-installed")

    assert result.returncode == 0, result.stderr
    assert (
        f"WARNING: Left {staging} untouched: its journal names '{victim}' (a step 'place' "
        "outside its place)"
    ) in result.stderr
    assert victim.read_text() == "keep me\n"
    assert staging.exists()


def test_a_real_interrupted_commit_is_still_recovered(
    venv: Venv, wheel_dir: Path, run_pipseal: RunPipseal
) -> None:
    """The proof does not stop recovery of pipseal's own transactions (a commit cut short
    after its first move)."""
    from pipseal.environment import inspect_interpreter
    from pipseal.install.transaction import Transaction, _execute

    before = tree_snapshot(venv.path)
    gamma: BuiltDist = build_wheel(wheel_dir, "gamma", "1.0")
    transaction = Transaction(inspect_interpreter(str(venv.python)))
    transaction.stage(gamma.path)
    plan = transaction._plan()
    transaction._write_journal("committing", plan)
    _execute(plan[0])
    os.close(transaction._lock)
    transaction._closed = True

    result = run_pipseal("uninstall", "-y", "--python", venv.python, "not-installed")

    assert result.returncode == 0, result.stderr
    assert "WARNING: An interrupted install or uninstall was rolled back (1 changes" in (
        result.stderr
    )
    assert tree_snapshot(venv.path) == before
