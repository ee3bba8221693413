"""Where the cache is, from ``--cache-dir``/``--no-cache-dir`` and the configuration.

Apart from ``cli.options`` (which imports argparse) because the commands that read an
environment need it without argparse (``cli.quickargs``)."""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    from typing import Any

    from pipseal.config import Config

__all__ = ["cache_dir_path"]


def cache_dir_path(args: Any, config: Config) -> str | None:
    """``cache_dir`` as a string (the commands that read an environment do not load pathlib):
    absolute, not normalised, as pathlib's ``absolute()`` gives it."""
    if args.no_cache_dir:
        return None
    if config.get("no-cache-dir") is not None:
        config.get_bool("no-cache-dir")  # invalid values are an error, as in pip
        return None
    chosen = args.cache_dir or config.get("cache-dir")
    if chosen:
        expanded = os.path.expanduser(chosen)
        return expanded if os.path.isabs(expanded) else os.path.join(os.getcwd(), expanded)
    from pipseal.cache import default_cache_dir

    return default_cache_dir()
