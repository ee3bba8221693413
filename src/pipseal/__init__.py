"""pipseal: a pip-compatible installer that checks every byte against a digest."""

__version__ = "0.1.0"
