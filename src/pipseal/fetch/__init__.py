"""Get an archive's bytes: from the cache by digest, else downloaded (or copied) while hashing.

The promise kept here: bytes reach the caller only after they were hashed in this run, and only
bytes that agree with the digest the index publishes enter the cache. A cached entry that fails
its own digest is quarantined (``cache.get_archive`` warns ``[cache-damaged]``) and fetched anew;
a download that disagrees with the published digest is ``transfer-damaged`` and fetched again on a
new connection (resuming with Range when the body was only short). Two downloads that give the
same wrong bytes are no transfer damage: the index publishes a digest its file does not have
(``index-digest-wrong``), as it does when the digest it publishes is not a digest at all.

The package, one idea a module: ``source`` (where an archive comes from and what was fetched),
``fetcher`` (the cache-hit path and local copies: which bytes already in hand may stand for a
file), ``download`` (a download while hashing, resumed with Range, held to its size bounds) and
``failures`` (the ways a fetch fails, pip's hash report among them).
"""
