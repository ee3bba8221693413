"""The options of a requirements-file line, parsed in optparse's manner, and pip's
``--only-binary``/``--no-binary`` rule."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import NamedTuple

from packaging.utils import (
    canonicalize_name,
)

from pipseal.requirements.where import LineError


class Option(NamedTuple):
    key: str
    names: tuple[str, ...]
    takes_value: bool
    scope: str  # "global", "requirement" (--hash, --config-settings), "unsupported"


_OPTIONS = (
    Option("index_url", ("-i", "--index-url", "--pypi-url"), True, "global"),
    Option("extra_index_url", ("--extra-index-url",), True, "global"),
    Option("no_index", ("--no-index",), False, "global"),
    Option("constraint", ("-c", "--constraint"), True, "global"),
    Option("requirement", ("-r", "--requirement"), True, "global"),
    Option("editable", ("-e", "--editable"), True, "global"),
    Option("find_links", ("-f", "--find-links"), True, "global"),
    Option("no_binary", ("--no-binary",), True, "global"),
    Option("only_binary", ("--only-binary",), True, "global"),
    Option("prefer_binary", ("--prefer-binary",), False, "global"),
    Option("require_hashes", ("--require-hashes",), False, "global"),
    Option("no_require_hashes", ("--no-require-hashes",), False, "global"),
    Option("pre", ("--pre",), False, "global"),
    Option("trusted_host", ("--trusted-host",), True, "global"),
    Option("hash", ("--hash",), True, "requirement"),
    # pip knows these; pipseal does not do what they ask, so it says so rather than ignore them.
    Option("all_releases", ("--all-releases",), True, "unsupported"),
    Option("only_final", ("--only-final",), True, "unsupported"),
    Option("use_feature", ("--use-feature",), True, "unsupported"),
    Option("config_settings", ("-C", "--config-settings"), True, "requirement"),
)


_BY_NAME = {name: opt for opt in _OPTIONS for name in opt.names}


class Given(NamedTuple):
    option: Option
    spelled: str  # as the user wrote it, for messages
    value: str
    token: str  # the raw token, to point at it


def line_config_settings(given: Sequence[Given]) -> tuple[str, ...]:
    """The ``--config-settings`` values of a line, in order."""
    return tuple(g.value for g in given if g.option.key == "config_settings")


def parse_options(text: str) -> list[Given]:
    """Options in optparse's manner: ``--opt=v``, ``--opt v``, ``-xv``, ``-x v``, unique long
    prefixes; no positional arguments."""
    try:
        tokens = shlex.split(text)
    except ValueError as exc:
        raise LineError(f"could not split options {text!r}: {exc}") from None
    given: list[Given] = []
    it = iter(tokens)
    for token in it:
        if token.startswith("--") and len(token) > 2:
            name, eq, attached = token.partition("=")
            option, name = _long_option(name, token)
            value: str | None = attached if eq else None
            if value is not None and not option.takes_value:
                raise LineError(f"{name} option does not take a value", token)
        elif token.startswith("-") and len(token) > 1:
            name = token[:2]
            if name not in _BY_NAME:
                raise LineError(f"unknown option {name}", token)
            option = _BY_NAME[name]
            value = token[2:] or None
        else:
            raise LineError(f"unexpected argument {token!r} among the options", token)
        if option.takes_value and value is None:
            value = next(it, None)
            if value is None:
                raise LineError(f"{name} option requires 1 argument", token)
        given.append(Given(option, name, value or "", token))
    return given


def _long_option(name: str, token: str) -> tuple[Option, str]:
    if name in _BY_NAME:
        return _BY_NAME[name], name
    candidates = sorted(n for n in _BY_NAME if n.startswith("--") and n.startswith(name))
    options = {_BY_NAME[n].key for n in candidates}
    if not candidates:
        raise LineError(f"unknown option {name}", token)
    if len(options) > 1:
        raise LineError(f"ambiguous option {name} (could be {', '.join(candidates)})", token)
    return _BY_NAME[candidates[0]], candidates[0]


def apply_format_control(
    value: str, target: frozenset[str], other: frozenset[str]
) -> tuple[frozenset[str], frozenset[str]]:
    """pip's ``FormatControl.handle_mutual_excludes`` on immutable sets."""
    if value.startswith("-"):
        raise LineError("--no-binary / --only-binary option requires 1 argument.", value)
    into, out = set(target), set(other)
    names = value.split(",")
    while ":all:" in names:
        into, out = {":all:"}, set()
        del names[: names.index(":all:") + 1]
        if ":none:" not in names:
            return frozenset(into), frozenset(out)
    for name in names:
        if name == ":none:":
            into.clear()
        elif name:
            out.discard(canonicalize_name(name))
            into.add(canonicalize_name(name))
    return frozenset(into), frozenset(out)
