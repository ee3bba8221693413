"""Secrets kept out of what pipseal prints and stores: passwords in URLs.

Pure and light (no urllib3), so that the requirements parser and the cache can use it as well as
the HTTP session. pip's rule: a password, or a userinfo that is a token alone, shows as ``****``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

# scheme://userinfo@ inside any text: a URL written in a message or a requirements line.
_USERINFO_RE = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^\s/@]+)@")


@dataclass(frozen=True, repr=False)
class Url:
    """A URL that prints redacted: ``str``, ``repr`` and f-strings give :func:`redact`'s form,
    so a password cannot reach output or an error by a forgotten call. ``full`` is the URL
    itself (for requests); ``stored`` is it without userinfo (for what is written to disk)."""

    full: str

    def __str__(self) -> str:
        return redact(self.full)

    def __repr__(self) -> str:
        return f"Url({redact(self.full)!r})"

    def __format__(self, spec: str) -> str:
        return format(redact(self.full), spec)

    @property
    def stored(self) -> str:
        return strip_userinfo(self.full)


def redact(url: str) -> str:
    """``url`` with its password (or a token-only userinfo) replaced by ``****``.

    ``https://user:secret@host/x`` -> ``https://user:****@host/x``; ``https://token@host/x`` ->
    ``https://****@host/x`` (pip's rule: a lone userinfo is a token). Other URLs are unchanged.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at:
        return url
    return urlunsplit(parts._replace(netloc=f"{_shown_userinfo(userinfo)}@{hostport}"))


def strip_userinfo(url: str) -> str:
    """``url`` without any ``user:password@`` part."""
    parts = urlsplit(url)
    _, at, hostport = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=hostport)) if at else url


def redact_text(text: str, *, keep: tuple[str, ...] = ()) -> str:
    """``text`` with the password of every URL in it shown as ``****``; a password that is one
    of ``keep`` (a ``${VAR}`` reference, which is no secret) is left as written."""

    def shown(match: re.Match[str]) -> str:
        userinfo = match.group("userinfo")
        _user, colon, password = userinfo.partition(":")
        if (password if colon else userinfo) in keep:
            return match.group(0)
        return f"{match.group('scheme')}{_shown_userinfo(userinfo)}@"

    return _USERINFO_RE.sub(shown, text)


def _shown_userinfo(userinfo: str) -> str:
    user, colon, _password = userinfo.partition(":")
    return f"{user}:****" if colon else "****"
