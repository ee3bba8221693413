"""A candidate's core metadata (METADATA), fetched with as few bytes as the index allows.

:meth:`MetadataFetcher.get` tries, in order:

1. the on-disk metadata cache, keyed by the archive's published sha256 (no network);
2. the PEP 658/714 ``<file>.metadata`` file, when the index announces one; its bytes are checked
   against the digests the index publishes for it (a mismatch is an error, never ignored);
3. for a wheel, ``*.dist-info/METADATA`` read through HTTP Range requests (pip's lazy wheel): a
   seekable file over Range GETs, opened with :mod:`zipfile`; a server that answers 200 instead
   of 206 sends us to step 4;
4. the whole wheel, through :class:`pipseal.fetch.fetcher.Fetcher`, which leaves it in the cache
   so the install does not download it again.

The package, one idea a module: ``core`` (the :class:`~pipseal.metadata.core.CoreMetadata` value,
read out of METADATA bytes or a wheel), ``ranges`` (a remote wheel read through Range requests),
``record`` (the metadata cache's stored record) and ``fetcher`` (the routes, cheapest first).

An sdist has no metadata without a build:
:meth:`~pipseal.metadata.fetcher.MetadataFetcher.get` says so.
"""
