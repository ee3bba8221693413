"""What a transport failure means and how long to wait before trying again.

A failure is described in a short, password-free reason (:func:`describe_error`); one that
retrying cannot cure is :func:`is_permanent`; a server's ``Retry-After`` is honoured up to
:data:`RETRY_AFTER_CAP`, and backoff grows up to :data:`BACKOFF_CAP`.
"""

from __future__ import annotations

import email.utils
import http.client
import socket
import ssl
import sys
import time

from pipseal.http.direct import ConnectError, DecodeError

#: Longest wait a server's ``Retry-After`` may impose on one retry, in seconds.
RETRY_AFTER_CAP = 10.0
#: Longest exponential-backoff wait, in seconds.
BACKOFF_CAP = 4.0


def transport_errors() -> tuple[type[BaseException], ...]:
    """What a request or a body's read may raise that is the network's fault: the standard
    library's, and urllib3's once a proxy has brought it in."""
    urllib3 = sys.modules.get("urllib3.exceptions")
    if urllib3 is None:
        return (OSError, http.client.HTTPException)
    return (OSError, http.client.HTTPException, urllib3.HTTPError)


def describe_error(exc: BaseException) -> str:
    """A short, password-free reason for a transport error (no object reprs, no URLs)."""
    reason = _urllib3_reason(exc)
    if reason:
        return reason
    if isinstance(exc, ConnectError):
        cause = exc.__cause__
        if isinstance(cause, socket.gaierror):
            return "could not resolve the host name"
        if isinstance(cause, UnicodeError):
            return "could not connect (not a valid host name)"
        if isinstance(cause, OSError) and cause.strerror:
            return f"could not connect ({cause.strerror.lower()})"
        return "could not connect"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ssl.SSLError):
        return _tls_reason(exc)
    if isinstance(exc, DecodeError):
        return f"the body does not decode ({exc})"
    if isinstance(exc, http.client.HTTPException):
        return "connection broken"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return type(exc).__name__


def _tls_reason(inner: BaseException) -> str:
    if isinstance(inner, ssl.SSLCertVerificationError):
        return f"TLS certificate verification failed ({inner.verify_message})"
    return f"TLS error ({inner})"


def _urllib3_reason(exc: BaseException) -> str:
    """The reason for one of urllib3's errors (a request through a proxy), else ""."""
    found = sys.modules.get("urllib3.exceptions")
    if found is None or not isinstance(exc, found.HTTPError):
        return ""
    from urllib3 import exceptions as e

    if isinstance(exc, e.NameResolutionError):
        return "could not resolve the host name"
    if isinstance(exc, e.NewConnectionError):
        reason = exc.__context__ or exc.__cause__
        if isinstance(reason, OSError) and reason.strerror:
            return f"could not connect ({reason.strerror.lower()})"
        return "could not connect"
    if isinstance(exc, e.ReadTimeoutError | e.TimeoutError):
        return "timed out"
    if isinstance(exc, e.SSLError):
        return _tls_reason(exc.args[0] if exc.args else exc)
    if isinstance(exc, e.ProxyError):
        return "the proxy refused or failed the connection"
    if isinstance(exc, e.ProtocolError):
        return "connection broken"
    return ""


def is_permanent(exc: BaseException) -> bool:
    """Transport errors that retrying cannot cure (a certificate the store does not trust)."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return True
    found = sys.modules.get("urllib3.exceptions")
    return (
        found is not None
        and isinstance(exc, found.SSLError)
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
