"""pipseal.classcode: the code ``dataclasses`` generates, compiled once and kept beside
pipseal's own bytecode; classes made from it behave as compiled ones."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pipseal import classcode


def _make() -> type:
    @dataclass(frozen=True)
    class Sample:
        alpha_classcode: int
        beta_classcode: str = "b"
        gamma_classcode: list[str] = field(default_factory=list, compare=False)

    return Sample


def test_a_class_made_again_compiles_nothing_and_behaves_the_same() -> None:
    classcode.install()
    before = classcode.compiled()
    first = _make()
    made = classcode.compiled() - before
    assert made > 0  # __init__, __repr__, __eq__, __hash__, __setattr__, __delattr__
    second = _make()
    assert classcode.compiled() - before == made
    for cls in (first, second):
        a, b = cls(1), cls(1)
        assert a == b and hash(a) == hash(b) and a is not b
        assert repr(a).endswith("Sample(alpha_classcode=1, beta_classcode='b', gamma_classcode=[])")
        assert a.gamma_classcode is not b.gamma_classcode  # the factory runs each time
        with pytest.raises(dataclasses.FrozenInstanceError):
            a.alpha_classcode = 2
        with pytest.raises(TypeError):
            cls()
    # The generated __init__ keeps its annotations as objects, not strings: the code was not
    # compiled under this module's ``from __future__ import annotations``.
    assert vars(first)["__init__"].__annotations__["return"] is None


def _pipseal(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    target = tmp_path / "hashed.txt"
    target.write_text("x\n")
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    environ.update(PYTHONPYCACHEPREFIX=str(tmp_path / "pyc"), **env)
    done = subprocess.run(
        [sys.executable, "-m", "pipseal", "hash", str(target)],
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


def _table(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "pyc").rglob("dataclass-code.*.marshal"))


def test_the_table_is_written_by_one_run_and_read_by_the_next(tmp_path: Path) -> None:
    _pipseal(tmp_path)
    [table] = _table(tmp_path)
    assert table.read_bytes().startswith(b"pipseal-dataclass-code-1 ")
    written = table.stat()
    # Every text the next run needs is in the table: it compiles nothing, so writes nothing.
    _pipseal(tmp_path)
    again = table.stat()
    assert (again.st_ino, again.st_mtime_ns) == (written.st_ino, written.st_mtime_ns)


def test_a_damaged_table_is_ignored_and_written_again(tmp_path: Path) -> None:
    _pipseal(tmp_path)
    [table] = _table(tmp_path)
    good = table.read_bytes()
    for damaged in (b"garbage", good[: len(good) // 2], good.replace(b"cpython", b"cpythoX", 1)):
        table.write_bytes(damaged)
        _pipseal(tmp_path)
        assert table.read_bytes() == good


def test_no_table_is_written_where_bytecode_is_not(tmp_path: Path) -> None:
    _pipseal(tmp_path, PYTHONDONTWRITEBYTECODE="1")
    assert _table(tmp_path) == []


def test_a_ctrl_c_once_the_command_is_done_ends_no_run_in_a_traceback(tmp_path: Path) -> None:
    """The table is written after the command has finished: a Ctrl-C that lands then (here,
    sent while the table is written) changes nothing, and the run ends as the command did."""
    script = (
        "import os, signal, sys\n"
        "from pipseal import classcode\n"
        "from pipseal.cli import main\n"
        "def save():\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    sum(range(100000))  # the signal is handled between bytecodes\n"
        "classcode.save = save\n"
        "main.main = lambda: 0\n"
        "main.run()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
