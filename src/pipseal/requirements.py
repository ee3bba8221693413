"""Requirements files, in pip's format, parsed into frozen values. Pure: no network, and files are
read only through the injectable ``read_text`` (by default: the local file, decoded as pip does).

pip's rules (``pip/_internal/req/req_file.py``, ``req/constructors.py``), kept on purpose:

* Logical lines: a physical line ending in ``\\`` is joined to the next one (unless it is a comment
  line); ``#`` at a line's start or after whitespace starts a comment, so ``url#sha256=..`` is not
  one; ``${NAME}`` (``[A-Z0-9_]`` only) expands when ``environ`` holds a non-empty value.
* A line is a requirement followed by its own options (``--hash``), or a line of options only. The
  requirement ends at the first space-separated token starting with ``-`` (markers are not
  shell-split).
* Relative paths of archives resolve against the working directory; ``-r``/``-c`` against the
  including file; a relative ``--find-links`` path against the file's directory when it exists
  there.
* Lines reached through ``-c`` are constraints; a ``-r`` inside a constraints file brings
  requirements again, as in pip.

Where pip silently ignores a mistake, pipseal refuses it with a message: a ``--hash`` on a line
without a requirement (a lost ``\\``), a global option after a requirement, a stray argument
after the options.
"""

from __future__ import annotations

import codecs
import os
import re
import shlex
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, NoReturn

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)

from pipseal.errors import RequirementsFileError
from pipseal.fileurl import url2pathname
from pipseal.hashes import FRAGMENT_ALGORITHMS, OPTION_ALGORITHMS, Hash, HashSyntaxError
from pipseal.redaction import redact_text

__all__ = [
    "COMMAND_LINE",
    "LinkKind",
    "Location",
    "ParsedRequirement",
    "RequirementsFile",
    "RequirementsOptions",
    "decode_requirements_file",
    "link_kind",
    "logical_lines",
    "merge",
    "parse_editable",
    "parse_requirement",
    "parse_requirements_file",
    "parse_requirements_text",
    "render",
]

#: The ``filename`` of a requirement given as a command-line argument.
COMMAND_LINE = "<command line>"
#: Bounds no requirements file written by a person or a tool comes near (a fully hashed lock of
#: a thousand projects is a few MB; its longest line, a few hundred hashes, tens of KB), so that
#: ``-r /dev/zero`` or a runaway generator is refused at once instead of filling the memory.
MAX_FILE_BYTES = 32 * 1024 * 1024
MAX_LINE_CHARS = 1024 * 1024

_COMMENT_RE = re.compile(r"(^|\s+)#.*$")
_ENV_VAR_RE = re.compile(r"\$\{([A-Z0-9_]+)\}")
_EXTRAS_RE = re.compile(r"^(.+)(\[[^\]]+\])$")
_PROJECT_NAME_RE = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
#: The version control systems pip knows; pipseal checks out git only (the others refused).
_BUILT_VCS = frozenset({"git"})
#: What makes a directory a project pip can build (``is_installable_dir``).
_PROJECT_FILES = ("pyproject.toml", "setup.py")
_URL_SCHEMES = frozenset({"http", "https", "file", "ftp"})
_VCS = frozenset({"git", "hg", "svn", "bzr"})
_ARCHIVE_EXTENSIONS = (
    ".whl", ".zip", ".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tbz",
    ".tar.xz", ".txz", ".tlz", ".tar.lz", ".tar.lzma",
)  # fmt: skip
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF16, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
)  # order matters: the UTF-16 LE BOM is a prefix of the UTF-32 LE one
_PEP263_RE = re.compile(rb"coding[:=]\s*([-\w.]+)")


# ---------------------------------------------------------------------------------------------
# Values

#: What a requirement's URL points at (``link_kind``).
LinkKind = Literal["wheel", "sdist", "directory", "vcs"]


@dataclass(frozen=True)
class Location:
    """Where a requirement or option was written: a file and the line its logical line starts on.

    ``lineno`` is 1-based, 0 for the command line. ``constraint`` tells a ``-c`` file's line apart,
    for pip's "(from -c file (line n))" origin.
    """

    filename: str
    lineno: int = 0
    constraint: bool = False

    def __str__(self) -> str:
        return self.filename if self.lineno == 0 else f"{self.filename} (line {self.lineno})"

    @property
    def pip_origin(self) -> str:
        """pip's ``comes_from`` text: ``-r requirements.txt (line 3)``."""
        if self.lineno == 0:
            return self.filename
        return f"{'-c' if self.constraint else '-r'} {self}"

    @property
    def prefix(self) -> str:
        """The start of an error message about this place: ``requirements.txt:3: ``."""
        return "" if self.lineno == 0 else f"{self.filename}:{self.lineno}: "


@dataclass(frozen=True)
class ParsedRequirement:
    """One requirement: a PEP 508 specifier, a URL, or a local archive (as a ``file://`` URL).

    ``name`` is as written; for a URL it is the given name, else the wheel's or sdist's file name
    project, else the ``#egg=`` name, else None. ``url`` carries no hash or ``egg`` fragment: link
    hashes join the ``--hash`` options in ``hashes`` (sorted, unique). ``specifier`` is empty for
    URLs (see ``url_version``)."""

    text: str
    name: str | None
    extras: frozenset[str] = frozenset()
    specifier: SpecifierSet = field(default_factory=SpecifierSet)
    marker: Marker | None = None
    url: str | None = None
    hashes: tuple[Hash, ...] = ()
    location: Location = Location(COMMAND_LINE)
    #: ``-e``: a local project installed in place (PEP 660).
    editable: bool = False
    #: ``--config-settings KEY=VALUE`` on its line (pip 23.1+): for its build only.
    config_settings: tuple[str, ...] = ()

    @property
    def canonical_name(self) -> str | None:
        return None if self.name is None else canonicalize_name(self.name)

    @property
    def link_kind(self) -> LinkKind | None:
        """What the URL points at, from its text alone: a ``wheel``, an ``sdist``, a local
        project ``directory`` (a ``file:`` URL that names no archive) or a ``vcs`` checkout;
        None for a requirement on an index."""
        if self.url is None:
            return None
        return link_kind(self.url)

    @property
    def url_version(self) -> str | None:
        """The version in the file name of a URL to a wheel or sdist, else None."""
        if self.url is None:
            return None
        parsed = _archive_name_version(_url_filename(self.url))
        return None if parsed is None else parsed[1]

    @property
    def is_pinned(self) -> bool:
        """pip's rule: one ``==`` (without ``.*``) or ``===`` specifier, or a URL requirement."""
        if self.url is not None:
            return True
        specs = list(self.specifier)
        if len(specs) != 1:
            return False
        spec = specs[0]
        return spec.operator == "===" or (spec.operator == "==" and not spec.version.endswith(".*"))

    @property
    def pinned_version(self) -> str | None:
        """The exact version a pinned requirement names (a URL's file-name version), else None."""
        if self.url is not None:
            return self.url_version
        if not self.is_pinned:
            return None
        return next(iter(self.specifier)).version

    def matches_marker(
        self, environment: Mapping[str, str] | None = None, extras: Iterable[str] = ()
    ) -> bool:
        """Whether the marker holds in ``environment`` (packaging's default: this interpreter)
        for no extra, or for any of ``extras``."""
        if self.marker is None:
            return True
        base = dict(environment or {})
        return any(self.marker.evaluate({**base, "extra": extra}) for extra in (*extras, ""))

    def pep508(self, url: str | None = None) -> str:
        """The canonical one-line form, with ``url`` (default: ``self.url``) as its link."""
        url = self.url if url is None else url
        extras = f"[{','.join(sorted(self.extras))}]" if self.extras else ""
        marker = "" if self.marker is None else str(self.marker)
        if url is None:
            return f"{self.name}{extras}{self.specifier}" + (f"; {marker}" if marker else "")
        head = url if self.name is None else f"{self.name}{extras} @ {url}"
        # A URL ends at whitespace, so the marker separator needs a space before it.
        return head + (f" ; {marker}" if marker else "")

    def __str__(self) -> str:
        return self.pep508()


@dataclass(frozen=True)
class RequirementsOptions:
    """The global options of requirements files (pip's names and meanings).

    ``only_binary``/``no_binary`` hold canonical names or ``:all:``, after pip's rules (a name
    moves from one set to the other; ``:all:`` clears both; ``:none:`` clears its set).
    """

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    require_hashes: bool = False
    pre: bool = False
    only_binary: frozenset[str] = frozenset()
    no_binary: frozenset[str] = frozenset()
    trusted_hosts: tuple[str, ...] = ()
    prefer_binary: bool = False
    no_require_hashes: bool = False

    def merged(self, other: RequirementsOptions) -> RequirementsOptions:
        """``other`` read after ``self``: its index_url wins, lists accumulate, flags or."""
        if ":all:" in other.only_binary or ":all:" in other.no_binary:
            only, no = other.only_binary, other.no_binary
        else:
            only = (self.only_binary - other.no_binary) | other.only_binary
            no = (self.no_binary - other.only_binary) | other.no_binary
        return RequirementsOptions(
            index_url=other.index_url if other.index_url is not None else self.index_url,
            extra_index_urls=_unique(self.extra_index_urls + other.extra_index_urls),
            find_links=_unique(self.find_links + other.find_links),
            no_index=self.no_index or other.no_index,
            require_hashes=self.require_hashes or other.require_hashes,
            pre=self.pre or other.pre,
            only_binary=only,
            no_binary=no,
            trusted_hosts=_unique(self.trusted_hosts + other.trusted_hosts),
            prefer_binary=self.prefer_binary or other.prefer_binary,
            no_require_hashes=self.no_require_hashes or other.no_require_hashes,
        )


@dataclass(frozen=True)
class RequirementsFile:
    """Everything a requirements file (and the files it includes) says, in reading order."""

    requirements: tuple[ParsedRequirement, ...] = ()
    constraints: tuple[ParsedRequirement, ...] = ()
    options: RequirementsOptions = RequirementsOptions()


def merge(files: Iterable[RequirementsFile]) -> RequirementsFile:
    """Several files (``-r a -r b`` on the command line) as one, in order."""
    result = RequirementsFile()
    for f in files:
        result = RequirementsFile(
            result.requirements + f.requirements,
            result.constraints + f.constraints,
            result.options.merged(f.options),
        )
    return result


def render(req: ParsedRequirement) -> str:
    """A requirements-file line for ``req``: its PEP 508 form and a ``--hash`` per digest.

    Digests ``--hash`` does not accept (md5, sha1, sha224) go back into a URL's fragment.
    """
    url = req.url
    if req.editable and url is not None:
        extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
        return f"-e {url}{extras}"
    strong = [h for h in req.hashes if h.algorithm in OPTION_ALGORITHMS or url is None]
    weak = [h for h in req.hashes if h not in strong]
    if url is not None and weak:
        url += ("&" if "#" in url else "#") + "&".join(f"{h.algorithm}={h.hexdigest}" for h in weak)
    settings = [f"--config-settings {shlex.quote(c)}" for c in req.config_settings]
    return " ".join([req.pep508(url), *(h.option for h in strong), *settings])


# ---------------------------------------------------------------------------------------------
# Entry points


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


def parse_requirement(
    text: str,
    location: Location | None = None,
    *,
    cwd: str | None = None,
    hashes: Sequence[Hash] = (),
) -> ParsedRequirement:
    """Parse one requirement as pip reads a command-line argument: a PEP 508 specifier
    (``name[extras] specifier ; marker`` or ``name @ url``), a URL, or a path to an archive."""
    location = location or Location(COMMAND_LINE)
    text = text.strip()
    return _parse_requirement(text, location, _cwd(cwd), tuple(hashes), text)


def decode_requirements_file(data: bytes) -> str:
    """A requirements file's bytes as text, as pip decodes them: a BOM, else a PEP 263 coding
    comment on one of the first two lines, else UTF-8 (UnicodeDecodeError otherwise)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding)
    for line in data.split(b"\n")[:2]:
        found = _PEP263_RE.search(line) if line.startswith(b"#") else None
        if found:
            return data.decode(found.group(1).decode("ascii"))
    return data.decode("utf-8")


class FileTooLarge(ValueError):
    """A requirements file past :data:`MAX_FILE_BYTES`, or with a line past
    :data:`MAX_LINE_CHARS`; ``lineno`` is the line where the bound was crossed."""

    def __init__(self, what: str, lineno: int) -> None:
        super().__init__(what)
        self.what = what
        self.lineno = lineno


def _read_local_file(path: str) -> str:
    with open(path, "rb") as f:
        # Never more than the bound: a device or a pipe may not end.
        data = f.read(MAX_FILE_BYTES + 1)
    _check_bounds(data)
    return decode_requirements_file(data)


def _check_bounds(data: bytes) -> None:
    if len(data) > MAX_LINE_CHARS:
        lineno = 1
        for line in data.split(b"\n"):
            if len(line) > MAX_LINE_CHARS:
                raise FileTooLarge(f"line longer than {MAX_LINE_CHARS // 1024 // 1024} MiB", lineno)
            lineno += 1
    if len(data) > MAX_FILE_BYTES:
        raise FileTooLarge(
            f"file larger than {MAX_FILE_BYTES // 1024 // 1024} MiB",
            data.count(b"\n", 0, MAX_FILE_BYTES) + 1,
        )


# ---------------------------------------------------------------------------------------------
# Logical lines


def logical_lines(text: str, environ: Mapping[str, str]) -> Iterator[tuple[int, str]]:
    """(first line number, text) of each non-empty logical line: joined, comments removed,
    stripped, ``${VAR}`` expanded — pip's ``preprocess``."""
    for lineno, _written, line in _logical_lines(text, environ):
        yield lineno, line


def _logical_lines(text: str, environ: Mapping[str, str]) -> Iterator[tuple[int, str, str]]:
    """As :func:`logical_lines`, with each line also as written (``${VAR}`` not expanded)."""
    for lineno, joined in _join_lines(text.removeprefix("\ufeff").splitlines()):
        line = _COMMENT_RE.sub("", joined).strip()
        if line:
            expanded = _ENV_VAR_RE.sub(lambda m: environ.get(m.group(1)) or m.group(0), line)
            yield lineno, line, expanded


def _concealed(
    exc: RequirementsFileError,
    prefix: str,
    written: str,
    expanded: str,
    environ: Mapping[str, str],
) -> RequirementsFileError:
    """``exc`` with no secret in it: each expanded ``${VAR}`` shown as ``${VAR}`` again, as the
    line was written, and every password in a URL as ``****`` (pip's rule). A caret under the
    line is moved to where its token now stands."""
    references = tuple(dict.fromkeys(f"${{{name}}}" for name in _ENV_VAR_RE.findall(written)))
    values = sorted(
        ((environ.get(ref[2:-1]) or "", ref) for ref in references),
        key=lambda pair: -len(pair[0]),
    )

    def conceal(text: str) -> str:
        for value, ref in values:
            if value:
                text = text.replace(value, ref)
        return redact_text(text, keep=references)

    hint = exc.hint
    if hint is not None:
        lines = hint.split("\n")
        pointer = f"    {expanded}"
        if pointer in lines:
            at = lines.index(pointer)
            lines[at] = "    " + conceal(expanded)
            caret = lines[at + 1] if at + 1 < len(lines) else ""
            marks = caret[4:].lstrip(" ")
            if caret.startswith("    ") and marks and set(marks) <= {"~", "^"}:
                start = len(caret) - 4 - len(marks)
                before = conceal(expanded[:start])
                token = conceal(expanded[start : start + len(marks)])
                lines[at + 1] = "    " + " " * len(before) + "~" * (len(token) - 1) + "^"
        hint = "\n".join(conceal(line) for line in lines)
    # The file:line prefix is ours, not the line's: a short value must not rewrite a number.
    message = exc.message
    if prefix and message.startswith(prefix):
        message = prefix + conceal(message[len(prefix) :])
    else:
        message = conceal(message)
    return RequirementsFileError(message, hint=hint, exit_code=exc.exit_code)


def _join_lines(lines: list[str]) -> Iterator[tuple[int, str]]:
    first = 0
    pending: list[str] = []
    for lineno, physical in enumerate(lines, start=1):
        is_comment = _COMMENT_RE.match(physical) is not None
        if physical.endswith("\\") and not is_comment:
            if not pending:
                first = lineno
            pending.append(physical.strip("\\"))
            continue
        # A comment line ends a continuation; the space keeps it a comment once joined.
        line = " " + physical if is_comment else physical
        if pending:
            yield first, "".join([*pending, line])
            pending = []
        else:
            yield lineno, line
    if pending:
        yield first, "".join(pending)


def _split_args_options(line: str) -> tuple[str, str]:
    """pip's ``break_args_options``: the requirement ends at the first token starting with -."""
    tokens = line.split(" ")
    for i, token in enumerate(tokens):
        if token.startswith("-"):
            return " ".join(tokens[:i]), " ".join(tokens[i:])
    return line, ""


# ---------------------------------------------------------------------------------------------
# Options


@dataclass(frozen=True)
class _Option:
    key: str
    names: tuple[str, ...]
    takes_value: bool
    scope: str  # "global", "requirement" (--hash, --config-settings), "unsupported"


_OPTIONS = (
    _Option("index_url", ("-i", "--index-url", "--pypi-url"), True, "global"),
    _Option("extra_index_url", ("--extra-index-url",), True, "global"),
    _Option("no_index", ("--no-index",), False, "global"),
    _Option("constraint", ("-c", "--constraint"), True, "global"),
    _Option("requirement", ("-r", "--requirement"), True, "global"),
    _Option("editable", ("-e", "--editable"), True, "global"),
    _Option("find_links", ("-f", "--find-links"), True, "global"),
    _Option("no_binary", ("--no-binary",), True, "global"),
    _Option("only_binary", ("--only-binary",), True, "global"),
    _Option("prefer_binary", ("--prefer-binary",), False, "global"),
    _Option("require_hashes", ("--require-hashes",), False, "global"),
    _Option("no_require_hashes", ("--no-require-hashes",), False, "global"),
    _Option("pre", ("--pre",), False, "global"),
    _Option("trusted_host", ("--trusted-host",), True, "global"),
    _Option("hash", ("--hash",), True, "requirement"),
    # pip knows these; pipseal does not do what they ask, so it says so rather than ignore them.
    _Option("all_releases", ("--all-releases",), True, "unsupported"),
    _Option("only_final", ("--only-final",), True, "unsupported"),
    _Option("use_feature", ("--use-feature",), True, "unsupported"),
    _Option("config_settings", ("-C", "--config-settings"), True, "requirement"),
)
_BY_NAME = {name: opt for opt in _OPTIONS for name in opt.names}


@dataclass(frozen=True)
class _Given:
    option: _Option
    spelled: str  # as the user wrote it, for messages
    value: str
    token: str  # the raw token, to point at it


def _config_settings(given: Sequence[_Given]) -> tuple[str, ...]:
    """The ``--config-settings`` values of a line, in order."""
    return tuple(g.value for g in given if g.option.key == "config_settings")


class _LineError(Exception):
    """A problem within one logical line; the caller adds file, line and the caret."""

    def __init__(self, what: str, token: str | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.token = token


def _parse_options(text: str) -> list[_Given]:
    """Options in optparse's manner: ``--opt=v``, ``--opt v``, ``-xv``, ``-x v``, unique long
    prefixes; no positional arguments."""
    try:
        tokens = shlex.split(text)
    except ValueError as exc:
        raise _LineError(f"could not split options {text!r}: {exc}") from None
    given: list[_Given] = []
    it = iter(tokens)
    for token in it:
        if token.startswith("--") and len(token) > 2:
            name, eq, attached = token.partition("=")
            option, name = _long_option(name, token)
            value: str | None = attached if eq else None
            if value is not None and not option.takes_value:
                raise _LineError(f"{name} option does not take a value", token)
        elif token.startswith("-") and len(token) > 1:
            name = token[:2]
            if name not in _BY_NAME:
                raise _LineError(f"unknown option {name}", token)
            option = _BY_NAME[name]
            value = token[2:] or None
        else:
            raise _LineError(f"unexpected argument {token!r} among the options", token)
        if option.takes_value and value is None:
            value = next(it, None)
            if value is None:
                raise _LineError(f"{name} option requires 1 argument", token)
        given.append(_Given(option, name, value or "", token))
    return given


def _long_option(name: str, token: str) -> tuple[_Option, str]:
    if name in _BY_NAME:
        return _BY_NAME[name], name
    candidates = sorted(n for n in _BY_NAME if n.startswith("--") and n.startswith(name))
    options = {_BY_NAME[n].key for n in candidates}
    if not candidates:
        raise _LineError(f"unknown option {name}", token)
    if len(options) > 1:
        raise _LineError(f"ambiguous option {name} (could be {', '.join(candidates)})", token)
    return _BY_NAME[candidates[0]], candidates[0]


def _apply_format_control(
    value: str, target: frozenset[str], other: frozenset[str]
) -> tuple[frozenset[str], frozenset[str]]:
    """pip's ``FormatControl.handle_mutual_excludes`` on immutable sets."""
    if value.startswith("-"):
        raise _LineError("--no-binary / --only-binary option requires 1 argument.", value)
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


# ---------------------------------------------------------------------------------------------
# Files and includes


def _exists(path: str) -> bool:
    try:
        return Path(path).exists()
    except (OSError, ValueError):  # a NUL byte, a name too long: not a directory we can use
        return False


def _cwd(cwd: str | None) -> str:
    return cwd if cwd is not None else str(Path.cwd())


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


class _Parser:
    """Walks a file and its includes, collecting values; one instance per parse."""

    def __init__(
        self,
        environ: Mapping[str, str] | None,
        cwd: str | None,
        read_text: Callable[[str], str] | None,
    ) -> None:
        self.environ = os.environ if environ is None else environ
        self.cwd = _cwd(cwd)
        self.read_text = read_text or _read_local_file
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
        scheme = _scheme(target)
        if scheme in {"http", "https"}:
            _fail(
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
            _fail(origin, f"{kind} file {target!r} includes itself: {cycle}", line, token=target)
        try:
            text = self.read_text(absolute)
        except FileTooLarge as exc:
            # Neither the line nor its start is shown: it is too long to be read by anyone.
            shown = target if parent is None else absolute
            raise RequirementsFileError(
                f"{shown}:{exc.lineno}: {kind} file refused: {exc.what} (the rest was not read)"
            ) from None
        except OSError as exc:
            _fail(origin, f"could not open {kind} file {target!r}: {exc.strerror or exc}", line)
        except (ValueError, LookupError) as exc:  # undecodable, unknown coding, NUL in path
            _fail(
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
        for lineno, written, line in _logical_lines(text, self.environ):
            location = Location(shown, lineno, constraint)
            if len(line) > MAX_LINE_CHARS:
                raise RequirementsFileError(
                    f"{location.prefix}line longer than {MAX_LINE_CHARS // 1024 // 1024} MiB"
                )
            try:
                try:
                    self._line(line, location, absolute, chain)
                except _LineError as exc:
                    _fail(location, exc.what, line, token=exc.token)
            except RequirementsFileError as exc:
                raise _concealed(exc, location.prefix, written, line, self.environ) from None

    def _line(self, line: str, location: Location, absolute: str, chain: tuple[str, ...]) -> None:
        args, options_text = _split_args_options(line)
        args = args.strip()
        given = _parse_options(options_text) if options_text else []
        for g in given:
            if g.option.scope == "unsupported":
                raise _LineError(f"option {g.spelled} is not supported by pipseal", g.token)
            if args and g.option.scope == "global":
                raise _LineError(
                    f"option {g.spelled} cannot follow a requirement (pip ignores it there); "
                    "put it on a line of its own",
                    g.token,
                )
            if not args and g.option.key == "hash":
                raise _LineError(
                    "--hash without a requirement on its line "
                    "(is a '\\' missing at the end of the line before?)",
                    g.token,
                )
            if g.option.key == "config_settings":
                if "=" not in g.value:
                    raise _LineError(
                        f"Arguments to {g.spelled} must be of the form KEY=VAL: {g.value!r}",
                        g.token,
                    )
                if location.constraint:
                    raise _LineError(
                        f"{g.spelled} on a constraint does nothing; put it on the requirement",
                        g.token,
                    )
                if not args and not any(o.option.key == "editable" for o in given):
                    raise _LineError(
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
                    raise _LineError(
                        "Editable requirements are not allowed as constraints", g.token
                    )
                where = _Where(location, line, self.cwd)
                settings = _config_settings(given)
                self.requirements.append(
                    replace(_parse_editable(g.value, where), config_settings=settings)
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

    def _requirement(self, args: str, given: list[_Given], location: Location, line: str) -> None:
        hashes: list[Hash] = []
        for g in given:
            if g.option.key == "config_settings":
                continue
            try:
                hashes.append(Hash.parse(g.value, OPTION_ALGORITHMS))
            except HashSyntaxError as exc:
                raise _LineError(f"bad {g.spelled}: {exc}", g.token) from None
        req = _parse_requirement(args, location, self.cwd, tuple(hashes), line)
        if any(g.option.key == "config_settings" for g in given):
            req = replace(req, config_settings=_config_settings(given))
        if location.constraint:
            # pip's check_invalid_constraint_type, made an error at the line that causes it.
            if req.name is None:
                _fail(location, "Unnamed requirements are not allowed as constraints", line)
            if req.extras:
                _fail(location, "Constraints cannot have extras", line)
            self.constraints.append(req)
        else:
            self.requirements.append(req)

    def _option(self, opts: RequirementsOptions, g: _Given, absolute: str) -> RequirementsOptions:
        key, value = g.option.key, g.value
        if key == "index_url":
            return replace(opts, index_url=value)
        if key == "extra_index_url":
            return replace(opts, extra_index_urls=_unique([*opts.extra_index_urls, value]))
        if key == "find_links":
            if not _scheme(value):
                beside = os.path.normpath(Path(absolute).parent / value)
                value = beside if _exists(beside) else value
            return replace(opts, find_links=_unique([*opts.find_links, value]))
        if key == "trusted_host":
            return replace(opts, trusted_hosts=_unique([*opts.trusted_hosts, value]))
        if key == "only_binary":
            only, no = _apply_format_control(value, opts.only_binary, opts.no_binary)
            return replace(opts, only_binary=only, no_binary=no)
        if key == "no_binary":
            no, only = _apply_format_control(value, opts.no_binary, opts.only_binary)
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


# ---------------------------------------------------------------------------------------------
# One requirement


def _fail(
    location: Location,
    what: str,
    line: str,
    *,
    token: str | None = None,
    hint: str | None = None,
    caret: str | None = None,
) -> NoReturn:
    """Raise the one-line error ``file:line: what``, pointing into ``line`` at ``token`` (or
    with a ready ``caret`` line) in the hint."""
    shown = f"    {line}"
    if caret is None and token is not None and token in line:
        start = line.index(token)
        caret = "    " + " " * start + "~" * (max(len(token), 1) - 1) + "^"
    pointer = shown if caret is None else f"{shown}\n{caret}"
    full_hint = pointer if hint is None else f"{pointer}\n{hint}"
    raise RequirementsFileError(f"{location.prefix}{what}", hint=full_hint)


def _packaging_error(
    location: Location,
    what: str,
    exc: Exception,
    line: str,
    *,
    offset: int = 0,
    hint: str | None = None,
) -> NoReturn:
    """Re-raise packaging's message: its first line in ours, its caret moved under ``line``."""
    lines = str(exc).splitlines()
    caret = None
    if len(lines) >= 3 and lines[-1].startswith("    "):
        caret = "    " + " " * offset + lines[-1][4:]
    _fail(location, f"{what}: {lines[0] if lines else exc}", line, hint=hint, caret=caret)


def _scheme(text: str) -> str:
    """A URL's scheme, lowercase, or "" (no ValueError on malformed URLs, unlike urlsplit)."""
    found = _SCHEME_RE.match(text)
    return found.group(1).lower() if found else ""


def _is_url(text: str) -> bool:
    scheme = _scheme(text)
    return scheme in _URL_SCHEMES or scheme in _VCS or scheme.partition("+")[0] in _VCS


def _looks_like_path(text: str) -> bool:
    return os.sep in text or (os.altsep is not None and os.altsep in text) or text.startswith(".")


def _is_archive(path: str) -> bool:
    return path.lower().endswith(_ARCHIVE_EXTENSIONS)


def link_kind(url: str) -> LinkKind:
    """What ``url`` points at, from its text alone: a ``vcs`` checkout (``git+https://``), a
    ``wheel``, a local project ``directory`` (a ``file:`` URL naming no archive), else an
    ``sdist``."""
    scheme = _scheme(url)
    if scheme in _VCS or (scheme.partition("+")[0] in _VCS and "+" in scheme):
        return "vcs"
    filename = _url_filename(url)
    if filename.endswith(".whl"):
        return "wheel"
    if scheme == "file" and not _is_archive(filename):
        return "directory"
    return "sdist"


def _project_directory(path: str, written: str, where: _Where) -> bool:
    """Whether ``path`` is a directory to build (pip's rule: written as a path, and holding a
    pyproject.toml or setup.py); a directory written as a path without either is an error."""
    if not _looks_like_path(written):
        return False
    try:
        if not os.path.isdir(path):
            return False
        found = any(os.path.isfile(os.path.join(path, f)) for f in _PROJECT_FILES)
    except (OSError, ValueError):
        return False
    if not found:
        where.fail(
            f"Directory {written!r} is not installable. Neither 'setup.py' nor "
            "'pyproject.toml' found.",
            token=written,
        )
    return True


def _url_filename(url: str) -> str:
    try:
        path = urllib.parse.urlsplit(url).path
    except ValueError:
        return ""
    return urllib.parse.unquote(path.rstrip("/").rpartition("/")[2])


def _archive_name_version(filename: str) -> tuple[str, str] | None:
    """(project as written, version) from a wheel's or sdist's file name, else None."""
    try:
        if filename.endswith(".whl"):
            _, version, _, _ = parse_wheel_filename(filename)
            return filename.partition("-")[0], str(version)
        _, version = parse_sdist_filename(filename)
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
    stem = filename.removesuffix(".zip").removesuffix(".tar.gz")
    return stem.rpartition("-")[0], str(version)


@dataclass(frozen=True)
class _Where:
    """The context of one requirement: where it was written, its whole line, the cwd."""

    location: Location
    line: str
    cwd: str

    def fail(self, what: str, *, token: str | None = None, hint: str | None = None) -> NoReturn:
        _fail(self.location, what, self.line, token=token, hint=hint)

    def packaging_error(
        self, what: str, exc: Exception, *, offset: int = 0, hint: str | None = None
    ) -> NoReturn:
        _packaging_error(self.location, what, exc, self.line, offset=offset, hint=hint)


def _parse_requirement(
    text: str, location: Location, cwd: str, hashes: tuple[Hash, ...], line: str
) -> ParsedRequirement:
    where = _Where(location, line, cwd)
    if not text:
        where.fail("empty requirement")
    if _is_url(text):
        # pip splits a bare URL's marker at "; " since ";" alone may belong to the URL.
        url, _, marker_text = text.partition("; ")
        marker = _parse_marker(marker_text, where, offset=text.find("; ") + 2)
        return _link_requirement(text, None, frozenset(), url.strip(), marker,
                                 where=where, hashes=hashes)  # fmt: skip
    head, semicolon, marker_text = text.partition(";")
    path, extras_text = _strip_extras(head.strip())
    named_url = "@" in head and not _looks_like_path(head.partition("@")[0])
    if _is_archive(path) and not named_url:
        extras = _parse_extras(extras_text, where)
        marker = _parse_marker(marker_text, where, offset=len(head) + 1)
        url = Path(os.path.normpath(Path(cwd, path))).as_uri()
        return _link_requirement(text, None, extras, url, marker, where=where, hashes=hashes)
    directory = os.path.normpath(Path(cwd, path)) if path else ""
    if not named_url and path and _project_directory(directory, path, where):
        extras = _parse_extras(extras_text, where)
        marker = _parse_marker(marker_text, where, offset=len(head) + 1)
        url = Path(directory).as_uri()
        return _link_requirement(text, None, extras, url, marker, where=where, hashes=hashes)
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        req = _pip_split_requirement(head, semicolon, marker_text) or _requirement_error(
            text, exc, where
        )
    if req.url is not None:
        return _link_requirement(text, req.name, frozenset(req.extras), req.url, req.marker,
                                 where=where, hashes=hashes)  # fmt: skip
    return ParsedRequirement(
        text, req.name, frozenset(req.extras), req.specifier, req.marker, None,
        _unique_hashes(hashes), location,
    )  # fmt: skip


def parse_editable(
    text: str, location: Location | None = None, *, cwd: str | None = None
) -> ParsedRequirement:
    """Parse ``-e TEXT`` as pip does: a local project directory (a path or a ``file:`` URL,
    with ``[extras]``) to install in place (PEP 660)."""
    location = location or Location(COMMAND_LINE)
    text = text.strip()
    return _parse_editable(text, _Where(location, f"-e {text}", _cwd(cwd)))


def _parse_editable(text: str, where: _Where) -> ParsedRequirement:
    if not text:
        where.fail("-e option requires 1 argument")
    scheme = _scheme(text)
    if scheme in _VCS or scheme.partition("+")[0] in _VCS:
        where.fail(
            f"editable VCS checkouts are not supported by pipseal: -e {redact_text(text)}",
            token=text,
            hint="clone the repository and install it with -e PATH, or drop -e to install "
            "the commit as a wheel built from it",
        )
    base, _, fragment = text.partition("#")
    path, extras_text = _strip_extras(base)
    if scheme == "file":
        split = urllib.parse.urlsplit(path)
        path = url2pathname(split.path)
    elif scheme:
        where.fail(
            f"{text} is not a valid editable requirement. It should either be a path to a "
            "local project or a VCS URL",
            token=text,
        )
    directory = os.path.normpath(Path(where.cwd, path))
    written = path if _looks_like_path(path) else "./" + path
    if not _project_directory(directory, written, where):
        where.fail(
            f"{text} is not a valid editable requirement. It should either be a path to a "
            "local project or a VCS URL",
            token=text,
        )
    extras = _parse_extras(extras_text, where)
    url = Path(directory).as_uri() + (f"#{fragment}" if fragment else "")
    req = _link_requirement(f"-e {text}", None, extras, url, None, where=where, hashes=())
    return replace(req, editable=True)


def _pip_split_requirement(head: str, semicolon: str, marker_text: str) -> Requirement | None:
    """pip parses the part before the first ";" alone (so ``name @ url; marker`` is accepted)."""
    if not semicolon:
        return None
    try:
        req = Requirement(head)
        req.marker = Marker(marker_text) if marker_text.strip() else None
    except (InvalidRequirement, InvalidMarker):
        return None
    return req


def _requirement_error(text: str, exc: InvalidRequirement, where: _Where) -> NoReturn:
    hint = None
    if _looks_like_path(text):
        hint = _path_hint(text)
    elif "=" in text and not any(op in text for op in ("~=", "==", "!=", "<=", ">=", "<", ">")):
        hint = "= is not a valid operator. Did you mean == ?"
    where.packaging_error(f"invalid requirement {text!r}", exc, hint=hint)


def _path_hint(text: str) -> str:
    """pip's hint for a requirement that looks like a path (relative to the working directory,
    as pip takes it), with the command a user most likely meant."""
    import os

    if os.path.isdir(text):
        return (
            f"It looks like a path. Directory '{text}' is not installable: neither "
            "'setup.py' nor 'pyproject.toml' found."
        )
    if os.path.isfile(text):
        return (
            f"It looks like a path. The path does exist. The argument you provided ({text}) "
            "appears to be a requirements file. If that is the case, use the '-r' flag to "
            f"install the packages specified within it: did you mean -r {text}?"
        )
    return f"It looks like a path. File '{text}' does not exist."


def _strip_extras(text: str) -> tuple[str, str]:
    found = _EXTRAS_RE.match(text)
    return (found.group(1).rstrip(), found.group(2)) if found else (text, "")


def _parse_extras(extras_text: str, where: _Where) -> frozenset[str]:
    if not extras_text:
        return frozenset()
    try:
        return frozenset(Requirement("placeholder" + extras_text.lower()).extras)
    except InvalidRequirement as exc:
        where.packaging_error(f"invalid extras {extras_text!r}", exc)


def _parse_marker(text: str, where: _Where, *, offset: int) -> Marker | None:
    if not text.strip():
        return None
    try:
        return Marker(text)
    except InvalidMarker as exc:
        where.packaging_error(f"invalid marker {text.strip()!r}", exc, offset=offset)


def _unique_hashes(hashes: Iterable[Hash]) -> tuple[Hash, ...]:
    # A set of allowed digests (any one matching is enough): sorted, so equal sets compare equal.
    return tuple(sorted(set(hashes)))


def _link_requirement(
    text: str,
    name: str | None,
    extras: frozenset[str],
    url: str,
    marker: Marker | None,
    *,
    where: _Where,
    hashes: tuple[Hash, ...],
) -> ParsedRequirement:
    """A requirement on a link: hashes and ``egg`` out of the fragment, local paths absolute,
    the name from the wheel or sdist file name (or ``#egg=``) when none was given."""
    base, _, fragment = url.partition("#")
    kept: list[str] = []
    egg = None
    for part in fragment.split("&") if fragment else ():
        key, _, value = part.partition("=")
        if key in FRAGMENT_ALGORITHMS:
            try:
                hashes += (Hash.validated(key, value, FRAGMENT_ALGORITHMS),)
            except HashSyntaxError as exc:
                where.fail(f"bad hash in URL fragment: {exc}", token=part)
        elif key == "egg":
            if not _PROJECT_NAME_RE.match(value):
                where.fail(f"invalid #egg= fragment {value!r}: expected a project name", token=part)
            egg = value
        elif part:
            kept.append(part)
    try:
        split = urllib.parse.urlsplit(base)
    except ValueError as exc:
        where.fail(f"invalid URL {base!r}: {exc}", token=base)
    vcs = split.scheme.partition("+")[0].lower()
    if vcs in _VCS and vcs not in _BUILT_VCS:
        where.fail(
            f"pipseal checks out git repositories only, not {vcs}: {redact_text(base)}",
            token=base,
            hint="build a wheel or an sdist of the project and install that",
        )
    if not split.scheme:
        if not _looks_like_path(base):
            where.fail(f"URL {base!r} has no scheme (such as https:// or file://)", token=base)
        base = Path(os.path.normpath(Path(where.cwd, base))).as_uri()
    elif split.scheme == "file" and not split.netloc and not split.path.startswith("/"):
        relative = url2pathname(split.path)
        base = Path(os.path.normpath(Path(where.cwd, relative))).as_uri()
    filename = _url_filename(base)
    if filename.endswith(".whl"):
        try:
            parse_wheel_filename(filename)
        except InvalidWheelFilename as exc:
            where.fail(f"invalid wheel filename {filename!r}: {exc}")
    found = _archive_name_version(filename)
    if name is None:
        if filename.endswith(".whl") and found is not None:
            name = found[0]
        else:
            name = egg or (found[0] if found else None)
    full_url = base + ("#" + "&".join(kept) if kept else "")
    return ParsedRequirement(
        text, name, extras, SpecifierSet(), marker, full_url, _unique_hashes(hashes),
        where.location,
    )  # fmt: skip
