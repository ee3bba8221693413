"""pip's install options through the real CLI: each implemented or refused in one line, on the
command line, in ``PIP_*`` variables and in pip.conf alike; none silently ignored."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

from pipseal.cli.pip_install_options import ACCEPTED, REFUSED, Answer
from tests.conftest import RunPipseal
from tests.integration.helpers import publish_basic, write
from tests.support.indexserver import IndexServer
from tests.support.venvs import Venv

DOCS = Path(__file__).resolve().parents[2] / "docs" / "PIP-OPTIONS.md"


def install(
    run_pipseal: RunPipseal,
    venv: Venv,
    url: str,
    *args: str,
    env: Mapping[str, str | None] | None = None,
) -> subprocess.CompletedProcess[str]:
    return run_pipseal("install", "--python", venv.python, "-i", url, "alpha", *args, env=env)


@pytest.mark.parametrize("answer", REFUSED, ids=lambda a: a.flags[-1])
def test_a_refused_option_is_one_line_on_the_command_line_and_in_configuration(
    answer: Answer,
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    publish_basic(index_server, wheel_dir)
    flag = answer.flags[-1]
    given = [flag, "x"] if answer.takes_value else [flag]
    env_value = "x" if answer.takes_value else ("false" if answer.inverted else "true")
    variable = "PIP_" + answer.key.upper().replace("-", "_")
    conf = write(tmp_path / "pip.conf", f"[install]\n{answer.key} = {env_value}\n")

    typed = install(run_pipseal, venv, index_server.url, *given)
    from_env = install(run_pipseal, venv, index_server.url, env={variable: env_value})
    from_file = install(run_pipseal, venv, index_server.url, env={"PIP_CONFIG_FILE": str(conf)})

    assert typed.stderr.splitlines() == [f"ERROR: pipseal does not support {flag}: {answer.reason}"]
    assert from_env.stderr.splitlines() == [
        f"ERROR: pipseal does not support {answer.key} (from environment variable {variable}): "
        f"{answer.reason}"
    ]
    assert from_file.stderr.splitlines() == [
        f"ERROR: pipseal does not support {answer.key} (from {conf} [install]): {answer.reason}"
    ]
    assert typed.returncode == from_env.returncode == from_file.returncode == 2
    assert venv.installed() == {}


def test_accepted_options_install_and_a_refused_flag_set_off_is_not_given(
    index_server: IndexServer, wheel_dir: Path, venv: Venv, run_pipseal: RunPipseal
) -> None:
    publish_basic(index_server, wheel_dir)
    typed: list[str] = []
    for answer in ACCEPTED:
        typed += [answer.flags[-1], answer.choices[0]] if answer.choices else [answer.flags[-1]]
        if answer.takes_value and not answer.choices:
            typed.append("alpha")

    result = install(
        run_pipseal, venv, index_server.url, *typed, "--progress-bar", "off",
        env={"PIP_USER": "0", "PIP_NO_BUILD_ISOLATION": "1", "PIP_ROOT_USER_ACTION": "ignore"},
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert venv.installed() == {"alpha": "1.0"}


@pytest.mark.parametrize(
    ("args", "env", "line"),
    [
        (["--progress-bar", "raw"], {}, "pipseal does not support --progress-bar raw"),
        ([], {"PIP_PROGRESS_BAR": "sometimes"}, "invalid --progress-bar value 'sometimes'"),
        (["--root-user-action", "shout"], {}, "invalid --root-user-action value 'shout'"),
        ([], {"PIP_KEYRING_PROVIDER": "import"}, "invalid --keyring-provider value 'import'"),
    ],
)
def test_values_pipseal_lacks_are_refused(
    args: list[str],
    env: dict[str, str],
    line: str,
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    run_pipseal: RunPipseal,
) -> None:
    publish_basic(index_server, wheel_dir)
    result = install(run_pipseal, venv, index_server.url, *args, env=env)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and line in result.stderr


def test_require_virtualenv_refuses_an_interpreter_outside_one(
    index_server: IndexServer, wheel_dir: Path, venv: Venv, run_pipseal: RunPipseal
) -> None:
    import sys

    publish_basic(index_server, wheel_dir)
    base = Path(sys.base_prefix) / "bin" / "python3"
    refused = run_pipseal(
        "install", "--python", base, "-i", index_server.url, "alpha", "--dry-run",
        env={"PIP_REQUIRE_VIRTUALENV": "true"},
    )  # fmt: skip
    allowed = install(run_pipseal, venv, index_server.url, "--require-virtualenv")

    assert refused.returncode == 2
    assert refused.stderr.startswith("ERROR: Could not find an activated virtualenv (required)")
    assert allowed.returncode == 0, allowed.stderr


def test_every_pip_install_option_is_in_the_table() -> None:
    """docs/PIP-OPTIONS.md answers every option ``pip install --help`` (pip 26.3) lists."""
    table = DOCS.read_text(encoding="utf-8")
    for answer in (*REFUSED, *ACCEPTED):
        assert f"`{answer.flags[-1]}`" in table, answer.flags[-1]
    for flag in PIP_26_3_INSTALL_FLAGS:
        assert f"`{flag}`" in table, flag


PIP_26_3_INSTALL_FLAGS = [
    "--requirement",
    "--constraint",
    "--build-constraint",
    "--requirements-from-script",
    "--no-deps",
    "--only-deps",
    "--editable",
    "--dry-run",
    "--target",
    "--platform",
    "--python-version",
    "--implementation",
    "--abi",
    "--user",
    "--root",
    "--prefix",
    "--src",
    "--upgrade",
    "--upgrade-strategy",
    "--force-reinstall",
    "--ignore-installed",
    "--ignore-requires-python",
    "--no-build-isolation",
    "--check-build-dependencies",
    "--break-system-packages",
    "--config-settings",
    "--compile",
    "--no-compile",
    "--no-warn-script-location",
    "--no-warn-conflicts",
    "--require-hashes",
    "--no-require-hashes",
    "--progress-bar",
    "--root-user-action",
    "--report",
    "--group",
    "--no-clean",
    "--pre",
    "--all-releases",
    "--only-final",
    "--no-binary",
    "--only-binary",
    "--prefer-binary",
    "--index-url",
    "--extra-index-url",
    "--no-index",
    "--refresh-package",
    "--find-links",
    "--uploaded-prior-to",
    "--help",
    "--debug",
    "--isolated",
    "--require-virtualenv",
    "--python",
    "--verbose",
    "--quiet",
    "--log",
    "--no-input",
    "--keyring-provider",
    "--proxy",
    "--no-proxy-env",
    "--retries",
    "--timeout",
    "--exists-action",
    "--trusted-host",
    "--cert",
    "--client-cert",
    "--cache-dir",
    "--no-cache-dir",
    "--disable-pip-version-check",
    "--no-color",
    "--use-feature",
    "--use-deprecated",
    "--resume-retries",
]
