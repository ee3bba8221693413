"""pipseal: a pip-compatible installer that checks every byte against a digest."""

__version__ = "0.1.0"
#: The cache's format directory (``<cache>/v1/``): here, not in ``cache.py``, so that the install
#: can find its remembered interpreter answers before it imports the cache code.
CACHE_FORMAT = "v1"
