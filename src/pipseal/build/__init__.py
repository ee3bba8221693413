"""Building wheels from source: pipseal as a PEP 517 frontend (no CLI wiring here).

- :mod:`.settings`: ``BuildSettings`` (what changes a built wheel besides its source) and the
  ``FillBuildEnv`` protocol through which the caller installs build requirements.
- :mod:`.sources`: ``SourceTree``; ``unpack_sdist`` (bounded, no escapes); ``static_metadata``
  (PEP 643: an sdist's PKG-INFO used without running anything).
- :mod:`.vcs`: ``checkout_vcs`` (git only; other VCS refused in one line).
- :mod:`.hooks`: ``prepare_metadata`` and ``build_wheel`` through pyproject-hooks, in a
  subprocess of a throwaway build environment (:mod:`.isolation`); ``open_build`` keeps one
  environment for both (metadata for resolution, then the wheel).
- :mod:`.built`: ``BuiltWheels``, the ``built/`` bucket of the content-addressed cache.
- :mod:`.failures`: ``BuildFailed`` and the hints read from a backend's output.

The package imports cache, errors, processes and environment only: the installer pipeline is
reached through the caller's ``fill``. pyproject-hooks is imported lazily, where a hook runs.
"""

from __future__ import annotations

from pipseal.build.built import BuiltWheels
from pipseal.build.failures import BuildFailed, build_requirements_hint
from pipseal.build.hooks import BuildSession, build_wheel, open_build, prepare_metadata
from pipseal.build.settings import BuildSettings, FillBuildEnv
from pipseal.build.sources import SourceTree, static_metadata, unpack_sdist
from pipseal.build.vcs import checkout_vcs

__all__ = [
    "BuildFailed",
    "BuildSession",
    "BuildSettings",
    "BuiltWheels",
    "FillBuildEnv",
    "SourceTree",
    "build_requirements_hint",
    "build_wheel",
    "checkout_vcs",
    "open_build",
    "prepare_metadata",
    "static_metadata",
    "unpack_sdist",
]
