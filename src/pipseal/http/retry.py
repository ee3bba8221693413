"""What a transport failure means and how long to wait before trying again.

A failure is described in a short, password-free reason (:func:`describe_error`); one that
retrying cannot cure is :func:`is_permanent`; a server's ``Retry-After`` is honoured up to
:data:`RETRY_AFTER_CAP`, and backoff grows up to :data:`BACKOFF_CAP`.
"""

from __future__ import annotations

import email.utils
import ssl
import time

from urllib3.exceptions import (
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ProxyError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.exceptions import TimeoutError as Urllib3Timeout

#: Longest wait a server's ``Retry-After`` may impose on one retry, in seconds.
RETRY_AFTER_CAP = 10.0
#: Longest exponential-backoff wait, in seconds.
BACKOFF_CAP = 4.0


def describe_error(exc: BaseException) -> str:
    """A short, password-free reason for a transport error (no object reprs, no URLs)."""
    if isinstance(exc, NameResolutionError):
        return "could not resolve the host name"
    if isinstance(exc, NewConnectionError):
        reason = exc.__context__ or exc.__cause__
        if isinstance(reason, OSError) and reason.strerror:
            return f"could not connect ({reason.strerror.lower()})"
        return "could not connect"
    if isinstance(exc, ReadTimeoutError | Urllib3Timeout | TimeoutError):
        return "timed out"
    if isinstance(exc, SSLError):
        inner = exc.args[0] if exc.args else exc
        if isinstance(inner, ssl.SSLCertVerificationError):
            return f"TLS certificate verification failed ({inner.verify_message})"
        return f"TLS error ({inner})"
    if isinstance(exc, ProxyError):
        return "the proxy refused or failed the connection"
    if isinstance(exc, ProtocolError):
        return "connection broken"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return type(exc).__name__


def is_permanent(exc: BaseException) -> bool:
    """Transport errors that retrying cannot cure (a certificate the store does not trust)."""
    return (
        isinstance(exc, SSLError)
        and bool(exc.args)
        and isinstance(exc.args[0], ssl.SSLCertVerificationError)
    )


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Parse ``Retry-After`` (seconds or an HTTP date) into a wait, capped at RETRY_AFTER_CAP."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), RETRY_AFTER_CAP)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    wait = when.timestamp() - (time.time() if now is None else now)
    return min(max(wait, 0.0), RETRY_AFTER_CAP)


def status_reason(status: int) -> str:
    """``HTTP 503 Service Unavailable``: a status as a reason for the message."""
    from http import HTTPStatus

    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"
