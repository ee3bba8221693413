"""The code that ``dataclasses`` generates, compiled once per install instead of at every start.

Python 3.11's ``@dataclass`` writes each class's ``__init__``, ``__repr__``, ``__eq__``,
``__hash__``, ``__setattr__`` and ``__delattr__`` as source text and compiles it with ``exec``
when the class is made: the 70 or so classes made at the start of a cold resolution cost 4% of
its instructions in ``compile`` (the modules' own bytecode comes from ``__pycache__``; this did
not). :func:`install` (the command line's first step) gives the ``dataclasses`` module an
``exec`` that looks the text up in a table of code objects kept beside pipseal's own bytecode
(``__pycache__/dataclass-code.<cache tag>.marshal``, or under ``sys.pycache_prefix``; read at
the first class made), and compiles (as ``exec`` would: no ``__future__`` flags inherited)
only text it has not seen. ``dataclasses`` itself is not imported for this: a command that
makes no dataclass does not import it.
:func:`save` writes the table again when a run compiled anything new (a first run, a new
pipseal, another Python), unless bytecode is not to be written (``-B``,
``PYTHONDONTWRITEBYTECODE``) or the directory is not writable: then each start compiles, as
before.

The table maps exact source text to the code compiled from it, so a hit is what compiling would
have given; a file that does not load as such a table (damaged, another format) is ignored and
written again. It is trusted as the ``.pyc`` files beside it are.
"""

from __future__ import annotations

import builtins
import marshal
import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (``list`` imports none)
if TYPE_CHECKING:
    from types import CodeType
    from typing import Any

#: What the table's file starts with: its format and the interpreter that compiled it (a
#: code object is only good for the bytecode of the Python that made it).
_MAGIC = f"pipseal-dataclass-code-1 {sys.implementation.cache_tag} {sys.version}".encode()


class _State:
    """The table, how many texts this run added to it, and where it is kept ("" for nowhere;
    None until :func:`install`)."""

    def __init__(self) -> None:
        self.table: dict[str, CodeType] = {}
        self.compiled = 0
        self.path: str | None = None
        self.loaded = False


_STATE = _State()


def table_path() -> str | None:
    """Where the table is kept (None: no cache tag, so no bytecode cache either)."""
    tag = sys.implementation.cache_tag
    if tag is None:
        return None
    package = os.path.dirname(os.path.abspath(__file__))
    name = f"dataclass-code.{tag}.marshal"
    if sys.pycache_prefix:
        return os.path.join(sys.pycache_prefix, package.lstrip(os.sep), name)
    return os.path.join(package, "__pycache__", name)


def _load(path: str) -> dict[str, CodeType]:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError:
        return {}
    if not raw.startswith(_MAGIC + b"\n"):
        return {}
    try:
        table = marshal.loads(raw[len(_MAGIC) + 1 :])
    except (EOFError, ValueError, TypeError):
        return {}
    code_type = type(_load.__code__)
    if type(table) is not dict or not all(
        type(k) is str and type(v) is code_type for k, v in table.items()
    ):
        return {}
    return table


def _exec(source: Any, globals: Any = None, locals: Any = None, /) -> None:
    """``exec`` for ``dataclasses``: source text's code from the table when it is there."""
    if type(source) is str:
        if not _STATE.loaded:
            _STATE.loaded = True
            if _STATE.path:
                _STATE.table.update(_load(_STATE.path))
        code = _STATE.table.get(source)
        if code is None:
            code = compile(source, "<string>", "exec", dont_inherit=True)
            _STATE.table[source] = code
            _STATE.compiled += 1
        source = code
    builtins.exec(source, globals, locals)


class _WhenImported:
    """A finder on ``sys.meta_path`` that finds nothing itself: when ``dataclasses`` is first
    imported, it has the other finders find it and gives it :func:`_exec` once it has run (a
    command that makes no dataclass, such as ``list``, imports no dataclasses for this)."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "dataclasses":
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        for finder in sys.meta_path:
            found = getattr(finder, "find_spec", None)
            spec = found(name, path, target) if found is not None else None
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        run = getattr(loader, "exec_module", None)
        if run is None:
            return spec

        def exec_module(module: Any) -> None:
            run(module)
            module.exec = _exec

        loader.exec_module = exec_module
        return spec


def install() -> None:
    """Give ``dataclasses`` the ``exec`` that reads the table, now if it is imported, else when
    it is (once; before the modules that make dataclasses are imported)."""
    if _STATE.path is not None:
        return
    _STATE.path = table_path() or ""
    module = sys.modules.get("dataclasses")
    if module is not None:
        module.exec = _exec  # type: ignore[attr-defined]
    else:
        sys.meta_path.insert(0, _WhenImported())


def save() -> None:
    """Write the table when this run compiled anything new and bytecode may be written."""
    if not _STATE.compiled or not _STATE.path or sys.dont_write_bytecode:
        return
    from pathlib import Path

    from pipseal.atomic import created_file_mode, write_atomic

    try:
        data = _MAGIC + b"\n" + marshal.dumps(_STATE.table)
        write_atomic(Path(_STATE.path), data, durable=False, mode=created_file_mode())
    except (OSError, ValueError):
        return  # not writable (a system install): each start compiles, as without the table
    _STATE.compiled = 0


def compiled() -> int:
    """How many texts this process compiled since the table was last written (tests)."""
    return _STATE.compiled
