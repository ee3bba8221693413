"""The walk of a requirements file and the files its ``-r``/``-c`` include: each logical line
into requirements, constraints and global options."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path

from pipseal.errors import RequirementsFileError
from pipseal.fileurl import url2pathname
from pipseal.hashes import OPTION_ALGORITHMS, Hash, HashSyntaxError
from pipseal.requirements.lines import concealed, logical_lines_as_written, split_args_options
from pipseal.requirements.links import url_scheme
from pipseal.requirements.options import (
    Given,
    apply_format_control,
    line_config_settings,
    parse_options,
)
from pipseal.requirements.reading import MAX_LINE_CHARS, FileTooLarge, read_local_file
from pipseal.requirements.requirement import current_dir, parse_editable_at, parse_requirement_at
from pipseal.requirements.values import (
    COMMAND_LINE,
    Location,
    ParsedRequirement,
    RequirementsFile,
    RequirementsOptions,
    unique,
)
from pipseal.requirements.where import LineError, Where, fail


def parse_requirements_file(
    path: str,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: str | None = None,
    constraint: bool = False,
    read_text: Callable[[str], str] | None = None,
) -> RequirementsFile:
    """Read and parse a requirements file and every file it includes.

    ``environ`` (default ``os.environ``) feeds ``${VAR}``; ``cwd`` (default the process's)
    anchors relative paths; ``read_text(path)`` returns a file's text or raises OSError.
    Raises RequirementsFileError naming the file and line of the first problem.
    """
    parser = _Parser(environ, cwd, read_text)
    parser.include(path, constraint=constraint, origin=Location(COMMAND_LINE), line=path)
    return parser.result()


def parse_requirements_text(
    text: str,
    filename: str,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: str | None = None,
    constraint: bool = False,
    read_text: Callable[[str], str] | None = None,
) -> RequirementsFile:
    """Parse ``text`` as the content of the requirements file ``filename`` (which anchors its
    includes and names it in messages). Otherwise as ``parse_requirements_file``."""
    parser = _Parser(environ, cwd, read_text)
    parser.parse_text(text, filename, parser.absolute(filename), constraint, ())
    return parser.result()


def _exists(path: str) -> bool:
    try:
        return Path(path).exists()
    except (OSError, ValueError):  # a NUL byte, a name too long: not a directory we can use
        return False


class _Parser:
    """Walks a file and its includes, collecting values; one instance per parse."""

    def __init__(
        self,
        environ: Mapping[str, str] | None,
        cwd: str | None,
        read_text: Callable[[str], str] | None,
    ) -> None:
        self.environ = os.environ if environ is None else environ
        self.cwd = current_dir(cwd)
        self.read_text = read_text or read_local_file
        self.requirements: list[ParsedRequirement] = []
        self.constraints: list[ParsedRequirement] = []
        self.options = RequirementsOptions()

    def result(self) -> RequirementsFile:
        return RequirementsFile(tuple(self.requirements), tuple(self.constraints), self.options)

    def absolute(self, path: str) -> str:
        return os.path.normpath(Path(self.cwd, path))

    def include(
        self,
        target: str,
        *,
        constraint: bool,
        origin: Location,
        line: str,
        parent: str | None = None,
        chain: tuple[str, ...] = (),
    ) -> None:
        """Parse file ``target`` (relative to file ``parent``, else to cwd) for an option on
        ``origin``; ``chain`` holds the files being read, to catch a cycle."""
        kind = "constraints" if constraint else "requirements"
        scheme = url_scheme(target)
        if scheme in {"http", "https"}:
            fail(
                origin,
                f"remote {kind} files are not supported by pipseal yet: {target!r}",
                line,
                token=target,
                hint="download the file and name its local path instead",
            )
        path = target
        if scheme == "file":
            path = url2pathname(target[len("file:") :].partition("#")[0])
            if path.startswith(("///", "//localhost/")):
                path = path[path.index("/", 2) :]
        base = Path(parent).parent if parent else Path(self.cwd)
        absolute = os.path.normpath(base / path)
        if absolute in chain:
            cycle = " -> ".join([*chain[chain.index(absolute) :], absolute])
            fail(origin, f"{kind} file {target!r} includes itself: {cycle}", line, token=target)
        try:
            text = self.read_text(absolute)
        except FileTooLarge as exc:
            # Neither the line nor its start is shown: it is too long to be read by anyone.
            shown = target if parent is None else absolute
            raise RequirementsFileError(
                f"{shown}:{exc.lineno}: {kind} file refused: {exc.what} (the rest was not read)"
            ) from None
        except OSError as exc:
            fail(origin, f"could not open {kind} file {target!r}: {exc.strerror or exc}", line)
        except (ValueError, LookupError) as exc:  # undecodable, unknown coding, NUL in path
            fail(
                origin,
                f"could not decode {kind} file {target!r}: {exc}",
                line,
                hint="save it as UTF-8, or declare its encoding: # -*- coding: <name> -*-",
            )
        # Top-level files keep the name they were given; included ones are named absolutely.
        shown = target if parent is None else absolute
        self.parse_text(text, shown, absolute, constraint, chain)

    def parse_text(
        self, text: str, shown: str, absolute: str, constraint: bool, chain: tuple[str, ...]
    ) -> None:
        chain = (*chain, absolute)
        for lineno, written, line in logical_lines_as_written(text, self.environ):
            location = Location(shown, lineno, constraint)
            if len(line) > MAX_LINE_CHARS:
                raise RequirementsFileError(
                    f"{location.prefix}line longer than {MAX_LINE_CHARS // 1024 // 1024} MiB"
                )
            try:
                try:
                    self._line(line, location, absolute, chain)
                except LineError as exc:
                    fail(location, exc.what, line, token=exc.token)
            except RequirementsFileError as exc:
                raise concealed(exc, location.prefix, written, line, self.environ) from None

    def _line(self, line: str, location: Location, absolute: str, chain: tuple[str, ...]) -> None:
        args, options_text = split_args_options(line)
        args = args.strip()
        given = parse_options(options_text) if options_text else []
        for g in given:
            if g.option.scope == "unsupported":
                raise LineError(f"option {g.spelled} is not supported by pipseal", g.token)
            if args and g.option.scope == "global":
                raise LineError(
                    f"option {g.spelled} cannot follow a requirement (pip ignores it there); "
                    "put it on a line of its own",
                    g.token,
                )
            if not args and g.option.key == "hash":
                raise LineError(
                    "--hash without a requirement on its line "
                    "(is a '\\' missing at the end of the line before?)",
                    g.token,
                )
            if g.option.key == "config_settings":
                if "=" not in g.value:
                    raise LineError(
                        f"Arguments to {g.spelled} must be of the form KEY=VAL: {g.value!r}",
                        g.token,
                    )
                if location.constraint:
                    raise LineError(
                        f"{g.spelled} on a constraint does nothing; put it on the requirement",
                        g.token,
                    )
                if not args and not any(o.option.key == "editable" for o in given):
                    raise LineError(
                        f"{g.spelled} without a requirement on its line (pip's syntax: "
                        "'name @ url --config-settings key=value')",
                        g.token,
                    )
        if args:
            self._requirement(args, given, location, line)
            return
        for g in given:
            if g.option.key == "editable":
                if location.constraint:
                    raise LineError("Editable requirements are not allowed as constraints", g.token)
                where = Where(location, line, self.cwd)
                settings = line_config_settings(given)
                self.requirements.append(
                    replace(parse_editable_at(g.value, where), config_settings=settings)
                )
            elif g.option.key == "config_settings":
                continue  # the editable's, above
            elif g.option.key in {"requirement", "constraint"}:
                constraint = g.option.key == "constraint"
                self.include(
                    g.value,
                    constraint=constraint,
                    origin=location,
                    line=line,
                    parent=absolute,
                    chain=chain,
                )
            else:
                self.options = self._option(self.options, g, absolute)

    def _requirement(self, args: str, given: list[Given], location: Location, line: str) -> None:
        hashes: list[Hash] = []
        for g in given:
            if g.option.key == "config_settings":
                continue
            try:
                hashes.append(Hash.parse(g.value, OPTION_ALGORITHMS))
            except HashSyntaxError as exc:
                raise LineError(f"bad {g.spelled}: {exc}", g.token) from None
        req = parse_requirement_at(args, location, self.cwd, tuple(hashes), line)
        if any(g.option.key == "config_settings" for g in given):
            req = replace(req, config_settings=line_config_settings(given))
        if location.constraint:
            # pip's check_invalid_constraint_type, made an error at the line that causes it.
            if req.name is None:
                fail(location, "Unnamed requirements are not allowed as constraints", line)
            if req.extras:
                fail(location, "Constraints cannot have extras", line)
            self.constraints.append(req)
        else:
            self.requirements.append(req)

    def _option(self, opts: RequirementsOptions, g: Given, absolute: str) -> RequirementsOptions:
        key, value = g.option.key, g.value
        if key == "index_url":
            return replace(opts, index_url=value)
        if key == "extra_index_url":
            return replace(opts, extra_index_urls=unique([*opts.extra_index_urls, value]))
        if key == "find_links":
            if not url_scheme(value):
                beside = os.path.normpath(Path(absolute).parent / value)
                value = beside if _exists(beside) else value
            return replace(opts, find_links=unique([*opts.find_links, value]))
        if key == "trusted_host":
            return replace(opts, trusted_hosts=unique([*opts.trusted_hosts, value]))
        if key == "only_binary":
            only, no = apply_format_control(value, opts.only_binary, opts.no_binary)
            return replace(opts, only_binary=only, no_binary=no)
        if key == "no_binary":
            no, only = apply_format_control(value, opts.no_binary, opts.only_binary)
            return replace(opts, only_binary=only, no_binary=no)
        if key == "no_index":
            return replace(opts, no_index=True)
        if key == "require_hashes":
            return replace(opts, require_hashes=True)
        if key == "no_require_hashes":
            return replace(opts, no_require_hashes=True)
        if key == "pre":
            return replace(opts, pre=True)
        assert key == "prefer_binary", key
        return replace(opts, prefer_binary=True)
