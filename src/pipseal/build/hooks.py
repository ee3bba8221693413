"""PEP 517 hooks run through pyproject-hooks, in a subprocess, never in pipseal's process.

A build: read ``[build-system]`` (none, or no pyproject.toml: setuptools' ``__legacy__``
backend with ``setuptools>=40.8.0``, as pip does); make the build environment
(:mod:`.isolation`) and ``fill`` it with ``requires``, then with what
``get_requires_for_build_wheel``/``_editable`` answers; run the hook with that environment's
interpreter. The backend's output (stdout and stderr together) is kept for ``BuildFailed``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pipseal.build.settings import BuildSettings, FillBuildEnv
from pipseal.build.sources import SourceTree

#: Called with each line of a backend's output as it comes (``-v`` shows them), or None.
OutputSink = Callable[[str], None]


def prepare_metadata(
    tree: SourceTree,
    python: Path,
    fill: FillBuildEnv,
    settings: BuildSettings,
    *,
    editable: bool = False,
    output: OutputSink | None = None,
) -> bytes:
    """The project's METADATA bytes, from ``prepare_metadata_for_build_wheel`` (or
    ``_editable``), falling back to building the wheel and reading its METADATA when the
    backend has no such hook. ``python`` is the target interpreter (the venv is made from it;
    with ``isolated=False`` the hooks run in it)."""
    raise NotImplementedError


def build_wheel(
    tree: SourceTree,
    python: Path,
    fill: FillBuildEnv,
    settings: BuildSettings,
    out_dir: Path,
    *,
    editable: bool = False,
    output: OutputSink | None = None,
) -> Path:
    """Build a wheel (``build_wheel``, or PEP 660's ``build_editable``) into ``out_dir`` and
    return its path. Failures are ``BuildFailed``; Ctrl-C kills the backend's process group."""
    raise NotImplementedError
