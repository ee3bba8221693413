"""Configuration other than the command line: ``PIPSEAL_*``, then pip's ``PIP_*``, then pip.conf.

pip's rules, kept so an existing pip setup works unchanged (pip/_internal/configuration.py):
files are read global (``$XDG_CONFIG_DIRS/pip/pip.conf``, ``/etc/pip.conf``), then user
(``~/.pip/pip.conf``, ``$XDG_CONFIG_HOME/pip/pip.conf``), then site
(``$VIRTUAL_ENV/pip.conf``), then
``$PIP_CONFIG_FILE``; later files win; within a file the command's section beats ``[global]``.
``PIP_CONFIG_FILE=os.devnull`` loads no file at all. Keys are option long names (``index-url``);
environment variables are ``PIP_INDEX_URL`` (and pipseal's own ``PIPSEAL_INDEX_URL`` beats it).
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pipseal.errors import UsageError

#: pip's option aliases whose environment variable or file key differs from our canonical name.
ALIASES: Mapping[str, tuple[str, ...]] = {
    "timeout": ("timeout", "default-timeout"),
    "index-url": ("index-url", "i"),
    "find-links": ("find-links", "f"),
    "constraint": ("constraint", "c"),
}
_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f"}


def config_files(
    environ: Mapping[str, str], *, isolated: bool = False, etc: Path = Path("/etc")
) -> list[Path]:
    """pip's configuration files, lowest precedence first (only the ones that exist).

    pip's rules: ``PIP_CONFIG_FILE=os.devnull`` loads none; a ``PIP_CONFIG_FILE`` that exists
    replaces the user files; ``--isolated`` skips the user files. ``etc`` is the system
    configuration directory (a parameter so tests need not read this machine's).
    """
    env_file = environ.get("PIP_CONFIG_FILE")
    if env_file is not None and env_file == os.devnull:
        return []
    candidates: list[Path] = []
    xdg_dirs = environ.get("XDG_CONFIG_DIRS") or str(etc / "xdg")
    candidates += [Path(d) / "pip" / "pip.conf" for d in xdg_dirs.split(os.pathsep) if d]
    candidates.append(etc / "pip.conf")
    home = Path(environ.get("HOME") or Path.home())
    if not isolated and not (env_file and Path(env_file).exists()):
        candidates.append(home / ".pip" / "pip.conf")
        xdg_home = Path(environ.get("XDG_CONFIG_HOME") or home / ".config")
        candidates.append(xdg_home / "pip" / "pip.conf")
    if environ.get("VIRTUAL_ENV"):
        candidates.append(Path(environ["VIRTUAL_ENV"]) / "pip.conf")
    if env_file:
        candidates.append(Path(env_file))
    return [p for p in dict.fromkeys(candidates) if p.is_file()]


@dataclass(frozen=True)
class Config:
    """Merged settings for one command; ``origin`` says where each came from (for messages)."""

    values: Mapping[str, str] = field(default_factory=dict)
    origin: Mapping[str, str] = field(default_factory=dict)

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def get_list(self, key: str) -> list[str]:
        value = self.values.get(key)
        return value.split() if value else []

    def get_bool(self, key: str) -> bool | None:
        value = self.values.get(key)
        if value is None:
            return None
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise UsageError(f"invalid boolean {value!r} for {key} (from {self.origin[key]})")

    def get_float(self, key: str) -> float | None:
        value = self.values.get(key)
        if value is None:
            return None
        try:
            return float(value)
        except ValueError:
            raise UsageError(
                f"invalid number {value!r} for {key} (from {self.origin[key]})"
            ) from None

    def get_int(self, key: str) -> int | None:
        value = self.values.get(key)
        if value is None:
            return None
        try:
            return int(value)
        except ValueError:
            raise UsageError(
                f"invalid integer {value!r} for {key} (from {self.origin[key]})"
            ) from None


def load_config(
    command: str,
    environ: Mapping[str, str] | None = None,
    *,
    isolated: bool = False,
    etc: Path = Path("/etc"),
) -> Config:
    """Settings from files and environment for ``command``.

    As pip orders them: every file's ``[global]`` (later files win), then every file's
    ``[command]`` section, then ``PIP_*``, then ``PIPSEAL_*``. pip's ``--isolated`` skips the user
    files and the environment variables (global and site files still count).
    """
    environ = os.environ if environ is None else environ
    values: dict[str, str] = {}
    origin: dict[str, str] = {}
    parsed: list[tuple[Path, configparser.RawConfigParser]] = []
    for path in config_files(environ, isolated=isolated, etc=etc):
        parser = configparser.RawConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError, OSError) as exc:
            raise UsageError(f"cannot read pip configuration file {path}: {exc}") from None
        parsed.append((path, parser))
    for section in ("global", command):
        for path, parser in parsed:
            if parser.has_section(section):
                for key, value in parser.items(section):
                    name = _canonical(key.replace("_", "-"))
                    values[name] = value
                    origin[name] = f"{path} [{section}]"
    if isolated:
        return Config(values, origin)
    for prefix in ("PIP_", "PIPSEAL_"):
        for var, value in environ.items():
            if not var.startswith(prefix) or var == "PIP_CONFIG_FILE":
                continue
            name = _canonical(var[len(prefix) :].lower().replace("_", "-"))
            values[name] = value
            origin[name] = f"environment variable {var}"
    return Config(values, origin)


def _canonical(key: str) -> str:
    for canonical, aliases in ALIASES.items():
        if key in aliases:
            return canonical
    return key
