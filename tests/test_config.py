"""pipseal.config: pip's configuration files and variables, from files written into tmp_path.

Every test passes an explicit environment whose HOME, XDG_CONFIG_HOME and XDG_CONFIG_DIRS point
into tmp_path. ``/etc/pip.conf`` is always a candidate (as in pip) and cannot be redirected, so
assertions about "every value" leave out the keys that file sets on this machine.
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipseal.config import ALIASES, Config, config_files, load_config
from pipseal.errors import UsageError

ETC_PIP_CONF = Path("/etc/pip.conf")


@dataclass(frozen=True)
class Layout:
    home: Path
    global_file: Path  # $XDG_CONFIG_DIRS/pip/pip.conf
    legacy_user_file: Path  # ~/.pip/pip.conf
    user_file: Path  # $XDG_CONFIG_HOME/pip/pip.conf
    venv: Path
    env_file: Path  # what PIP_CONFIG_FILE names

    def environ(self, **extra: str) -> dict[str, str]:
        return {
            "HOME": str(self.home),
            "XDG_CONFIG_DIRS": str(self.global_file.parent.parent),
            "XDG_CONFIG_HOME": str(self.user_file.parent.parent),
            **extra,
        }


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    home = tmp_path / "home"
    result = Layout(
        home=home,
        global_file=tmp_path / "xdg-dirs" / "pip" / "pip.conf",
        legacy_user_file=home / ".pip" / "pip.conf",
        user_file=home / "config" / "pip" / "pip.conf",
        venv=tmp_path / "venv",
        env_file=tmp_path / "env-pip.conf",
    )
    home.mkdir()
    result.venv.mkdir()
    return result


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def etc_keys() -> set[str]:
    """Keys the machine's /etc/pip.conf sets (always read, like pip does)."""
    parser = configparser.RawConfigParser()
    parser.read(ETC_PIP_CONF, encoding="utf-8")
    keys = {key for section in parser.sections() for key, _ in parser.items(section)}
    names = {k.replace("_", "-") for k in keys}
    return names | {canonical for canonical, aliases in ALIASES.items() if names & set(aliases)}


def own(config: Config) -> dict[str, str]:
    return {k: v for k, v in config.values.items() if k not in etc_keys()}


# -- which files, in which order ------------------------------------------------------------------


def test_config_files_order(layout: Layout) -> None:
    files = [
        write(layout.global_file, "[global]\n"),
        write(layout.legacy_user_file, "[global]\n"),
        write(layout.user_file, "[global]\n"),
        write(layout.venv / "pip.conf", "[global]\n"),
        write(layout.env_file, "[global]\n"),
    ]
    found = config_files(layout.environ(VIRTUAL_ENV=str(layout.venv)))
    assert [p for p in found if p != ETC_PIP_CONF] == files[:4]
    if ETC_PIP_CONF.is_file():  # between the XDG global files and the user's
        assert found.index(ETC_PIP_CONF) == 1
    # pip: an existing PIP_CONFIG_FILE replaces the user's files, and comes last.
    environ = layout.environ(VIRTUAL_ENV=str(layout.venv), PIP_CONFIG_FILE=str(layout.env_file))
    found = config_files(environ)
    assert [p for p in found if p != ETC_PIP_CONF] == [files[0], files[3], files[4]]


def test_missing_files_are_skipped(layout: Layout) -> None:
    assert [p for p in config_files(layout.environ()) if p != ETC_PIP_CONF] == []


def test_precedence(layout: Layout) -> None:
    keys = ["k1", "k2", "k3", "k4", "k5"]
    write(layout.global_file, "[global]\n" + "".join(f"{k} = global\n" for k in keys))
    write(layout.venv / "pip.conf", "[global]\n" + "".join(f"{k} = user\n" for k in keys[1:]))
    write(layout.env_file, "[global]\n" + "".join(f"{k} = envfile\n" for k in keys[2:]))
    environ = layout.environ(
        VIRTUAL_ENV=str(layout.venv),
        PIP_CONFIG_FILE=str(layout.env_file),
        PIP_K4="pipvar",
        PIP_K5="pipvar",
    )
    environ["PIPSEAL_K5"] = "pipsealvar"
    config = load_config("install", environ)
    assert own(config) == {
        "k1": "global",
        "k2": "user",
        "k3": "envfile",
        "k4": "pipvar",
        "k5": "pipsealvar",
    }
    assert config.origin["k1"] == f"{layout.global_file} [global]"
    assert config.origin["k3"] == f"{layout.env_file} [global]"
    assert config.origin["k4"] == "environment variable PIP_K4"
    assert config.origin["k5"] == "environment variable PIPSEAL_K5"


def test_user_file_precedence_without_env_file(layout: Layout) -> None:
    write(layout.global_file, "[global]\nx = global\ny = global\n")
    write(layout.legacy_user_file, "[global]\nx = legacy\ny = legacy\n")
    write(layout.user_file, "[global]\ny = user\n")
    write(layout.venv / "pip.conf", "[global]\nz = site\n")
    config = load_config("install", layout.environ(VIRTUAL_ENV=str(layout.venv)))
    assert own(config) == {"x": "legacy", "y": "user", "z": "site"}


def test_env_file_replaces_user_files(layout: Layout) -> None:
    write(layout.user_file, "[global]\nuser-only = u\n")
    write(layout.env_file, "[global]\nshared = env\n")
    config = load_config("install", layout.environ(PIP_CONFIG_FILE=str(layout.env_file)))
    assert config.get("shared") == "env"
    assert config.get("user-only") is None


def test_missing_env_file_keeps_user_files(layout: Layout) -> None:
    write(layout.user_file, "[global]\nuser-only = u\n")
    missing = str(layout.env_file.with_name("missing.conf"))
    assert load_config("install", layout.environ(PIP_CONFIG_FILE=missing)).get("user-only") == "u"


def test_devnull_loads_no_files(layout: Layout) -> None:
    write(layout.global_file, "[global]\nfrom-file = g\n")
    write(layout.user_file, "[global]\nfrom-file = u\n")
    environ = layout.environ(PIP_CONFIG_FILE=os.devnull, PIP_FROM_ENV="1")
    assert config_files(environ) == []
    config = load_config("install", environ)
    assert dict(config.values) == {"from-env": "1"}  # /etc/pip.conf skipped too


# -- sections and names ---------------------------------------------------------------------------


def test_command_section_beats_global_within_a_file(layout: Layout) -> None:
    write(layout.user_file, "[install]\ntimeout = 5\n[global]\ntimeout = 30\nretries = 2\n")
    install = load_config("install", layout.environ())
    assert install.get("timeout") == "5"
    assert install.origin["timeout"] == f"{layout.user_file} [install]"
    assert install.get("retries") == "2"
    download = load_config("download", layout.environ())
    assert download.get("timeout") == "30"


def test_command_section_beats_global_across_files(layout: Layout) -> None:
    write(layout.global_file, "[install]\ntimeout = 10\n")
    write(layout.user_file, "[global]\ntimeout = 20\n")
    assert load_config("install", layout.environ()).get("timeout") == "10"


def test_aliases_and_spellings(layout: Layout) -> None:
    write(layout.user_file, "[global]\nindex_url = https://files.example/simple\nFIND-LINKS = /x\n")
    config = load_config("install", layout.environ(PIP_DEFAULT_TIMEOUT="42"))
    assert config.get("timeout") == "42"
    assert config.origin["timeout"] == "environment variable PIP_DEFAULT_TIMEOUT"
    assert config.get("index-url") == "https://files.example/simple"
    assert config.get("find-links") == "/x"
    short = load_config("install", layout.environ(PIP_I="https://short.example/simple"))
    assert short.get("index-url") == "https://short.example/simple"


def test_default_timeout_key_in_file(layout: Layout) -> None:
    write(layout.user_file, "[global]\ndefault-timeout = 7\n")
    assert load_config("install", layout.environ()).get_float("timeout") == 7.0


def test_pipseal_variable_beats_pip_variable_of_an_alias(layout: Layout) -> None:
    environ = layout.environ(PIP_DEFAULT_TIMEOUT="1", PIPSEAL_TIMEOUT="2")
    assert load_config("install", environ).get("timeout") == "2"


def test_config_file_variable_is_not_a_setting(layout: Layout) -> None:
    write(layout.env_file, "[global]\n")
    config = load_config("install", layout.environ(PIP_CONFIG_FILE=str(layout.env_file)))
    assert "config-file" not in config.values


# -- typed reads ----------------------------------------------------------------------------------


def test_typed_values(layout: Layout) -> None:
    write(
        layout.user_file,
        "[global]\nfind-links =\n    /one\n    /two\n"
        "no-cache-dir = yes\ntimeout = 2.5\nretries = 3\n",
    )
    config = load_config("install", layout.environ(PIP_PRE="off"))
    assert config.get_list("find-links") == ["/one", "/two"]
    assert config.get_bool("no-cache-dir") is True
    assert config.get_bool("pre") is False
    assert config.get_float("timeout") == 2.5
    assert config.get_int("retries") == 3
    assert config.get_list("absent") == []
    assert config.get_bool("absent") is None
    assert config.get_float("absent") is None
    assert config.get_int("absent") is None


def test_bad_values_are_usage_errors_naming_the_origin(layout: Layout) -> None:
    write(layout.user_file, "[install]\nno-cache-dir = maybe\nretries = many\n")
    config = load_config("install", layout.environ(PIP_TIMEOUT="soon"))
    with pytest.raises(UsageError) as bad_bool:
        config.get_bool("no-cache-dir")
    assert "'maybe'" in bad_bool.value.message
    assert f"{layout.user_file} [install]" in bad_bool.value.message
    with pytest.raises(UsageError) as bad_float:
        config.get_float("timeout")
    assert "'soon'" in bad_float.value.message
    assert "environment variable PIP_TIMEOUT" in bad_float.value.message
    with pytest.raises(UsageError) as bad_int:
        config.get_int("retries")
    assert str(layout.user_file) in bad_int.value.message
    assert bad_int.value.exit_code == 2


def test_unreadable_file_is_a_usage_error(layout: Layout) -> None:
    write(layout.user_file, "this is not ini\n[global\n")
    with pytest.raises(UsageError) as info:
        load_config("install", layout.environ())
    assert str(layout.user_file) in info.value.message


# -- isolated -------------------------------------------------------------------------------------


def test_isolated_ignores_environment_and_user_files(layout: Layout) -> None:
    write(layout.user_file, "[global]\nfrom-user = u\n")
    environ = layout.environ(PIP_FROM_ENV="1", PIPSEAL_FROM_ENV="2")
    config = load_config("install", environ, isolated=True)
    assert config.get("from-user") is None
    assert config.get("from-env") is None
    assert load_config("install", environ).get("from-env") == "2"


def test_isolated_still_reads_global_files_like_pip(layout: Layout) -> None:
    write(layout.global_file, "[global]\nfrom-global = g\n")
    assert load_config("install", layout.environ(), isolated=True).get("from-global") == "g"
