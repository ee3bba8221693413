"""The pooled client: TLS, proxies, credentials, redirects, retries, and ``file://`` URLs.

The contract of :meth:`Session.get` is the package's (see :mod:`pipseal.http`). A request goes
to its origin over ``direct`` (``http.client``), or through its proxy over urllib3, which is
imported only then.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import re
import ssl
import threading
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urljoin, urlsplit

from pipseal import __version__
from pipseal.errors import NetworkError
from pipseal.fileurl import url2pathname
from pipseal.http.direct import Headers, Pool
from pipseal.http.origins import host_matches, redirect_allowed
from pipseal.http.response import RawBody, Response, read_page_body
from pipseal.http.retry import (
    BACKOFF_CAP,
    describe_error,
    is_permanent,
    retry_after_seconds,
    status_reason,
    transport_errors,
)
from pipseal.redaction import Url, strip_userinfo

if TYPE_CHECKING:
    import netrc

    import urllib3

MAX_REDIRECTS = 10
#: Connections kept alive per host: at least the resolver's threads fetching ahead
#: (``ahead.threads_for``, 16 by default), the early page readers and the main thread, or the
#: extra ones are closed after each request and opened again.
POOL_MAXSIZE = 64
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

#: A URL that urllib3's ``parse_url`` leaves as written: an http(s) origin without userinfo
#: or IPv6 brackets (group 1), then only characters it never re-encodes in a path and query
#: (group 2). Such a URL is sent as it is: its path and query are the request target. Any other
#: (percent-escapes, which it upper-cases; dot segments, which it removes; fragments; anything
#: it would encode) is first written as urllib3 writes it, so that a server sees what it saw
#: from pip.
_PLAIN_URL = re.compile(
    r"(https?://[A-Za-z0-9.-]+(?::[0-9]+)?)(/[A-Za-z0-9\-._~!$&'()*+,;=:@/?]*)?"
)


@dataclass(frozen=True)
class HttpOptions:
    """Everything that shapes the session; the caller resolves pip's options and variables.

    ``cert`` is a CA bundle (``--cert``/``PIP_CERT``/``SSL_CERT_FILE`` resolved by the caller);
    None means the system store. ``trusted_hosts`` turn TLS verification off for those hosts.
    ``proxy`` is ``--proxy``; when None, proxies come from ``environ`` (``HTTPS_PROXY``,
    ``HTTP_PROXY``, ``ALL_PROXY``, ``NO_PROXY``). ``netrc_path`` names the netrc file; when None,
    ``$NETRC`` from ``environ``, else ``~/.netrc``. ``environ`` None means ``os.environ``.
    """

    timeout: float = 15.0
    retries: int = 5
    cert: str | None = None
    client_cert: str | None = None
    trusted_hosts: tuple[str, ...] = ()
    proxy: str | None = None
    netrc: bool = True
    netrc_path: str | None = None
    user_agent: str = f"pipseal/{__version__}"
    #: The most a page (stream=False) may weigh once decoded; a larger one is refused.
    max_page_bytes: int = 256 * 1024 * 1024
    backoff_factor: float = 0.25
    environ: Mapping[str, str] | None = field(default=None, compare=False)


def _basic_auth(user: str, password: str) -> str:
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


class Session:
    """One pooled HTTP(S) client for the whole run; thread-safe; a context manager."""

    def __init__(self, options: HttpOptions | None = None) -> None:
        self.options = options or HttpOptions()
        self._environ: Mapping[str, str] = (
            os.environ if self.options.environ is None else self.options.environ
        )
        self._lock = threading.Lock()
        self._credentials: dict[str, tuple[str, str]] = {}
        self._netrc: netrc.netrc | None = None
        self._netrc_loaded = False
        self._managers: dict[tuple[str, bool], urllib3.ProxyManager] = {}
        #: Each origin's way (``scheme://host[:port]`` as written): its own pool of
        #: connections, or the manager of the proxy it goes through.
        self._pools: dict[str, Pool | urllib3.ProxyManager] = {}
        # Made on the first https request: loading a CA store costs 15 ms or more that a
        # plain-http index never needs. A --cert that names no readable file is refused at
        # once; one that is not a bundle, at the first https request.
        self._verified_context: ssl.SSLContext | None = None
        for path in (self.options.cert, self.options.client_cert):
            if path is not None and not os.access(path, os.R_OK):
                self._tls_context(verify=True)  # raises the NetworkError naming the file
        self._insecure_context: ssl.SSLContext | None = None
        self._proxies = self._environment_proxies()

    # -- TLS, proxies and pools -----------------------------------------------------------------

    def _tls_context(self, *, verify: bool) -> ssl.SSLContext:
        opts = self.options
        try:
            if verify:
                context = ssl.create_default_context(cafile=opts.cert)
            else:
                context = ssl.create_default_context()
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            if opts.client_cert:
                context.load_cert_chain(opts.client_cert)
        except (OSError, ssl.SSLError) as exc:
            which = "client certificate" if opts.client_cert else "CA bundle"
            names = " / ".join(p for p in (opts.cert, opts.client_cert) if p)
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise NetworkError(
                f"Could not load the {which} {names}: {reason}",
                hint="Check the --cert / --client-cert path (or PIP_CERT, SSL_CERT_FILE).",
            ) from exc
        return context

    def _environment_proxies(self) -> dict[str, str]:
        proxies: dict[str, str] = {}
        # Upper case first so that lower case wins, as urllib and requests do.
        for key in sorted(self._environ, key=lambda k: k.islower()):
            value = self._environ[key]
            if value and key.lower().endswith("_proxy"):
                proxies[key.lower()[: -len("_proxy")]] = value
        return proxies

    def _bypasses_proxy(self, url: str) -> bool:
        no_proxy = self._proxies.get("no", "")
        entries = [e.strip().lower() for e in no_proxy.split(",") if e.strip()]
        if "*" in entries:
            return True
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        hostport = f"{host}:{parts.port}" if parts.port else host
        for entry in entries:
            name = entry.lstrip(".")
            if name in (host, hostport) or host.endswith("." + name):
                return True
            try:
                if ipaddress.ip_address(host) in ipaddress.ip_network(name, strict=False):
                    return True
            except ValueError:
                pass
        return False

    def proxy_for(self, url: str) -> str | None:
        """The proxy a request to ``url`` goes through, or None for a direct connection."""
        if self._bypasses_proxy(url):
            return None
        if self.options.proxy:
            return self.options.proxy
        scheme = urlsplit(url).scheme.lower()
        return self._proxies.get(scheme) or self._proxies.get("all")

    def _route(self, origin: str) -> Pool | urllib3.ProxyManager:
        """The way to ``origin`` (``scheme://host[:port]``): made once, kept for the run.
        ValueError when its port is out of range."""
        route = self._pools.get(origin)
        if route is None:
            parts = urlsplit(origin)
            scheme = parts.scheme.lower()
            port = parts.port or (443 if scheme == "https" else 80)  # ValueError: out of range
            proxy = self.proxy_for(origin)
            if proxy:
                route = self._proxy_manager(origin, proxy)
            else:
                route = Pool(
                    scheme,
                    parts.hostname or "",
                    port,  # given: http.client would read an IPv6 address's end as a port
                    timeout=self.options.timeout,
                    context=self._context_for(origin) if scheme == "https" else None,
                    maxsize=POOL_MAXSIZE,
                )
            with self._lock:
                route = self._pools.setdefault(origin, route)
        return route

    def _context_for(self, url: str) -> ssl.SSLContext:
        """The TLS context for ``url``: unverified for a --trusted-host, else verified."""
        insecure = host_matches(url, self.options.trusted_hosts)
        with self._lock:
            if insecure:
                if self._insecure_context is None:
                    self._insecure_context = self._tls_context(verify=False)
                return self._insecure_context
            if self._verified_context is None:
                self._verified_context = self._tls_context(verify=True)
            return self._verified_context

    def _proxy_manager(self, url: str, proxy: str) -> urllib3.ProxyManager:
        """urllib3's manager for requests to ``url`` through ``proxy`` (one per proxy and trust)."""
        import urllib3  # here: only a run through a proxy needs it (30 ms of imports)
        from urllib3.exceptions import InsecureRequestWarning

        insecure = host_matches(url, self.options.trusted_hosts)
        key = (proxy, insecure)
        manager = self._managers.get(key)
        if manager is not None:
            return manager
        context = self._context_for(url)
        if insecure:
            # The user asked for these hosts to be trusted (--trusted-host); urllib3's
            # per-request warning would only repeat that decision back to them.
            warnings.filterwarnings("ignore", category=InsecureRequestWarning)
        pool_kw: dict[str, Any] = {
            "maxsize": POOL_MAXSIZE,
            "ssl_context": context,
            "timeout": urllib3.Timeout(connect=self.options.timeout, read=self.options.timeout),
            "retries": False,
        }
        if insecure:
            pool_kw.update(cert_reqs="CERT_NONE", assert_hostname=False)
        proxy_headers: dict[str, str] = {}
        proxy_parts = urlsplit(proxy)
        if proxy_parts.username is not None:
            proxy_headers["Proxy-Authorization"] = _basic_auth(
                unquote(proxy_parts.username), unquote(proxy_parts.password or "")
            )
        manager = urllib3.ProxyManager(
            strip_userinfo(proxy), num_pools=32, proxy_headers=proxy_headers, **pool_kw
        )
        with self._lock:
            return self._managers.setdefault(key, manager)

    # -- credentials ----------------------------------------------------------------------------

    def _netrc_file(self) -> netrc.netrc | None:
        with self._lock:
            if not self._netrc_loaded:
                self._netrc_loaded = True
                path = self.options.netrc_path or self._environ.get("NETRC")
                candidate = Path(path) if path else Path.home() / ".netrc"
                if candidate.is_file():
                    import netrc  # here: most machines have none to read (2 ms, with shlex)

                    try:
                        # A broken netrc must not stop an install that needs no credentials
                        # (requests and pip ignore it the same way).
                        self._netrc = netrc.netrc(str(candidate))
                    except (OSError, netrc.NetrcParseError):
                        self._netrc = None
            return self._netrc

    def _authorization(self, url: str) -> str | None:
        """The Authorization header for ``url``: its userinfo, else remembered, else netrc."""
        parts = urlsplit(url)
        hostport = parts.netloc.rpartition("@")[2].lower()
        if parts.username is not None:
            creds = (unquote(parts.username), unquote(parts.password or ""))
            with self._lock:
                # Like pip, remember them for the host: file links on a page that came from
                # https://user:pw@host/simple/ are relative and carry no userinfo.
                self._credentials[hostport] = creds
            return _basic_auth(*creds)
        with self._lock:
            remembered = self._credentials.get(hostport)
        if remembered:
            return _basic_auth(*remembered)
        if self.options.netrc and parts.hostname:
            rc = self._netrc_file()
            found = rc.authenticators(parts.hostname) if rc else None
            if found:
                login, _account, password = found
                return _basic_auth(login, password or "")
        return None

    # -- requests -------------------------------------------------------------------------------

    def get(
        self, url: str, *, headers: Mapping[str, str] | None = None, stream: bool = True
    ) -> Response:
        """GET ``url`` with retries and redirects; see the module docstring for the contract.

        ``stream=True`` (archives) leaves the body unread and undecoded; ``stream=False`` (pages)
        reads it whole, decoded, so that a body broken mid-way is retried like any other failure.
        Raises NetworkError when out of retries, on a refused redirect, or an unreadable file.
        """
        if urlsplit(url).scheme.lower() == "file":
            return self._get_file(url, stream=stream)
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            response = self._get_once(current, headers, stream)
            if response.status not in _REDIRECT_STATUSES:
                return response
            location = response.headers.get("Location")
            if not location:
                return response
            response.discard()
            target = urljoin(strip_userinfo(current), location)
            if not redirect_allowed(current, target):
                raise NetworkError(
                    f"Could not fetch {Url(url)}: refused a redirect from "
                    f"{Url(current)} to {Url(target)} (it would leave https)"
                )
            current = target
        raise NetworkError(f"Could not fetch {Url(url)}: more than {MAX_REDIRECTS} redirects")

    def _get_once(self, url: str, extra: Mapping[str, str] | None, stream: bool) -> Response:
        """One request (no redirects), retried on transient failures."""
        request_headers = {
            "User-Agent": self.options.user_agent,
            # Archives are hashed as sent: ask for no transfer encoding (as pip does).
            "Accept-Encoding": "identity" if stream else "gzip, deflate",
        }
        request_headers.update(extra or {})
        authorization = self._authorization(url)
        if authorization:
            request_headers["Authorization"] = authorization
        target = strip_userinfo(url)
        retries = max(self.options.retries, 0)
        reason = ""
        for attempt in range(retries + 1):
            wait = min(self.options.backoff_factor * (2**attempt), BACKOFF_CAP)
            raw: RawBody | None = None
            try:
                raw = self._urlopen(target, request_headers, stream)
                data = (
                    read_page_body(raw, url, self.options.max_page_bytes, self.options.timeout)
                    if not stream and raw.status != 429 and raw.status < 500
                    else None
                )
            except Exception as exc:
                # (urllib3's errors count once a proxy has brought urllib3 in)
                if raw is not None:
                    raw.close()  # a body broken mid-way: its connection goes with it
                if not isinstance(exc, transport_errors()):
                    raise
                reason = describe_error(exc)
                if is_permanent(exc):
                    raise NetworkError(
                        f"Could not fetch {Url(url)}: {reason}",
                        hint="Name the right CA bundle with --cert, or use --trusted-host.",
                    ) from exc
            else:
                if raw.status == 429 or raw.status >= 500:
                    reason = status_reason(raw.status)
                    wait = retry_after_seconds(raw.headers.get("Retry-After")) or wait
                    raw.drain_conn()
                    raw.release_conn()
                else:
                    if data is None:
                        return Response(
                            target, raw.status, raw.headers, raw=raw, window=self.options.timeout
                        )
                    raw.release_conn()
                    return Response(target, raw.status, raw.headers, data=data)
            if attempt < retries:
                time.sleep(wait)
        noun = "retry" if retries == 1 else "retries"
        raise NetworkError(f"Could not fetch {Url(url)}: {reason} (after {retries} {noun})")

    def _urlopen(self, target: str, headers: Mapping[str, str], stream: bool) -> RawBody:
        """One GET of ``target`` (no redirects, no retries): straight to its origin, or through
        the proxy that serves it."""
        plain = _PLAIN_URL.fullmatch(target)
        if plain is not None and "/." not in (plain.group(2) or ""):
            origin, path = plain.group(1), plain.group(2) or "/"
        else:
            origin, path = self._written_as_urllib3_would(target)
        try:
            route = self._route(origin)
        except ValueError:
            raise NetworkError(f"Could not fetch {Url(target)}: not a valid port") from None
        if isinstance(route, Pool):
            return route.get(path, headers)
        from urllib3 import Retry

        answer: RawBody = route.urlopen(
            "GET",
            target,
            headers=headers,
            redirect=False,
            retries=Retry(False, redirect=False),
            preload_content=False,
            decode_content=not stream,
        )
        return answer

    @staticmethod
    def _written_as_urllib3_would(target: str) -> tuple[str, str]:
        """The origin and request target of a URL that is not plain, normalised as urllib3's
        ``parse_url`` does it (which is what pip sends)."""
        from urllib3.util.url import parse_url  # here: plain URLs are the rule

        try:
            parsed = parse_url(target)
        except ValueError as exc:  # LocationParseError: a port out of range, and the like
            raise NetworkError(f"Could not fetch {Url(target)}: not a valid URL") from exc
        scheme = (parsed.scheme or "").lower()
        if scheme not in ("http", "https") or not parsed.host:
            raise NetworkError(f"Could not fetch {Url(target)}: not an http(s) URL")
        port = f":{parsed.port}" if parsed.port is not None else ""
        return f"{scheme}://{parsed.host}{port}", parsed.request_uri

    def _get_file(self, url: str, *, stream: bool) -> Response:
        """Serve a file:// URL; a directory serves its index.html; missing files are a 404."""
        parts = urlsplit(url)
        path = Path(url2pathname(unquote(parts.path)))
        if parts.netloc and parts.netloc != "localhost":
            # file://server/share/... is a UNC path on Windows.
            path = Path(f"//{parts.netloc}") / path
        if path.is_dir():
            path = path / "index.html"
        if not path.is_file():
            return Response(url, 404, Headers(), data=b"")
        import mimetypes  # here: file:// URLs alone need it

        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        try:
            handle = path.open("rb")
            size = os.fstat(handle.fileno()).st_size
        except OSError as exc:
            raise NetworkError(f"Could not read {path}: {exc.strerror or exc}") from exc
        headers = Headers([("Content-Type", content_type), ("Content-Length", str(size))])
        final = path.as_uri()
        if stream:
            return Response(final, 200, headers, file=handle)
        with handle:
            return Response(final, 200, headers, data=handle.read())

    def close(self) -> None:
        """Close every pooled connection."""
        with self._lock:
            routes = [*self._pools.values(), *self._managers.values()]
            self._managers.clear()
            self._pools.clear()
        for route in routes:
            if isinstance(route, Pool):
                route.close()
            else:
                route.clear()

    def __enter__(self) -> Session:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
