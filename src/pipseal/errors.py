"""The one exception root: a user-facing message, a hint, and an exit status.

The CLI prints ``ERROR: <message>`` (and the hint on its own line), then exits with ``exit_code``;
``--debug`` adds the traceback. Lower layers raise these with context; nothing prints.
"""

from __future__ import annotations


class PipsealError(Exception):
    """An error the user can act on."""

    exit_code: int = 1

    def __init__(self, message: str, hint: str | None = None, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class UsageError(PipsealError):
    """Bad options or arguments on the command line (exit 2, like argparse)."""

    exit_code = 2


class RequirementsFileError(PipsealError):
    """A requirements file (or requirement argument) that cannot be parsed or read."""


class NetworkError(PipsealError):
    """The index or a file could not be fetched after the configured retries."""


class CacheError(PipsealError):
    """The cache directory cannot be used (unwritable, locked too long, ...)."""


class InstallError(PipsealError):
    """A wheel cannot be installed (bad archive, conflicting files, unwritable target)."""


class TreeDrifted(InstallError):
    """A file of an unpacked tree in the cache no longer matches its manifest (edited through a
    hard link): the install is redone with the tree rebuilt. The message is the tree's sha256."""

    @property
    def sha256(self) -> str:
        return self.message


class NoMatchingDistribution(PipsealError):
    """No file of any configured index satisfies a requirement on this target."""


class ResolutionConflict(NoMatchingDistribution):
    """pip's ResolutionImpossible: ``message`` is its conflict report (one log record: only its
    first line takes ``ERROR:``), ``hint`` the line pointing to pip's help, an error of its own."""


class HashCheckFailed(PipsealError):
    """Hash-checking failed; ``message`` is pip's grouped report, verbatim, plus diagnoses."""
