"""The arguments of the commands that read an environment, parsed without argparse when plain.

``pipseal list`` is held to twice ``uv pip list``'s time (benchmarks/env_list.py), and argparse
costs it a fifth of that: the module, gettext and locale (each of argparse's texts is looked up
in the message catalogues), and building the parser. A command module that sets ``QUICK`` (its
options as ``Opt`` values) is parsed here first; anything this parser does not take with
certainty (``--help``, an option it does not know or that argparse would expand from an
abbreviation, ``-vv``, a value that starts with ``-``, a value with a type to convert, a
choice not among the choices, a positional argument) makes ``parse`` return None, and argparse
parses the command line as before, with its messages. ``tests/test_quickargs.py`` checks that
each ``QUICK`` names exactly the options, destinations, actions and defaults of the command's
argparse parser, and that both parse the same command lines to the same values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["GENERAL", "INDEX", "Opt", "Values", "environment", "parse"]

#: What an option does, as argparse's actions: ``true``/``false`` (store_true/store_false),
#: ``count``, ``value`` (store a string), ``append`` (append a string), and ``typed`` (a value
#: converted by a type function: argparse parses any command line holding one).
KINDS = ("true", "false", "count", "value", "append", "typed")


class Opt:
    """One option: its names, destination, kind (``KINDS``), default and choices."""

    __slots__ = ("choices", "default", "dest", "kind", "names")

    def __init__(
        self,
        names: tuple[str, ...],
        dest: str,
        kind: str,
        default: object = None,
        choices: tuple[str, ...] | None = None,
    ) -> None:
        self.names = names
        self.dest = dest
        self.kind = kind
        self.default = default
        self.choices = choices


class Values:
    """The parsed options, by destination (what argparse's ``Namespace`` holds)."""

    def __init__(self, **values: object) -> None:
        self.__dict__.update(values)

    def __getattr__(self, name: str) -> Any:  # for mypy: attributes are set at run time
        raise AttributeError(name)


#: ``cli.options.add_general``'s options.
GENERAL = (
    Opt(("-v", "--verbose"), "verbose", "count", 0),
    Opt(("-q", "--quiet"), "quiet", "count", 0),
    Opt(("--debug",), "debug", "true", False),
    Opt(("--isolated",), "isolated", "true", False),
    Opt(("--cache-dir",), "cache_dir", "value"),
    Opt(("--no-cache-dir",), "no_cache_dir", "true"),
    Opt(("--timeout", "--default-timeout"), "timeout", "typed"),
    Opt(("--retries",), "retries", "typed"),
    Opt(("--max-archive-size",), "max_archive_size", "typed"),
    Opt(("--cert",), "cert", "value"),
    Opt(("--client-cert",), "client_cert", "value"),
    Opt(("--proxy",), "proxy", "value"),
    Opt(("--trusted-host",), "trusted_host", "append", ()),
    Opt(("--disable-pip-version-check",), "disable_pip_version_check", "true", False),
    Opt(("--no-input",), "no_input", "true", False),
    Opt(("--no-color",), "no_color", "true", False),
    Opt(("--offline",), "offline", "true"),
)

#: ``cli.options.add_index``'s options.
INDEX = (
    Opt(("-i", "--index-url"), "index_url", "value"),
    Opt(("--extra-index-url",), "extra_index_url", "append", ()),
    Opt(("--no-index",), "no_index", "true"),
    Opt(("-f", "--find-links"), "find_links", "append", ()),
    Opt(("--pre",), "pre", "true"),
    Opt(("--only-binary",), "only_binary", "append", ()),
    Opt(("--no-binary",), "no_binary", "append", ()),
    Opt(("--prefer-binary",), "prefer_binary", "true", False),
)


def environment(*, path: bool) -> tuple[Opt, ...]:
    """``cli.envargs.add_environment``'s options (``--path`` where pip has it)."""
    own = [Opt(("--python",), "python", "value")]
    if path:
        own.append(Opt(("--path",), "path", "append", ()))
    return (*own, *GENERAL)


def parse(
    command: str,
    handler: Callable[[Any], int],
    options: Sequence[Opt],
    argv: Sequence[str],
) -> Values | None:
    """The values of ``argv`` (what follows ``command``), or None for argparse to parse it."""
    by_name = {name: opt for opt in options for name in opt.names}
    values: dict[str, object] = {
        opt.dest: list(opt.default) if opt.kind == "append" else opt.default  # type: ignore[call-overload]
        for opt in options
    }
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        name, equals, attached = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        opt = by_name.get(name)
        if opt is None or opt.kind == "typed":
            return None
        if opt.kind in ("value", "append"):
            if equals:
                value = attached
            elif i < len(argv) and not argv[i].startswith("-"):
                value = argv[i]
                i += 1
            else:
                return None
            if opt.choices is not None and value not in opt.choices:
                return None
            if opt.kind == "append":
                held = values[opt.dest]
                assert isinstance(held, list)
                held.append(value)
            else:
                values[opt.dest] = value
        elif equals:
            return None  # argparse: "ignored explicit argument"
        elif opt.kind == "count":
            count = values[opt.dest]
            values[opt.dest] = (count if isinstance(count, int) else 0) + 1
        else:
            values[opt.dest] = opt.kind == "true"
    return Values(**values, command=command, version=False, handler=handler)
