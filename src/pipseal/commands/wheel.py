"""``pipseal wheel``: ``download``'s choices and checks, with every sdist, local directory and
VCS link built into a wheel (the built-wheel cache first), and the wheels saved under their
names, as ``pip wheel -w DIR`` does."""

from __future__ import annotations

from pipseal.commands.download import DownloadResult
from pipseal.pipeline.options import DownloadOptions, Reporter

__all__ = ["run"]


def run(options: DownloadOptions, reporter: Reporter) -> DownloadResult:
    """Build (or find built) and save a wheel for every requirement (and, without
    ``--no-deps``, every dependency)."""
    from pipseal.commands import download

    return download.run(options._replace(build_wheels=True), reporter)
