"""Simple-repository pages into candidate files, and a finder over several sources.

A source is an index (PEP 503 HTML or PEP 691 JSON project pages, over http(s) or ``file://``)
or a find-links location (a local directory, a ``file://`` directory, or an HTML page of links).
:class:`Finder` asks every source for a project's files and returns them all, in source order,
as :class:`IndexFile` values: what the file is (name, version, tags), where it is, and what the
source publishes about it (digests, Requires-Python, yanked, PEP 658 metadata).

pip's rules kept here: links whose file name is not a wheel or an sdist of the project asked for
are skipped, not errors; an invalid ``data-requires-python`` is ignored; hash fragments may use
pip's wider algorithm set (md5 included); a 404 project page means "not on this index";
``http://`` indexes on a host that is neither loopback nor ``--trusted-host`` are ignored with
pip's warning. Unlike pip, other failures of an index raise NetworkError naming it.

The package, one idea a module: ``files`` (the :class:`~pipseal.index.files.IndexFile` value,
made from a page's fields or a file name, and a project's files grouped by version) and
``finder`` (the sources asked, their pages fetched, stored and revalidated).
"""
