"""Target tags computed in our process from the probe's facts agree with the target's own
``packaging.tags.sys_tags()``, on every Python from 3.8 that this machine has."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import packaging
import pytest

from pipseal.environment import inspect_interpreter
from tests.support.venvs import scrubbed_env

#: pyenv's interpreters on the development machines; the ones absent are skipped.
PYENV = Path("/root/.pyenv/versions")
TARGETS = ["3.8.18", "3.9.18", "3.10.13", "3.12.1", "3.13.0", "3.14.0"]
SYS_TAGS = """
import json, sys
if sys.argv[1]:
    sys.path.insert(0, sys.argv[1])
try:
    import packaging
    from packaging import tags
except ImportError:
    from pip._vendor import packaging
    from pip._vendor.packaging import tags
print(json.dumps([packaging.__version__, [str(t) for t in tags.sys_tags()]]))
"""


def pyenv_python(version: str) -> Path:
    python = PYENV / version / "bin" / "python3"
    if not python.exists():
        pytest.skip(f"no Python {version} on this machine")
    return python


def their_tags(python: Path, ours: bool) -> tuple[str, list[str]]:
    """``sys_tags()`` run inside ``python``: with our packaging if ``ours``, else its own."""
    where = str(Path(packaging.__file__).resolve().parent.parent) if ours else ""
    result = subprocess.run(
        [str(python), "-I", "-c", SYS_TAGS, where],
        capture_output=True, text=True, env=scrubbed_env(), timeout=60, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        pytest.skip(f"no packaging importable in {python}: {result.stderr.strip()[-200:]}")
    version, tags = json.loads(result.stdout)
    return str(version), list(tags)


@pytest.mark.parametrize("version", TARGETS)
def test_tags_agree_with_the_targets_own_packaging(version: str) -> None:
    python = pyenv_python(version)
    ours = [str(tag) for tag in inspect_interpreter(str(python)).tags]
    their_version, theirs = their_tags(python, ours=False)
    short = "cp" + "".join(version.split(".")[:2])
    if int(their_version.split(".")[0]) < 22:
        # packaging 22 added <interpreter>-none-any to sys_tags(); pip 23's vendored copy is 21.3.
        theirs.append(f"{short}-none-any")
    assert set(ours) == set(theirs)
    assert ours[0].startswith(f"{short}-{short}-")


# packaging 26 needs Python 3.10 to run at all.
@pytest.mark.parametrize("version", [v for v in TARGETS if int(v.split(".")[1]) >= 10] + ["self"])
def test_tags_equal_our_packagings_sys_tags_run_inside_the_target(version: str) -> None:
    """Same packaging, same rules: the very list, in the same order."""
    python = Path(sys.executable) if version == "self" else pyenv_python(version)
    _, theirs = their_tags(python, ours=True)
    assert [str(tag) for tag in inspect_interpreter(str(python)).tags] == theirs
