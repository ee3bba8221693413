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

The package, by job (each module imports only those above it in this list):

* ``links``: what a link is from its text (URL or path, scheme, kind, file-name version).
* ``values``: the frozen values (``Location``, ``ParsedRequirement``, ``RequirementsOptions``,
  ``RequirementsFile``), ``merge`` and ``render``.
* ``reading``: a file's bytes to text, within bounds (``decode_requirements_file``).
* ``lines``: logical lines (``logical_lines``), secrets concealed again in messages.
* ``where``: the one-line error with the line and its caret.
* ``options``: a line's options, in optparse's manner.
* ``requirement``: one requirement (``parse_requirement``, ``parse_editable``).
* ``files``: the ``-r``/``-c`` walk (``parse_requirements_file``, ``parse_requirements_text``).
"""
