"""Which origins and redirects may be trusted: pure rules over URLs (pip's secure-origin rule)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def redirect_allowed(from_url: str, to_url: str) -> bool:
    """Whether a redirect may be followed: anything except leaving https for another scheme.

    (A redirect from https to http would let a network attacker strip TLS; file:// and other
    schemes are refused too, as a server must not make us read local files.)
    """
    source = urlsplit(from_url).scheme.lower()
    target = urlsplit(to_url).scheme.lower()
    if target not in ("http", "https"):
        return False
    return not (source == "https" and target != "https")


def host_matches(url: str, hosts: tuple[str, ...]) -> bool:
    """Whether the URL's host is one of ``hosts`` (``host`` matches any port, ``host:port`` one)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    for entry in hosts:
        name, _, entry_port = entry.strip().lower().rpartition(":")
        if not name or not entry_port.isdigit():
            name, entry_port = entry.strip().lower(), ""
        name = name.strip("[]")
        if name == host and (not entry_port or port == int(entry_port)):
            return True
    return False


def is_secure_origin(url: str, trusted_hosts: tuple[str, ...] = ()) -> bool:
    """pip's secure-origin rule: https, file, a loopback host, or a ``--trusted-host``."""
    parts = urlsplit(url)
    if parts.scheme.lower() in ("https", "file"):
        return True
    host = (parts.hostname or "").lower()
    if host == "localhost":
        return True
    try:
        if ipaddress.ip_address(host).is_loopback:
            return True
    except ValueError:
        pass
    return host_matches(url, trusted_hosts)
