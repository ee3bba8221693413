"""Configuration other than the command line: ``PIPSEAL_*``, then pip's ``PIP_*``, then pip.conf.

pip's rules, kept so an existing pip setup works unchanged (pip/_internal/configuration.py):
files are read global (``$XDG_CONFIG_DIRS/pip/pip.conf``, ``/etc/pip.conf``), then user
(``~/.pip/pip.conf``, ``$XDG_CONFIG_HOME/pip/pip.conf``), then site
(``$VIRTUAL_ENV/pip.conf``), then
``$PIP_CONFIG_FILE``; later files win; within a file the command's section beats ``[global]``.
``PIP_CONFIG_FILE=os.devnull`` loads no file at all. Keys are option long names (``index-url``);
environment variables are ``PIP_INDEX_URL`` (and pipseal's own ``PIPSEAL_INDEX_URL`` beats it).

Every command reads its configuration, ``list`` too, whose start-up is measured against
uv's: configparser and pathlib are imported only when a configuration file exists, and
``Config`` is a plain class (importing dataclasses costs more than reading a hundred
installed distributions).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from pipseal.errors import UsageError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    import configparser
    from pathlib import Path

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
    environ: Mapping[str, str], *, isolated: bool = False, etc: str | os.PathLike[str] = "/etc"
) -> list[Path]:
    """pip's configuration files, lowest precedence first (only the ones that exist).

    pip's rules: ``PIP_CONFIG_FILE=os.devnull`` loads none; a ``PIP_CONFIG_FILE`` that exists
    replaces the user files; ``--isolated`` skips the user files. ``etc`` is the system
    configuration directory (a parameter so tests need not read this machine's).
    """
    env_file = environ.get("PIP_CONFIG_FILE")
    if env_file is not None and env_file == os.devnull:
        return []
    join = os.path.join
    candidates: list[str] = []
    xdg_dirs = environ.get("XDG_CONFIG_DIRS") or join(etc, "xdg")
    candidates += [join(d, "pip", "pip.conf") for d in xdg_dirs.split(os.pathsep) if d]
    candidates.append(join(etc, "pip.conf"))
    home = environ.get("HOME") or os.path.expanduser("~")
    if not isolated and not (env_file and os.path.exists(env_file)):
        candidates.append(join(home, ".pip", "pip.conf"))
        xdg_home = environ.get("XDG_CONFIG_HOME") or join(home, ".config")
        candidates.append(join(xdg_home, "pip", "pip.conf"))
    if environ.get("VIRTUAL_ENV"):
        candidates.append(join(environ["VIRTUAL_ENV"], "pip.conf"))
    if env_file:
        candidates.append(env_file)
    found = [c for c in candidates if os.path.isfile(c)]
    if not found:
        return []
    from pathlib import Path

    return list(dict.fromkeys(Path(c) for c in found))


class Config:
    """Merged settings for one command; ``origin`` says where each came from (for messages)."""

    __slots__ = ("origin", "values")

    def __init__(
        self, values: Mapping[str, str] | None = None, origin: Mapping[str, str] | None = None
    ) -> None:
        self.values: Mapping[str, str] = {} if values is None else values
        self.origin: Mapping[str, str] = {} if origin is None else origin

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Config):
            return NotImplemented
        return (self.values, self.origin) == (other.values, other.origin)

    __hash__ = None  # type: ignore[assignment]  # mutable mappings inside, as the dataclass had

    def __repr__(self) -> str:
        return f"Config(values={self.values!r}, origin={self.origin!r})"

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
    etc: str | os.PathLike[str] = "/etc",
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
        import configparser

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
