"""Turn parsed arguments plus configuration into the commands' option values."""

from __future__ import annotations

import argparse

from pipseal.cli.options import byte_size, cache_dir, format_control
from pipseal.cli.output import Printer
from pipseal.config import Config, load_config
from pipseal.errors import RequirementsFileError, UsageError
from pipseal.pipeline.options import (
    CommonOptions,
    IndexOptions,
    NetworkOptions,
    RequestOptions,
)


def config_for(command: str, args: argparse.Namespace) -> Config:
    return load_config(command, isolated=bool(getattr(args, "isolated", False)))


def printer(args: argparse.Namespace) -> Printer:
    return Printer(int(getattr(args, "verbose", 0)) - int(getattr(args, "quiet", 0)))


def common_options(args: argparse.Namespace, config: Config) -> CommonOptions:
    cert = args.cert or config.get("cert")
    if cert is None:
        import os

        cert = os.environ.get("SSL_CERT_FILE") or os.environ.get("REQUESTS_CA_BUNDLE")
    timeout = args.timeout if args.timeout is not None else config.get_float("timeout")
    retries = args.retries if args.retries is not None else config.get_int("retries")
    jobs = getattr(args, "jobs", None) or config.get_int("jobs") or 8
    if jobs < 1:
        raise UsageError("--jobs must be at least 1")
    max_archive_size = getattr(args, "max_archive_size", None)
    if max_archive_size is None and config.get("max-archive-size") is not None:
        try:
            max_archive_size = byte_size(str(config.get("max-archive-size")))
        except argparse.ArgumentTypeError as exc:
            raise UsageError(f"{exc} for max-archive-size") from None
    network = NetworkOptions(
        timeout=15.0 if timeout is None else timeout,
        retries=5 if retries is None else retries,
        cert=cert,
        client_cert=args.client_cert or config.get("client-cert"),
        proxy=args.proxy or config.get("proxy"),
        trusted_hosts=tuple(config.get_list("trusted-host") + list(args.trusted_host)),
        max_archive_size=max_archive_size or NetworkOptions.max_archive_size,
    )
    index = IndexOptions()
    if hasattr(args, "index_url"):
        no_index = args.no_index if args.no_index is not None else config.get_bool("no-index")
        pre = args.pre if args.pre is not None else config.get_bool("pre")
        index = IndexOptions(
            index_url=args.index_url or config.get("index-url"),
            extra_index_urls=tuple(config.get_list("extra-index-url") + list(args.extra_index_url)),
            find_links=tuple(config.get_list("find-links") + list(args.find_links)),
            no_index=bool(no_index),
            pre=bool(pre),
            only_binary=format_control(args.only_binary, config.get_list("only-binary")),
            no_binary=format_control(args.no_binary, config.get_list("no-binary")),
        )
    offline = getattr(args, "offline", None)
    if offline is None:
        offline = config.get_bool("offline")
    return CommonOptions(
        cache_dir=cache_dir(args, config),
        index=index,
        network=network,
        jobs=jobs,
        offline=bool(offline),
    )


def request_options(args: argparse.Namespace, config: Config) -> RequestOptions:
    if args.editable:
        raise RequirementsFileError(
            f"editable requirements are not supported by pipseal: -e {args.editable[0]}",
            hint="install a built wheel of the project instead",
        )
    require = args.require_hashes
    if require is None:
        require = bool(config.get_bool("require-hashes"))
    constraints = list(args.constraint_files)
    if not constraints and config.get("constraint"):
        constraints = config.get_list("constraint")
    return RequestOptions(
        requirements=tuple(args.requirements),
        requirement_files=tuple(args.requirement_files),
        constraint_files=tuple(constraints),
        require_hashes=require,
        no_require_hashes=bool(args.no_require_hashes or config.get_bool("no-require-hashes")),
        no_deps=bool(args.no_deps or config.get_bool("no-deps")),
    )
