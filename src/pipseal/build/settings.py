"""What a build depends on besides its source, and how its environment gets filled."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class BuildSettings:
    """What changes a built wheel, besides the source.

    ``config_settings``: ``-C``/``--config-settings`` merged as pip merges them (a key given
    twice becomes a list). ``isolated=False`` is ``--no-build-isolation``: the hooks run in the
    target interpreter as it is. ``verbose`` keeps all of a failing backend's output.
    """

    config_settings: Mapping[str, str | list[str]] = field(default_factory=dict)
    isolated: bool = True
    verbose: bool = False

    def fingerprint(self) -> str:
        """The settings that change the wheel, canonically (a part of a built-wheel key)."""
        return json.dumps(
            {"config_settings": dict(self.config_settings), "isolated": self.isolated},
            sort_keys=True,
            separators=(",", ":"),
        )


class FillBuildEnv(Protocol):
    """Installs build requirements; implemented by the caller with pipseal's own installer."""

    def __call__(self, requirements: Sequence[str], env_dir: Path, *, reason: str) -> None:
        """Install ``requirements`` (PEP 508 strings) into the venv at ``env_dir`` (already
        created, without pip), resolving from the configured indexes through pipseal's cache
        and checks. ``reason`` says what for (e.g. ``"build-system.requires of x"``). Raises
        ``PipsealError`` (hash-checking refusals, ...): then nothing is built."""
        ...


def merge_config_settings(pairs: Sequence[str]) -> dict[str, str | list[str]]:
    """pip's ``-C KEY=VALUE`` merging: a key given once maps to its value, a key given more
    than once to the list of its values, in order. A pair without ``=`` is ``ValueError``."""
    merged: dict[str, str | list[str]] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(
                f"Arguments to --config-settings must be of the form KEY=VAL: {pair!r}"
            )
        if key in merged:
            old = merged[key]
            merged[key] = [*old, value] if isinstance(old, list) else [old, value]
        else:
            merged[key] = value
    return merged
