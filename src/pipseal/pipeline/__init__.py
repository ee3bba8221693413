"""The install's journey, one module per stage (``commands/`` composes them).

``request`` (options and requirements, filtered once for one target) -> ``route`` (the plan
by one of three routes: ``listed``, ``locked``, ``resolved``; content hits in ``cached``) ->
``plan`` (the ``Plan`` value) -> ``fetching`` (fetched and checked archives; building from
source joins here) -> ``trees`` (unpacked into the cache) -> ``commit`` (one transaction) ->
``report``. ``session`` holds the machinery (cache, HTTP session, finder, fetchers);
``target`` asks the target interpreter early; ``options`` are the commands' option values.
"""
