"""Shared test support: the wheel factory, the index server, venvs and pypiserver.

Everything here is real: wheels are zip files on disk, the index is an HTTP server on
127.0.0.1, venvs are made by ``python -m venv`` and pypiserver runs as its own process.
"""
